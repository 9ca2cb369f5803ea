-- A deferral may be noted outside any event (`POST /donors/{id}/deferrals`: a screening result
-- that arrives after the drive): neither an event nor an emergency request. A collection still
-- belongs to exactly one of them, and no donation to both. SQLite cannot change a CHECK in
-- place: the table is rebuilt (nothing references it) and its indexes created again.
CREATE TABLE donations_new (
    id TEXT PRIMARY KEY NOT NULL,
    donor_id TEXT NOT NULL REFERENCES donors (id),
    event_id TEXT REFERENCES events (id),
    emergency_request_id TEXT REFERENCES emergency_requests (id),
    -- Copied from the event's drive when written, so reports and honors group without joins;
    -- for a deferral noted outside any event, the donor's registering chapter.
    drive_id TEXT REFERENCES drives (id),
    chapter_id TEXT REFERENCES chapters (id),
    component TEXT NOT NULL CHECK (component IN ('whole_blood', 'red_cells', 'platelets', 'plasma')),
    volume_ml INTEGER NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('collected', 'deferred')),
    donated_at TIMESTAMP NOT NULL,
    donated_on DATE NOT NULL,
    unit_code TEXT UNIQUE,
    deferral_reason TEXT,
    deferred_until DATE,
    permanent BOOLEAN NOT NULL DEFAULT FALSE,
    voided BOOLEAN NOT NULL DEFAULT FALSE,
    void_reason TEXT,
    voided_at TIMESTAMP,
    voided_by TEXT,
    recorded_by TEXT NOT NULL,
    client_ref TEXT,
    client_ref_hash TEXT,
    created_at TIMESTAMP NOT NULL,
    CHECK (event_id IS NULL OR emergency_request_id IS NULL),
    CHECK (outcome = 'deferred' OR event_id IS NOT NULL OR emergency_request_id IS NOT NULL),
    UNIQUE (event_id, client_ref)
);
INSERT INTO donations_new (
    id, donor_id, event_id, emergency_request_id, drive_id, chapter_id, component,
    volume_ml, outcome, donated_at, donated_on, unit_code, deferral_reason, deferred_until,
    permanent, voided, void_reason, voided_at, voided_by, recorded_by, client_ref,
    client_ref_hash, created_at
) SELECT
    id, donor_id, event_id, emergency_request_id, drive_id, chapter_id, component,
    volume_ml, outcome, donated_at, donated_on, unit_code, deferral_reason, deferred_until,
    permanent, voided, void_reason, voided_at, voided_by, recorded_by, client_ref,
    client_ref_hash, created_at
FROM donations;
DROP TABLE donations;
ALTER TABLE donations_new RENAME TO donations;
-- The indexes as left by 2026-11-29-000005_covering_indexes (dropped with the old table).
CREATE INDEX donations_donor_idx ON donations (donor_id, outcome, voided, donated_at, id, donated_on);
CREATE INDEX donations_event_idx ON donations (event_id, outcome, voided);
CREATE INDEX donations_drive_idx ON donations (drive_id, outcome, voided, donor_id, event_id, volume_ml);
CREATE INDEX donations_day_idx ON donations (donated_on, outcome, voided, donor_id, event_id, chapter_id, volume_ml);
CREATE INDEX donations_request_idx ON donations (emergency_request_id);
