-- How many entries hold each term: search starts from the rarest terms of a query, so that
-- very common words cannot make it score most of the knowledge base.
CREATE VIRTUAL TABLE kb_vocab USING fts5vocab (kb_index, 'row');
