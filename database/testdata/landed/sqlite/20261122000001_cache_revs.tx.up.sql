-- Versions for the rendered-page cache (app/cache.go). Triggers bump them in
-- the writing transaction, so no write path can forget to: topics.rev covers
-- a topic page (the topic row and its posts), categories.rev the topic lists
-- (any list-visible change to a topic of the category), site_rev what every
-- page shows (authors, categories, settings). View counts are left out on
-- purpose: they are flushed every few seconds and may lag in cached pages.
ALTER TABLE topics ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
--bun:split
ALTER TABLE categories ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
--bun:split
CREATE TABLE site_rev (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    rev INTEGER NOT NULL
);
--bun:split
INSERT INTO site_rev (id, rev) VALUES (1, 0);
--bun:split
CREATE TRIGGER posts_insert_rev AFTER INSERT ON posts BEGIN
    UPDATE topics SET rev = rev + 1 WHERE id = NEW.topic_id;
END;
--bun:split
CREATE TRIGGER posts_update_rev AFTER UPDATE ON posts BEGIN
    UPDATE topics SET rev = rev + 1 WHERE id IN (OLD.topic_id, NEW.topic_id);
END;
--bun:split
CREATE TRIGGER posts_delete_rev AFTER DELETE ON posts BEGIN
    UPDATE topics SET rev = rev + 1 WHERE id = OLD.topic_id;
END;
--bun:split
CREATE TRIGGER topics_insert_rev AFTER INSERT ON topics BEGIN
    UPDATE categories SET rev = rev + 1 WHERE id = NEW.category_id;
END;
--bun:split
CREATE TRIGGER topics_update_rev AFTER UPDATE OF category_id, user_id, title, slug, first_post_id, solved_post_id,
    reply_count, like_count, last_posted_at, last_post_user_id, locked, pinned, removed_at ON topics BEGIN
    UPDATE topics SET rev = rev + 1 WHERE id = NEW.id;
    UPDATE categories SET rev = rev + 1 WHERE id IN (OLD.category_id, NEW.category_id);
END;
--bun:split
CREATE TRIGGER topics_delete_rev AFTER DELETE ON topics BEGIN
    UPDATE categories SET rev = rev + 1 WHERE id = OLD.category_id;
END;
--bun:split
CREATE TRIGGER categories_insert_rev AFTER INSERT ON categories BEGIN
    UPDATE site_rev SET rev = rev + 1;
END;
--bun:split
CREATE TRIGGER categories_update_rev AFTER UPDATE OF name, slug, description, color, position, archived
    ON categories BEGIN
    UPDATE site_rev SET rev = rev + 1;
END;
--bun:split
CREATE TRIGGER categories_delete_rev AFTER DELETE ON categories BEGIN
    UPDATE site_rev SET rev = rev + 1;
END;
--bun:split
CREATE TRIGGER users_update_rev AFTER UPDATE OF username, display_name, role, level, badge_count ON users BEGIN
    UPDATE site_rev SET rev = rev + 1;
END;
--bun:split
CREATE TRIGGER users_delete_rev AFTER DELETE ON users BEGIN
    UPDATE site_rev SET rev = rev + 1;
END;
--bun:split
CREATE TRIGGER settings_insert_rev AFTER INSERT ON settings BEGIN
    UPDATE site_rev SET rev = rev + 1;
END;
--bun:split
CREATE TRIGGER settings_update_rev AFTER UPDATE ON settings BEGIN
    UPDATE site_rev SET rev = rev + 1;
END;
--bun:split
CREATE TRIGGER settings_delete_rev AFTER DELETE ON settings BEGIN
    UPDATE site_rev SET rev = rev + 1;
END;
