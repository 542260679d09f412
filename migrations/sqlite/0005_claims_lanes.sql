-- Delivery that survives outages. SQLite flavour; keep in step with
-- migrations/postgres/0005_claims_lanes.sql.

-- Every claim takes a new token; only the worker holding the current token may record a
-- job's outcome (a worker whose lease ran out finds its token stale and records nothing).
ALTER TABLE outbox ADD COLUMN claim INTEGER NOT NULL DEFAULT 0;
-- Where the retry time budget starts: set at the first claim, reset by `outbox retry`.
ALTER TABLE outbox ADD COLUMN budget_from INTEGER;
CREATE INDEX outbox_pending_ticket ON outbox (ticket_id) WHERE status = 'pending';

-- Inbound order: rows of one lane (one ticket, one chat message, one conversation) are
-- applied in id order, even while an earlier one is being retried.
ALTER TABLE inbox ADD COLUMN lane TEXT;
ALTER TABLE inbox ADD COLUMN claim INTEGER NOT NULL DEFAULT 0;
CREATE INDEX inbox_pending_lane ON inbox (lane, id) WHERE processed_at IS NULL;

-- Cards whose post gave up: the channel is told (once) when it is reachable again, and the
-- cards are posted then.
CREATE TABLE undelivered_cards (
    ticket_id    INTEGER PRIMARY KEY REFERENCES tickets (id),
    surface      TEXT    NOT NULL,
    channel      TEXT    NOT NULL,
    failed_at    INTEGER NOT NULL
);
CREATE INDEX undelivered_cards_channel ON undelivered_cards (surface, channel);
