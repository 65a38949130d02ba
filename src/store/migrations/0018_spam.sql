-- Issue 15. `#spam` (item 8): a ticket closed as spam keeps the instant it was so marked (kept
-- out of the SLA figures, counted apart in the report; a reopening clears it), and its sender's
-- mail is quarantined until a day without reaching a ticket.
ALTER TABLE tickets ADD COLUMN spam_at TEXT;

CREATE TABLE spam_senders (
    address   TEXT PRIMARY KEY,                  -- lowercase
    until     TEXT NOT NULL,                     -- RFC 3339 UTC: quarantined before this instant
    ticket_id TEXT REFERENCES tickets (id),      -- the ticket closed as spam
    marked_by TEXT NOT NULL,                     -- the operator
    marked_at TEXT NOT NULL
);

-- `[operators] copy_requester_cc` (issue 15, item 5): the answers and the closing letter are
-- copied to the people the requester put in Cc (and those added with `#cc`), not to the other
-- To recipients of the first mail (the help desk's aliases, a list). The existing tickets get
-- their copies from the Cc of the messages stored on them.
ALTER TABLE participants ADD COLUMN copied INTEGER NOT NULL DEFAULT 0;
UPDATE participants SET copied = 1
 WHERE role = 'cc'
   AND EXISTS (SELECT 1 FROM messages m
                WHERE m.ticket_id = participants.ticket_id
                  AND (',' || m.cc_addrs || ',') LIKE ('%,' || participants.email || ',%'));
