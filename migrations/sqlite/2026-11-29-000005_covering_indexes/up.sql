-- Covering indexes for the reads that scan many donations (a drive's tally, a year's report,
-- the donations after a day for past honors): with the columns these read in the index, each
-- donation costs one index entry instead of an index entry and a table row in another part
-- of the file. At national scale a drive has thousands of units and a year 1.75 M.
-- `event_id` stands for "drive or emergency" (exactly one of `event_id` and
-- `emergency_request_id` is set, by a CHECK), so the emergency request id is not needed.
DROP INDEX donations_drive_idx;
CREATE INDEX donations_drive_idx ON donations (drive_id, outcome, voided, donor_id, event_id, volume_ml);
DROP INDEX donations_day_idx;
CREATE INDEX donations_day_idx ON donations (donated_on, outcome, voided, donor_id, event_id, chapter_id, volume_ml);
-- A donor's collections by instant: the "no earlier collection" probe of the tally's
-- first-time donors and the latest collection up to a day read only this index.
DROP INDEX donations_donor_idx;
CREATE INDEX donations_donor_idx ON donations (donor_id, outcome, voided, donated_at, id, donated_on);
