-- Team statistics select history entries by kind and time (`opened` in a period, replies,
-- closes, SLA results and auto-closes in a period), then join their tickets. SQLite flavour;
-- keep in step with migrations/postgres/0013_stats.sql.
CREATE INDEX ticket_history_code_at ON ticket_history (code, at, ticket_id);
