-- Team workflow: ticket queries, saved replies, tag suggestions. Postgres flavour; keep in step
-- with migrations/sqlite/0002_team_workflow.sql. Text keys that are sorted use COLLATE "C"
-- (bytewise, as SQLite's BINARY), so both backends return the same order.

-- find_tickets filters on status / assignee / account and orders by (updated_at DESC, id DESC):
-- composite indexes serve both the filter and the order (and replace the single-column ones,
-- which are their prefixes).
DROP INDEX tickets_status;
DROP INDEX tickets_account;
DROP INDEX tickets_assignee;
CREATE INDEX tickets_status_updated ON tickets (status, updated_at, id);
CREATE INDEX tickets_assignee_updated ON tickets (assignee, updated_at, id);
CREATE INDEX tickets_account_updated ON tickets (account, updated_at, id);
CREATE INDEX tickets_updated ON tickets (updated_at, id);

CREATE TABLE saved_replies (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT   NOT NULL CHECK (trim(name) <> ''),
    -- The name folded by the application (Rust `str::to_lowercase`, full Unicode), so both
    -- backends agree on what "the same name" is and on the order (bytewise).
    name_key   TEXT   COLLATE "C" NOT NULL UNIQUE,
    body       TEXT   NOT NULL,
    updated_by TEXT   NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Bumped in the same transaction as every saved-reply write (cache invalidation); its row
-- lock also serialises saved-reply writers.
CREATE TABLE saved_replies_revision (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    revision BIGINT  NOT NULL
);
INSERT INTO saved_replies_revision (id, revision) VALUES (1, 0);

-- The tag suggestion model.
CREATE TABLE tag_uses (
    tag  TEXT   COLLATE "C" PRIMARY KEY,
    uses BIGINT NOT NULL
);
CREATE TABLE tag_tokens (
    tag   TEXT   COLLATE "C" NOT NULL,
    token TEXT   COLLATE "C" NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (tag, token)
);
