-- upvault schema, SQLite. Times are INTEGER unix seconds (UTC), sizes INTEGER bytes.
-- AUTOINCREMENT so that ids (which appear in URLs) are never reused after a purge.

CREATE TABLE packages (
    id                            INTEGER PRIMARY KEY AUTOINCREMENT,
    label                         TEXT    NOT NULL,
    level_type                    TEXT    NOT NULL,
    max_upload_size               INTEGER NOT NULL DEFAULT 0,
    can_upload                    INTEGER NOT NULL DEFAULT 0,
    wait_between_downloads        INTEGER NOT NULL DEFAULT 0,
    download_speed                INTEGER NOT NULL DEFAULT 0,
    max_storage_bytes             INTEGER NOT NULL DEFAULT 0,
    show_site_adverts             INTEGER NOT NULL DEFAULT 0,
    show_upgrade_screen           INTEGER NOT NULL DEFAULT 0,
    days_to_keep_inactive_files   INTEGER NOT NULL DEFAULT 0,
    concurrent_uploads            INTEGER NOT NULL DEFAULT 0,
    concurrent_downloads          INTEGER NOT NULL DEFAULT 0,
    downloads_per_24_hours        INTEGER NOT NULL DEFAULT 0,
    download_size_per_24_hours    INTEGER NOT NULL DEFAULT 0,
    max_download_filesize_allowed INTEGER NOT NULL DEFAULT 0,
    max_remote_download_urls      INTEGER NOT NULL DEFAULT 0,
    on_upgrade_page               INTEGER NOT NULL DEFAULT 0
);

INSERT INTO packages (id, label, level_type, max_upload_size, can_upload, max_storage_bytes,
                      show_upgrade_screen, concurrent_uploads, max_remote_download_urls)
VALUES (1, 'Guest',           'guest',     0,           0, 0,           0, 0,   0),
       (2, 'Free Account',    'free user', 1073741824,  1, 10737418240, 0, 10,  10),
       (3, 'Premium Account', 'paid user', 10737418240, 1, 0,           1, 100, 50);

CREATE TABLE accounts (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    username               TEXT    NOT NULL UNIQUE,
    email                  TEXT    NOT NULL DEFAULT '',
    password_hash          TEXT,
    package_id             INTEGER NOT NULL REFERENCES packages (id),
    status                 TEXT    NOT NULL DEFAULT 'active',
    title                  TEXT    NOT NULL DEFAULT '',
    first_name             TEXT    NOT NULL DEFAULT '',
    last_name              TEXT    NOT NULL DEFAULT '',
    created_at             INTEGER NOT NULL,
    last_login_at          INTEGER,
    last_login_ip          TEXT    NOT NULL DEFAULT '',
    storage_limit_override INTEGER,
    paid_expiry_at         INTEGER,
    last_payment_at        INTEGER
);

CREATE TABLE api_keys (
    key1       TEXT    PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key2_hash  TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX api_keys_account ON api_keys (account_id);

CREATE TABLE access_tokens (
    digest     TEXT    PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX access_tokens_expiry ON access_tokens (expires_at);

CREATE TABLE folders (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id          INTEGER NOT NULL REFERENCES accounts (id),
    -- SET NULL: purging a trashed folder never fails on a straggler that still points at it.
    parent_id           INTEGER REFERENCES folders (id) ON DELETE SET NULL,
    name                TEXT    NOT NULL,
    visibility          INTEGER NOT NULL DEFAULT 0 CHECK (visibility IN (0, 1, 2)),
    access_password_md5 TEXT,
    status              TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'trash')),
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER,
    trashed_at          INTEGER
);
CREATE INDEX folders_listing ON folders (account_id, parent_id, status);
CREATE INDEX folders_parent ON folders (parent_id);
CREATE INDEX folders_purge ON folders (status, trashed_at);

CREATE TABLE blobs (
    key        TEXT    PRIMARY KEY, -- lower-case hex SHA-256 of the content
    size_bytes INTEGER NOT NULL,
    ref_count  INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX blobs_unreferenced ON blobs (key) WHERE ref_count <= 0;

CREATE TABLE files (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    folder_id    INTEGER REFERENCES folders (id) ON DELETE SET NULL,
    short_url    TEXT    NOT NULL UNIQUE,
    filename     TEXT    NOT NULL,
    mime_type    TEXT    NOT NULL,
    extension    TEXT    NOT NULL,
    size_bytes   INTEGER NOT NULL,
    blob_key     TEXT    NOT NULL REFERENCES blobs (key),
    md5          TEXT    NOT NULL,
    delete_hash  TEXT    NOT NULL,
    unique_hash  TEXT    NOT NULL,
    status       TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'trash')),
    downloads    INTEGER NOT NULL DEFAULT 0,
    keywords     TEXT    NOT NULL DEFAULT '',
    uploaded_at  INTEGER NOT NULL,
    updated_at   INTEGER,
    trashed_at   INTEGER
);
CREATE INDEX files_listing ON files (account_id, folder_id, status, filename);
CREATE INDEX files_usage ON files (account_id, status);
CREATE INDEX files_purge ON files (status, trashed_at);
CREATE INDEX files_blob ON files (blob_key);

CREATE TABLE download_tokens (
    digest     TEXT    PRIMARY KEY,
    file_id    INTEGER NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
);
CREATE INDEX download_tokens_expiry ON download_tokens (expires_at);
CREATE INDEX download_tokens_file ON download_tokens (file_id);

CREATE TABLE download_stats (
    file_id   INTEGER NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    day       TEXT    NOT NULL, -- 'YYYY-MM-DD', UTC
    downloads INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (file_id, day)
);

CREATE TABLE import_jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id       INTEGER NOT NULL REFERENCES accounts (id),
    url              TEXT    NOT NULL,
    folder_id        INTEGER REFERENCES folders (id) ON DELETE SET NULL,
    status           TEXT    NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'downloading', 'complete', 'failed')),
    created_at       INTEGER NOT NULL,
    started_at       INTEGER,
    finished_at      INTEGER,
    total_size       INTEGER NOT NULL DEFAULT 0,
    error            TEXT,
    file_id          INTEGER REFERENCES files (id) ON DELETE SET NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_expires_at INTEGER
);
CREATE INDEX import_jobs_account ON import_jobs (account_id, status);
CREATE INDEX import_jobs_queue ON import_jobs (status, created_at);
CREATE INDEX import_jobs_owner ON import_jobs (lease_owner);

CREATE TABLE transfer_slots (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL CHECK (kind IN ('upload', 'download')),
    expires_at INTEGER NOT NULL
);
CREATE INDEX transfer_slots_account ON transfer_slots (account_id, kind, expires_at);
CREATE INDEX transfer_slots_expiry ON transfer_slots (expires_at);
