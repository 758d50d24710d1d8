-- The whole schema of rewards, as of the newest version in migrations/sqlite/: what init-db
-- creates in a new database (an older one is upgraded by the migrations, to the same result;
-- a test holds the two together). Times are Unix seconds (UTC) in INTEGER
-- columns: cheap to compare and index; the API formats them as RFC 3339.
--
-- Money-like rule: a user's balance only ever changes in the same transaction that appends a
-- ledger entry, so SUM(ledger_entries.points) = users.balance is an invariant the tests check.
--
-- PostgreSQL has one object more (schema.postgresql.sql, version 10): the function
-- redeem_coupon, a whole scan in one round trip to the server. SQLite runs in the service's
-- process, where a statement costs no round trip: there the same rules are the statements of
-- rewards/redemption/service.py.

-- One row naming this database: tokens carry it, so a token never outlives the database it
-- was issued for (after init-db --reset, or a database replaced by another, ids start again).
CREATE TABLE IF NOT EXISTS database_instance (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    instance    TEXT    NOT NULL
);
INSERT INTO database_instance (id, instance) VALUES (1, lower(hex(randomblob(16)))) ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS users (
    id          INTEGER PRIMARY KEY,
    phone       TEXT    NOT NULL UNIQUE CHECK (phone GLOB '+[1-9]*' AND length(phone) BETWEEN 9 AND 16),
    -- Kept beside the ledger so a wallet or a scan costs the same at 10 rows as at 100,000.
    balance     INTEGER NOT NULL DEFAULT 0,
    scans       INTEGER NOT NULL DEFAULT 0 CHECK (scans >= 0),
    created_at  INTEGER NOT NULL
);
-- The console finds a customer by the last digits of the phone (what a caller reads out): the
-- last four characters, indexed (rewards/ledger/search.py).
CREATE INDEX IF NOT EXISTS users_by_phone_ending ON users (substr(phone, length(phone) - 3));

CREATE TABLE IF NOT EXISTS batches (
    id          INTEGER PRIMARY KEY,
    label       TEXT    CHECK (label IS NULL OR length(label) <= 100),
    count       INTEGER NOT NULL CHECK (count >= 1),
    points      INTEGER NOT NULL CHECK (points BETWEEN 1 AND 1000000),
    expires_at  INTEGER,
    created_at  INTEGER NOT NULL,
    -- A withdrawn batch: when and why (its coupons are void too, but for those redeemed).
    voided_at   INTEGER, void_reason TEXT CHECK (void_reason IS NULL OR length(void_reason) <= 500),
    -- While gen-coupons builds the batch in short transactions: the key of the lock its builder
    -- holds (a byte of the file `<database>-builders`). Nothing reads a batch whose builder is
    -- set; the transaction that makes it whole sets it to NULL.
    builder     INTEGER
);
-- The batches being built, for init-db and gen-coupons to find those whose builder is gone.
CREATE INDEX IF NOT EXISTS batches_being_built ON batches (builder) WHERE builder IS NOT NULL;

CREATE TABLE IF NOT EXISTS coupons (
    id          INTEGER PRIMARY KEY,
    token       TEXT    NOT NULL UNIQUE CHECK (length(token) = 36 AND token = lower(token)),
    batch_id    INTEGER NOT NULL REFERENCES batches (id),
    status      TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'redeemed', 'void')), voided_at INTEGER, void_reason TEXT CHECK (void_reason IS NULL OR length(void_reason) <= 500)
);
CREATE INDEX IF NOT EXISTS coupons_by_batch ON coupons (batch_id);

CREATE TABLE IF NOT EXISTS scans (
    id          INTEGER PRIMARY KEY,
    coupon_id   INTEGER NOT NULL REFERENCES coupons (id),
    user_id     INTEGER NOT NULL REFERENCES users (id),
    created_at  INTEGER NOT NULL, device_id TEXT CHECK (device_id IS NULL OR length(device_id) <= 100), reversed_at INTEGER
);
-- The last guard of exactly-once redemption: whatever the code above it does, a coupon has
-- one standing scan at most. A reversed scan keeps its row and frees its coupon, so a coupon
-- put back in play (restore) can be redeemed once more.
CREATE UNIQUE INDEX IF NOT EXISTS scans_one_per_coupon ON scans (coupon_id) WHERE reversed_at IS NULL;
CREATE INDEX IF NOT EXISTS scans_by_user ON scans (user_id);
CREATE INDEX IF NOT EXISTS scans_by_coupon ON scans (coupon_id, id);

