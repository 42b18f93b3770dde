//! Accounts, API keys and packages.

use super::rows::{execute, Arg, Columns, FromColumns};
use super::{Dialect, SqlStore};
use crate::convert::{corrupt, int, opt_time, secs, time, uint};
use crate::error::DbResultExt;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::AnyConnection;
use std::sync::LazyLock;
use upvault_core::ids::{AccountId, PackageId};
use upvault_core::model::{
    Account, AccountStatus, ApiKeyRecord, NewAccount, Package, PackageLimits, Role,
};
use upvault_core::ports::AccountRepo;
use upvault_core::{Error, Result, Unique};

/// The `accounts` columns in the order [`Account`]'s decoder reads them (a macro, so that whole
/// statements are literals).
macro_rules! account_columns {
    () => {
        "id, username, email, password_hash, package_id, status, title, first_name, last_name, \
         created_at, last_login_at, last_login_ip, storage_limit_override, paid_expiry_at, \
         last_payment_at, role"
    };
}

/// `SELECT <every column> FROM accounts <rest>`, as a literal.
macro_rules! concat_columns {
    ($rest:literal) => {
        concat!("SELECT ", account_columns!(), " FROM accounts ", $rest)
    };
}

/// An account by id: read inline on SQLite, as every upload and account call starts with it.
const ACCOUNT_BY_ID: &str = concat_columns!("WHERE id = $1");

impl FromColumns for Account {
    fn decode(row: &impl Columns) -> Result<Self> {
        let status: String = row.get(5)?;
        let role: String = row.get(15)?;
        Ok(Account {
            id: AccountId(row.get(0)?),
            username: row.get(1)?,
            email: row.get(2)?,
            password_hash: row.get(3)?,
            package_id: PackageId(row.get(4)?),
            status: AccountStatus::parse(&status)
                .ok_or_else(|| corrupt("account status", &status))?,
            title: row.get(6)?,
            first_name: row.get(7)?,
            last_name: row.get(8)?,
            created_at: time(row.get(9)?)?,
            last_login_at: opt_time(row.get(10)?)?,
            last_login_ip: row.get(11)?,
            storage_limit_override: row.get::<Option<i64>>(12)?.map(uint),
            paid_expiry_at: opt_time(row.get(13)?)?,
            last_payment_at: opt_time(row.get(14)?)?,
            role: Role::parse(&role).ok_or_else(|| corrupt("account role", &role))?,
        })
    }
}

/// `SELECT id, label, level_type, <every limit> FROM packages`; the limit columns are named
/// exactly as [`PackageLimits::KEYS`], so the list cannot drift from the model. Packages are a
/// handful of rows read on every upload and download, so their reads run inline on SQLite.
static PACKAGE_SELECT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT id, label, level_type, {} FROM packages",
        PackageLimits::KEYS.join(", ")
    )
});
static PACKAGES_IN_ORDER: LazyLock<String> =
    LazyLock::new(|| format!("{} ORDER BY id", *PACKAGE_SELECT));
static PACKAGE_BY_ID: LazyLock<String> =
    LazyLock::new(|| format!("{} WHERE id = $1", *PACKAGE_SELECT));

