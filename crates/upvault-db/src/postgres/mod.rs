//! The PostgreSQL backend: several stateless instances share one database, so every rule the
//! SQLite backend gets from its single writer is enforced here by explicit locks.
//!
//! Transactions run at READ COMMITTED, where each statement sees what was committed before it
//! started. A check-then-write rule (a limit, a cycle check) is made safe by taking a lock first
//! and reading after it: whoever held the lock before has committed by the time it is granted,
//! so the read sees their rows. The locks, from the narrowest:
//!
//! - **Row locks** where one row is the whole story: the blob row of a key (`INSERT … ON CONFLICT
//!   DO UPDATE` in uploads, `DELETE … WHERE ref_count <= 0` in collection) and the job row a
//!   worker claims (`FOR UPDATE SKIP LOCKED`, so claimers skip each other instead of waiting).
//! - **Advisory transaction locks** ([`Serial`]) where the rule spans rows that may not exist
//!   yet: an account's storage, a holder's slots of one kind, an account's pending imports, its
//!   folder tree, a visitor's download log.
//!   They are released at commit or rollback, and a crashed instance's session ends with them.
//!
//! Statements that lock many rows of a shared table either take them in key order or skip
//! locked rows, so two instances doing the same housekeeping cannot deadlock.

mod account;
mod file;
mod folder;
mod job;
mod login;
mod public;
mod slot;
mod token;

use crate::error::DbResultExt;
use anyhow::Context as _;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection as _, PgConnection, Postgres, Transaction};
use std::str::FromStr;
use upvault_core::ids::{AccountId, FileId};
use upvault_core::model::{DayDownloads, TransferKind};
use upvault_core::Result;

/// Connections in the pool of one instance. PostgreSQL runs writers in parallel, so the pool is
/// sized for the request concurrency of one instance; mind `max_connections` on the server when
/// adding instances (16 each, plus headroom).
const POOL_SIZE: u32 = 16;

/// How long a first connection may take before start-up gives up.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Why a first connection failed, in words an operator can act on.
fn explain_connect(err: &sqlx::Error, options: &PgConnectOptions) -> String {
    match err {
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused (is PostgreSQL running and listening there?)".to_owned()
        }
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("28P01") | Some("28000") => format!(
                "authentication failed for user {:?} (check the user and password in database_url)",
                options.get_username()
            ),
            Some("3D000") => format!(
                "the database {:?} does not exist (create it, or fix the name in database_url)",
                options.get_database().unwrap_or_default()
            ),
            _ => db.message().to_owned(),
        },
        other => other.to_string(),
    }
}

/// Every repository port of `upvault-core` on one PostgreSQL database (or schema: the URL may
/// choose one with `?options[search_path]=name`).
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:5432/database`) with a pool of
    /// [`POOL_SIZE`] and runs the migrations (instances starting together take turns: sqlx holds
    /// an advisory lock while migrating).
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .context("invalid PostgreSQL database URL")?
            .application_name("upvault");
        // One connection first, by itself: the pool would retry a refused connection or a wrong
        // password until its acquire timeout and then say only "pool timed out".
        let server = format!("{}:{}", options.get_host(), options.get_port());
        let probe = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "cannot connect to the PostgreSQL database at {server}: no answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                )
            })?
            // Not the URL itself: it may carry the password.
            .map_err(|err| {
                anyhow::anyhow!(
                    "cannot connect to the PostgreSQL database at {server}: {}",
                    explain_connect(&err, &options)
                )
            })?;
        probe.close().await.ok();
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options)
            .await
            .with_context(|| format!("cannot connect to the PostgreSQL database at {server}"))?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .context("cannot migrate the PostgreSQL database")?;
        Ok(Self { pool })
    }

    /// Closes every connection (after in-flight queries end).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The pool (the row copier reads and writes tables generically).
    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Downloads of one file by UTC day, oldest first (the public stats page).
    pub async fn download_stats(&self, file: FileId) -> Result<Vec<DayDownloads>> {
        file::download_stats(&self.pool, file).await
    }

    /// A transaction; it rolls back when dropped uncommitted (an error or a cancelled request),
    /// which also releases its locks.
    async fn begin(&self) -> Result<Transaction<'static, Postgres>> {
        self.pool.begin().await.db()
    }
}

/// What an advisory transaction lock serialises. Every instance must derive the same key for the
/// same thing, so the key is hashed by the server (`hashtextextended`), never by Rust's
/// per-process hasher. Two things whose keys collide only wait for each other needlessly.
#[derive(Debug, Clone, Copy)]
enum Serial<'a> {
    /// Storage-limit checks of an account (uploads and copies).
    Storage(AccountId),
    /// Transfer slots of a holder (`acct:{id}`, `ip:{address}`) and kind.
    Slots(&'a str, TransferKind),
    /// The pending-import cap of an account.
    Imports(AccountId),
    /// Changes to the shape of an account's folder tree (moves, trashing a subtree).
    Folders(AccountId),
    /// The download log of a visitor (the 24-hour limits of public pages).
    Visitor(&'a str),
}

impl Serial<'_> {
    fn key(self) -> String {
        match self {
            Serial::Storage(account) => format!("upvault:storage:{account}"),
            Serial::Slots(holder, kind) => format!("upvault:slots:{}:{holder}", kind.as_str()),
            Serial::Imports(account) => format!("upvault:imports:{account}"),
            Serial::Folders(account) => format!("upvault:folders:{account}"),
            Serial::Visitor(visitor) => format!("upvault:visitor:{visitor}"),
        }
    }
}

/// Waits until this transaction holds the lock for `what`; it is held until commit or rollback.
/// Take at most one per transaction, so that lock waits cannot form a cycle.
async fn serialise(conn: &mut PgConnection, what: Serial<'_>) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(what.key())
        .execute(conn)
        .await
        .db()?;
    Ok(())
}
