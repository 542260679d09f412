-- Retention: when the retention job archived a ticket (a copy of TicketState.archived, kept in
-- sync on every write like the other columns), and named leases so that one replica at a
-- time runs a periodic job. Postgres flavour; keep in step with migrations/sqlite/0011_retention.sql.
ALTER TABLE tickets ADD COLUMN archived_at TIMESTAMPTZ;
CREATE INDEX tickets_closed_updated ON tickets (status, updated_at) WHERE archived_at IS NULL;
CREATE INDEX tickets_archived ON tickets (archived_at) WHERE archived_at IS NOT NULL;
CREATE INDEX inbox_processed ON inbox (processed_at) WHERE processed_at IS NOT NULL;
CREATE INDEX outbox_finished ON outbox (finished_at) WHERE status = 'done';
-- Deleting a ticket's jobs (and the foreign-key check when the ticket goes), erasure's lookups.
CREATE INDEX outbox_ticket ON outbox (ticket_id);
CREATE INDEX tickets_customer ON tickets (network, customer_id);

CREATE TABLE leases (
    name   TEXT        PRIMARY KEY,
    holder TEXT        NOT NULL,
    until  TIMESTAMPTZ NOT NULL
);
