-- Batches made in short transactions (gen-coupons): a batch being built carries the key of the
-- session advisory lock its builder holds, and nothing reads it (no lookup, scan, count or
-- list) until the builder sets it back to NULL in the transaction that makes the batch whole.
-- A batch whose builder is gone (its lock free) is cleared by the next init-db or gen-coupons.
ALTER TABLE batches ADD COLUMN builder bigint;
CREATE INDEX batches_being_built ON batches (builder) WHERE builder IS NOT NULL;
