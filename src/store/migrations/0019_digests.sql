-- The morning digests (`[digest]`). `digest_checkpoint` holds the last local day whose digests
-- were queued (one row), written in the transaction that queues them: one digest a day,
-- across restarts. `digest_lines` holds the tickets each digest listed, so that a reply to a
-- digest acts on those tickets only, as a reply to a notice acts on its ticket.
CREATE TABLE digest_checkpoint (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    day TEXT NOT NULL,                              -- YYYY-MM-DD, calendar.timezone
    at  TEXT NOT NULL
);

CREATE TABLE digest_lines (
    message_id TEXT NOT NULL,                       -- the digest's, without angle brackets
    ticket_id  TEXT NOT NULL REFERENCES tickets (id),
    PRIMARY KEY (message_id, ticket_id)
);
