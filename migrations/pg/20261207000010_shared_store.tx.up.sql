-- What every node must see the same: rate-limit counters (n), login
-- backoff and other short-lived values (v), each until expires_at (Unix
-- milliseconds; 0: never). Keys are hashed where they hold an address or
-- a login name. Expired rows are purged by ratelimit.Service.Run.
CREATE TABLE shared_store (
    k          TEXT PRIMARY KEY,
    v          BYTEA,
    n          BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL
);
--bun:split
CREATE INDEX shared_store_expires ON shared_store (expires_at);
