-- The colour a member picks for their avatar letter ('' = automatic, from
-- their id; models.AvatarColors lists the names). Authors' avatars show on
-- shared cached pages, so a change bumps site_rev.rev like a new name does.
ALTER TABLE users ADD COLUMN avatar_color TEXT NOT NULL DEFAULT '';
--bun:split
DROP TRIGGER users_rev ON users;
--bun:split
CREATE TRIGGER users_rev AFTER DELETE OR UPDATE OF username, display_name, role, avatar_color ON users
    FOR EACH ROW EXECUTE FUNCTION site_bump_rev();
