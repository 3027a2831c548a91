DROP TABLE schedules;
--bun:split
DROP TABLE badge_subjects;
--bun:split
DROP INDEX user_badges_holders;
--bun:split
CREATE INDEX user_badges_badge ON user_badges (badge_id);
--bun:split
ALTER TABLE user_badges DROP COLUMN last_granted_at;
--bun:split
ALTER TABLE user_badges DROP COLUMN grant_count;
--bun:split
DROP INDEX badges_rule_key;
--bun:split
ALTER TABLE badges DROP COLUMN repeatable;
--bun:split
ALTER TABLE badges DROP COLUMN icon;
--bun:split
ALTER TABLE badges DROP COLUMN rule;
--bun:split
DROP TABLE level_thresholds;
--bun:split
DROP TABLE topic_reads;
--bun:split
ALTER TABLE users DROP COLUMN guidelines_read_at;
--bun:split
ALTER TABLE users DROP COLUMN solution_count;
--bun:split
ALTER TABLE users DROP COLUMN posts_read;
--bun:split
ALTER TABLE users DROP COLUMN topics_read;
--bun:split
ALTER TABLE users DROP COLUMN last_visit_day;
--bun:split
ALTER TABLE users DROP COLUMN days_visited;
--bun:split
ALTER TABLE users DROP COLUMN level_locked;
