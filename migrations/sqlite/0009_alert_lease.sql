-- An account's "needs reconnecting" alert is taken under a lease while one replica posts it,
-- so two replicas never post it twice; a post that fails leaves it to the lease's end.
-- SQLite flavour; keep in step with migrations/postgres/0009_alert_lease.sql.
ALTER TABLE accounts ADD COLUMN alert_until INTEGER;
