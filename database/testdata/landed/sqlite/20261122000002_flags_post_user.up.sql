-- The moderation queue shows how many flags each author has received. The
-- post's author on the flag makes that an index range per author instead of
-- a walk through every post they wrote.
ALTER TABLE flags ADD COLUMN post_user_id INTEGER REFERENCES users (id);
--bun:split
UPDATE flags SET post_user_id = (SELECT user_id FROM posts WHERE posts.id = flags.post_id);
--bun:split
CREATE INDEX flags_post_user ON flags (post_user_id);
