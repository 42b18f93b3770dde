//! Point reads on the request path, run on the calling thread.
//!
//! sqlx runs every SQLite statement on its connection's own worker thread, so each query costs
//! two cross-thread wake-ups; for an authenticated `/file/info` those wake-ups were most of the
//! request's time. The reads nearly every request makes (a token by digest, a file by id or
//! short URL, the account and its package) are index lookups of a few microseconds on a warm
//! page cache, cheaper than one hand-off, so they run here instead, on read-only connections of
//! their own. In WAL mode a reader never waits for the writer and always sees the last commit,
//! of this process or any other, so nothing here is a cache. Scans (listings, sums) stay on the
//! sqlx pool: they are long enough to stall the runtime thread.
//!
//! Each read is a transaction of its own. While reads happen, a [`ReadLockKeeper`] keeps the
//! process holding the lock they take, so that taking it costs no system call.

use super::keeper::ReadLockKeeper;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use upvault_core::{Error, Result};

/// Idle read connections kept open. A lookup holds one for microseconds; a few cover both
/// runtime threads and the blocking pool. More are opened when all are busy, and closed after.
const CONNECTIONS: usize = 4;

/// Prepared statements kept per connection (there are fewer distinct point reads than this).
const STATEMENT_CACHE: usize = 16;

/// A reader only waits on a lock while a checkpoint restarts the WAL, which is brief; this
/// bounds how long a runtime thread could be held if something goes wrong.
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

/// A connection of this process's own (one per thread at a time, so without SQLite's mutex)
/// to the database at `path`, waiting at most [`BUSY_TIMEOUT`] for a lock.
pub(crate) fn connect(path: &Path, flags: OpenFlags) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

/// Read-only connections to one database file.
pub(crate) struct InlineReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// `None` only in the tests of the connections themselves.
    keeper: Option<ReadLockKeeper>,
}

impl std::fmt::Debug for InlineReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineReads")
            .field("path", &self.path)
            .finish()
    }
}

impl InlineReads {
    /// Opens the read connections to the database at `path`, which exists and is in WAL mode,
    /// and starts keeping their lock.
    pub(crate) fn open(path: &Path) -> anyhow::Result<Self> {
        let mut reads = Self::open_unkept(path)?;
        reads.keeper = Some(ReadLockKeeper::start(path)?);
        Ok(reads)
    }

    /// The read connections alone.
    fn open_unkept(path: &Path) -> anyhow::Result<Self> {
        let mut reads = Self {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::with_capacity(CONNECTIONS)),
            keeper: None,
        };
        let idle = (0..CONNECTIONS)
            .map(|_| reads.connect())
            .collect::<rusqlite::Result<_>>()?;
        *reads.idle.get_mut().unwrap_or_else(PoisonError::into_inner) = idle;
        Ok(reads)
    }

    /// Runs `read` on a connection of its own, in a transaction of its own.
    pub(crate) fn read<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T> {
        if let Some(keeper) = &self.keeper {
            keeper.note_read();
        }
        let conn = self.checkout().map_err(Error::internal)?;
        let out = read(&conn);
        self.checkin(conn);
        out.map_err(Error::internal)
    }

    /// The first row of `sql` with `params`, mapped by `map`, if there is one.
    pub(crate) fn optional<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>> {
        self.with_statement(sql, |statement| {
            statement.query(params)?.next()?.map(map).transpose()
        })
    }

    /// Every row of `sql` with `params`, mapped by `map`: for small tables only (a scan here
    /// holds the runtime thread).
    pub(crate) fn all<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        self.with_statement(sql, |statement| statement.query_map(params, map)?.collect())
    }

    /// Runs `run` on `sql` prepared (once per connection) on a free connection.
    fn with_statement<T>(
        &self,
        sql: &str,
        run: impl FnOnce(&mut rusqlite::CachedStatement<'_>) -> rusqlite::Result<T>,
    ) -> Result<T> {
        self.read(|conn| run(&mut conn.prepare_cached(sql)?))
    }

    fn connect(&self) -> rusqlite::Result<Connection> {
        let conn = connect(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }

    /// An idle connection, or a new one when all are busy (rare: a lookup takes microseconds).
    fn checkout(&self) -> rusqlite::Result<Connection> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        idle.map_or_else(|| self.connect(), Ok)
    }

    fn checkin(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < CONNECTIONS {
            idle.push(conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database with a table `t (k, v)`, its writer, and inline reads of it.
    fn database(dir: &Path) -> (Connection, InlineReads) {
        let path = dir.join("t.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT);",
            )
            .unwrap();
        let reads = InlineReads::open_unkept(&path).unwrap();
        (writer, reads)
    }

    fn count(reads: &InlineReads) -> i64 {
        reads
            .optional("SELECT count(*) FROM t", [], |row| row.get(0))
            .unwrap()
            .unwrap()
    }

    fn idle(reads: &InlineReads) -> usize {
        reads.idle.lock().unwrap().len()
    }

    #[test]
    fn reads_give_their_connections_back_with_no_transaction_open() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, reads) = database(dir.path());
        for k in 1..=100 {
            writer.execute("INSERT INTO t (k) VALUES (?)", [k]).unwrap();
            assert_eq!(count(&reads), k);
        }
        assert_eq!(idle(&reads), CONNECTIONS);
        // A checkpoint that must wait for every reader (the writer has no busy timeout, so it
        // would answer busy at once).
        let busy: i64 = writer
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))
            .unwrap();
        assert_eq!(busy, 0, "a read left its transaction open");
    }

    #[test]
    fn reads_open_connections_when_all_are_busy_and_keep_only_a_few() {
        let dir = tempfile::tempdir().unwrap();
        let (_writer, reads) = database(dir.path());
        let held: Vec<_> = (0..CONNECTIONS + 3)
            .map(|_| reads.checkout().unwrap())
            .collect();
        assert_eq!(idle(&reads), 0);
        assert_eq!(
            count(&reads),
            0,
            "a read with every connection busy opens its own"
        );
        for conn in held {
            reads.checkin(conn);
        }
        assert_eq!(idle(&reads), CONNECTIONS);
    }

    #[test]
    fn reads_see_commits_made_after_they_opened() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, reads) = database(dir.path());
        let get = |k: i64| {
            reads
                .optional("SELECT v FROM t WHERE k = ?", [k], |row| {
                    row.get::<_, String>(0)
                })
                .unwrap()
        };
        assert_eq!(get(1), None);
        writer
            .execute("INSERT INTO t VALUES (1, 'one')", [])
            .unwrap();
        assert_eq!(get(1).as_deref(), Some("one"));
        writer.execute("DELETE FROM t WHERE k = 1", []).unwrap();
        assert_eq!(get(1), None);
    }

    #[test]
    fn reads_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let (_writer, reads) = database(dir.path());
        let err = reads
            .read(|conn| conn.execute("INSERT INTO t (k) VALUES (1)", []))
            .unwrap_err();
        assert!(matches!(err, Error::Internal(_)), "{err:?}");
    }
}
