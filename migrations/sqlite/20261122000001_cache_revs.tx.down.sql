DROP TRIGGER settings_delete_rev;
--bun:split
DROP TRIGGER settings_update_rev;
--bun:split
DROP TRIGGER settings_insert_rev;
--bun:split
DROP TRIGGER users_delete_rev;
--bun:split
DROP TRIGGER users_update_rev;
--bun:split
DROP TRIGGER categories_delete_rev;
--bun:split
DROP TRIGGER categories_update_rev;
--bun:split
DROP TRIGGER categories_insert_rev;
--bun:split
DROP TRIGGER topics_delete_rev;
--bun:split
DROP TRIGGER topics_strict_rev;
--bun:split
DROP TRIGGER topics_update_rev;
--bun:split
DROP TRIGGER topics_insert_rev;
--bun:split
DROP TRIGGER posts_delete_rev;
--bun:split
DROP TRIGGER posts_update_rev;
--bun:split
DROP TRIGGER posts_insert_rev;
--bun:split
DROP TABLE site_rev;
--bun:split
ALTER TABLE categories DROP COLUMN rev;
--bun:split
ALTER TABLE topics DROP COLUMN rev;
