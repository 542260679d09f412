-- Accounts connected at run time (OAuth from chat or the CLI), their sealed credentials and
-- their poll state. Postgres flavour; keep in step with migrations/sqlite/0006_accounts.sql.
CREATE TABLE accounts (
    id                  BIGSERIAL   PRIMARY KEY,
    network             TEXT        NOT NULL,
    -- The network's own id: a YouTube channel id, a Google location name.
    account_id          TEXT        NOT NULL,
    display_name        TEXT        NOT NULL,
    -- Where its tickets go (the channel the connect command was run in).
    surface             TEXT        NOT NULL,
    channel             TEXT        NOT NULL,
    -- AES-256-GCM sealed token set (never plaintext), and its version: bumped on every write.
    credentials         BYTEA       NOT NULL,
    credentials_version BIGINT      NOT NULL DEFAULT 1,
    healthy             BOOLEAN     NOT NULL DEFAULT TRUE,
    health_reason       TEXT,
    -- Set with the account turning unhealthy, cleared once its channel was told.
    alert_pending       BOOLEAN     NOT NULL DEFAULT FALSE,
    connected_by        TEXT,
    connected_at        TIMESTAMPTZ NOT NULL,
    -- Polling: the durable cursor (advanced with the inbox rows it produced), when next due,
    -- and a lease so one replica polls an account at a time.
    cursor              TEXT,
    next_poll_at        TIMESTAMPTZ NOT NULL,
    last_error          TEXT,
    poll_claim          BIGINT      NOT NULL DEFAULT 0,
    poll_until          TIMESTAMPTZ,
    -- One token refresh at a time per account, across replicas.
    refresh_claim       BIGINT      NOT NULL DEFAULT 0,
    refresh_until       TIMESTAMPTZ,
    UNIQUE (network, account_id)
);
CREATE INDEX accounts_due ON accounts (next_poll_at) WHERE healthy;