-- A user's request to turn points into money, paid outside the service: the points leave the
-- balance when it is requested (a 'payout' entry) and come back once if it is rejected.
CREATE TABLE IF NOT EXISTS payouts (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    points      INTEGER NOT NULL CHECK (points > 0),
    status      TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    created_at  INTEGER NOT NULL,
    decided_at  INTEGER,
    operator    TEXT,
    reference   TEXT    CHECK (reference IS NULL OR length(reference) BETWEEN 1 AND 100),
    reason      TEXT    CHECK (reason IS NULL OR length(reason) BETWEEN 1 AND 500),
    CHECK ((status = 'pending') = (decided_at IS NULL)),
    CHECK (status <> 'approved' OR reference IS NOT NULL),
    CHECK (status <> 'rejected' OR reason IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS payouts_by_user ON payouts (user_id, id);
CREATE INDEX IF NOT EXISTS payouts_by_status ON payouts (status, id);

-- Append-only record of every change to a balance: 'scan' credits a redemption, 'reversal'
-- takes it back, 'adjustment' is an operator's correction, 'payout' holds points for a payout
-- and 'payout_refund' returns them when it is rejected.
CREATE TABLE IF NOT EXISTS ledger_entries (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    kind        TEXT    NOT NULL CHECK (kind IN ('scan', 'reversal', 'adjustment', 'payout', 'payout_refund')),
    points      INTEGER NOT NULL CHECK (points <> 0),
    scan_id     INTEGER REFERENCES scans (id),
    created_at  INTEGER NOT NULL,
    payout_id   INTEGER REFERENCES payouts (id),
    reason      TEXT    CHECK (reason IS NULL OR length(reason) BETWEEN 1 AND 500),
    CHECK (kind <> 'scan' OR (scan_id IS NOT NULL AND points > 0)),
    CHECK (kind <> 'reversal' OR (scan_id IS NOT NULL AND points < 0 AND reason IS NOT NULL)),
    CHECK (kind <> 'adjustment' OR reason IS NOT NULL),
    CHECK (kind <> 'payout' OR (payout_id IS NOT NULL AND points < 0)),
    CHECK (kind <> 'payout_refund' OR (payout_id IS NOT NULL AND points > 0 AND reason IS NOT NULL))
);
-- Serves the wallet's newest-first pages: (user_id, id < before) ORDER BY id DESC.
CREATE INDEX IF NOT EXISTS ledger_by_user ON ledger_entries (user_id, id);
CREATE UNIQUE INDEX IF NOT EXISTS ledger_one_credit_per_scan ON ledger_entries (scan_id) WHERE kind = 'scan';
CREATE UNIQUE INDEX IF NOT EXISTS ledger_one_reversal_per_scan ON ledger_entries (scan_id) WHERE kind = 'reversal';
CREATE UNIQUE INDEX IF NOT EXISTS ledger_one_refund_per_payout ON ledger_entries (payout_id) WHERE kind = 'payout_refund';

-- The last guard of "a point is never spent twice", whatever the code above it does.
CREATE TRIGGER IF NOT EXISTS users_balance_never_negative BEFORE UPDATE OF balance ON users WHEN NEW.balance < 0
BEGIN SELECT RAISE(ABORT, 'a balance may never go below zero'); END;

-- One live one-time code per phone: issuing a new one replaces the old. Only a keyed hash of
-- the code is stored. delivered = 0 while a webhook delivery is under way, so a code that was
-- never sent can never be used.
CREATE TABLE IF NOT EXISTS otp_codes (
    phone       TEXT    PRIMARY KEY,
    code_hash   TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    delivered   INTEGER NOT NULL CHECK (delivered IN (0, 1))
) WITHOUT ROWID;

-- Fixed-window counters shared by every worker process (keys like 'otp:+1555...', 'scan:7').
CREATE TABLE IF NOT EXISTS rate_limits (
    key          TEXT    PRIMARY KEY,
    window_start INTEGER NOT NULL,
    hits         INTEGER NOT NULL CHECK (hits >= 1)
) WITHOUT ROWID;

-- How many coupons of each batch were redeemed and voided, so a batch's four counts cost the
-- same for a million coupons as for ten. Each redemption adds to one of several shards (rows)
-- of its batch, so concurrent scans of one batch do not queue for one row lock on PostgreSQL.
CREATE TABLE IF NOT EXISTS batch_tallies (
    batch_id    INTEGER NOT NULL REFERENCES batches (id),
    shard       INTEGER NOT NULL,
    redeemed    INTEGER NOT NULL DEFAULT 0,
    voided      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (batch_id, shard)
) WITHOUT ROWID;

-- Every change an operator makes, with who, why and what, written in the same transaction as
-- the change. Append-only: the triggers refuse any UPDATE or DELETE.
CREATE TABLE IF NOT EXISTS audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    operator    TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    reason      TEXT,
    details     TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_action ON audit_log (action, id);
CREATE INDEX IF NOT EXISTS audit_by_operator ON audit_log (operator, id);
CREATE TRIGGER IF NOT EXISTS audit_log_is_append_only_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_is_append_only_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

-- Running totals behind GET /stats, so it costs the same at a million coupons and 100,000 users
-- as at ten: named counters (users; with payouts, the points reversed, adjusted, held and paid
-- out) and scans per UTC day, sharded like batch_tallies.
CREATE TABLE IF NOT EXISTS stat_tallies (
    name        TEXT    NOT NULL,
    shard       INTEGER NOT NULL,
    value       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (name, shard)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS scan_days (
    day         INTEGER NOT NULL,  -- days since 1970-01-01, UTC
    shard       INTEGER NOT NULL,
    scans       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, shard)
) WITHOUT ROWID;

-- The first answer to a request sent with an Idempotency-Key, kept with the key for 24 hours
-- and written in the transaction of the action it answers (status and body stay NULL only
-- while that transaction runs).
CREATE TABLE IF NOT EXISTS idempotency_keys (
    caller      TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    status      INTEGER,
    body        TEXT,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (caller, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_by_age ON idempotency_keys (created_at);

-- Sessions of the pages: a customer signed in on a phone, an operator on the console. The
-- cookie holds a random id; only its SHA-256 is stored, so a copy of the database opens no
-- session. Signing out deletes the row, and init-db --reset drops them all.
CREATE TABLE IF NOT EXISTS web_sessions (
    id_hash     TEXT    PRIMARY KEY,
    kind        TEXT    NOT NULL CHECK (kind IN ('customer', 'operator')),
    user_id     INTEGER REFERENCES users (id),
    operator    TEXT,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    CHECK ((kind = 'customer' AND user_id IS NOT NULL AND operator IS NULL)
        OR (kind = 'operator' AND operator IS NOT NULL AND user_id IS NULL))
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS web_sessions_by_expiry ON web_sessions (expires_at);
