-- Issue 17: what belongs to no ticket is forgotten after [retention] personal_data_days like an
-- anonymised ticket: quarantine rows go whole (they serve no accounting), and incoming
-- messages of no ticket (noise, bounces, spam) lose who wrote them and what they said, keeping
-- when, where from and what intake did (their dedup key stays, so a late copy is not taken
-- again). Each look-up reads only the rows still naming someone, oldest first.
CREATE INDEX messages_loose_named ON messages (at) WHERE ticket_id IS NULL AND from_addr IS NOT NULL;
CREATE INDEX quarantine_at ON quarantine (at);
