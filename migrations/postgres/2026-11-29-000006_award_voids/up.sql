-- Awards can be voided (a correction): a voided award is kept for the audit but stops
-- counting, and the donor may be awarded that tier again. The UNIQUE (donor_id, tier)
-- constraint becomes a unique index over the awards in force.
ALTER TABLE awards ADD COLUMN voided BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE awards ADD COLUMN void_reason TEXT;
ALTER TABLE awards ADD COLUMN voided_at TIMESTAMP;
ALTER TABLE awards ADD COLUMN voided_by TEXT;
ALTER TABLE awards DROP CONSTRAINT awards_donor_id_tier_key;
CREATE UNIQUE INDEX awards_donor_tier_idx ON awards (donor_id, tier) WHERE NOT voided;
