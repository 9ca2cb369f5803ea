-- SQLite has no TRUNCATE: a DELETE without WHERE runs the row triggers that keep audit_log
-- append-only (SQLite skips its truncate optimisation on a table with triggers). The
-- migration exists on both backends under one name; here it has nothing to do.
SELECT 1;
