-- Fails while a deferral noted outside any event is stored (void and delete those first).
ALTER TABLE donations DROP CONSTRAINT donations_origin_check;
ALTER TABLE donations ADD CONSTRAINT donations_check CHECK ((event_id IS NULL) <> (emergency_request_id IS NULL));
