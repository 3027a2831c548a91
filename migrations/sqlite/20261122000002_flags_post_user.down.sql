DROP INDEX posts_hidden;
--bun:split
DROP INDEX flags_post_user;
--bun:split
ALTER TABLE flags DROP COLUMN post_user_id;
