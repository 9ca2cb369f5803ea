-- The chapter of the donor's latest collected, not voided donation (null for an emergency
-- donation or none), kept with the other counters by the donation write transaction. With it,
-- the honors list as of today reads one row per donor instead of ranking every donation.
ALTER TABLE donors ADD COLUMN last_chapter_id TEXT REFERENCES chapters (id);
UPDATE donors SET last_chapter_id = (
    SELECT d.chapter_id FROM donations d
    WHERE d.donor_id = donors.id AND d.outcome = 'collected' AND NOT d.voided
    ORDER BY d.donated_at DESC, d.id DESC
    LIMIT 1
);
