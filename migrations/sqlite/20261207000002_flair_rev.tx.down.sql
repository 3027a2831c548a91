DROP TRIGGER users_flair_rev;
--bun:split
DROP TRIGGER users_update_rev;
--bun:split
CREATE TRIGGER users_update_rev AFTER UPDATE OF username, display_name, role, level, badge_count ON users BEGIN
    UPDATE site_rev SET rev = rev + 1;
END;
--bun:split
ALTER TABLE site_rev DROP COLUMN flair;
