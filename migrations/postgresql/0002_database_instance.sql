-- One row naming this database: tokens carry it, so a token never outlives the database it
-- was issued for (after init-db --reset, or a database replaced by another, ids start again).
CREATE TABLE database_instance (
    id          integer PRIMARY KEY CHECK (id = 1),
    instance    text    NOT NULL
);
INSERT INTO database_instance (id, instance) VALUES (1, replace(gen_random_uuid()::text, '-', ''));
