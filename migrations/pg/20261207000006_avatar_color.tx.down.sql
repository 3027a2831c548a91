DROP TRIGGER users_rev ON users;
--bun:split
CREATE TRIGGER users_rev AFTER DELETE OR UPDATE OF username, display_name, role ON users
    FOR EACH ROW EXECUTE FUNCTION site_bump_rev();
--bun:split
ALTER TABLE users DROP COLUMN avatar_color;
