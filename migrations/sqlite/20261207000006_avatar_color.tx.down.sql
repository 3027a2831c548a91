DROP TRIGGER users_update_rev;
--bun:split
CREATE TRIGGER users_update_rev AFTER UPDATE OF username, display_name, role ON users BEGIN
    UPDATE site_rev SET rev = rev + 1;
END;
--bun:split
ALTER TABLE users DROP COLUMN avatar_color;
