-- Rate-limit counters need no durability: an unlogged table writes no WAL,
-- so a hit does not wait for a WAL flush. A crash or a failover to a standby
-- empties it, which only restarts the current windows (docs/scale-out.md).
ALTER TABLE shared_store SET UNLOGGED;
