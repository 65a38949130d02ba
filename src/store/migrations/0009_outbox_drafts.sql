-- Mail without attachments is queued as a draft and composed when it is first sent, which
-- keeps composition off the transaction that queued it. Such a row has an empty `raw` and
-- its draft (JSON: sender, recipients, subject, body, threading); composition is
-- deterministic (the Date is `created_at`), so every attempt sends the same bytes.
ALTER TABLE outbox ADD COLUMN draft TEXT;
