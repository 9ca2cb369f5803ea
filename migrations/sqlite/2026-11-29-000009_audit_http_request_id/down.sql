ALTER TABLE audit_log DROP COLUMN http_request_id;
