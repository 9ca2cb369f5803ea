-- The audit chain becomes keyed (HMAC-SHA256 with a key kept outside the database): each
-- entry names the fingerprint of the key that hashed it (never the key).
ALTER TABLE audit_log ADD COLUMN key_fp TEXT;

-- The append-only guard keeps refusing every change but one: an entry written before the
-- chain was keyed (key_fp NULL) may be re-keyed once, at start-up, changing nothing but its
-- hash, its link and key_fp (NULL → a fingerprint). A keyed entry can never change again, so
-- the window closes entry by entry and cannot be reopened (key_fp cannot go back to NULL).
-- Whoever can disable this trigger could rewrite the table anyway: the key is what detects that.
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.key_fp IS NULL AND NEW.key_fp IS NOT NULL
       AND (NEW.seq, NEW.id, NEW.at, NEW.action, NEW.actor_user_id, NEW.actor_key_id,
            NEW.hospital_id, NEW.request_id, NEW.donor_ids, NEW.detail, NEW.http_request_id)
           IS NOT DISTINCT FROM
           (OLD.seq, OLD.id, OLD.at, OLD.action, OLD.actor_user_id, OLD.actor_key_id,
            OLD.hospital_id, OLD.request_id, OLD.donor_ids, OLD.detail, OLD.http_request_id)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only';
END; $$;
