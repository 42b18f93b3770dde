//! The one SQL store: every repository port of `upvault-core` written once, over sqlx's `Any`
//! driver, on SQLite or PostgreSQL. Statements use `$n` parameters, which both accept; the
//! few real differences between the two are the [`Dialect`]'s.
//!
//! **SQLite** (one file in WAL mode, one process): every multi-statement write starts with
//! `BEGIN IMMEDIATE` (see [`SqlStore::begin`]), so write transactions run one at a time and a
//! check-then-write rule is safe by construction. Two deferred transactions that both read and
//! then write would each hold a read lock and wait for the other's, and SQLite answers that
//! with `SQLITE_BUSY` instead of waiting. The point reads of the request path run inline on
//! rusqlite connections (see `crate::sqlite::inline`).
//!
//! **PostgreSQL** (several stateless instances share one database): transactions run at READ
//! COMMITTED, where each statement sees what was committed before it started. A check-then-write
//! rule is made safe by taking a lock first and reading after it: whoever held the lock before
//! has committed by the time it is granted, so the read sees their rows. The locks, from the
//! narrowest:
//!
//! - **Row locks** where one row is the whole story: the blob row of a key (`INSERT … ON CONFLICT
//!   DO UPDATE` in uploads, `DELETE … WHERE ref_count <= 0` in collection) and the job row a
//!   worker claims (`FOR UPDATE SKIP LOCKED`, so claimers skip each other instead of waiting).
//! - **Advisory transaction locks** ([`Serial`], a no-op on SQLite) where the rule spans rows
//!   that may not exist yet: an account's storage, a holder's slots of one kind, an account's
//!   pending imports, its folder tree, a visitor's download log. They are released at commit or
//!   rollback, and a crashed instance's session ends with them.
//!
//! Statements that lock many rows of a shared table either take them in key order or skip
//! locked rows, so two instances doing the same housekeeping cannot deadlock.

mod account;
mod file;
mod folder;
mod job;
mod login;
mod public;
pub(crate) mod rows;
mod slot;
mod token;

use crate::error::DbResultExt;
use crate::sqlite::inline::InlineReads;
use anyhow::Context as _;
use rows::{execute, Arg};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{
    Any, AnyConnection, AnyPool, Connection as _, Executor as _, PgConnection, Transaction,
};
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Once};
use std::time::Duration;
use upvault_core::ids::{AccountId, FileId};
use upvault_core::model::{DayDownloads, TransferKind};
use upvault_core::Result;

/// How long a first PostgreSQL connection may take before start-up gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a SQLite connection waits for the write lock before giving up with `SQLITE_BUSY`.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The database a store runs on, and what differs between the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `sqlite:…`.
    Sqlite,
    /// `postgres://…` or `postgresql://…`.
    Postgres,
}

impl Dialect {
    /// The dialect of a database URL.
    pub fn of_url(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }

    /// Connections in the pool of one process. SQLite has one writer at a time anyway; a few
    /// more readers let listings proceed while an upload commits. PostgreSQL runs writers in
    /// parallel, so its pool is sized for one instance's request concurrency: mind
    /// `max_connections` on the server when adding instances (16 each, plus headroom).
    fn pool_size(self) -> u32 {
        match self {
            Self::Sqlite => 8,
            Self::Postgres => 16,
        }
    }

    /// How a write transaction begins: SQLite takes the write lock up front (see the module
    /// documentation); PostgreSQL's locks are taken statement by statement.
    fn begin(self) -> &'static str {
        match self {
            Self::Sqlite => "BEGIN IMMEDIATE",
            Self::Postgres => "BEGIN",
        }
    }

    /// `DELETE FROM {table} WHERE {condition}` for housekeeping that every instance runs: on
    /// PostgreSQL, rows another instance holds are skipped rather than waited for (`key` names
    /// the rows, several columns by commas), so two purges neither deadlock nor count a row twice. SQLite's single writer
    /// needs no such care.
    pub(crate) fn purge(self, table: &str, key: &str, condition: &str) -> String {
        match self {
            Self::Sqlite => format!("DELETE FROM {table} WHERE {condition}"),
            Self::Postgres => format!(
                "DELETE FROM {table} WHERE ({key}) IN ( \
                     SELECT {key} FROM {table} WHERE {condition} FOR UPDATE SKIP LOCKED)"
            ),
        }
    }

    /// Appended to a `SELECT` that picks a row to claim: on PostgreSQL it locks the row and
    /// passes over rows other claimers hold.
    fn claim(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }
}

/// Every repository port of `upvault-core` on one database: a SQLite file, or a PostgreSQL
/// database (or schema: the URL may choose one with `?options[search_path]=name`).
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    dialect: Dialect,
    /// SQLite's point reads of the request path (see [`InlineReads`]).
    inline: Option<Arc<InlineReads>>,
}

