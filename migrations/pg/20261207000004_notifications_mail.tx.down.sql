DROP TABLE secrets;
--bun:split
DROP TABLE category_watches;
--bun:split
DROP TABLE topic_watches;
--bun:split
ALTER TABLE mail_queue DROP COLUMN claimed_until;
--bun:split
ALTER TABLE mail_queue DROP COLUMN unsubscribe_url;
--bun:split
ALTER TABLE mail_queue DROP COLUMN html;
--bun:split
ALTER TABLE mail_queue DROP COLUMN kind;
--bun:split
DROP TABLE mail_outbox;
--bun:split
ALTER TABLE notifications DROP COLUMN count;
--bun:split
ALTER TABLE email_preferences DROP COLUMN digest_sent_at;
--bun:split
ALTER TABLE email_preferences DROP COLUMN bounce_reason;
--bun:split
ALTER TABLE email_preferences DROP COLUMN bouncing_at;
--bun:split
ALTER TABLE email_preferences DROP COLUMN notify_staff;
--bun:split
ALTER TABLE email_preferences DROP COLUMN notify_solution;
--bun:split
ALTER TABLE users DROP COLUMN email_verified_at;
