//! Keeps this process holding the WAL-index read lock that the request reads take.
//!
//! Every read transaction takes a shared lock on a read mark of the WAL index and drops it at
//! the end. SQLite counts those locks per process and only calls `fcntl` when a count leaves
//! or reaches zero: with two runtime threads reading, that was 1.5 `fcntl` calls per
//! `/file/info`, each made under a mutex that the other thread then slept on. The keeper holds a
//! read transaction of its own on a thread of its own, so the count stays above zero and the
//! request reads of the same WAL state lock and unlock in memory.
//!
//! It is only a lock: each request read still begins its own transaction and sees the last
//! commit. But a reader stops checkpoints at its mark (or, on mark 0, entirely) and keeps the
//! WAL from restarting, so:
//! - the keeper lets go every [`PERIOD`] and runs a passive checkpoint to finish what it held
//!   back (here, off the runtime threads, since a checkpoint syncs);
//! - it takes the lock again only if reads happened meanwhile;
//! - and when the WAL has grown past [`RESTART_FRAMES`], it stays away for a period, in which
//!   SQLite's own checkpoint completes and the next write starts the WAL from its beginning, as
//!   without a keeper.
//!
//! With no reads for a period it holds nothing and sleeps until a read wakes it.

use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tracing::warn;

/// How long the keeper holds one read transaction.
pub(crate) const PERIOD: Duration = Duration::from_millis(50);

/// WAL frames (pages written) after which the keeper stays away for a period so that the WAL
/// restarts: SQLite's default auto-checkpoint threshold.
const RESTART_FRAMES: i64 = 1000;

/// The keeper's thread, which ends when the keeper is dropped.
pub(crate) struct ReadLockKeeper {
    signals: Arc<Signals>,
    /// Wakes the thread from its idle sleep; dropping it stops the thread.
    wake: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// What the reads tell the keeper's thread.
#[derive(Default)]
struct Signals {
    /// Reads happened since the thread last looked.
    reads: AtomicBool,
    /// The thread sleeps until a read wakes it (no reads for a period, so no lock held).
    asleep: AtomicBool,
}

impl ReadLockKeeper {
    /// Starts keeping the read lock of the database at `path`, which exists and is in WAL mode.
    pub(crate) fn start(path: &Path) -> anyhow::Result<Self> {
        // Read-write: a read-only connection cannot checkpoint.
        let conn = super::inline::connect(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        let signals = Arc::new(Signals::default());
        let (wake, woken) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("sqlite-read-lock".into())
            .spawn({
                let signals = signals.clone();
                move || keep(&conn, &signals, &woken)
            })?;
        Ok(Self {
            signals,
            wake: Some(wake),
            thread: Some(thread),
        })
    }

    /// Notes a read: the lock is kept while reads happen.
    pub(crate) fn note_read(&self) {
        // A load first: the flags' cache line is written once per period, not once per read.
        if !self.signals.reads.load(Ordering::Relaxed) {
            self.signals.reads.store(true, Ordering::SeqCst);
            if self.signals.asleep.swap(false, Ordering::SeqCst) {
                if let Some(wake) = &self.wake {
                    let _ = wake.send(());
                }
            }
        }
    }
}

impl Drop for ReadLockKeeper {
    fn drop(&mut self) {
        drop(self.wake.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The keeper's loop: hold a read transaction for a period while reads happen, then let go
/// and checkpoint; sleep while there are no reads.
fn keep(conn: &Connection, signals: &Signals, woken: &mpsc::Receiver<()>) {
    let mut holding = false;
    let mut resting = false;
    loop {
        let waited = if holding || resting || signals.reads.load(Ordering::SeqCst) {
            woken.recv_timeout(PERIOD)
        } else {
            // Idle. A read after the flag is set finds it and wakes the thread; one before,
            // the thread sees here.
            signals.asleep.store(true, Ordering::SeqCst);
            if signals.reads.load(Ordering::SeqCst) {
                signals.asleep.store(false, Ordering::SeqCst);
                continue;
            }
            woken.recv().map_err(|_| RecvTimeoutError::Disconnected)
        };
        let mut wal_frames = 0;
        if holding {
            holding = false;
            match release_and_checkpoint(conn) {
                Ok(frames) => wal_frames = frames,
                Err(err) => {
                    warn!(error = %err, "the SQLite read-lock keeper could not let go; it stops");
                    return;
                }
            }
        }
        if matches!(waited, Err(RecvTimeoutError::Disconnected)) {
            return;
        }
        resting = wal_frames >= RESTART_FRAMES;
        if !resting && signals.reads.swap(false, Ordering::SeqCst) {
            match hold(conn) {
                Ok(()) => holding = true,
                // A lock it could not take (a WAL restart in progress) is taken next period.
                Err(err) if is_busy(&err) => drop(conn.execute_batch("ROLLBACK")),
                Err(err) => {
                    warn!(error = %err, "the SQLite read-lock keeper could not read; it stops");
                    return;
                }
            }
        }
    }
}

/// Begins a read transaction and reads, which takes the lock.
fn hold(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("BEGIN")?;
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
}

/// Ends the read transaction and checkpoints passively (never waiting for readers or the
/// writer); the frames in the WAL.
fn release_and_checkpoint(conn: &Connection) -> rusqlite::Result<i64> {
    conn.execute_batch("COMMIT")?;
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))
}

fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::inline::InlineReads;
    use std::os::unix::fs::MetadataExt as _;
    use std::path::PathBuf;
    use std::time::Instant;