impl FromColumns for Package {
    fn decode(row: &impl Columns) -> Result<Self> {
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
}

impl FromColumns for ApiKeyRecord {
    fn decode(row: &impl Columns) -> Result<Self> {
        Ok(ApiKeyRecord {
            account_id: AccountId(row.get(0)?),
            key2_hash: row.get(1)?,
        })
    }
}

#[async_trait]
impl AccountRepo for SqlStore {
    async fn create_account(&self, new: NewAccount) -> Result<Account> {
        let row = sqlx::query(concat!(
            "INSERT INTO accounts (username, email, password_hash, package_id, created_at, role, \
                 status, title, first_name, last_name, paid_expiry_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING ",
            account_columns!()
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
        Account::decode(&row)
    }

    async fn account(&self, id: AccountId) -> Result<Option<Account>> {
        self.read_one(ACCOUNT_BY_ID, &[id.0.into()]).await
    }

    async fn account_by_username(&self, username: &str) -> Result<Option<Account>> {
        let row = sqlx::query(concat_columns!("WHERE username = $1"))
            .bind(username)
            .fetch_optional(self.pool())
            .await
            .db()?;
        row.map(|row| Account::decode(&row)).transpose()
    }

    async fn count_accounts(&self) -> Result<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(self.pool())
            .await
            .db()?;
        Ok(uint(count))
    }

    async fn account_by_email(&self, email: &str) -> Result<Option<Account>> {
        let row = sqlx::query(concat_columns!(
            "WHERE lower(email) = lower($1) ORDER BY id LIMIT 1"
        ))
        .bind(email)
        .fetch_optional(self.pool())
        .await
        .db()?;
        row.map(|row| Account::decode(&row)).transpose()
    }

    async fn save_account(&self, account: &Account, end_tokens: bool) -> Result<bool> {
        let mut tx = self.begin().await?;
        let changed = execute(
            &mut *tx,
            "UPDATE accounts SET email = $1, password_hash = $2, package_id = $3, status = $4, \
             role = $5, title = $6, first_name = $7, last_name = $8, paid_expiry_at = $9 \
             WHERE id = $10",
            &[
                Arg::from(&account.email),
                Arg::from(&account.password_hash),
                account.package_id.0.into(),
                account.status.as_str().into(),
                account.role.as_str().into(),
                Arg::from(&account.title),
                Arg::from(&account.first_name),
                Arg::from(&account.last_name),
                account.paid_expiry_at.map(secs).into(),
                account.id.0.into(),
            ],
        )
        .await?;
        if end_tokens {
            end_access_tokens(&mut tx, account.id).await?;
        }
        tx.commit().await.db()?;
        Ok(changed == 1)
    }

    async fn delete_account(&self, id: AccountId) -> Result<bool> {
        let mut tx = self.begin().await?;
        if self.dialect == Dialect::Postgres {
            // A file insert takes a key-share lock on its account row: holding the row makes a
            // concurrent upload wait for this delete (and then fail on the missing account)
            // instead of adding a file between the file delete and the account delete.
            execute(
                &mut *tx,
                "SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE",
                &[id.0.into()],
            )
            .await?;
        }
        super::file::release_account_files(self.dialect, &mut tx, id).await?;
        for table in ["import_jobs", "folders"] {
            execute(
                &mut *tx,
                &format!("DELETE FROM {table} WHERE account_id = $1"),
                &[id.0.into()],
            )
            .await?;
        }
        // API keys and access tokens go with the row (ON DELETE CASCADE).
        let gone = execute(
            &mut *tx,
            "DELETE FROM accounts WHERE id = $1",
            &[id.0.into()],
        )
        .await?;
        tx.commit().await.db()?;
        Ok(gone == 1)
    }

    async fn record_login(&self, id: AccountId, at: DateTime<Utc>, ip: &str) -> Result<()> {
        execute(
            self.pool(),
            "UPDATE accounts SET last_login_at = $1, last_login_ip = $2 WHERE id = $3",
            &[secs(at).into(), ip.into(), id.0.into()],
        )
        .await?;
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
        .execute(self.pool())
        .await
        .on_unique(|| Error::Conflict("that API key1 exists already".to_owned()))?;
        Ok(())
    }

    async fn api_key(&self, key1: &str) -> Result<Option<ApiKeyRecord>> {
        let row = sqlx::query("SELECT account_id, key2_hash FROM api_keys WHERE key1 = $1")
            .bind(key1)
            .fetch_optional(self.pool())
            .await
            .db()?;
        row.map(|row| ApiKeyRecord::decode(&row)).transpose()
    }

    async fn packages(&self) -> Result<Vec<Package>> {
        self.read_all(&PACKAGES_IN_ORDER, &[]).await
    }

    async fn package(&self, id: PackageId) -> Result<Option<Package>> {
        self.read_one(&PACKAGE_BY_ID, &[id.0.into()]).await
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
async fn end_access_tokens(conn: &mut AnyConnection, id: AccountId) -> Result<()> {
    execute(
        conn,
        "DELETE FROM access_tokens WHERE account_id = $1",
        &[id.0.into()],
    )
    .await?;
    Ok(())
}
