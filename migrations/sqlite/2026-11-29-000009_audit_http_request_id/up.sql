-- The X-Request-Id of the HTTP request that wrote the entry, so that an audit entry and a
-- server log line can be tied together (`request_id` keeps naming the emergency request).
ALTER TABLE audit_log ADD COLUMN http_request_id TEXT;
