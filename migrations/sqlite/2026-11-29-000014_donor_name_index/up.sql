-- Donor name search ("contains every word", GET /donors?q=) without a scan: SQLite's LIKE
-- cannot use an index for '%word%', so an FTS5 table with the trigram tokenizer indexes the
-- folded name. External content: the text stays in donors (a rowid table: its TEXT primary
-- key is not an INTEGER PRIMARY KEY), the FTS table holds only the index, keyed by the rowid.
-- Triggers keep it in step within the writing transaction, whatever writes donors (API,
-- import, demo, merge, anonymise, or SQL by hand).
--
-- A `VACUUM` may renumber the rowids of such a table; after one, rebuild the index:
--     INSERT INTO donors_name_fts (donors_name_fts) VALUES ('rebuild');
-- (the search checks every candidate with LIKE, so a stale index can miss names, never
-- return a wrong one).
CREATE VIRTUAL TABLE donors_name_fts USING fts5 (
    name_folded,
    content = 'donors',
    content_rowid = 'rowid',
    tokenize = 'trigram'
);

CREATE TRIGGER donors_name_fts_insert AFTER INSERT ON donors BEGIN
    INSERT INTO donors_name_fts (rowid, name_folded) VALUES (new.rowid, new.name_folded);
END;

CREATE TRIGGER donors_name_fts_delete AFTER DELETE ON donors BEGIN
    INSERT INTO donors_name_fts (donors_name_fts, rowid, name_folded)
        VALUES ('delete', old.rowid, old.name_folded);
END;

CREATE TRIGGER donors_name_fts_update AFTER UPDATE OF name_folded ON donors BEGIN
    INSERT INTO donors_name_fts (donors_name_fts, rowid, name_folded)
        VALUES ('delete', old.rowid, old.name_folded);
    INSERT INTO donors_name_fts (rowid, name_folded) VALUES (new.rowid, new.name_folded);
END;

-- The FTS index's own counts (in how many names each trigram is), which the search reads to
-- choose between sorting the matches of a query and walking the name index against them.
CREATE VIRTUAL TABLE donors_name_vocab USING fts5vocab (donors_name_fts, 'row');

-- The donors already registered.
INSERT INTO donors_name_fts (donors_name_fts) VALUES ('rebuild');
