ALTER TABLE donors DROP COLUMN last_chapter_id;
