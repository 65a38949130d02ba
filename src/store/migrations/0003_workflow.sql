-- The procedure's bookkeeping: SLA cycles, time worked, operators' absences.

-- One cycle per opening of a ticket: the first, then one per reopening. The instants the
-- contract measures live here; "sent" instants come from the outbox rows they name.
CREATE TABLE cycles (
    id                    INTEGER PRIMARY KEY,
    ticket_id             TEXT NOT NULL REFERENCES tickets (id),
    number                INTEGER NOT NULL,          -- 1 for the first cycle
    received_at           TEXT NOT NULL,
    effective_start       TEXT NOT NULL,
    take_in_due           TEXT NOT NULL,
    take_in_at            TEXT,                      -- when the ticket was taken in
    take_in_message_id    TEXT,                      -- the confirmation naming the technician
    take_in_phone_at      TEXT,                      -- or the call-back that confirmed it
    level                 INTEGER NOT NULL CHECK (level IN (1, 2)),
    resolution_due        TEXT,
    resolution_message_id TEXT,                      -- the closing mail
    resolved_at           TEXT,
    UNIQUE (ticket_id, number)
);

CREATE TABLE time_entries (
    id        INTEGER PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    operator  TEXT NOT NULL,
    minutes   INTEGER NOT NULL CHECK (minutes > 0),
    at        TEXT NOT NULL
);

-- `#assente` / `#away`: an operator away until a date (inclusive) gets no reopened tickets.
CREATE TABLE operator_away (
    operator TEXT PRIMARY KEY,
    until    TEXT NOT NULL                           -- YYYY-MM-DD
);