impl SqlStore {
    /// Opens the database of `url` (`sqlite:///abs/path/upvault.db`, `sqlite://data/upvault.db`,
    /// `postgres://user:password@host:5432/database`), creating a missing SQLite file, and
    /// runs the migrations (instances starting together take turns: sqlx holds an advisory
    /// lock while migrating PostgreSQL).
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        Self::open(url, true).await
    }

    /// Like [`SqlStore::connect`], but a SQLite file must exist already (a migration's source).
    pub async fn connect_existing(url: &str) -> anyhow::Result<Self> {
        Self::open(url, false).await
    }

    async fn open(url: &str, create: bool) -> anyhow::Result<Self> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        match Dialect::of_url(url) {
            Dialect::Sqlite => open_sqlite(url, create)
                .await
                .context("cannot open the SQLite database"),
            Dialect::Postgres => open_postgres(url)
                .await
                .context("cannot open the PostgreSQL database"),
        }
    }

    /// The database this store runs on.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Closes every connection (after in-flight queries end).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The pool, for every statement not read inline (and the row copier).
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Downloads of one file by UTC day, oldest first (the public stats page).
    pub async fn download_stats(&self, file: FileId) -> Result<Vec<DayDownloads>> {
        file::download_stats(&self.pool, file).await
    }

    /// A write transaction; it rolls back when dropped uncommitted (an error or a cancelled
    /// request), which also releases its locks.
    async fn begin(&self) -> Result<Transaction<'static, Any>> {
        self.pool.begin_with(self.dialect.begin()).await.db()
    }

    /// Waits until this transaction holds the lock for `what`; it is held until commit or
    /// rollback. Take at most one per transaction, so that lock waits cannot form a cycle.
    /// SQLite's write transactions are serial already.
    async fn serialise(&self, conn: &mut AnyConnection, what: Serial<'_>) -> Result<()> {
        if self.dialect == Dialect::Postgres {
            let key = what.key();
            let sql = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))";
            execute(conn, sql, &[Arg::from(&key)]).await?;
        }
        Ok(())
    }
}

async fn open_sqlite(url: &str, create: bool) -> anyhow::Result<SqlStore> {
    let options = SqliteConnectOptions::from_str(url)
        .with_context(|| format!("invalid SQLite database URL {url:?}"))?;
    let path = options.get_filename().to_path_buf();
    // An in-memory database exists only inside its own connections; the inline reads need one
    // file that every connection opens.
    anyhow::ensure!(
        path.as_os_str() != ":memory:" && !path.to_string_lossy().starts_with("file:"),
        "the SQLite database must be a file, not {url:?}"
    );
    if create {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the directory {}", dir.display()))?;
        }
    } else {
        anyhow::ensure!(
            path.exists(),
            "the SQLite database {} does not exist",
            path.display()
        );
    }
    let pool = AnyPoolOptions::new()
        .max_connections(Dialect::Sqlite.pool_size())
        .after_connect(|conn, _| {
            Box::pin(async move {
                // Durability: an acknowledged upload must survive a power cut, so every commit
                // is synced, WAL or not.
                conn.execute(&*format!(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {}",
                    SQLITE_BUSY_TIMEOUT.as_millis()
                ))
                .await
                .map(drop)
            })
        })
        .connect_with(AnyConnectOptions::from_str(&sqlite_url(&path, create))?)
        .await
        .with_context(|| format!("cannot open the SQLite database {url:?}"))?;
    sqlx::migrate!("./migrations/sqlite")
        .run(&pool)
        .await
        .context("cannot migrate the SQLite database")?;
    let inline = InlineReads::open(&path)
        .with_context(|| format!("cannot open read connections to {url:?}"))?;
    Ok(SqlStore {
        pool,
        dialect: Dialect::Sqlite,
        inline: Some(Arc::new(inline)),
    })
}

/// The URL the `Any` driver opens `path` by: its options travel only in the URL, so the
/// pragmas are set after connecting and the URL says only whether to create the file.
fn sqlite_url(path: &Path, create: bool) -> String {
    let path = path.to_string_lossy();
    // The driver percent-decodes the path and cuts it at `?`.
    let path = path
        .replace('%', "%25")
        .replace('?', "%3F")
        .replace('#', "%23");
    let mode = if create { "rwc" } else { "rw" };
    format!("sqlite://{path}?mode={mode}")
}

async fn open_postgres(url: &str) -> anyhow::Result<SqlStore> {
    let options = PgConnectOptions::from_str(url).context("invalid PostgreSQL database URL")?;
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
    let pool = AnyPoolOptions::new()
        .max_connections(Dialect::Postgres.pool_size())
        .acquire_timeout(CONNECT_TIMEOUT)
        .connect_with(AnyConnectOptions::from_str(&with_application_name(url))?)
        .await
        .with_context(|| format!("cannot connect to the PostgreSQL database at {server}"))?;
    sqlx::migrate!("./migrations/postgres")
        .run(&pool)
        .await
        .context("cannot migrate the PostgreSQL database")?;
    Ok(SqlStore {
        pool,
        dialect: Dialect::Postgres,
        inline: None,
    })
}

/// `url` naming the connections `upvault` on the server (`pg_stat_activity`), unless it names
/// them already.
fn with_application_name(url: &str) -> String {
    if url.contains("application_name=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&application_name=upvault")
    } else {
        format!("{url}?application_name=upvault")
    }
}

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
