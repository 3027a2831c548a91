-- A member's level and badge count (their flair) no longer bump site_rev.rev,
-- which every cached page depends on at once: a badge granted somewhere would
-- throw away every page. They bump site_rev.flair, which pages may show up to
-- a grace late (docs/caching.md), so a busy forum re-renders a page for flair
-- at most once per grace.
ALTER TABLE site_rev ADD COLUMN flair BIGINT NOT NULL DEFAULT 0;
--bun:split
CREATE FUNCTION site_bump_flair() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE site_rev SET flair = flair + 1;
    RETURN NULL;
END
$$;
--bun:split
DROP TRIGGER users_rev ON users;
--bun:split
CREATE TRIGGER users_rev AFTER DELETE OR UPDATE OF username, display_name, role ON users
    FOR EACH ROW EXECUTE FUNCTION site_bump_rev();
--bun:split
CREATE TRIGGER users_flair_rev AFTER UPDATE OF level, badge_count ON users
    FOR EACH ROW EXECUTE FUNCTION site_bump_flair();
