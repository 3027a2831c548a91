-- PostgreSQL only (an unlogged shared_store); SQLite has no such tables.
SELECT 1;
