-- Lowered usernames stay lowered: the original case is not kept anywhere.
ALTER TABLE users DROP COLUMN token_version;
DROP INDEX users_username_lower;
