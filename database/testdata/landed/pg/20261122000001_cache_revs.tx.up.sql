-- Versions for the rendered-page cache (app/cache.go). Triggers bump them in
-- the writing transaction, so no write path can forget to: topics.rev covers
-- a topic page (the topic row and its posts), categories.rev the topic lists
-- (any list-visible change to a topic of the category), site_rev what every
-- page shows (authors, categories, settings). View counts are left out on
-- purpose: they are flushed every few seconds and may lag in cached pages.
ALTER TABLE topics ADD COLUMN rev BIGINT NOT NULL DEFAULT 0;
--bun:split
ALTER TABLE categories ADD COLUMN rev BIGINT NOT NULL DEFAULT 0;
--bun:split
CREATE TABLE site_rev (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    rev BIGINT NOT NULL
);
--bun:split
INSERT INTO site_rev (id, rev) VALUES (1, 0);
--bun:split
CREATE FUNCTION posts_bump_rev() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE topics SET rev = rev + 1 WHERE id = OLD.topic_id;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.topic_id <> OLD.topic_id) THEN
        UPDATE topics SET rev = rev + 1 WHERE id = NEW.topic_id;
    END IF;
    RETURN NULL;
END
$$;
--bun:split
CREATE TRIGGER posts_rev AFTER INSERT OR UPDATE OR DELETE ON posts
    FOR EACH ROW EXECUTE FUNCTION posts_bump_rev();
--bun:split
CREATE FUNCTION topics_bump_rev() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        UPDATE topics SET rev = rev + 1 WHERE id = NEW.id;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        UPDATE categories SET rev = rev + 1 WHERE id = OLD.category_id;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.category_id <> OLD.category_id) THEN
        UPDATE categories SET rev = rev + 1 WHERE id = NEW.category_id;
    END IF;
    RETURN NULL;
END
$$;
--bun:split
CREATE TRIGGER topics_rev AFTER INSERT OR DELETE OR UPDATE OF category_id, user_id, title, slug, first_post_id,
    solved_post_id, reply_count, like_count, last_posted_at, last_post_user_id, locked, pinned, removed_at ON topics
    FOR EACH ROW EXECUTE FUNCTION topics_bump_rev();
--bun:split
CREATE FUNCTION site_bump_rev() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE site_rev SET rev = rev + 1;
    RETURN NULL;
END
$$;
--bun:split
CREATE TRIGGER categories_rev AFTER INSERT OR DELETE OR UPDATE OF name, slug, description, color, position, archived
    ON categories FOR EACH ROW EXECUTE FUNCTION site_bump_rev();
--bun:split
CREATE TRIGGER users_rev AFTER DELETE OR UPDATE OF username, display_name, role, level, badge_count ON users
    FOR EACH ROW EXECUTE FUNCTION site_bump_rev();
--bun:split
CREATE TRIGGER settings_rev AFTER INSERT OR UPDATE OR DELETE ON settings
    FOR EACH ROW EXECUTE FUNCTION site_bump_rev();
