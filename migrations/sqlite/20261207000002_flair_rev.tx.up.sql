-- A member's level and badge count (their flair) no longer bump site_rev.rev,
-- which every cached page depends on at once: a badge granted somewhere would
-- throw away every page. They bump site_rev.flair, which pages may show up to
-- a grace late (docs/caching.md), so a busy forum re-renders a page for flair
-- at most once per grace.
ALTER TABLE site_rev ADD COLUMN flair INTEGER NOT NULL DEFAULT 0;
--bun:split
DROP TRIGGER users_update_rev;
--bun:split
CREATE TRIGGER users_update_rev AFTER UPDATE OF username, display_name, role ON users BEGIN
    UPDATE site_rev SET rev = rev + 1;
END;
--bun:split
CREATE TRIGGER users_flair_rev AFTER UPDATE OF level, badge_count ON users BEGIN
    UPDATE site_rev SET flair = flair + 1;
END;
