//! The upload hot path: body stream → MD5 ‖ SHA-256 ‖ disk, off the async runtime.
//! The S3 store reuses the [`Coalescer`] and hashes with [`Digests`] (its bytes go to the network).
//!
//! ```text
//!                      ┌─ md5 channel ────► blocking thread: MD5
//! body ─► coalesce ─► ─┼─ sha256 channel ─► blocking thread: SHA-256
//!  (async, counts)     └─ disk channel ───► blocking thread: write(2)
//!                                             └─ every 32 MiB ─► flusher: fdatasync(2)
//! ```
//!
//! The async side only pulls chunks, counts them against the limit and copies the network
//! chunks into page-aligned buffers (2 MiB for a lone upload, down to 512 KiB as more run at
//! once); each buffer goes to every thread as a `Bytes` (a reference count, not a copy). The
//! channels are bounded, so a slow disk or hasher slows the reader down and memory stays at a
//! few MiB whatever the upload's size.
//!
//! Where the file system allows it the file is written with `O_DIRECT` ([`Target::Direct`]):
//! the kernel then moves the aligned buffers to the disk itself instead of copying them into the
//! page cache and writing them back later. On this project's benchmark machine that copy cost as
//! much CPU as the SHA-256, and a durable 1 GiB write went from 0.46 to 1.2 GB/s.

use crate::buffer::{AlignedBuf, UploadShare, DIRECT_ALIGN};
use bytes::Bytes;
use futures::StreamExt;
use md5::{Digest, Md5};
use sha2::Sha256;
use std::fs::File;
use std::io::{self, Write};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinError;
use upvault_core::ports::ByteStream;

/// Buffers queued per thread before the reader waits. Two keep the threads busy; more only add
/// to the memory each upload holds.
const QUEUE_DEPTH: usize = 2;
/// Bytes written between two background flushes.
const FLUSH_EVERY: usize = 32 << 20;

/// How the file is written.
#[derive(Debug)]
pub(crate) enum Target {
    /// Opened with `O_DIRECT`: whole aligned blocks only, the tail padded and cut back.
    Direct(File),
    /// Through the page cache (file systems without direct I/O, such as older tmpfs).
    Buffered(File),
}

/// What a completed pipeline produced.
#[derive(Debug)]
pub(crate) struct Written {
    /// The file, written in full but not yet synced.
    pub(crate) file: File,
    pub(crate) size: u64,
    pub(crate) md5: [u8; 16],
    pub(crate) sha256: [u8; 32],
}

/// Why a pipeline stopped.
#[derive(Debug)]
pub(crate) enum Failure {
    /// More than this many bytes arrived.
    TooLarge(u64),
    /// The body stream failed.
    Body(io::Error),
    /// Writing the file failed.
    Disk(io::Error),
    /// No memory could be had for a buffer.
    Memory(io::Error),
    /// A worker thread panicked or was cancelled.
    Worker(WorkerFailed),
}

