-- The thread messages of a storm, each with the members it shows (`from_seq`..`upto_seq`), so
-- that erasing a customer edits the batches that showed them. Postgres flavour; keep in step
-- with migrations/sqlite/0015_storm_batches.sql.
CREATE TABLE storm_batches (
    storm_id BIGINT NOT NULL,
    from_seq BIGINT NOT NULL,
    upto_seq BIGINT NOT NULL,
    -- The chat message (a chat reference, JSON).
    chat     TEXT   NOT NULL,
    PRIMARY KEY (storm_id, from_seq)
);

-- Jobs that gave up, by lane: a later job of the lane looks for what they may have done
-- (`Store::gave_up_before`). Failed jobs are few, so the index stays small.
CREATE INDEX outbox_failed_lane ON outbox (lane, id) WHERE status = 'failed';
