//! Accounts, API keys and packages.

use super::PostgresStore;
use crate::convert::{corrupt, int, opt_time, secs, time, uint};
use crate::error::DbResultExt;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::Row as _;
use upvault_core::ids::{AccountId, PackageId};
use upvault_core::model::{
    Account, AccountStatus, ApiKeyRecord, NewAccount, Package, PackageLimits, Role,
};
use upvault_core::ports::AccountRepo;
use upvault_core::{Error, Result, Unique};

const ACCOUNT_COLUMNS: &str = "id, username, email, password_hash, package_id, status, title, \
     first_name, last_name, created_at, last_login_at, last_login_ip, storage_limit_override, \
     paid_expiry_at, last_payment_at, role";

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
/// exactly as [`PackageLimits::KEYS`], so the list cannot drift from the model.
fn package_select() -> String {
    format!(
        "SELECT id, label, level_type, {} FROM packages",
        PackageLimits::KEYS.join(", ")
    )
}

fn package_from_row(row: &PgRow) -> Result<Package> {
    let mut limits = PackageLimits::default();
    for key in PackageLimits::KEYS {
        let value: i64 = row.try_get(*key).db()?;
        limits.set(key, uint(value));
    }
    Ok(Package {
        id: PackageId(row.try_get("id").db()?),
        label: row.try_get("label").db()?,
        level_type: row.try_get("level_type").db()?,
        limits,
    })
}

#[async_trait]
impl AccountRepo for PostgresStore {
    async fn create_account(&self, new: NewAccount) -> Result<Account> {
        let row: AccountRow = sqlx::query_as(&format!(
            "INSERT INTO accounts (username, email, password_hash, package_id, created_at, role, \
                 status, title, first_name, last_name, paid_expiry_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {ACCOUNT_COLUMNS}"
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
        .fetch_one(&self.pool)
        .await
        .on_unique(|| Error::Taken(Unique::Username))?;
        row.try_into()
    }

    async fn account(&self, id: AccountId) -> Result<Option<Account>> {
        sqlx::query_as::<_, AccountRow>(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .db()?
        .map(Account::try_from)
        .transpose()
    }

    async fn account_by_username(&self, username: &str) -> Result<Option<Account>> {
        sqlx::query_as::<_, AccountRow>(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE username = $1"
        ))
        .bind(username)
        .fetch_optional(&self.pool)
        .await
        .db()?
        .map(Account::try_from)
        .transpose()
    }

    async fn count_accounts(&self) -> Result<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(&self.pool)
            .await
            .db()?;
        Ok(uint(count))
    }

    async fn account_by_email(&self, email: &str) -> Result<Option<Account>> {
        sqlx::query_as::<_, AccountRow>(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE lower(email) = lower($1) \
             ORDER BY id LIMIT 1"
        ))
        .bind(email)
        .fetch_optional(&self.pool)
        .await
        .db()?
        .map(Account::try_from)
        .transpose()
    }

    async fn save_account(&self, account: &Account, end_tokens: bool) -> Result<bool> {
        let mut tx = self.pool.begin().await.db()?;
        let changed = sqlx::query(
            "UPDATE accounts SET email = $1, password_hash = $2, package_id = $3, status = $4, \
             role = $5, title = $6, first_name = $7, last_name = $8, paid_expiry_at = $9 \
             WHERE id = $10",
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
        let mut tx = self.pool.begin().await.db()?;
        // A file insert takes a key-share lock on its account row: holding the row makes a
        // concurrent upload wait for this delete (and then fail on the missing account)
        // instead of adding a file between the file delete and the account delete.
        sqlx::query("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .db()?;
        super::file::release_account_files(&mut tx, id).await?;
        for table in ["import_jobs", "folders"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE account_id = $1"))
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .db()?;
        }
        // API keys and access tokens go with the row (ON DELETE CASCADE).
        let gone = sqlx::query("DELETE FROM accounts WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .db()?
            .rows_affected();
        tx.commit().await.db()?;
        Ok(gone == 1)
    }

    async fn record_login(&self, id: AccountId, at: DateTime<Utc>, ip: &str) -> Result<()> {
        sqlx::query("UPDATE accounts SET last_login_at = $1, last_login_ip = $2 WHERE id = $3")
            .bind(secs(at))
            .bind(ip)
            .bind(id.0)
            .execute(&self.pool)
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
            "INSERT INTO api_keys (key1, account_id, key2_hash, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(key1)
        .bind(account.0)
        .bind(key2_hash)
        .bind(secs(at))
        .execute(&self.pool)
        .await
        .on_unique(|| Error::Conflict("that API key1 exists already".to_owned()))?;
        Ok(())
    }

    async fn api_key(&self, key1: &str) -> Result<Option<ApiKeyRecord>> {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT account_id, key2_hash FROM api_keys WHERE key1 = $1")
                .bind(key1)
                .fetch_optional(&self.pool)
                .await
                .db()?;
        Ok(row.map(|(account_id, key2_hash)| ApiKeyRecord {
            account_id: AccountId(account_id),
            key2_hash,
        }))
    }

    async fn packages(&self) -> Result<Vec<Package>> {
        sqlx::query(&format!("{} ORDER BY id", package_select()))
            .fetch_all(&self.pool)
            .await
            .db()?
            .iter()
            .map(package_from_row)
            .collect()
    }

    async fn package(&self, id: PackageId) -> Result<Option<Package>> {
        sqlx::query(&format!("{} WHERE id = $1", package_select()))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .db()?
            .as_ref()
            .map(package_from_row)
            .transpose()
    }

    async fn update_package(&self, package: &Package) -> Result<()> {
        let entries = package.limits.entries();
        // $1 label, $2 level type, $3.. the limits in order, then the id.
        let assignments: Vec<String> = entries
            .iter()
            .enumerate()
            .map(|(i, (key, _))| format!("{key} = ${}", i + 3))
            .collect();
        let sql = format!(
            "UPDATE packages SET label = $1, level_type = $2, {} WHERE id = ${}",
            assignments.join(", "),
            entries.len() + 3
        );
        let mut query = sqlx::query(&sql)
            .bind(&package.label)
            .bind(&package.level_type);
        for (_, value) in entries {
            query = query.bind(int(value));
        }
        let done = query.bind(package.id.0).execute(&self.pool).await.db()?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(upvault_core::Entity::Package));
        }
        Ok(())
    }

    async fn storage_used_bytes(&self, account: AccountId) -> Result<u64> {
        super::file::active_bytes(&self.pool, account).await
    }
}

/// Ends every access token of the account, inside the caller's transaction (a new password or
/// a suspension must not leave old sessions alive).
async fn end_access_tokens(conn: &mut sqlx::PgConnection, id: AccountId) -> Result<()> {
    sqlx::query("DELETE FROM access_tokens WHERE account_id = $1")
        .bind(id.0)
        .execute(conn)
        .await
        .db()?;
    Ok(())
}
