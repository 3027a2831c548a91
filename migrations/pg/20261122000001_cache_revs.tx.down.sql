DROP TRIGGER settings_rev ON settings;
--bun:split
DROP TRIGGER users_rev ON users;
--bun:split
DROP TRIGGER categories_rev ON categories;
--bun:split
DROP FUNCTION site_bump_rev();
--bun:split
DROP TRIGGER topics_rev ON topics;
--bun:split
DROP FUNCTION topics_bump_rev();
--bun:split
DROP TRIGGER posts_rev ON posts;
--bun:split
DROP FUNCTION posts_bump_rev();
--bun:split
DROP TABLE site_rev;
--bun:split
ALTER TABLE categories DROP COLUMN rev;
--bun:split
ALTER TABLE topics DROP COLUMN rev;
