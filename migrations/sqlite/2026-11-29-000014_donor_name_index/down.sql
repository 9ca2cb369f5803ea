DROP TRIGGER IF EXISTS donors_name_fts_update;
DROP TRIGGER IF EXISTS donors_name_fts_delete;
DROP TRIGGER IF EXISTS donors_name_fts_insert;
DROP TABLE IF EXISTS donors_name_vocab;
DROP TABLE IF EXISTS donors_name_fts;
