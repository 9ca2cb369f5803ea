DROP INDEX donations_donor_idx;
CREATE INDEX donations_donor_idx ON donations (donor_id, donated_on);
DROP INDEX donations_day_idx;
CREATE INDEX donations_day_idx ON donations (donated_on, outcome, voided);
DROP INDEX donations_drive_idx;
CREATE INDEX donations_drive_idx ON donations (drive_id, outcome, voided);
