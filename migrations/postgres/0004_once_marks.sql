-- Alerts posted once, not per message (e.g. an expired token), until the condition clears.
CREATE TABLE once_marks (
    key TEXT PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL
);
