-- The servers using this database: each serving instance writes its row every few seconds and
-- deletes it when it stops; `upvault migrate` refuses a source with a fresh row (a copy taken
-- while a server writes can miss uploads). A killed server's row goes stale and is ignored.
-- Mirrors migrations/sqlite/0005_instances.sql.
CREATE TABLE instances (
    id         TEXT PRIMARY KEY,
    host       TEXT NOT NULL,
    pid        BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    seen_at    BIGINT NOT NULL
);
