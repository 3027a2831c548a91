DROP TABLE search_outbox;
--bun:split
DROP TABLE mail_queue;
--bun:split
DROP TABLE email_preferences;
--bun:split
DROP TABLE notifications;
--bun:split
DROP TABLE user_badges;
--bun:split
DROP TABLE badges;
--bun:split
DROP TABLE user_notes;
--bun:split
DROP TABLE suspensions;
--bun:split
DROP TABLE moderation_actions;
--bun:split
DROP TABLE flags;
--bun:split
DROP TABLE topic_views;
--bun:split
DROP TABLE likes;
--bun:split
DROP TABLE post_revisions;
--bun:split
DROP TABLE posts;
--bun:split
DROP TABLE topics;
--bun:split
DROP TABLE categories;
--bun:split
DROP TABLE api_tokens;
--bun:split
DROP TABLE sessions;
--bun:split
DROP TABLE identities;
--bun:split
DROP TABLE users;
--bun:split
DROP TABLE settings;
