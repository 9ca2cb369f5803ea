-- A deferral may be noted outside any event (`POST /donors/{id}/deferrals`: a screening result
-- that arrives after the drive): neither an event nor an emergency request. A collection still
-- belongs to exactly one of them, and no donation to both.
ALTER TABLE donations DROP CONSTRAINT donations_check;
ALTER TABLE donations ADD CONSTRAINT donations_origin_check CHECK (
    (event_id IS NULL OR emergency_request_id IS NULL)
    AND (outcome = 'deferred' OR event_id IS NOT NULL OR emergency_request_id IS NOT NULL)
);
