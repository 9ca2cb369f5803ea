-- Voided awards cannot be kept under the old one-per-(donor, tier) constraint: they go.
CREATE TABLE awards_old (
    id TEXT PRIMARY KEY NOT NULL,
    donor_id TEXT NOT NULL REFERENCES donors (id),
    tier INTEGER NOT NULL,
    awarded_on DATE NOT NULL,
    note TEXT,
    recorded_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (donor_id, tier)
);
INSERT INTO awards_old (id, donor_id, tier, awarded_on, note, recorded_by, created_at)
    SELECT id, donor_id, tier, awarded_on, note, recorded_by, created_at FROM awards
    WHERE NOT voided;
DROP TABLE awards;
ALTER TABLE awards_old RENAME TO awards;
