-- Points that can be spent and mistakes that can be undone: payouts, reversed scans, the
-- ledger's new kinds with their reasons, balances that never go below zero, and the kept
-- answers of idempotent retries.

-- A reversed scan keeps its row; only a scan that stands holds its coupon, so a coupon put
-- back in play (restore) can be redeemed once more.
ALTER TABLE scans ADD COLUMN reversed_at INTEGER;
DROP INDEX scans_one_per_coupon;
CREATE UNIQUE INDEX scans_one_per_coupon ON scans (coupon_id) WHERE reversed_at IS NULL;
CREATE INDEX scans_by_coupon ON scans (coupon_id, id);

CREATE TABLE payouts (
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
CREATE INDEX payouts_by_user ON payouts (user_id, id);
CREATE INDEX payouts_by_status ON payouts (status, id);

-- SQLite cannot change a CHECK in place: the ledger is copied into a table with the new kinds.
CREATE TABLE ledger_entries_v5 (
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
INSERT INTO ledger_entries_v5 (id, user_id, kind, points, scan_id, created_at)
SELECT id, user_id, kind, points, scan_id, created_at FROM ledger_entries;
DROP TABLE ledger_entries;
ALTER TABLE ledger_entries_v5 RENAME TO ledger_entries;
CREATE INDEX ledger_by_user ON ledger_entries (user_id, id);
CREATE UNIQUE INDEX ledger_one_credit_per_scan ON ledger_entries (scan_id) WHERE kind = 'scan';
CREATE UNIQUE INDEX ledger_one_reversal_per_scan ON ledger_entries (scan_id) WHERE kind = 'reversal';
CREATE UNIQUE INDEX ledger_one_refund_per_payout ON ledger_entries (payout_id) WHERE kind = 'payout_refund';

-- The last guard of "a point is never spent twice": whatever the code above it does.
CREATE TRIGGER users_balance_never_negative BEFORE UPDATE OF balance ON users WHEN NEW.balance < 0
BEGIN SELECT RAISE(ABORT, 'a balance may never go below zero'); END;

-- The first answer to a request sent with an Idempotency-Key, kept with the key for 24 hours
-- and written in the transaction of the action it answers.
CREATE TABLE idempotency_keys (
    caller      TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    status      INTEGER,
    body        TEXT,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (caller, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
