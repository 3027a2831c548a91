-- User levels and the badge engine (docs/levels.md).
-- What levels are computed from, kept on the member's row so recomputing a
-- level reads one row: days visited (last_visit_day is the Unix day of the
-- last counted visit), topics and posts read (flushed from memory like view
-- counts, deduplicated by topic_reads), best answers, and the guidelines read.
ALTER TABLE users ADD COLUMN level_locked BOOLEAN NOT NULL DEFAULT FALSE;
--bun:split
ALTER TABLE users ADD COLUMN days_visited INTEGER NOT NULL DEFAULT 0;
--bun:split
ALTER TABLE users ADD COLUMN last_visit_day INTEGER NOT NULL DEFAULT 0;
--bun:split
ALTER TABLE users ADD COLUMN topics_read INTEGER NOT NULL DEFAULT 0;
--bun:split
ALTER TABLE users ADD COLUMN posts_read INTEGER NOT NULL DEFAULT 0;
--bun:split
ALTER TABLE users ADD COLUMN solution_count INTEGER NOT NULL DEFAULT 0;
--bun:split
ALTER TABLE users ADD COLUMN guidelines_read_at TIMESTAMP;
--bun:split
UPDATE users SET level = 1 WHERE level < 1;
--bun:split
UPDATE users SET solution_count = (SELECT count(*) FROM topics JOIN posts ON posts.id = topics.solved_post_id
    WHERE posts.user_id = users.id);
--bun:split
CREATE TABLE topic_reads (
    user_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    topic_id         INTEGER NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    last_post_number INTEGER NOT NULL,
    PRIMARY KEY (user_id, topic_id)
);
--bun:split
-- What a member needs to hold levels 2 to 5 (level 1 needs nothing); admins edit it at /admin/levels.
CREATE TABLE level_thresholds (
    level          INTEGER PRIMARY KEY CHECK (level BETWEEN 2 AND 5),
    days_joined    INTEGER NOT NULL,
    days_visited   INTEGER NOT NULL,
    topics_read    INTEGER NOT NULL,
    posts_read     INTEGER NOT NULL,
    replies        INTEGER NOT NULL,
    likes_given    INTEGER NOT NULL,
    likes_received INTEGER NOT NULL,
    solutions      INTEGER NOT NULL,
    max_penalty    INTEGER NOT NULL
);
--bun:split
INSERT INTO level_thresholds VALUES
    (2, 1, 2, 5, 30, 0, 0, 0, 0, 3),
    (3, 14, 10, 20, 100, 3, 3, 1, 0, 1),
    (4, 60, 40, 100, 500, 30, 20, 20, 3, 0),
    (5, 180, 100, 300, 2000, 100, 50, 100, 20, 0);
--bun:split
-- A badge's rule is the engine's key for it ('' for a badge admins grant by hand).
ALTER TABLE badges ADD COLUMN rule TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE badges ADD COLUMN icon TEXT NOT NULL DEFAULT 'star';
--bun:split
ALTER TABLE badges ADD COLUMN repeatable BOOLEAN NOT NULL DEFAULT FALSE;
--bun:split
CREATE UNIQUE INDEX badges_rule_key ON badges (rule) WHERE rule <> '';
--bun:split
-- One row per member and badge; a repeatable badge counts its grants, each
-- for one subject (a post, a topic, a year) kept in badge_subjects, whose key
-- makes every grant idempotent.
ALTER TABLE user_badges ADD COLUMN grant_count INTEGER NOT NULL DEFAULT 1;
--bun:split
ALTER TABLE user_badges ADD COLUMN last_granted_at TIMESTAMP;
--bun:split
UPDATE user_badges SET last_granted_at = granted_at;
--bun:split
DROP INDEX user_badges_badge;
--bun:split
CREATE INDEX user_badges_holders ON user_badges (badge_id, granted_at DESC, user_id);
--bun:split
CREATE TABLE badge_subjects (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    badge_id   INTEGER NOT NULL REFERENCES badges (id) ON DELETE CASCADE,
    subject    INTEGER NOT NULL,
    granted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, badge_id, subject)
);
--bun:split
-- Durable schedule of background passes: a node claims a due pass by moving
-- claimed_until forward, so one node runs it and a crash only delays it.
CREATE TABLE schedules (
    name          TEXT PRIMARY KEY,
    next_run_at   TIMESTAMP NOT NULL,
    last_run_at   TIMESTAMP,
    claimed_until TIMESTAMP
);
