//! The SQLite backend: one database file in WAL mode, a small pool, and write transactions that
//! take the write lock up front.
//!
//! Every multi-statement write starts with `BEGIN IMMEDIATE` (see [`SqliteStore::write`]): two
//! deferred transactions that both read and then write would each hold a read lock and wait for
//! the other's, and SQLite answers that with `SQLITE_BUSY` instead of waiting.

mod account;
mod file;
mod folder;
mod inline;
mod job;
mod keeper;
mod login;
mod public;
mod slot;
mod token;

use crate::error::DbResultExt;
use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use upvault_core::ids::FileId;
use upvault_core::{Error, Result};

pub use file::DayDownloads;

/// Connections in the pool. SQLite has one writer at a time anyway; a few more readers let
/// listings and downloads proceed while an upload commits.
const POOL_SIZE: u32 = 8;

/// How long a connection waits for the write lock before giving up with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Every repository port of `upvault-core` on one SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The point reads of the request path (see [`inline`]).
    inline: Arc<inline::InlineReads>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite:///abs/path/upvault.db`,
    /// `sqlite://data/upvault.db`), sets the pragmas and runs the migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        Self::open(url, true).await
    }

    /// Like [`SqliteStore::connect`], but the database file must exist already.
    pub async fn connect_existing(url: &str) -> anyhow::Result<Self> {
        Self::open(url, false).await
    }

    async fn open(url: &str, create: bool) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("invalid SQLite database URL {url:?}"))?
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            // Durability: an acknowledged upload must survive a power cut, so every commit is
            // synced, WAL or not.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let path = options.get_filename().to_path_buf();
        // An in-memory database exists only inside its own connections; the inline reads need
        // one file that every connection opens.
        anyhow::ensure!(
            path.as_os_str() != ":memory:" && !path.to_string_lossy().starts_with("file:"),
            "the SQLite database must be a file, not {url:?}"
        );
        if !create {
            anyhow::ensure!(
                path.exists(),
                "the SQLite database {} does not exist",
                path.display()
            );
        }
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the directory {}", dir.display()))?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(POOL_SIZE)
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open the SQLite database {url:?}"))?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .context("cannot migrate the SQLite database")?;
        let inline = inline::InlineReads::open(&path)
            .with_context(|| format!("cannot open read connections to {url:?}"))?;
        Ok(Self {
            pool,
            inline: Arc::new(inline),
        })
    }

    /// Closes every connection (after in-flight queries end).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The pool, for every write and every scan (and the row copier).
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Downloads of one file by UTC day, oldest first (the public stats page).
    pub async fn download_stats(&self, file: FileId) -> Result<Vec<DayDownloads>> {
        file::download_stats(self.pool(), file).await
    }

    /// A write transaction holding the write lock from its first statement; it rolls back when
    /// dropped uncommitted (an error or a cancelled request).
    async fn write(&self) -> Result<Transaction<'static, Sqlite>> {
        self.pool().begin_with("BEGIN IMMEDIATE").await.db()
    }
}

/// Seconds since the epoch, as stored.
pub(crate) fn secs(at: DateTime<Utc>) -> i64 {
    at.timestamp()
}

/// A stored time.
pub(crate) fn time(secs: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
        .ok_or_else(|| Error::internal(anyhow::anyhow!("stored time {secs} is out of range")))
}

/// A stored optional time.
pub(crate) fn opt_time(secs: Option<i64>) -> Result<Option<DateTime<Utc>>> {
    secs.map(time).transpose()
}

/// A size or count as stored (SQLite integers are signed 64-bit).
pub(crate) fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A stored size or count; negative values (never written) read as 0.
pub(crate) fn uint(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// A stored date (`YYYY-MM-DD`).
pub(crate) fn day(raw: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|err| Error::internal(anyhow::anyhow!("stored day {raw:?}: {err}")))
}

/// A row that does not decode into its model is a fault of ours.
pub(crate) fn corrupt(what: &str, value: impl std::fmt::Debug) -> Error {
    Error::internal(anyhow::anyhow!("stored {what} {value:?} is invalid"))
}
