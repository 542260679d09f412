-- Team statistics select history entries by kind and time (`opened` in a period, replies,
-- closes, SLA results and auto-closes in a period), then join their tickets. Postgres flavour;
-- keep in step with migrations/sqlite/0013_stats.sql.
CREATE INDEX ticket_history_code_at ON ticket_history (code, at, ticket_id);
