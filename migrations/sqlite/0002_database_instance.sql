-- One row naming this database: tokens carry it, so a token never outlives the database it
-- was issued for (after init-db --reset, or a database replaced by another, ids start again).
CREATE TABLE IF NOT EXISTS database_instance (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    instance    TEXT    NOT NULL
);
INSERT INTO database_instance (id, instance) VALUES (1, lower(hex(randomblob(16)))) ON CONFLICT DO NOTHING;
