-- The row triggers that keep audit_log append-only do not fire on TRUNCATE: without this, an
-- account that may write the table (but not change its triggers) could empty the log, and the
-- next start would begin a fresh, valid chain.
CREATE FUNCTION audit_log_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$;
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_no_truncate();
