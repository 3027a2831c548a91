-- The moderation queue counts each author's removed posts.
CREATE INDEX posts_removed_user ON posts (user_id) WHERE removed_at IS NOT NULL;
