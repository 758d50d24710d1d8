-- A scan in one call (issue #17): the rate-limit hit, the coupon locked and checked, the scan,
-- the coupon's status, the batch's tally, the scan day, the ledger entry and the balance, in one
-- round trip instead of four. The same rules as rewards/redemption/service.py (SQLite's path),
-- which the same tests hold both to. A refusal is answered as a row (`outcome` holds the problem's
-- code), not raised: raising would abort the transaction and take the counted hit with it, so
-- nothing here needs a savepoint. `instance`, when given, is the bearer token's database: a user
-- who does not exist in this one is `unauthorized`, before anything is written or counted.
CREATE FUNCTION redeem_coupon(
    p_user bigint, p_instance text, p_token text, p_now bigint, p_device text,
    p_limit bigint, p_window bigint, p_tally_shard integer, p_day_shard integer,
    OUT outcome text, OUT scan_id bigint, OUT points bigint, OUT balance bigint, OUT retry_after bigint
) LANGUAGE plpgsql AS $$
DECLARE
    counted bigint;
    opened bigint;
    coupon record;
BEGIN
    IF p_instance IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM users u JOIN database_instance d ON d.id = 1 WHERE u.id = p_user AND d.instance = p_instance
    ) THEN
        outcome := 'unauthorized';
        RETURN;
    END IF;
    -- Refused calls count too (rewards/ratelimit.py): the hit is written whatever comes after.
    INSERT INTO rate_limits AS r (key, window_start, hits) VALUES ('scan:' || p_user, p_now, 1)
    ON CONFLICT (key) DO UPDATE SET
        hits = CASE WHEN r.window_start <= p_now - p_window THEN 1 ELSE r.hits + 1 END,
        window_start = CASE WHEN r.window_start <= p_now - p_window THEN p_now ELSE r.window_start END
    RETURNING r.hits, r.window_start INTO counted, opened;
    IF counted > p_limit THEN
        outcome := 'rate_limited';
        retry_after := greatest(1, opened + p_window - p_now);
        RETURN;
    END IF;
    -- Locked as it is read: its status is still true when the scan is written. A batch still
    -- being built (gen-coupons) is not there yet.
    SELECT c.id, c.status, c.batch_id, b.points, b.expires_at, b.voided_at AS batch_voided_at INTO coupon
    FROM coupons c JOIN batches b ON b.id = c.batch_id
    WHERE c.token = p_token AND b.builder IS NULL
    FOR NO KEY UPDATE OF c;
    IF NOT FOUND THEN
        outcome := 'coupon_not_found';
    ELSIF coupon.status = 'void' OR coupon.batch_voided_at IS NOT NULL THEN
        outcome := 'coupon_void';
    ELSIF coupon.status = 'redeemed' THEN
        outcome := 'coupon_already_redeemed';
    ELSIF coupon.expires_at < p_now THEN
        outcome := 'coupon_expired';
    END IF;
    IF outcome IS NOT NULL THEN
        RETURN;
    END IF;
    -- The UNIQUE index on the coupon's standing scan stands behind the lock.
    INSERT INTO scans (coupon_id, user_id, created_at, device_id) VALUES (coupon.id, p_user, p_now, p_device)
    ON CONFLICT DO NOTHING RETURNING id INTO scan_id;
    IF scan_id IS NULL THEN
        outcome := 'coupon_already_redeemed';
        RETURN;
    END IF;
    UPDATE coupons SET status = 'redeemed' WHERE id = coupon.id;
    INSERT INTO batch_tallies AS t (batch_id, shard, redeemed, voided) VALUES (coupon.batch_id, p_tally_shard, 1, 0)
    ON CONFLICT (batch_id, shard) DO UPDATE SET redeemed = t.redeemed + 1;
    INSERT INTO scan_days AS d (day, shard, scans) VALUES (p_now / 86400, p_day_shard, 1)
    ON CONFLICT (day, shard) DO UPDATE SET scans = d.scans + 1;
    INSERT INTO ledger_entries (user_id, kind, points, scan_id, created_at)
    VALUES (p_user, 'scan', coupon.points, scan_id, p_now);
    UPDATE users SET balance = users.balance + coupon.points, scans = users.scans + 1 WHERE id = p_user
    RETURNING users.balance INTO balance;
    points := coupon.points;
    outcome := 'redeemed';
END $$;
