-- Issue 16, section 4: tickets brought in from a previous system's archive are history: no
-- letter, no notice, and their cycles never count in the service levels.
ALTER TABLE tickets ADD COLUMN imported_at TEXT;
