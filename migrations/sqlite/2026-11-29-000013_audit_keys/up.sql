-- The audit chain becomes keyed (HMAC-SHA256 with a key kept outside the database): each
-- entry names the fingerprint of the key that hashed it (never the key).
ALTER TABLE audit_log ADD COLUMN key_fp TEXT;

-- The append-only guard keeps refusing every change but one: an entry written before the
-- chain was keyed (key_fp NULL) may be re-keyed once, at start-up, changing nothing but its
-- hash, its link and key_fp (NULL → a fingerprint). A keyed entry can never change again, so
-- the window closes entry by entry and cannot be reopened (key_fp cannot go back to NULL).
-- Whoever can drop this trigger could rewrite the table anyway: the key is what detects that.
DROP TRIGGER audit_log_no_update;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN NOT (
    OLD.key_fp IS NULL AND NEW.key_fp IS NOT NULL
    AND NEW.seq = OLD.seq AND NEW.id = OLD.id AND NEW.at = OLD.at AND NEW.action = OLD.action
    AND NEW.actor_user_id IS OLD.actor_user_id AND NEW.actor_key_id IS OLD.actor_key_id
    AND NEW.hospital_id IS OLD.hospital_id AND NEW.request_id IS OLD.request_id
    AND NEW.donor_ids = OLD.donor_ids AND NEW.detail = OLD.detail
    AND NEW.http_request_id IS OLD.http_request_id
)
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
