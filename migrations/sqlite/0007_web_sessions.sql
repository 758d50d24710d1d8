-- Sessions of the pages: a customer signed in on a phone, an operator on the console. The
-- cookie holds a random id; only its SHA-256 is stored, so a copy of the database opens no
-- session. Signing out deletes the row, and init-db --reset drops them all.
CREATE TABLE web_sessions (
    id_hash     TEXT    PRIMARY KEY,
    kind        TEXT    NOT NULL CHECK (kind IN ('customer', 'operator')),
    user_id     INTEGER REFERENCES users (id),
    operator    TEXT,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    CHECK ((kind = 'customer' AND user_id IS NOT NULL AND operator IS NULL)
        OR (kind = 'operator' AND operator IS NOT NULL AND user_id IS NULL))
) WITHOUT ROWID;
CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_at);
