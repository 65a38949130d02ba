-- `#tempo -30m` corrects an earlier entry: an entry may be negative, never zero. SQLite cannot
-- change a CHECK in place, so the table is rebuilt with the same rows.
CREATE TABLE time_entries_new (
    id        INTEGER PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    operator  TEXT NOT NULL,
    minutes   INTEGER NOT NULL CHECK (minutes <> 0),
    at        TEXT NOT NULL
);
INSERT INTO time_entries_new (id, ticket_id, operator, minutes, at)
    SELECT id, ticket_id, operator, minutes, at FROM time_entries;
DROP TABLE time_entries;
ALTER TABLE time_entries_new RENAME TO time_entries;
