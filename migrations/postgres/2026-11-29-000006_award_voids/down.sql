-- Voided awards cannot be kept under the old one-per-(donor, tier) constraint: they go.
DROP INDEX awards_donor_tier_idx;
DELETE FROM awards WHERE voided;
ALTER TABLE awards ADD CONSTRAINT awards_donor_id_tier_key UNIQUE (donor_id, tier);
ALTER TABLE awards DROP COLUMN voided_by;
ALTER TABLE awards DROP COLUMN voided_at;
ALTER TABLE awards DROP COLUMN void_reason;
ALTER TABLE awards DROP COLUMN voided;
