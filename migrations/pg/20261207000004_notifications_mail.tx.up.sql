-- Notifications members asked for, and the mail that carries them.
--
-- An address is mailed (beyond its own verification) only once verified.
ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMPTZ;
--bun:split
-- One preference per kind of mail, every one off until the member opts in:
-- the kinds the first schema had were on by default, so they are turned
-- off here for everyone who never opted in.
UPDATE email_preferences SET notify_replies = FALSE, notify_mentions = FALSE, notify_moderation = FALSE
    WHERE NOT opted_in;
--bun:split
ALTER TABLE email_preferences ADD COLUMN notify_solution BOOLEAN NOT NULL DEFAULT FALSE;
--bun:split
ALTER TABLE email_preferences ADD COLUMN notify_staff BOOLEAN NOT NULL DEFAULT FALSE;
--bun:split
-- A permanent delivery failure stops every mail to the address until the
-- member changes or verifies it again.
ALTER TABLE email_preferences ADD COLUMN bouncing_at TIMESTAMPTZ;
--bun:split
ALTER TABLE email_preferences ADD COLUMN bounce_reason TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE email_preferences ADD COLUMN digest_sent_at TIMESTAMPTZ;
--bun:split
-- Likes on one post are one notification while unread ("Ana and 3 others").
ALTER TABLE notifications ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
--bun:split
-- Notifications that may become mail, written with them; the mail pass
-- turns each into a queued message (or nothing) and deletes it.
CREATE TABLE mail_outbox (
    notification_id BIGINT PRIMARY KEY REFERENCES notifications (id) ON DELETE CASCADE
);
--bun:split
ALTER TABLE mail_queue ADD COLUMN kind TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE mail_queue ADD COLUMN html TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE mail_queue ADD COLUMN unsubscribe_url TEXT NOT NULL DEFAULT '';
--bun:split
-- A message is claimed by one sender until then; a sender that dies leaves
-- it to be claimed again once the claim runs out.
ALTER TABLE mail_queue ADD COLUMN claimed_until TIMESTAMPTZ;
--bun:split
-- Watching: every new reply notifies; muted: nothing does.
CREATE TABLE topic_watches (
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    topic_id   BIGINT NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    level      TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, topic_id)
);
--bun:split
CREATE INDEX topic_watches_topic ON topic_watches (topic_id);
--bun:split
CREATE TABLE category_watches (
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    category_id BIGINT NOT NULL REFERENCES categories (id) ON DELETE CASCADE,
    level       TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, category_id)
);
--bun:split
CREATE INDEX category_watches_category ON category_watches (category_id);
--bun:split
-- Keys made once per installation (the key that signs links in mail),
-- shared by every node.
CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
