-- Usernames are compared NFKC-normalised and lower-cased (creation refuses anything but
-- a-z 0-9 . _ - after that; sign-in looks up the normalised form of what is typed), so the
-- stored names are lowered here. The unique index on lower(username) is built FIRST: two
-- accounts whose names differ only in case make its build fail, which stops this migration
-- (and the server start) instead of merging or renaming anyone silently. An operator renames
-- one of the two (UPDATE users SET username = ... WHERE id = ...) and starts again. The index
-- stays, so that no two accounts can differ only in case whatever writes the table.
CREATE UNIQUE INDEX users_username_lower ON users (lower(username));
UPDATE users SET username = lower(username) WHERE username <> lower(username);
-- Carried in every token; bumped when the password, the disabled flag or the role changes,
-- so that tokens issued before stop working.
ALTER TABLE users ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0;
