-- Two landed migrations were edited afterwards (docs/migrations.md): this
-- brings a database migrated in between up to today's schema, and rebuilds
-- the same objects on one that has them.
CREATE TEMP TABLE site_rev_before AS SELECT id, rev FROM site_rev;
--bun:split
DROP TABLE site_rev;
--bun:split
CREATE TABLE site_rev (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    rev   INTEGER NOT NULL,
    lists INTEGER NOT NULL
);
--bun:split
INSERT INTO site_rev (id, rev, lists) SELECT id, rev + 1, rev + 1 FROM site_rev_before;
--bun:split
DROP TABLE site_rev_before;
--bun:split
DROP TRIGGER IF EXISTS topics_strict_rev;
--bun:split
CREATE TRIGGER topics_strict_rev AFTER UPDATE OF category_id, user_id, title, slug, removed_at ON topics BEGIN
    UPDATE site_rev SET lists = lists + 1;
END;
--bun:split
DROP TRIGGER topics_delete_rev;
--bun:split
CREATE TRIGGER topics_delete_rev AFTER DELETE ON topics BEGIN
    UPDATE categories SET rev = rev + 1 WHERE id = OLD.category_id;
    UPDATE site_rev SET lists = lists + 1;
END;
--bun:split
CREATE INDEX IF NOT EXISTS posts_hidden ON posts (id) WHERE hidden_at IS NOT NULL;
