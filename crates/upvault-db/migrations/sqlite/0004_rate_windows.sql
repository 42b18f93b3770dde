-- Request-rate counters of the API and the pages when they are kept in the database (several
-- instances, or `[rate_limit] store = "database"`): one row per key and one-minute window,
-- bumped by one UPSERT per request; windows older than the previous one are purged.
-- Mirrors migrations/postgres/0004_rate_windows.sql.
CREATE TABLE rate_windows (
    key TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    hits INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
) WITHOUT ROWID;
CREATE INDEX rate_windows_window_start ON rate_windows (window_start);
