DROP INDEX IF EXISTS donors_name_trgm_idx;
-- The extension stays: other objects of the database may use it.
