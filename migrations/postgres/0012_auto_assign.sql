-- Auto-assignment: who is away (round-robin skips them), and per team who got its last ticket
-- (ties go to the next member after them). Postgres flavour; keep in step with
-- migrations/sqlite/0012_auto_assign.sql.
CREATE TABLE away (
    surface TEXT        NOT NULL,
    user_id TEXT        NOT NULL,
    since   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (surface, user_id)
);

CREATE TABLE round_robin (
    surface     TEXT        NOT NULL,
    team        TEXT        NOT NULL,
    last_member TEXT        NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (surface, team)
);
