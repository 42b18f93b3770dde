//! Accounts, API keys and packages.

use super::{int, opt_time, secs, time, uint, SqliteStore};
use crate::convert::corrupt;
use crate::error::DbResultExt;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::LazyLock;
use upvault_core::ids::{AccountId, PackageId};
use upvault_core::model::{
    Account, AccountStatus, ApiKeyRecord, NewAccount, Package, PackageLimits, Role,
};
use upvault_core::ports::AccountRepo;
use upvault_core::{Error, Result, Unique};

const ACCOUNT_COLUMNS: &str = "id, username, email, password_hash, package_id, status, title, \
     first_name, last_name, created_at, last_login_at, last_login_ip, storage_limit_override, \
     paid_expiry_at, last_payment_at, role";

/// The account by id: read inline (see `inline`), as every upload and account call starts with
/// it.
static ACCOUNT_BY_ID: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?"));

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: i64,
    username: String,
    email: String,
    password_hash: Option<String>,
    package_id: i64,
    status: String,
    title: String,
    first_name: String,
    last_name: String,
    created_at: i64,
    last_login_at: Option<i64>,
    last_login_ip: String,
    storage_limit_override: Option<i64>,
    paid_expiry_at: Option<i64>,
    last_payment_at: Option<i64>,
    role: String,
}

impl AccountRow {
    /// The row of an inline read, columns in `ACCOUNT_COLUMNS` order.
    fn from_inline(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            username: row.get(1)?,
            email: row.get(2)?,
            password_hash: row.get(3)?,
            package_id: row.get(4)?,
            status: row.get(5)?,
            title: row.get(6)?,
            first_name: row.get(7)?,
            last_name: row.get(8)?,
            created_at: row.get(9)?,
            last_login_at: row.get(10)?,
            last_login_ip: row.get(11)?,
            storage_limit_override: row.get(12)?,
            paid_expiry_at: row.get(13)?,
            last_payment_at: row.get(14)?,
            role: row.get(15)?,
        })
    }
}

impl TryFrom<AccountRow> for Account {
    type Error = Error;

    fn try_from(row: AccountRow) -> Result<Self> {
        Ok(Account {
            id: AccountId(row.id),
            username: row.username,
            email: row.email,
            password_hash: row.password_hash,
            package_id: PackageId(row.package_id),
            status: AccountStatus::parse(&row.status)
                .ok_or_else(|| corrupt("account status", &row.status))?,
            title: row.title,
            first_name: row.first_name,
            last_name: row.last_name,
            created_at: time(row.created_at)?,
            last_login_at: opt_time(row.last_login_at)?,
            last_login_ip: row.last_login_ip,
            storage_limit_override: row.storage_limit_override.map(uint),
            paid_expiry_at: opt_time(row.paid_expiry_at)?,
            last_payment_at: opt_time(row.last_payment_at)?,
            role: Role::parse(&row.role).ok_or_else(|| corrupt("account role", &row.role))?,
        })
    }
}

/// `SELECT id, label, level_type, <every limit> FROM packages`; the limit columns are named
/// exactly as [`PackageLimits::KEYS`], so the list cannot drift from the model. Packages are a
/// handful of rows read on every upload and download, so all their reads run inline.
static PACKAGE_SELECT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT id, label, level_type, {} FROM packages",
        PackageLimits::KEYS.join(", ")
    )
});
static PACKAGES_IN_ORDER: LazyLock<String> =
    LazyLock::new(|| format!("{} ORDER BY id", *PACKAGE_SELECT));
static PACKAGE_BY_ID: LazyLock<String> =
    LazyLock::new(|| format!("{} WHERE id = ?", *PACKAGE_SELECT));

fn package_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Package> {
    let mut limits = PackageLimits::default();
    for key in PackageLimits::KEYS {
        limits.set(key, uint(row.get(*key)?));
    }
    Ok(Package {
        id: PackageId(row.get("id")?),
        label: row.get("label")?,
        level_type: row.get("level_type")?,
        limits,
    })
}

#[async_trait]
impl AccountRepo for SqliteStore {
    async fn create_account(&self, new: NewAccount) -> Result<Account> {
        let row: AccountRow = sqlx::query_as(&format!(
            "INSERT INTO accounts (username, email, password_hash, package_id, created_at, role, \
                 status, title, first_name, last_name, paid_expiry_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {ACCOUNT_COLUMNS}"
        ))
        .bind(&new.username)
        .bind(&new.email)
        .bind(&new.password_hash)
        .bind(new.package_id.0)
        .bind(secs(new.created_at))
        .bind(new.role.as_str())
        .bind(new.status.as_str())
        .bind(&new.title)
        .bind(&new.first_name)
        .bind(&new.last_name)
        .bind(new.paid_expiry_at.map(secs))
        .fetch_one(self.pool())
        .await
        .on_unique(|| Error::Taken(Unique::Username))?;
        row.try_into()
    }

    async fn account(&self, id: AccountId) -> Result<Option<Account>> {
        self.inline
            .optional(&ACCOUNT_BY_ID, [id.0], AccountRow::from_inline)?
            .map(Account::try_from)
            .transpose()
    }

