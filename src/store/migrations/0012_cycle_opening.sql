-- How each SLA cycle opened, stated instead of inferred: the accounting counts reopenings
-- routed straight back to their closer, which used to be read from take_in_at = received_at.
-- Existing cycles get the value that inference gave.
ALTER TABLE cycles ADD COLUMN opened_as TEXT NOT NULL DEFAULT 'new-request'
    CHECK (opened_as IN ('new-request', 'reopened-to-closer', 'reopened-to-queue'));
UPDATE cycles SET opened_as = CASE WHEN take_in_at IS NOT NULL AND take_in_at = received_at
                                   THEN 'reopened-to-closer' ELSE 'reopened-to-queue' END
 WHERE number > 1;
