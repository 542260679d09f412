-- Team workflow: ticket queries, saved replies, tag suggestions. SQLite flavour; keep in step
-- with migrations/postgres/0002_team_workflow.sql.

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
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL CHECK (trim(name) <> ''),
    -- The name folded by the application (Rust `str::to_lowercase`, full Unicode), so both
    -- backends agree on what "the same name" is and on the order (bytewise).
    name_key   TEXT    NOT NULL UNIQUE,
    body       TEXT    NOT NULL,
    updated_by TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Bumped in the same transaction as every saved-reply write (cache invalidation).
CREATE TABLE saved_replies_revision (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL
);
INSERT INTO saved_replies_revision (id, revision) VALUES (1, 0);

-- The tag suggestion model.
CREATE TABLE tag_uses (
    tag  TEXT    PRIMARY KEY,
    uses INTEGER NOT NULL
);
CREATE TABLE tag_tokens (
    tag   TEXT    NOT NULL,
    token TEXT    NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (tag, token)
);
