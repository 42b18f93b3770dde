-- Where a file came from and when it was last downloaded, as the real server's file objects
-- report them (`uploadSource`, `uploadedIP`, `lastAccessed`). Files from before know neither
-- address nor download time. Mirrors migrations/sqlite/0006_file_origin.sql.
ALTER TABLE files ADD COLUMN upload_source TEXT NOT NULL DEFAULT 'api';
ALTER TABLE files ADD COLUMN uploaded_ip TEXT NOT NULL DEFAULT '';
ALTER TABLE files ADD COLUMN last_accessed_at BIGINT;