    /// A database in WAL mode with a table `t (k, v)`, its writer, and inline reads of it.
    fn database(dir: &Path) -> (PathBuf, Connection, InlineReads) {
        let path = dir.join("t.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;
                 CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB);",
            )
            .unwrap();
        let reads = InlineReads::open(&path).unwrap();
        (path, writer, reads)
    }

    fn count(reads: &InlineReads) -> i64 {
        reads
            .optional("SELECT count(*) FROM t", [], |row| row.get(0))
            .unwrap()
            .unwrap()
    }

    /// One read, its answer unused.
    fn read(reads: &InlineReads) {
        count(reads);
    }

    /// Whether this process holds a shared lock on a read mark of the WAL index of `db`, as
    /// the kernel lists it (`/proc/locks`). SQLite locks byte 120 + 3 + i of the `-shm` file
    /// for read mark i; every connection also holds byte 128, which is not a read mark.
    fn holds_a_read_mark(db: &Path) -> bool {
        let shm = PathBuf::from(format!("{}-shm", db.display()));
        let inode = std::fs::metadata(shm).unwrap().ino().to_string();
        let pid = std::process::id().to_string();
        std::fs::read_to_string("/proc/locks")
            .unwrap()
            .lines()
            .map(|line| line.split_whitespace().collect::<Vec<_>>())
            .any(|f| {
                f.get(1) == Some(&"POSIX")
                    && f.get(3) == Some(&"READ")
                    && f.get(4) == Some(&pid.as_str())
                    && f.get(5)
                        .is_some_and(|id| id.ends_with(&format!(":{inode}")))
                    && f.get(6)
                        .and_then(|s| s.parse::<u32>().ok())
                        .is_some_and(|at| (123..128).contains(&at))
            })
    }

    /// Polls `condition` for up to two seconds (forty periods), doing `between` between tries.
    fn eventually(mut condition: impl FnMut() -> bool, mut between: impl FnMut()) -> bool {
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if condition() {
                return true;
            }
            between();
            std::thread::sleep(Duration::from_millis(5));
        }
        condition()
    }

    #[test]
    fn the_lock_is_held_while_reads_happen_and_let_go_when_they_stop() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _writer, reads) = database(dir.path());
        std::thread::sleep(PERIOD * 3);
        assert!(!holds_a_read_mark(&path), "no reads, no lock");
        assert!(
            eventually(|| holds_a_read_mark(&path), || read(&reads)),
            "reads outside any transaction, yet the process holds a read mark"
        );
        assert!(
            eventually(|| !holds_a_read_mark(&path), || ()),
            "let go once the reads stopped"
        );
        assert!(eventually(|| holds_a_read_mark(&path), || read(&reads)));
        drop(reads);
        assert!(!holds_a_read_mark(&path), "the keeper ends with the reads");
    }

    #[test]
    fn reads_see_every_commit_while_the_lock_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (path, writer, reads) = database(dir.path());
        assert!(eventually(|| holds_a_read_mark(&path), || read(&reads)));
        for k in 1..=200 {
            writer.execute("INSERT INTO t (k) VALUES (?)", [k]).unwrap();
            assert_eq!(count(&reads), k, "the read right after commit {k}");
        }
        writer.execute("DELETE FROM t", []).unwrap();
        assert_eq!(count(&reads), 0);
    }

    #[test]
    fn the_wal_is_checkpointed_and_restarts_under_steady_writes_and_reads() {
        let dir = tempfile::tempdir().unwrap();
        let (path, writer, reads) = database(dir.path());
        let wal = PathBuf::from(format!("{}-wal", path.display()));
        let row = vec![7_u8; 16 * 1024];
        let mut written = 0_u64;
        let mut largest_wal = 0;
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(2) || written < 64 << 20 {
            writer
                .execute("INSERT INTO t (v) VALUES (?)", [&row])
                .unwrap();
            written += row.len() as u64;
            count(&reads);
            largest_wal = largest_wal.max(std::fs::metadata(&wal).unwrap().len());
        }
        // SQLite's own checkpoints (every 1,000 pages, 4 MiB) are held back while the keeper
        // holds its mark; its own checkpoint a period later completes them.
        assert!(
            largest_wal < 32 << 20,
            "{written} bytes written, the WAL reached {largest_wal} bytes"
        );
    }
}
