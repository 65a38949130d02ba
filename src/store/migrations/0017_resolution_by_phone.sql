-- A requester without e-mail hears of the resolution by the closing call the operator records
-- (issue 20): the resolution clock stops at that record, as the take-in clock stops at the
-- call-back (`take_in_phone_at`).
ALTER TABLE cycles ADD COLUMN resolution_phone_at TEXT;
-- Cycles already closed so: no closing mail could leave, and the closing recorded is the call.
UPDATE cycles SET resolution_phone_at = resolved_at
 WHERE resolved_at IS NOT NULL AND resolution_message_id IS NULL AND resolution_phone_at IS NULL
   AND ticket_id IN (SELECT id FROM tickets WHERE requester_email IS NULL);
-- Those closed at once, with no call-back before: the closing call was the take-in too.
UPDATE cycles SET take_in_phone_at = take_in_at
 WHERE take_in_phone_at IS NULL AND take_in_message_id IS NULL AND take_in_at IS NOT NULL
   AND take_in_at = resolved_at AND resolution_phone_at IS NOT NULL;
