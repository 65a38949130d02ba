-- Issue 17: the GDPR lifecycle and the satisfaction vote.
--
-- Anonymising rewrites who wrote and what the text said, never what happened or when: the
-- audit trail stays append-only for its other columns (`actor` and `detail` may be rewritten
-- so that a requester's address and words can go), and no row can be deleted.
DROP TRIGGER events_no_update;
CREATE TRIGGER events_no_update BEFORE UPDATE OF id, ticket_id, at, action, operator, message ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

-- When a ticket's raw mail and files were deleted ([retention] raw_mail_days) and when its
-- personal data was anonymised ([retention] personal_data_days, or an erasure request).
ALTER TABLE tickets ADD COLUMN raw_purged_at TEXT;
ALTER TABLE tickets ADD COLUMN anonymised_at TEXT;
CREATE INDEX tickets_archived_pending ON tickets (status) WHERE anonymised_at IS NULL;

-- The satisfaction vote ("Mettiamoci la faccia"): one per SLA cycle, changeable for
-- [survey] days after the closing letter. score: 1 positive, 2 neutral, 3 negative.
CREATE TABLE votes (
    cycle_id   INTEGER PRIMARY KEY REFERENCES cycles (id),
    ticket_id  TEXT NOT NULL REFERENCES tickets (id),
    score      INTEGER NOT NULL CHECK (score IN (1, 2, 3)),
    comment    TEXT NOT NULL DEFAULT '',
    via        TEXT NOT NULL CHECK (via IN ('web', 'mail')),
    at         TEXT NOT NULL,                  -- first cast
    changed_at TEXT                            -- last change, if any
);
CREATE INDEX votes_ticket ON votes (ticket_id);

-- Attachment contents an erasure by mail stopped naming, deleted from the disk by the next
-- housekeeping pass (after the intake transaction that erased them has committed).
CREATE TABLE files_to_delete (
    sha256 TEXT PRIMARY KEY
);
