-- hienmau schema, PostgreSQL flavour. The SQLite file of the same name must define the same
-- tables and columns (tests compare them). Portable types only: UUIDs as TEXT, UTC
-- timestamps, calendar dates (in the configured zone), integers, booleans.

CREATE TABLE chapters (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    parent_id TEXT REFERENCES chapters (id),
    -- Materialised path "/root-id/…/own-id/": a subtree is `path LIKE '<path>%'`, one index scan on both backends.
    -- COLLATE "C": PostgreSQL uses a btree index for a LIKE prefix only under the C collation.
    path TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX chapters_parent_idx ON chapters (parent_id);

CREATE TABLE hospitals (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    province TEXT,
    commune TEXT,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'coordinator', 'hospital', 'honors')),
    chapter_id TEXT REFERENCES chapters (id),
    hospital_id TEXT REFERENCES hospitals (id),
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    hospital_id TEXT NOT NULL REFERENCES hospitals (id),
    name TEXT NOT NULL,
    -- SHA-256 of the key: keys are long random secrets, so a fast hash is enough and lookups stay O(1).
    key_hash TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX api_keys_hospital_idx ON api_keys (hospital_id);

CREATE TABLE donors (
    id TEXT PRIMARY KEY NOT NULL,
    full_name TEXT NOT NULL,
    -- COLLATE "C": the search key sorts by code point, as SQLite's BINARY does, whatever the
    -- cluster's locale (a linguistic collation ignores spaces and would page differently).
    name_folded TEXT COLLATE "C" NOT NULL,
    date_of_birth DATE NOT NULL,
    sex TEXT NOT NULL CHECK (sex IN ('male', 'female')),
    national_id TEXT UNIQUE,
    blood_group TEXT,
    phone TEXT,
    province TEXT,
    province_folded TEXT,
    commune TEXT,
    commune_folded TEXT,
    weight_kg DOUBLE PRECISION,
    reserve BOOLEAN NOT NULL DEFAULT FALSE,
    reserve_since DATE,
    prior_donations INTEGER NOT NULL DEFAULT 0 CHECK (prior_donations >= 0),
    prior_last_donation_on DATE,
    chapter_id TEXT REFERENCES chapters (id),
    -- Kept by the donation write transaction (recomputed from this donor's rows), so reads,
    -- candidates and honors never aggregate the donations table.
    collected_count INTEGER NOT NULL DEFAULT 0,
    first_collected_on DATE,
    last_donation_at TIMESTAMP,
    last_component TEXT,
    next_eligible_on DATE,
    deferred_until DATE,
    permanently_deferred BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX donors_name_idx ON donors (name_folded, id);
CREATE INDEX donors_phone_idx ON donors (phone);
CREATE INDEX donors_reserve_idx ON donors (reserve, blood_group, next_eligible_on);
CREATE INDEX donors_group_idx ON donors (blood_group, id);

CREATE TABLE drives (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    chapter_id TEXT NOT NULL REFERENCES chapters (id),
    starts_on DATE NOT NULL,
    ends_on DATE NOT NULL,
    target_units INTEGER,
    created_by TEXT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    CHECK (ends_on >= starts_on)
);
CREATE INDEX drives_chapter_idx ON drives (chapter_id, starts_on);
CREATE INDEX drives_dates_idx ON drives (starts_on, ends_on);

CREATE TABLE events (
    id TEXT PRIMARY KEY NOT NULL,
    drive_id TEXT NOT NULL REFERENCES drives (id),
    site TEXT NOT NULL,
    held_on DATE NOT NULL,
    province TEXT,
    commune TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX events_drive_idx ON events (drive_id, held_on);

CREATE TABLE emergency_requests (
    id TEXT PRIMARY KEY NOT NULL,
    hospital_id TEXT NOT NULL REFERENCES hospitals (id),
    blood_group TEXT NOT NULL,
    component TEXT NOT NULL,
    units_needed INTEGER NOT NULL CHECK (units_needed > 0),
    units_received INTEGER NOT NULL DEFAULT 0,
    urgency TEXT NOT NULL CHECK (urgency IN ('critical', 'urgent', 'routine')),
    status TEXT NOT NULL CHECK (status IN ('open', 'fulfilled', 'cancelled')),
    needed_by TIMESTAMP,
    province TEXT,
    province_folded TEXT,
    commune TEXT,
    commune_folded TEXT,
    note TEXT,
    opened_at TIMESTAMP NOT NULL,
    created_by_user TEXT REFERENCES users (id),
    created_by_key TEXT REFERENCES api_keys (id),
    created_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP
);
CREATE INDEX emergency_requests_hospital_idx ON emergency_requests (hospital_id, status, opened_at);
CREATE INDEX emergency_requests_opened_idx ON emergency_requests (opened_at, id);

CREATE TABLE donations (
    id TEXT PRIMARY KEY NOT NULL,
    donor_id TEXT NOT NULL REFERENCES donors (id),
    event_id TEXT REFERENCES events (id),
    emergency_request_id TEXT REFERENCES emergency_requests (id),
    -- Copied from the event's drive when written, so reports and honors group without joins.
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
    CHECK ((event_id IS NULL) <> (emergency_request_id IS NULL)),
    UNIQUE (event_id, client_ref)
);
CREATE INDEX donations_donor_idx ON donations (donor_id, donated_on);
CREATE INDEX donations_event_idx ON donations (event_id, outcome, voided);
CREATE INDEX donations_drive_idx ON donations (drive_id, outcome, voided);
CREATE INDEX donations_day_idx ON donations (donated_on, outcome, voided);
CREATE INDEX donations_request_idx ON donations (emergency_request_id);

CREATE TABLE donor_responses (
    id TEXT PRIMARY KEY NOT NULL,
    request_id TEXT NOT NULL REFERENCES emergency_requests (id),
    donor_id TEXT NOT NULL REFERENCES donors (id),
    response TEXT NOT NULL CHECK (response IN ('accepted', 'declined', 'no_answer')),
    recorded_by TEXT NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX donor_responses_request_idx ON donor_responses (request_id, donor_id, response);

CREATE TABLE awards (
    id TEXT PRIMARY KEY NOT NULL,
    donor_id TEXT NOT NULL REFERENCES donors (id),
    tier INTEGER NOT NULL,
    awarded_on DATE NOT NULL,
    note TEXT,
    recorded_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (donor_id, tier)
);

CREATE TABLE idempotency_keys (
    id TEXT PRIMARY KEY NOT NULL,
    -- The user id or API key id that sent the key: keys are per caller.
    principal TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response_status INTEGER NOT NULL,
    response_body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (principal, idem_key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

CREATE TABLE audit_log (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    at TIMESTAMP NOT NULL,
    action TEXT NOT NULL,
    actor_user_id TEXT,
    actor_key_id TEXT,
    hospital_id TEXT,
    request_id TEXT,
    -- JSON array of donor ids whose personal data the action disclosed.
    donor_ids TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT,
    hash TEXT
);

-- Append-only: the database itself refuses to change or delete audit entries.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
