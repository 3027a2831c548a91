DROP TABLE sso_nonces;
--bun:split
DROP TABLE auth_states;
--bun:split
ALTER TABLE identities DROP COLUMN last_used_at;
--bun:split
ALTER TABLE identities DROP COLUMN profile;
--bun:split
DROP INDEX users_email_key;
--bun:split
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
