-- The knowledge base: one entry per resolved ticket (redacted), and its full-text index of
-- terms analysed in Rust (Italian stemming, accents folded), ranked with BM25.
CREATE TABLE kb_entries (
    id          INTEGER PRIMARY KEY,
    ticket_id   TEXT UNIQUE REFERENCES tickets (id),   -- NULL for an article written by hand
    title       TEXT NOT NULL,
    problem     TEXT NOT NULL,                          -- redacted
    solution    TEXT NOT NULL,                          -- redacted
    channel     TEXT,
    level       INTEGER,
    category    TEXT,
    reviewed    INTEGER NOT NULL DEFAULT 0,             -- curated with #kb or kb edit
    created_at  TEXT NOT NULL,
    resolved_at TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX kb_entries_resolved ON kb_entries (resolved_at);

-- rowid = kb_entries.id; `terms` holds the analysed terms separated by spaces.
CREATE VIRTUAL TABLE kb_index USING fts5 (terms, tokenize = 'unicode61 remove_diacritics 0');