    async fn account_by_username(&self, username: &str) -> Result<Option<Account>> {
        sqlx::query_as::<_, AccountRow>(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE username = ?"
        ))
        .bind(username)
        .fetch_optional(self.pool())
        .await
        .db()?
        .map(Account::try_from)
        .transpose()
    }

    async fn count_accounts(&self) -> Result<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(self.pool())
            .await
            .db()?;
        Ok(uint(count))
    }

    async fn account_by_email(&self, email: &str) -> Result<Option<Account>> {
        sqlx::query_as::<_, AccountRow>(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE lower(email) = lower(?) \
             ORDER BY id LIMIT 1"
        ))
        .bind(email)
        .fetch_optional(self.pool())
        .await
        .db()?
        .map(Account::try_from)
        .transpose()
    }

    async fn save_account(&self, account: &Account, end_tokens: bool) -> Result<bool> {
        let mut tx = self.write().await?;
        let changed = sqlx::query(
            "UPDATE accounts SET email = ?, password_hash = ?, package_id = ?, status = ?, \
             role = ?, title = ?, first_name = ?, last_name = ?, paid_expiry_at = ? \
             WHERE id = ?",
        )
        .bind(&account.email)
        .bind(&account.password_hash)
        .bind(account.package_id.0)
        .bind(account.status.as_str())
        .bind(account.role.as_str())
        .bind(&account.title)
        .bind(&account.first_name)
        .bind(&account.last_name)
        .bind(account.paid_expiry_at.map(secs))
        .bind(account.id.0)
        .execute(&mut *tx)
        .await
        .db()?
        .rows_affected();
        if end_tokens {
            end_access_tokens(&mut tx, account.id).await?;
        }
        tx.commit().await.db()?;
        Ok(changed == 1)
    }

    async fn delete_account(&self, id: AccountId) -> Result<bool> {
        let mut tx = self.write().await?;
        super::file::release_account_files(&mut tx, id).await?;
        for table in ["import_jobs", "folders"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE account_id = ?"))
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .db()?;
        }
        // API keys and access tokens go with the row (ON DELETE CASCADE).
        let gone = sqlx::query("DELETE FROM accounts WHERE id = ?")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .db()?
            .rows_affected();
        tx.commit().await.db()?;
        Ok(gone == 1)
    }

    async fn record_login(&self, id: AccountId, at: DateTime<Utc>, ip: &str) -> Result<()> {
        sqlx::query("UPDATE accounts SET last_login_at = ?, last_login_ip = ? WHERE id = ?")
            .bind(secs(at))
            .bind(ip)
            .bind(id.0)
            .execute(self.pool())
            .await
            .db()?;
        Ok(())
    }

    async fn insert_api_key(
        &self,
        account: AccountId,
        key1: &str,
        key2_hash: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_keys (key1, account_id, key2_hash, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(key1)
        .bind(account.0)
        .bind(key2_hash)
        .bind(secs(at))
        .execute(self.pool())
        .await
        .on_unique(|| Error::Conflict("that API key1 exists already".to_owned()))?;
        Ok(())
    }

    async fn api_key(&self, key1: &str) -> Result<Option<ApiKeyRecord>> {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT account_id, key2_hash FROM api_keys WHERE key1 = ?")
                .bind(key1)
                .fetch_optional(self.pool())
                .await
                .db()?;
        Ok(row.map(|(account_id, key2_hash)| ApiKeyRecord {
            account_id: AccountId(account_id),
            key2_hash,
        }))
    }

    async fn packages(&self) -> Result<Vec<Package>> {
        self.inline.all(&PACKAGES_IN_ORDER, [], package_from_row)
    }

    async fn package(&self, id: PackageId) -> Result<Option<Package>> {
        self.inline
            .optional(&PACKAGE_BY_ID, [id.0], package_from_row)
    }

    async fn update_package(&self, package: &Package) -> Result<()> {
        let entries = package.limits.entries();
        let assignments: Vec<String> = entries
            .iter()
            .map(|(key, _)| format!("{key} = ?"))
            .collect();
        let sql = format!(
            "UPDATE packages SET label = ?, level_type = ?, {} WHERE id = ?",
            assignments.join(", ")
        );
        let mut query = sqlx::query(&sql)
            .bind(&package.label)
            .bind(&package.level_type);
        for (_, value) in entries {
            query = query.bind(int(value));
        }
        let done = query.bind(package.id.0).execute(self.pool()).await.db()?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(upvault_core::Entity::Package));
        }
        Ok(())
    }

    async fn storage_used_bytes(&self, account: AccountId) -> Result<u64> {
        super::file::active_bytes(self.pool(), account).await
    }
}

/// Ends every access token of the account, inside the caller's transaction (a new password or
/// a suspension must not leave old sessions alive).
async fn end_access_tokens(conn: &mut sqlx::SqliteConnection, id: AccountId) -> Result<()> {
    sqlx::query("DELETE FROM access_tokens WHERE account_id = ?")
        .bind(id.0)
        .execute(conn)
        .await
        .db()?;
    Ok(())
}
