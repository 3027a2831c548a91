-- The colour a member picks for their avatar letter ('' = automatic, from
-- their id; models.AvatarColors lists the names). Authors' avatars show on
-- shared cached pages, so a change bumps site_rev.rev like a new name does.
ALTER TABLE users ADD COLUMN avatar_color TEXT NOT NULL DEFAULT '';
--bun:split
DROP TRIGGER users_update_rev;
--bun:split
CREATE TRIGGER users_update_rev AFTER UPDATE OF username, display_name, role, avatar_color ON users BEGIN
    UPDATE site_rev SET rev = rev + 1;
END;
