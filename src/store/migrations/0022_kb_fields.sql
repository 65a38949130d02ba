-- Issue 19: the knowledge base ranks by field (title, problem, solution, category: BM25F-like)
-- and learns from operators.
--
-- `kb_fields` replaces `kb_index`: one column per field, each holding the analysed terms
-- separated by spaces (rowid = kb_entries.id). The terms of an entry indexed before this
-- migration cannot be split into fields in SQL, so they are carried over in `problem` and the
-- entry is marked `index_version = 0`: it is still found, and `kb::reindex_stale` (run by
-- `sportello kb reindex`, and a few entries at a time by every new resolution) analyses it again.
CREATE VIRTUAL TABLE kb_fields USING fts5 (title, problem, solution, category, tokenize = 'unicode61 remove_diacritics 0');
INSERT INTO kb_fields (rowid, title, problem, solution, category)
    SELECT rowid, '', terms, '', '' FROM kb_index;
DROP TABLE kb_vocab;
DROP TABLE kb_index;

-- How many entries hold each term (any field). A search looks up every term of its query
-- here: fts5vocab would count a term's entries by walking its postings, which for a common
-- term over 100,000 entries takes milliseconds. Kept by `store::kb::index_entry`.
CREATE TABLE kb_terms (
    term TEXT PRIMARY KEY,
    docs INTEGER NOT NULL
) WITHOUT ROWID;
CREATE VIRTUAL TABLE temp.kb_fields_vocab USING fts5vocab (main, kb_fields, 'row');
INSERT INTO kb_terms (term, docs) SELECT term, doc FROM temp.kb_fields_vocab;
DROP TABLE temp.kb_fields_vocab;

ALTER TABLE kb_entries ADD COLUMN index_version INTEGER NOT NULL DEFAULT 0;
CREATE INDEX kb_entries_stale ON kb_entries (index_version, id);

-- Per field, how many terms the index holds in all: BM25F divides each field's length by its
-- average. One row, kept by `store::kb::index_entry`.
CREATE TABLE kb_field_lengths (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    entries  INTEGER NOT NULL,
    title    INTEGER NOT NULL,
    problem  INTEGER NOT NULL,
    solution INTEGER NOT NULL,
    category INTEGER NOT NULL
);
INSERT INTO kb_field_lengths (id, entries, title, problem, solution, category)
    SELECT 1, count(*), 0, coalesce(sum(length(problem) - length(replace(problem, ' ', '')) + (problem <> '')), 0), 0, 0
    FROM kb_fields;

-- What operators did with a suggestion on a ticket: `used` (cited in a resolution, or sent with
-- `#risposta kb:ID`) or `wrong` (`#kb no ID` on the notice). `terms`: the ticket's request,
-- redacted and analysed, so a later request can be compared with it. The latest verdict of an
-- operator on an (entry, ticket) pair wins.
CREATE TABLE kb_feedback (
    id        INTEGER PRIMARY KEY,
    entry_id  INTEGER NOT NULL REFERENCES kb_entries (id),
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    verdict   TEXT NOT NULL CHECK (verdict IN ('used', 'wrong')),
    terms     TEXT NOT NULL,
    by        TEXT NOT NULL,
    at        TEXT NOT NULL,
    UNIQUE (entry_id, ticket_id)
);
-- The requests of the feedback, searchable (rowid = kb_feedback.id): a new request finds the
-- verdicts given on similar ones, even for an entry its own words would not reach.
CREATE VIRTUAL TABLE kb_feedback_index USING fts5 (terms, tokenize = 'unicode61 remove_diacritics 0');