/// Streams `body` into the target file, hashing it. Returns once all its threads have finished,
/// so on failure the caller may remove the file knowing nothing writes to it any more.
pub(crate) async fn write(
    target: Target,
    mut body: ByteStream,
    max_bytes: Option<u64>,
) -> Result<Written, Failure> {
    let (file, direct) = match target {
        Target::Direct(file) => (file, true),
        Target::Buffered(file) => (file, false),
    };
    let flushed = file.try_clone().map_err(Failure::Disk)?;
    let digests = Digests::start();
    let (disk_tx, mut disk_rx) = mpsc::channel::<Bytes>(QUEUE_DEPTH);

    // Starts writeback while the upload is still arriving, so the final `sync_all` has only
    // the tail to flush instead of the whole file.
    let (flush_tx, flush_rx) = std::sync::mpsc::sync_channel::<()>(1);
    let flush_thread = tokio::task::spawn_blocking(move || -> io::Result<()> {
        while flush_rx.recv().is_ok() {
            flushed.sync_data()?;
        }
        Ok(())
    });
    // The writer has a thread of its own, apart from the hashers: a direct write waits for the
    // disk, and the hashers should not wait with it.
    let disk_thread = tokio::task::spawn_blocking(move || -> io::Result<File> {
        let mut file = file;
        let mut unflushed = 0;
        let mut written = 0u64;
        while let Some(chunk) = disk_rx.blocking_recv() {
            if direct && chunk.len() % DIRECT_ALIGN != 0 {
                // Only the last buffer can be partial: write it as whole zero-padded blocks,
                // then cut the padding off.
                let mut padded = AlignedBuf::zeroed(chunk.len().next_multiple_of(DIRECT_ALIGN))?;
                padded.extend(&chunk);
                file.write_all(padded.whole())?;
                file.set_len(written + chunk.len() as u64)?;
            } else {
                file.write_all(&chunk)?;
            }
            written += chunk.len() as u64;
            unflushed += chunk.len();
            if unflushed >= FLUSH_EVERY {
                // Busy flusher: it will take these bytes with the next ones. Gone: it failed,
                // and its join says why.
                let _ = flush_tx.try_send(());
                unflushed = 0;
            }
        }
        Ok(file)
    });

    // Feed the threads until the body ends or something fails. A failed send means a thread
    // has gone (a disk error); its join below says why.
    let mut size = 0u64;
    let mut glue = Coalescer::new();
    let fed: Result<(), Failure> = async {
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(Failure::Body)?;
            size += chunk.len() as u64;
            if let Some(max) = max_bytes.filter(|max| size > *max) {
                return Err(Failure::TooLarge(max));
            }
            for buffer in glue.push(&chunk).map_err(Failure::Memory)? {
                if !(digests.feed(buffer.clone()).await && disk_tx.send(buffer).await.is_ok()) {
                    return Ok(());
                }
            }
        }
        if let Some(rest) = glue.finish() {
            // Same as above: a failure here shows in the threads' results.
            let _ = digests.feed(rest.clone()).await && disk_tx.send(rest).await.is_ok();
        }
        Ok(())
    }
    .await;
    drop(body); // stop reading the client before waiting for the threads
    drop(disk_tx);

    let digests = digests.finish().await.map_err(Failure::Worker);
    let disk = disk_thread.await.map_err(|err| Failure::Worker(err.into()));
    let flush = flush_thread
        .await
        .map_err(|err| Failure::Worker(err.into()));
    fed?;
    let file = disk?.map_err(Failure::Disk)?;
    // The flusher shares the file description, so an error it saw would not show again in
    // the final sync: it must be checked here.
    flush?.map_err(Failure::Disk)?;
    let (md5, sha256) = digests?;
    Ok(Written {
        file,
        size,
        md5,
        sha256,
    })
}

/// MD5 and SHA-256 of a byte stream, each on its own blocking thread. Buffers are shared, not
/// copied; the channels are bounded, so slow hashing slows the feeder down.
pub(crate) struct Digests {
    md5_tx: mpsc::Sender<Bytes>,
    sha256_tx: mpsc::Sender<Bytes>,
    md5_thread: tokio::task::JoinHandle<[u8; 16]>,
    sha256_thread: oneshot::Receiver<std::thread::Result<[u8; 32]>>,
}

impl Digests {
    /// Starts both threads.
    pub(crate) fn start() -> Self {
        let (md5_tx, mut md5_rx) = mpsc::channel::<Bytes>(QUEUE_DEPTH);
        let (sha256_tx, mut sha256_rx) = mpsc::channel::<Bytes>(QUEUE_DEPTH);
        let md5_thread = tokio::task::spawn_blocking(move || {
            let mut md5 = Md5::new();
            while let Some(chunk) = md5_rx.blocking_recv() {
                md5.update(&chunk);
            }
            <[u8; 16]>::from(md5.finalize())
        });
        let sha256_thread = spawn_yielding(move || {
            let mut sha256 = Sha256::new();
            while let Some(chunk) = sha256_rx.blocking_recv() {
                sha256.update(&chunk);
            }
            <[u8; 32]>::from(sha256.finalize())
        });
        Self {
            md5_tx,
            sha256_tx,
            md5_thread,
            sha256_thread,
        }
    }

    /// Hands a buffer to both hashers, waiting for room in their queues. `false`: a hasher is
    /// gone, which it only does by panicking, as [`Digests::finish`] reports.
    pub(crate) async fn feed(&self, buffer: Bytes) -> bool {
        self.md5_tx.send(buffer.clone()).await.is_ok() && self.sha256_tx.send(buffer).await.is_ok()
    }

