-- Awards can be voided (a correction): a voided award is kept for the audit but stops
-- counting, and the donor may be awarded that tier again. The table-level UNIQUE (donor_id,
-- tier) becomes a unique index over the awards in force; SQLite cannot drop a table
-- constraint, so the table is rebuilt (nothing references awards).
CREATE TABLE awards_new (
    id TEXT PRIMARY KEY NOT NULL,
    donor_id TEXT NOT NULL REFERENCES donors (id),
    tier INTEGER NOT NULL,
    awarded_on DATE NOT NULL,
    note TEXT,
    recorded_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    voided BOOLEAN NOT NULL DEFAULT FALSE,
    void_reason TEXT,
    voided_at TIMESTAMP,
    voided_by TEXT
);
INSERT INTO awards_new (id, donor_id, tier, awarded_on, note, recorded_by, created_at)
    SELECT id, donor_id, tier, awarded_on, note, recorded_by, created_at FROM awards;
DROP TABLE awards;
ALTER TABLE awards_new RENAME TO awards;
CREATE UNIQUE INDEX awards_donor_tier_idx ON awards (donor_id, tier) WHERE NOT voided;
