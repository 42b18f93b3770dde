-- Who may administer the site: `admin` or `user`. The account the first start created
-- (`admin`) is the administrator of installations from before roles.
-- Mirrors migrations/sqlite/0007_account_roles.sql.
ALTER TABLE accounts ADD COLUMN role TEXT NOT NULL DEFAULT 'user';
UPDATE accounts SET role = 'admin' WHERE username = 'admin';
