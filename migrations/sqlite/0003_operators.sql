-- Operators: withdrawn coupons and batches with their reasons, the device that scanned, an
-- append-only audit log, and per-batch tallies of redeemed and void coupons.

ALTER TABLE batches ADD COLUMN void_reason TEXT CHECK (void_reason IS NULL OR length(void_reason) <= 500);
ALTER TABLE coupons ADD COLUMN voided_at INTEGER;
ALTER TABLE coupons ADD COLUMN void_reason TEXT CHECK (void_reason IS NULL OR length(void_reason) <= 500);
ALTER TABLE scans ADD COLUMN device_id TEXT CHECK (device_id IS NULL OR length(device_id) <= 100);

CREATE TABLE batch_tallies (
    batch_id    INTEGER NOT NULL REFERENCES batches (id),
    shard       INTEGER NOT NULL,
    redeemed    INTEGER NOT NULL DEFAULT 0,
    voided      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (batch_id, shard)
) WITHOUT ROWID;
INSERT INTO batch_tallies (batch_id, shard, redeemed, voided)
SELECT batch_id, 0, sum(status = 'redeemed'), sum(status = 'void') FROM coupons GROUP BY batch_id;

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    operator    TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    reason      TEXT,
    details     TEXT    NOT NULL
);
CREATE INDEX audit_by_action ON audit_log (action, id);
CREATE TRIGGER audit_log_is_append_only_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_is_append_only_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
