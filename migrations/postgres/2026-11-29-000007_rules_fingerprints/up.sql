-- The fingerprint of the configuration that derived figures stored in the database were
-- computed with (e.g. `eligibility`: the donors' next_eligible_on, which candidate searches
-- filter on). At start, a fingerprint that differs from the configuration in force makes the
-- server recompute those figures before /ready answers 200.
CREATE TABLE rules_fingerprints (
    name TEXT PRIMARY KEY NOT NULL,
    fingerprint TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
