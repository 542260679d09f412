-- Switchboard schema, SQLite flavour. Timestamps are INTEGER unix microseconds (UTC); JSON
-- columns are TEXT. Keep in step with migrations/postgres/0001_init.sql.

CREATE TABLE tickets (
    id               INTEGER PRIMARY KEY,
    version          INTEGER NOT NULL,
    network          TEXT    NOT NULL,
    account          TEXT    NOT NULL,
    conversation_key TEXT    NOT NULL UNIQUE,
    status           TEXT    NOT NULL,
    assignee         TEXT,
    kind             TEXT    NOT NULL,
    customer_id      TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    -- The serialized TicketState: the source of truth when decoding; the columns above are
    -- copies kept in sync on every write, for filtering.
    state            TEXT    NOT NULL
);
CREATE INDEX tickets_status ON tickets (status);
CREATE INDEX tickets_account ON tickets (account);
CREATE INDEX tickets_assignee ON tickets (assignee);

CREATE TABLE messages (
    seq             INTEGER PRIMARY KEY,
    key             TEXT    NOT NULL UNIQUE,
    ticket_id       INTEGER NOT NULL REFERENCES tickets (id),
    kind            TEXT    NOT NULL,
    network_item_id TEXT,
    teammate        TEXT,
    chat            TEXT,
    text            TEXT    NOT NULL,
    delivery        TEXT,
    edited          INTEGER NOT NULL DEFAULT 0,
    deleted         INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL
);
CREATE INDEX messages_ticket ON messages (ticket_id, created_at);

CREATE TABLE ticket_history (
    id        INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    at        INTEGER NOT NULL,
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
    ticket_id   INTEGER NOT NULL REFERENCES tickets (id),
    role        TEXT    NOT NULL,
    message_key TEXT,
    linked_at   INTEGER NOT NULL,
    PRIMARY KEY (surface, workspace, channel, message)
);
CREATE INDEX chat_links_ticket_role ON chat_links (ticket_id, role);
CREATE INDEX chat_links_message_key ON chat_links (message_key);

CREATE TABLE inbox (
    id           INTEGER PRIMARY KEY,
    source       TEXT    NOT NULL,
    dedupe_key   TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    received_at  INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    run_at       INTEGER NOT NULL,
    locked_until INTEGER,
    processed_at INTEGER,
    last_error   TEXT,
    note         TEXT,
    UNIQUE (source, dedupe_key)
);
-- Claiming scans unprocessed rows only.
CREATE INDEX inbox_pending ON inbox (id) WHERE processed_at IS NULL;

CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    ticket_id    INTEGER NOT NULL REFERENCES tickets (id),
    lane         TEXT    NOT NULL,
    effect       TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    run_at       INTEGER NOT NULL,
    locked_until INTEGER,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    finished_at  INTEGER
);
-- "Oldest pending job per lane" and the claim scan.
CREATE INDEX outbox_pending_lane ON outbox (lane, id) WHERE status = 'pending';
CREATE INDEX outbox_status ON outbox (status, id);
