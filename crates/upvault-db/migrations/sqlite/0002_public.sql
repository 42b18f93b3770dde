-- Public pages (issue 3): the download log behind the 24-hour limits, failed folder-password
-- guesses, the server's signing secrets, and transfer slots held by visitors as well as accounts.

-- One row per download started from a public page. `visitor` is `ip:{address}` for guests and
-- `acct:{id}` for signed-in accounts; `counted` = 1 when the request started at byte 0 (it counts
-- towards downloads_per_24_hours); `bytes` is what it was charged (download_size_per_24_hours).
CREATE TABLE download_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    visitor TEXT    NOT NULL,
    file_id INTEGER NOT NULL,
    bytes   INTEGER NOT NULL,
    counted INTEGER NOT NULL CHECK (counted IN (0, 1)),
    at      INTEGER NOT NULL
);
CREATE INDEX download_log_visitor ON download_log (visitor, at);
CREATE INDEX download_log_age ON download_log (at);

-- Failed guesses of a folder's access password, keyed `{address}/{folder id}`.
CREATE TABLE guess_failures (
    key TEXT    NOT NULL,
    at  INTEGER NOT NULL
);
CREATE INDEX guess_failures_key ON guess_failures (key, at);

-- Secrets the server generates once and every instance shares (HMAC keys of tickets, folder
-- grants and sessions).
CREATE TABLE site_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Slots were keyed by account; guests on public pages hold them too, so the holder is a key.
-- Slots are leases of a few minutes: the live ones are carried over.
CREATE TABLE transfer_slots_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    holder     TEXT    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('upload', 'download')),
    expires_at INTEGER NOT NULL
);
INSERT INTO transfer_slots_new (id, holder, kind, expires_at)
    SELECT id, 'acct:' || account_id, kind, expires_at FROM transfer_slots;
DROP TABLE transfer_slots;
ALTER TABLE transfer_slots_new RENAME TO transfer_slots;
CREATE INDEX transfer_slots_holder ON transfer_slots (holder, kind, expires_at);
CREATE INDEX transfer_slots_expiry ON transfer_slots (expires_at);
