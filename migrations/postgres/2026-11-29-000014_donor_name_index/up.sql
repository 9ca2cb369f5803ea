-- Donor name search ("contains every word", GET /donors?q=) without a scan: a trigram GIN
-- index on the folded name serves `name_folded LIKE '%word%'` for words of three characters or
-- more (shorter ones are checked on the rows the longer ones matched). pg_trgm ships with
-- PostgreSQL and is a trusted extension (PostgreSQL 13+): a database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX donors_name_trgm_idx ON donors USING gin (name_folded gin_trgm_ops);
