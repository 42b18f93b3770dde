//! Point reads on the request path, run on the calling thread.
//!
//! sqlx runs every SQLite statement on its connection's own worker thread, so each query costs
//! two cross-thread wake-ups; for an authenticated `/file/info` those wake-ups were most of the
//! request's time. The reads nearly every request makes (a token by digest, a file by id or
//! short URL, the account and its package) are index lookups of a few microseconds on a warm
//! page cache, cheaper than one hand-off, so they run here instead, on read-only connections of
//! their own. In WAL mode a reader never waits for the writer and always sees the last commit,
//! of this process or any other, so nothing here is a cache. Scans (listings, sums) stay on the sqlx pool: they are
//! long enough to stall the runtime thread.

use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use upvault_core::{Error, Result};

/// Read connections. A lookup holds one for microseconds; a few cover both runtime threads and
/// the blocking pool without ever making a caller wait.
const CONNECTIONS: usize = 4;

/// Prepared statements kept per connection (there are fewer distinct point reads than this).
const STATEMENT_CACHE: usize = 16;

/// A reader only waits on a lock while a checkpoint restarts the WAL, which is brief; this
/// bounds how long a runtime thread could be held if something goes wrong.
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

/// Read-only connections to one database file.
pub(crate) struct InlineReads {
    connections: Box<[Mutex<Connection>]>,
    next: AtomicUsize,
}

impl std::fmt::Debug for InlineReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineReads")
            .field("connections", &self.connections.len())
            .finish()
    }
}

impl InlineReads {
    /// Opens the read connections to the database at `path`, which exists and is in WAL mode.
    pub(crate) fn open(path: &Path) -> anyhow::Result<Self> {
        let connections = (0..CONNECTIONS)
            .map(|_| {
                let conn = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                conn.busy_timeout(BUSY_TIMEOUT)?;
                conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
                Ok(Mutex::new(conn))
            })
            .collect::<rusqlite::Result<_>>()?;
        Ok(Self {
            connections,
            next: AtomicUsize::new(0),
        })
    }

    /// Runs `read` on a free connection (waiting for one only when all are busy).
    pub(crate) fn read<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let count = self.connections.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let free = (0..count).find_map(|i| self.connections[(start + i) % count].try_lock().ok());
        let conn = match free {
            Some(conn) => conn,
            None => self.connections[start % count]
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        };
        read(&conn).map_err(Error::internal)
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_see_commits_made_after_they_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT);",
            )
            .unwrap();
        let reads = InlineReads::open(&path).unwrap();
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
        let path = dir.path().join("t.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (k INTEGER);")
            .unwrap();
        let reads = InlineReads::open(&path).unwrap();
        let err = reads
            .read(|conn| conn.execute("INSERT INTO t VALUES (1)", []))
            .unwrap_err();
        assert!(matches!(err, Error::Internal(_)), "{err:?}");
    }
}