    /// Ends the input and returns (MD5, SHA-256) of everything fed.
    pub(crate) async fn finish(self) -> Result<([u8; 16], [u8; 32]), WorkerFailed> {
        let Self {
            md5_tx,
            sha256_tx,
            md5_thread,
            sha256_thread,
        } = self;
        drop((md5_tx, sha256_tx));
        let md5 = md5_thread.await;
        let sha256 = sha256_thread.await;
        let sha256 = sha256
            .ok()
            .and_then(Result::ok)
            .ok_or_else(|| WorkerFailed("the SHA-256 thread failed".into()));
        Ok((md5?, sha256?))
    }
}

/// A hashing or writing thread that panicked, was cancelled or could not start.
#[derive(Debug)]
pub(crate) struct WorkerFailed(String);

impl std::fmt::Display for WorkerFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WorkerFailed {}

impl From<JoinError> for WorkerFailed {
    fn from(err: JoinError) -> Self {
        Self(err.to_string())
    }
}

/// Runs `work` on a thread of its own at a lower priority (nice +10), for SHA-256: MD5 is the
/// serial bound of an upload, so on a small machine it and the network reader should get a
/// core first, and SHA-256 (twice as fast) fills the gaps. A thread of its own, because a
/// pooled one would keep the lowered priority for whatever ran on it next. A thread that
/// cannot start (none left) drops the sender, and the upload fails as if it had panicked.
fn spawn_yielding<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> oneshot::Receiver<std::thread::Result<T>> {
    let (done, result) = oneshot::channel();
    let _ = std::thread::Builder::new()
        .name("upvault-sha256".into())
        .spawn(move || {
            // Best effort: where this is refused the thread keeps the normal priority.
            let _ = rustix::process::setpriority_process(None, 10);
            let _ = done.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)));
        });
    result
}

/// Copies network chunks (of any size) into full page-aligned buffers, as large as this
/// upload's share of the buffer memory allows ([`UploadShare`]).
pub(crate) struct Coalescer {
    pending: Option<AlignedBuf>,
    share: UploadShare,
}

impl Coalescer {
    /// The coalescer of one upload, counted among the uploads running until it is dropped.
    pub(crate) fn new() -> Self {
        Self {
            pending: None,
            share: UploadShare::join(),
        }
    }

    /// Takes a chunk; returns the buffers it filled. Fails only if no memory can be had for a
    /// buffer.
    pub(crate) fn push(&mut self, mut chunk: &[u8]) -> io::Result<Vec<Bytes>> {
        let mut ready = Vec::new();
        while !chunk.is_empty() {
            let pending = match &mut self.pending {
                Some(pending) => pending,
                empty => empty.insert(AlignedBuf::take(self.share.buffer_size())?),
            };
            let taken = pending.extend(chunk);
            chunk = &chunk[taken..];
            if pending.len() == pending.capacity() {
                ready.extend(self.pending.take().map(AlignedBuf::freeze));
            }
        }
        Ok(ready)
    }

