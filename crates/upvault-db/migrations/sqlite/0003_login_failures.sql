-- Failed logins, one row per failure and key (an account+address pair, an address, an account),
-- counted over a sliding window by every instance (SPEC.md §2 lockout).
CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX login_failures_key_at ON login_failures (key, at);
CREATE INDEX login_failures_at ON login_failures (at);
