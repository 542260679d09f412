-- A pending job's ticket is found through `outbox_ticket` (every job of a ticket, few rows);
-- the partial `outbox_pending_ticket` duplicated it, cost every job insert and finish an
-- index write, and, with statistics that lag a burst ("nothing pending"), drew Postgres's
-- planner to walk every pending job for a claim's lane check instead of the lane's own
-- entries in `outbox_pending_lane` (1.7 ms per claimed job with 5,000 pending, measured).
DROP INDEX outbox_pending_ticket;
