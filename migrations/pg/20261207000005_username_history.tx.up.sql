-- Names a member used before: links to /u/{old} redirect to them, and a
-- name stays theirs until a year after they leave it (or their erasure).
CREATE TABLE username_history (
    old_name   TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    changed_at TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX username_history_user ON username_history (user_id, changed_at);
