-- Two landed migrations were edited afterwards (docs/migrations.md): this
-- brings a database migrated in between up to today's schema, and changes
-- nothing on one that has it.
ALTER TABLE site_rev ADD COLUMN IF NOT EXISTS lists BIGINT NOT NULL DEFAULT 0;
--bun:split
ALTER TABLE site_rev ALTER COLUMN lists DROP DEFAULT;
--bun:split
CREATE OR REPLACE FUNCTION topics_bump_rev() RETURNS trigger LANGUAGE plpgsql AS $$
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
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND (NEW.category_id, NEW.user_id, NEW.title, NEW.slug, NEW.removed_at)
            IS DISTINCT FROM (OLD.category_id, OLD.user_id, OLD.title, OLD.slug, OLD.removed_at)) THEN
        UPDATE site_rev SET lists = lists + 1;
    END IF;
    RETURN NULL;
END
$$;
--bun:split
CREATE INDEX IF NOT EXISTS posts_hidden ON posts (id) WHERE hidden_at IS NOT NULL;
