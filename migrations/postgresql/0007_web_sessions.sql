-- Sessions of the pages (see schema.sql): only the SHA-256 of the cookie's id is stored.
CREATE TABLE web_sessions (
    id_hash     text    PRIMARY KEY,
    kind        text    NOT NULL CHECK (kind IN ('customer', 'operator')),
    user_id     bigint  REFERENCES users (id),
    operator    text,
    created_at  bigint  NOT NULL,
    expires_at  bigint  NOT NULL,
    CHECK ((kind = 'customer' AND user_id IS NOT NULL AND operator IS NULL)
        OR (kind = 'operator' AND operator IS NOT NULL AND user_id IS NULL))
);
CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_at);
