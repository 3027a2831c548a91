DROP TRIGGER users_flair_rev ON users;
--bun:split
DROP TRIGGER users_rev ON users;
--bun:split
CREATE TRIGGER users_rev AFTER DELETE OR UPDATE OF username, display_name, role, level, badge_count ON users
    FOR EACH ROW EXECUTE FUNCTION site_bump_rev();
--bun:split
DROP FUNCTION site_bump_flair();
--bun:split
ALTER TABLE site_rev DROP COLUMN flair;
