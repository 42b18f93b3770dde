-- Request-rate counters of the API and the pages, shared by every instance: one row per key
-- and one-minute window, bumped by one UPSERT per request; windows older than the previous one
-- are purged. Mirrors migrations/sqlite/0004_rate_windows.sql.
CREATE TABLE rate_windows (
    key          TEXT    NOT NULL,
    window_start BIGINT  NOT NULL,
    hits         BIGINT  NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_windows_window_start ON rate_windows (window_start);
