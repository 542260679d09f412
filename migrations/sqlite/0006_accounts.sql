-- Accounts connected at run time (OAuth from chat or the CLI), their sealed credentials and
-- their poll state. SQLite flavour; keep in step with migrations/postgres/0006_accounts.sql.
CREATE TABLE accounts (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    network             TEXT    NOT NULL,
    -- The network's own id: a YouTube channel id, a Google location name.
    account_id          TEXT    NOT NULL,
    display_name        TEXT    NOT NULL,
    -- Where its tickets go (the channel the connect command was run in).
    surface             TEXT    NOT NULL,
    channel             TEXT    NOT NULL,
    -- AES-256-GCM sealed token set (never plaintext), and its version: bumped on every write.
    credentials         BLOB    NOT NULL,
    credentials_version INTEGER NOT NULL DEFAULT 1,
    healthy             INTEGER NOT NULL DEFAULT 1,
    health_reason       TEXT,
    -- Set with the account turning unhealthy, cleared once its channel was told.
    alert_pending       INTEGER NOT NULL DEFAULT 0,
    connected_by        TEXT,
    connected_at        INTEGER NOT NULL,
    -- Polling: the durable cursor (advanced with the inbox rows it produced), when next due,
    -- and a lease so one replica polls an account at a time.
    cursor              TEXT,
    next_poll_at        INTEGER NOT NULL,
    last_error          TEXT,
    poll_claim          INTEGER NOT NULL DEFAULT 0,
    poll_until          INTEGER,
    -- One token refresh at a time per account, across replicas.
    refresh_claim       INTEGER NOT NULL DEFAULT 0,
    refresh_until       INTEGER,
    UNIQUE (network, account_id)
);
CREATE INDEX accounts_due ON accounts (next_poll_at) WHERE healthy = 1;
