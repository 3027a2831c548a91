-- Sign-in with accounts people already have (OAuth, OpenID Connect, the
-- customer product's signed SSO). Such a member may have no email, or one
-- that another member holds (an email never selects an account), so empty
-- emails no longer count in the uniqueness of addresses.
DROP INDEX users_email_key;
--bun:split
CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE email <> '';
--bun:split
-- What the provider or the customer's product told us beyond the id (the
-- SSO company and attributes), as JSON: shown to staff only.
ALTER TABLE identities ADD COLUMN profile TEXT NOT NULL DEFAULT '{}';
--bun:split
ALTER TABLE identities ADD COLUMN last_used_at TIMESTAMPTZ;
--bun:split
-- A sign-in in flight, bound to the browser by a short-lived cookie holding
-- the token whose hash is the key: before the provider answers (purpose
-- signin or link, data the provider session), or after it while a new
-- member picks a username (purpose signup, data the external identity).
CREATE TABLE auth_states (
    token_hash TEXT PRIMARY KEY,
    provider   TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    user_id    BIGINT REFERENCES users (id) ON DELETE CASCADE,
    data       TEXT NOT NULL,
    next       TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX auth_states_expires ON auth_states (expires_at);
--bun:split
-- SSO nonces seen, kept until their payload expires so none is replayed.
CREATE TABLE sso_nonces (
    nonce      TEXT PRIMARY KEY,
    expires_at TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX sso_nonces_expires ON sso_nonces (expires_at);
