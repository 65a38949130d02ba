-- Issue 15, item 7: a ticket may be one of an incident's, linked to its master (`#collega`).
ALTER TABLE tickets ADD COLUMN master_id TEXT;
CREATE INDEX tickets_master ON tickets (master_id) WHERE master_id IS NOT NULL;
