-- The "connected" notice of an account, durable like its alert. SQLite flavour; keep in step
-- with migrations/postgres/0007_account_notices.sql.
--
-- NULL: nothing to say. Otherwise a notice is pending for the account's channel, postable
-- from this time (microseconds): set to "now" by the write that connects or reconnects the
-- account, pushed to a lease's end while one replica posts it (so no other posts it too),
-- pushed further after a failed post, cleared once the post succeeded.
ALTER TABLE accounts ADD COLUMN notice_due_at INTEGER;
