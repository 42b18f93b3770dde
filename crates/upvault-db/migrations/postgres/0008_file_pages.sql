-- Keyset pages of files (upvault_core::listing): one index per order, in a folder and across
-- the account, each ending in the id that breaks ties, so a page is one range scan wherever
-- it starts. Names order by lower(filename), on a column that is COLLATE "C": ASCII letters fold,
-- everything else compares by bytes, as on SQLite and in the domain.
-- Mirrors migrations/sqlite/0008_file_pages.sql.
CREATE INDEX files_page_name ON files (account_id, folder_id, (lower(filename)), id) WHERE status = 'active';
CREATE INDEX files_page_date ON files (account_id, folder_id, uploaded_at, id) WHERE status = 'active';
CREATE INDEX files_page_size ON files (account_id, folder_id, size_bytes, id) WHERE status = 'active';
CREATE INDEX files_search_name ON files (account_id, (lower(filename)), id) WHERE status = 'active';
CREATE INDEX files_search_date ON files (account_id, uploaded_at, id) WHERE status = 'active';
CREATE INDEX files_search_size ON files (account_id, size_bytes, id) WHERE status = 'active';
