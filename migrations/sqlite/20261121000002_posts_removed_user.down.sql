DROP INDEX posts_removed_user;
