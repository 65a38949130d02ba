-- Issue 17, the gaps retention left: the stored bytes of outgoing mail about no ticket (the
-- morning digests, notices and answers to operators, alarms, monthly reports), and the raw
-- mail of quarantined messages and of incoming mail that reached no ticket (noise, bounces,
-- spam), go after [retention] raw_mail_days like a ticket's. Housekeeping looks for them on
-- every pass, so each look-up reads only the rows still holding bytes, oldest first.
CREATE INDEX outbox_ticketless_bytes ON outbox (created_at)
    WHERE ticket_id IS NULL AND (raw <> x'' OR draft IS NOT NULL);
CREATE INDEX quarantine_raw_kept ON quarantine (at) WHERE raw_sha256 IS NOT NULL;
CREATE INDEX messages_loose_raw ON messages (at) WHERE ticket_id IS NULL AND raw_sha256 IS NOT NULL;
