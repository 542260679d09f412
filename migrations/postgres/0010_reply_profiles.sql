-- The account that last replied on a network in a chat channel: the reply-profile rule's
-- "last used here" (see core::profiles). Postgres flavour; keep in step with
-- migrations/sqlite/0010_reply_profiles.sql.
CREATE TABLE reply_profile_use (
    surface  TEXT        NOT NULL,
    channel  TEXT        NOT NULL,
    network  TEXT        NOT NULL,
    account  TEXT        NOT NULL,
    used_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (surface, channel, network)
);