    /// The last, partial buffer.
    pub(crate) fn finish(&mut self) -> Option<Bytes> {
        self.pending
            .take()
            .filter(|pending| pending.len() > 0)
            .map(AlignedBuf::freeze)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffer::{BUFFER_SIZE, UPLOAD_BUFFER_MAX};

    fn run(sizes: &[usize]) -> Vec<usize> {
        let mut glue = Coalescer::new();
        let mut out = Vec::new();
        let mut all_in = Vec::new();
        let mut all_out = Vec::new();
        for (n, size) in sizes.iter().enumerate() {
            let chunk = Bytes::from(vec![n as u8; *size]);
            all_in.extend_from_slice(&chunk);
            for buffer in glue.push(&chunk).unwrap() {
                assert_eq!(
                    buffer.as_ptr() as usize % DIRECT_ALIGN,
                    0,
                    "buffers are aligned"
                );
                out.push(buffer.len());
                all_out.extend_from_slice(&buffer);
            }
        }
        if let Some(rest) = glue.finish() {
            assert_eq!(
                rest.as_ptr() as usize % DIRECT_ALIGN,
                0,
                "buffers are aligned"
            );
            out.push(rest.len());
            all_out.extend_from_slice(&rest);
        }
        assert_eq!(all_in, all_out, "bytes and order are kept");
        out
    }

    #[test]
    fn chunks_are_cut_into_full_aligned_buffers() {
        let small = BUFFER_SIZE;
        for sizes in [
            &[small / 2, small / 2, 10][..],
            &[100, small],
            &[100, 3 * small],
            &[2 * small, 5],
            &[UPLOAD_BUFFER_MAX, 7 * small + 1, 1, 1],
            &[4 * UPLOAD_BUFFER_MAX],
        ] {
            let cut = run(sizes);
            assert_eq!(
                cut.iter().sum::<usize>(),
                sizes.iter().sum::<usize>(),
                "{sizes:?}"
            );
            // Other tests' uploads change the size between buffers, never within one.
            let (last, full) = cut.split_last().unwrap();
            for len in full {
                assert!(
                    len.is_power_of_two() && (small..=UPLOAD_BUFFER_MAX).contains(len),
                    "a full buffer of an upload's size, not {len} ({sizes:?})"
                );
            }
            assert!(*last > 0 && *last <= UPLOAD_BUFFER_MAX);
        }
        assert_eq!(run(&[]), Vec::<usize>::new());
        assert_eq!(run(&[0, 0]), Vec::<usize>::new());
    }

    /// Writes `data`, cut into `piece`-byte network chunks, through the pipeline into a file
    /// opened as `direct` asks; returns what the file holds and the digests.
    async fn write_through(data: &[u8], piece: usize, direct: bool) -> (Vec<u8>, Written) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        let file = File::create_new(&path).unwrap();
        let target = if direct {
            Target::Direct(crate::local::open_direct(&path).expect("this file system has O_DIRECT"))
        } else {
            Target::Buffered(file)
        };
        let chunks: Vec<io::Result<Bytes>> = data
            .chunks(piece.max(1))
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let body: ByteStream = Box::pin(futures::stream::iter(chunks));
        let written = write(target, body, None).await.unwrap();
        (std::fs::read(&path).unwrap(), written)
    }

    #[tokio::test]
    async fn direct_and_buffered_files_hold_exactly_the_bytes() {
        let mb = BUFFER_SIZE;
        let most = 2 * UPLOAD_BUFFER_MAX + 5000;
        let data: Vec<u8> = (0..most).map(|i| (i * 31 % 251) as u8).collect();
        for direct in [true, false] {
            for (len, piece) in [
                (0, 1),
                (1, 1),
                (DIRECT_ALIGN - 1, 100),
                (DIRECT_ALIGN, 4096),
                (DIRECT_ALIGN + 1, 333),
                (mb, 65536),
                (mb + 123, 16384),
                (3 * mb + 5000, 100_000),
                (most, 1 << 20),
            ] {
                let (stored, written) = write_through(&data[..len], piece, direct).await;
                assert_eq!(stored.len(), len, "size, direct={direct}");
                assert!(stored == data[..len], "content, direct={direct}, len={len}");
                assert_eq!(written.size, len as u64);
                assert_eq!(written.md5, <[u8; 16]>::from(Md5::digest(&data[..len])));
                assert_eq!(
                    written.sha256,
                    <[u8; 32]>::from(Sha256::digest(&data[..len]))
                );
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_uploads_changing_buffer_sizes_keep_every_byte() {
        // As uploads start and finish, each one's next buffer changes size.
        let uploads = (0..5u8).map(|n| {
            let len = UPLOAD_BUFFER_MAX * 3 + 4096 * usize::from(n) + usize::from(n);
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + usize::from(n)) as u8).collect();
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(u64::from(n) * 5)).await;
                let (stored, written) = write_through(&data, 70_000, n % 2 == 0).await;
                assert!(stored == data, "upload {n} holds its bytes");
                assert_eq!(written.md5, <[u8; 16]>::from(Md5::digest(&data)));
            })
        });
        for upload in futures::future::join_all(uploads).await {
            upload.unwrap();
        }
    }

    #[tokio::test]
    async fn digests_hash_everything_fed() {
        let digests = Digests::start();
        digests.feed(Bytes::from_static(b"hello ")).await;
        digests.feed(Bytes::from_static(b"world")).await;
        let (md5, sha256) = digests.finish().await.unwrap();
        assert_eq!(hex::encode(md5), "5eb63bbbe01eeed093cb22bb8f5acdc3");
        assert_eq!(
            hex::encode(sha256),
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        let (md5, _) = Digests::start().finish().await.unwrap();
        assert_eq!(hex::encode(md5), "d41d8cd98f00b204e9800998ecf8427e");
    }
}
