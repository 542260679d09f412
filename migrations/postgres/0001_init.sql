-- Switchboard schema, Postgres flavour. Timestamps are TIMESTAMPTZ (microsecond precision); JSON
-- columns are TEXT. Keep in step with migrations/sqlite/0001_init.sql.

CREATE TABLE tickets (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version          BIGINT  NOT NULL,
    network          TEXT    NOT NULL,
    account          TEXT    NOT NULL,
    conversation_key TEXT    NOT NULL UNIQUE,
    status           TEXT    NOT NULL,
    assignee         TEXT,
    kind             TEXT    NOT NULL,
    customer_id      TEXT    NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    -- The serialized TicketState: the source of truth when decoding; the columns above are
    -- copies kept in sync on every write, for filtering.
    state            TEXT    NOT NULL
);
CREATE INDEX tickets_status ON tickets (status);
CREATE INDEX tickets_account ON tickets (account);
CREATE INDEX tickets_assignee ON tickets (assignee);

CREATE TABLE messages (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key             TEXT    NOT NULL UNIQUE,
    ticket_id       BIGINT      NOT NULL REFERENCES tickets (id),
    kind            TEXT    NOT NULL,
    network_item_id TEXT,
    teammate        TEXT,
    chat            TEXT,
    text            TEXT    NOT NULL,
    delivery        TEXT,
    edited          BOOLEAN NOT NULL DEFAULT FALSE,
    deleted         BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX messages_ticket ON messages (ticket_id, created_at);

CREATE TABLE ticket_history (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id BIGINT      NOT NULL REFERENCES tickets (id),
    at        TIMESTAMPTZ NOT NULL,
    actor     TEXT    NOT NULL,
    code      TEXT    NOT NULL,
    detail    TEXT    NOT NULL
);
CREATE INDEX ticket_history_ticket ON ticket_history (ticket_id, id);

CREATE TABLE chat_links (
    surface     TEXT    NOT NULL,
    workspace   TEXT    NOT NULL,
    channel     TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    ticket_id   BIGINT      NOT NULL REFERENCES tickets (id),
    role        TEXT    NOT NULL,
    message_key TEXT,
    linked_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (surface, workspace, channel, message)
);
CREATE INDEX chat_links_ticket_role ON chat_links (ticket_id, role);
CREATE INDEX chat_links_message_key ON chat_links (message_key);

CREATE TABLE inbox (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source       TEXT    NOT NULL,
    dedupe_key   TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    run_at       TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ,
    processed_at TIMESTAMPTZ,
    last_error   TEXT,
    note         TEXT,
    UNIQUE (source, dedupe_key)
);
-- Claiming scans unprocessed rows only.
CREATE INDEX inbox_pending ON inbox (id) WHERE processed_at IS NULL;

CREATE TABLE outbox (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id    BIGINT      NOT NULL REFERENCES tickets (id),
    lane         TEXT    NOT NULL,
    effect       TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    run_at       TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ,
    last_error   TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ
);
-- "Oldest pending job per lane" and the claim scan.
CREATE INDEX outbox_pending_lane ON outbox (lane, id) WHERE status = 'pending';
CREATE INDEX outbox_status ON outbox (status, id);
