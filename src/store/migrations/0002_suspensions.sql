-- Planned suspensions of the service (at most 8 working days a year, announced 5 days ahead).
CREATE TABLE suspensions (
    id           INTEGER PRIMARY KEY,
    from_date    TEXT NOT NULL,                  -- YYYY-MM-DD, inclusive
    to_date      TEXT NOT NULL,                  -- YYYY-MM-DD, inclusive
    reason       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    announced_at TEXT,                           -- when requesters were told
    cancelled_at TEXT,
    CHECK (from_date <= to_date)
);
