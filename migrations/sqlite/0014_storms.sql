-- Storm mode: a post whose comments arrive faster than a channel can show them gets one storm
-- card (edited in place) and batched thread messages instead of a card per comment. SQLite
-- flavour; keep in step with migrations/postgres/0014_storms.sql.

-- Recent new tickets under one post routed to one channel (detection), and its storm while one
-- runs. `version` guards concurrent writers (optimistic, like tickets).
CREATE TABLE post_activity (
    key        TEXT    PRIMARY KEY,
    recent     TEXT    NOT NULL,
    storm_id   INTEGER,
    version    INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE storms (
    id          INTEGER PRIMARY KEY,
    post_key    TEXT    NOT NULL,
    -- The channel's key (`slack:C…`, `discord:…`) and the ticket its jobs hang on (the first
    -- of the storm).
    channel     TEXT    NOT NULL,
    anchor      INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    last_at     INTEGER NOT NULL,
    ended_at    INTEGER,
    count       INTEGER NOT NULL,
    -- The storm card (a chat reference, JSON), once posted.
    card        TEXT,
    -- The last member mirrored into the card's thread.
    posted_upto INTEGER NOT NULL DEFAULT 0,
    -- What the card shows about the post (JSON: subject, link).
    post        TEXT    NOT NULL
);
CREATE INDEX storms_active ON storms (last_at) WHERE ended_at IS NULL;

-- Every customer message that arrived during a storm, in order: what the thread batches show.
CREATE TABLE storm_members (
    seq         INTEGER PRIMARY KEY,
    storm_id    INTEGER NOT NULL,
    ticket_id   INTEGER NOT NULL,
    message_key TEXT    NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX storm_members_storm ON storm_members (storm_id, seq);
CREATE INDEX storm_members_ticket ON storm_members (ticket_id);

-- Chat pacing shared by every replica: the next free slot per channel and method class, and
-- the random token of the call that took the current one (how a caller knows it was its own).
CREATE TABLE chat_pacing (
    key     TEXT    PRIMARY KEY,
    next_at INTEGER NOT NULL,
    taker   INTEGER NOT NULL
);
