-- Running totals behind GET /stats, so it costs the same at a million coupons and 100,000 users
-- as at ten: named counters (users; with payouts, the points reversed, adjusted, held and paid
-- out) and scans per UTC day. Sharded like batch_tallies: concurrent writers on PostgreSQL
-- rarely wait for one row.

CREATE TABLE stat_tallies (
    name        TEXT    NOT NULL,
    shard       INTEGER NOT NULL,
    value       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (name, shard)
) WITHOUT ROWID;
INSERT INTO stat_tallies (name, shard, value) SELECT 'users', 0, count(*) FROM users;

CREATE TABLE scan_days (
    day         INTEGER NOT NULL,  -- days since 1970-01-01, UTC
    shard       INTEGER NOT NULL,
    scans       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, shard)
) WITHOUT ROWID;
INSERT INTO scan_days (day, shard, scans) SELECT created_at / 86400, 0, count(*) FROM scans GROUP BY created_at / 86400;
