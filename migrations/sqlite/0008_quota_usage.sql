-- Quota units spent per network and quota period, shared by every replica (polls, replies,
-- moderation). SQLite flavour; keep in step with migrations/postgres/0008_quota_usage.sql.
CREATE TABLE quota_usage (
    network   TEXT    NOT NULL,
    -- When the period ends (the provider's reset: YouTube, midnight Pacific time).
    resets_at INTEGER NOT NULL,
    units     INTEGER NOT NULL,
    PRIMARY KEY (network, resets_at)
);
