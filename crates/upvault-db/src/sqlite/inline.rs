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
//! Inside a read scope (`upvault_core::snapshot`, one poll of a request) the reads share one
//! read transaction, which ends with the scope or before any use of the sqlx pool. While reads
//! happen, a [`ReadLockKeeper`] keeps the process holding the lock they take.

use super::keeper::ReadLockKeeper;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use upvault_core::{snapshot, Error, Result};

/// Idle read connections kept open. A lookup holds one for microseconds; a few cover both
/// runtime threads and the blocking pool. More are opened when all are busy, and closed after.
const CONNECTIONS: usize = 4;

/// Prepared statements kept per connection (there are fewer distinct point reads than this).
const STATEMENT_CACHE: usize = 16;

/// A reader only waits on a lock while a checkpoint restarts the WAL, which is brief; this
/// bounds how long a runtime thread could be held if something goes wrong.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

/// Read-only connections to one database file.
pub(crate) struct InlineReads {
    pool: Arc<Pool>,
    /// `None` only in the tests of the transactions themselves.
    keeper: Option<ReadLockKeeper>,
}

/// The idle connections, shared with the snapshots that hold one for a while.
struct Pool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for InlineReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineReads")
            .field("path", &self.pool.path)
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
        let pool = Pool {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::with_capacity(CONNECTIONS)),
        };
        let idle = (0..CONNECTIONS)
            .map(|_| pool.connect())
            .collect::<rusqlite::Result<_>>()?;
        *pool.idle.lock().unwrap_or_else(PoisonError::into_inner) = idle;
        Ok(Self {
            pool: Arc::new(pool),
            keeper: None,
        })
    }

    /// Runs `read` on a connection of its own.
    ///
    /// In a read scope ([`snapshot`]) the first read opens a transaction that the later ones
    /// share, until the scope ends or [`InlineReads::end_snapshot`]: one lock of the WAL index
    /// for a request's token and file instead of one each.
    pub(crate) fn read<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T> {
        if let Some(keeper) = &self.keeper {
            keeper.note_read();
        }
        let held = match snapshot::take(|held: &Snapshot| held.of(&self.pool)) {
            Some(held) => held,
            None => {
                let conn = self.pool.checkout().map_err(Error::internal)?;
                if !snapshot::in_scope() {
                    let out = read(&conn);
                    self.pool.checkin(conn);
                    return out.map_err(Error::internal);
                }
                Box::new(Snapshot::begin(conn, &self.pool).map_err(Error::internal)?)
            }
        };
        let out = read(held.conn());
        held.park();
        out.map_err(Error::internal)
    }

    /// Ends this thread's snapshot of the database, if it holds one: before a write, so that
    /// the reads after it see it.
    pub(crate) fn end_snapshot(&self) {
        drop(snapshot::take(|held: &Snapshot| held.of(&self.pool)));
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

impl Pool {
    fn connect(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
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

/// A connection in a read transaction, parked in a read scope; the transaction ends and the
/// connection goes back to its pool when the scope ends.
struct Snapshot {
    /// Always `Some` until dropped.
    conn: Option<Connection>,
    pool: Arc<Pool>,
}

impl Snapshot {
    /// Opens a (deferred) transaction: it takes its snapshot at the first read.
    fn begin(conn: Connection, pool: &Arc<Pool>) -> rusqlite::Result<Self> {
        conn.prepare_cached("BEGIN")?.execute([])?;
        Ok(Self {
            conn: Some(conn),
            pool: pool.clone(),
        })
    }

    fn conn(&self) -> &Connection {
        self.conn
            .as_ref()
            .expect("a snapshot holds its connection until dropped")
    }

    fn of(&self, pool: &Arc<Pool>) -> bool {
        Arc::ptr_eq(&self.pool, pool)
    }

    fn park(self: Box<Self>) {
        // Only called inside a scope; were it not, the snapshot would end here.
        drop(snapshot::park(self));
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        let ended = conn
            .prepare_cached("COMMIT")
            .and_then(|mut commit| commit.execute([]));
        // A connection whose transaction did not end is closed, which ends it.
        if ended.is_ok() {
            self.pool.checkin(conn);
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
        reads.pool.idle.lock().unwrap().len()
    }

    /// Whether a checkpoint that must wait for every reader could run (the writer does not
    /// wait: it has no busy timeout).
    fn truncate_checkpoint_runs(writer: &Connection) -> bool {
        let busy: i64 = writer
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))
            .unwrap();
        busy == 0
    }

    #[test]
    fn a_scope_reads_one_snapshot_until_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, reads) = database(dir.path());
        let insert = |k: i64| writer.execute("INSERT INTO t (k) VALUES (?)", [k]).unwrap();
        snapshot::within(|| {
            assert_eq!(count(&reads), 0);
            insert(1);
            assert_eq!(
                count(&reads),
                0,
                "the scope's reads share the snapshot of the first"
            );
            assert!(
                !truncate_checkpoint_runs(&writer),
                "the snapshot is a real transaction"
            );
            reads.end_snapshot();
            assert_eq!(
                count(&reads),
                1,
                "a read after the snapshot ended sees the commit"
            );
            insert(2);
            assert_eq!(count(&reads), 1);
        });
        assert!(
            truncate_checkpoint_runs(&writer),
            "the transaction ended with the scope"
        );
        assert_eq!(count(&reads), 2);
        insert(3);
        assert_eq!(count(&reads), 3, "outside a scope every read is fresh");
    }

    #[test]
    fn scopes_give_their_connections_back() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, reads) = database(dir.path());
        let other_dir = dir.path().join("other");
        std::fs::create_dir(&other_dir).unwrap();
        let (other_writer, other) = database(&other_dir);
        writer.execute("INSERT INTO t (k) VALUES (1)", []).unwrap();
        for _ in 0..100 {
            snapshot::within(|| {
                assert_eq!(count(&reads), 1);
                assert_eq!(count(&other), 0, "each database has its own snapshot");
                assert_eq!(count(&reads), 1);
            });
        }
        assert_eq!(idle(&reads), CONNECTIONS);
        assert_eq!(idle(&other), CONNECTIONS);
        assert!(truncate_checkpoint_runs(&writer));
        assert!(truncate_checkpoint_runs(&other_writer));
    }

    #[test]
    fn reads_open_connections_when_all_are_busy_and_keep_only_a_few() {
        let dir = tempfile::tempdir().unwrap();
        let (_writer, reads) = database(dir.path());
        let held: Vec<_> = (0..CONNECTIONS + 3)
            .map(|_| reads.pool.checkout().unwrap())
            .collect();
        assert_eq!(idle(&reads), 0);
        assert_eq!(
            count(&reads),
            0,
            "a read with every connection busy opens its own"
        );
        for conn in held {
            reads.pool.checkin(conn);
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
