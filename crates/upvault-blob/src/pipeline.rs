//! The upload hot path: body stream → (MD5) ‖ (SHA-256 + disk), off the async runtime.
//! The S3 store reuses the [`Coalescer`] and hashes with [`Digests`] (its bytes go to the network).
//!
//! ```text
//!                      ┌─ md5 channel ──► blocking thread: MD5
//! body ─► coalesce ─► ─┤
//!  (async, counts)     └─ disk channel ─► blocking thread: SHA-256, write(2)
//!                                           └─ every 32 MiB ─► flusher: fdatasync(2)
//! ```
//!
//! The async side only pulls chunks, counts them against the limit and glues small network
//! chunks into ~1 MiB buffers; each buffer goes to both threads as a `Bytes` (a reference count,
//! not a copy). The channels are bounded, so a slow disk or hasher slows the reader down and
//! memory stays at a few MiB whatever the upload's size.

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use md5::{Digest, Md5};
use sha2::Sha256;
use std::fs::File;
use std::io::{self, Write};
use tokio::sync::mpsc;
use tokio::task::JoinError;
use upvault_core::ports::ByteStream;

/// Size of the buffers handed to the hashers and the disk.
const WRITE_CHUNK: usize = 1 << 20;
/// Buffers queued per thread before the reader waits. Two keep both threads busy; more only
/// add to the memory each upload holds (up to about twice this many MiB when MD5 lags).
const QUEUE_DEPTH: usize = 2;
/// Bytes written between two background flushes.
const FLUSH_EVERY: usize = 32 << 20;

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
    /// A worker thread panicked or was cancelled.
    Worker(JoinError),
}

/// Streams `body` into `file`, hashing it. Returns once all its threads have finished, so on
/// failure the caller may remove the file knowing nothing writes to it any more.
pub(crate) async fn write(
    file: File,
    mut body: ByteStream,
    max_bytes: Option<u64>,
) -> Result<Written, Failure> {
    let flushed = file.try_clone().map_err(Failure::Disk)?;
    let (md5_tx, mut md5_rx) = mpsc::channel::<Bytes>(QUEUE_DEPTH);
    let (disk_tx, mut disk_rx) = mpsc::channel::<Bytes>(QUEUE_DEPTH);

    let md5_thread = tokio::task::spawn_blocking(move || {
        let mut md5 = Md5::new();
        while let Some(chunk) = md5_rx.blocking_recv() {
            md5.update(&chunk);
        }
        <[u8; 16]>::from(md5.finalize())
    });
    // Starts writeback while the upload is still arriving, so the final `sync_all` has only
    // the tail to flush instead of the whole file.
    let (flush_tx, flush_rx) = std::sync::mpsc::sync_channel::<()>(1);
    let flush_thread = tokio::task::spawn_blocking(move || -> io::Result<()> {
        while flush_rx.recv().is_ok() {
            flushed.sync_data()?;
        }
        Ok(())
    });
    let disk_thread = tokio::task::spawn_blocking(move || -> io::Result<(File, [u8; 32])> {
        let mut file = file;
        let mut sha256 = Sha256::new();
        let mut unflushed = 0;
        while let Some(chunk) = disk_rx.blocking_recv() {
            sha256.update(&chunk);
            file.write_all(&chunk)?;
            unflushed += chunk.len();
            if unflushed >= FLUSH_EVERY {
                // Busy flusher: it will take these bytes with the next ones. Gone: it failed,
                // and its join says why.
                let _ = flush_tx.try_send(());
                unflushed = 0;
            }
        }
        Ok((file, sha256.finalize().into()))
    });

    // Feed both threads until the body ends or something fails. A failed send means a thread
    // has gone (a disk error); its join below says why.
    let mut size = 0u64;
    let mut glue = Coalescer::default();
    let fed: Result<(), Failure> = async {
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(Failure::Body)?;
            size += chunk.len() as u64;
            if let Some(max) = max_bytes.filter(|max| size > *max) {
                return Err(Failure::TooLarge(max));
            }
            for buffer in glue.push(chunk) {
                let sent =
                    md5_tx.send(buffer.clone()).await.is_ok() && disk_tx.send(buffer).await.is_ok();
                if !sent {
                    return Ok(());
                }
            }
        }
        if let Some(rest) = glue.finish() {
            // Same as above: a failure here shows in the disk thread's result.
            let _ = md5_tx.send(rest.clone()).await.is_ok() && disk_tx.send(rest).await.is_ok();
        }
        Ok(())
    }
    .await;
    drop(body); // stop reading the client before waiting for the threads
    drop((md5_tx, disk_tx));

    let md5 = md5_thread.await.map_err(Failure::Worker);
    let disk = disk_thread.await.map_err(Failure::Worker);
    let flush = flush_thread.await.map_err(Failure::Worker);
    fed?;
    let (file, sha256) = disk?.map_err(Failure::Disk)?;
    // The flusher shares the file description, so an error it saw would not show again in
    // the final sync: it must be checked here.
    flush?.map_err(Failure::Disk)?;
    Ok(Written {
        file,
        size,
        md5: md5?,
        sha256,
    })
}

/// MD5 and SHA-256 of a byte stream, each on its own blocking thread (the S3 upload path,
/// where no disk thread can take the SHA-256). Buffers are shared, not copied; the channels
/// are bounded, so slow hashing slows the feeder down.
pub(crate) struct Digests {
    md5_tx: mpsc::Sender<Bytes>,
    sha256_tx: mpsc::Sender<Bytes>,
    md5_thread: tokio::task::JoinHandle<[u8; 16]>,
    sha256_thread: tokio::task::JoinHandle<[u8; 32]>,
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
        let sha256_thread = tokio::task::spawn_blocking(move || {
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

    /// Hands a buffer to both hashers, waiting for room in their queues. A hasher can only
    /// be gone if it panicked, which [`Digests::finish`] reports.
    pub(crate) async fn feed(&self, buffer: Bytes) {
        let _ = self.md5_tx.send(buffer.clone()).await.is_ok()
            && self.sha256_tx.send(buffer).await.is_ok();
    }

    /// Ends the input and returns (MD5, SHA-256) of everything fed.
    pub(crate) async fn finish(self) -> Result<([u8; 16], [u8; 32]), JoinError> {
        let Self {
            md5_tx,
            sha256_tx,
            md5_thread,
            sha256_thread,
        } = self;
        drop((md5_tx, sha256_tx));
        let md5 = md5_thread.await;
        let sha256 = sha256_thread.await;
        Ok((md5?, sha256?))
    }
}

/// Glues small chunks into [`WRITE_CHUNK`]-sized buffers; big chunks pass through uncopied.
#[derive(Default)]
pub(crate) struct Coalescer {
    pending: BytesMut,
}

impl Coalescer {
    /// Takes a chunk; returns the buffers that are ready (at most two).
    pub(crate) fn push(&mut self, chunk: Bytes) -> impl Iterator<Item = Bytes> {
        let mut ready = [None, None];
        if self.pending.is_empty() && chunk.len() >= WRITE_CHUNK {
            ready[0] = Some(chunk);
        } else {
            let room = WRITE_CHUNK - self.pending.len();
            let (head, rest) = if chunk.len() > room {
                (chunk.slice(..room), chunk.slice(room..))
            } else {
                (chunk, Bytes::new())
            };
            if self.pending.capacity() == 0 {
                self.pending.reserve(WRITE_CHUNK);
            }
            self.pending.extend_from_slice(&head);
            if self.pending.len() == WRITE_CHUNK {
                ready[0] = Some(std::mem::take(&mut self.pending).freeze());
                // `rest` is shorter than the chunk, and `pending` is empty again.
                if rest.len() >= WRITE_CHUNK {
                    ready[1] = Some(rest);
                } else if !rest.is_empty() {
                    self.pending.reserve(WRITE_CHUNK);
                    self.pending.extend_from_slice(&rest);
                }
            }
        }
        ready.into_iter().flatten()
    }

    /// The last, partial buffer.
    pub(crate) fn finish(&mut self) -> Option<Bytes> {
        (!self.pending.is_empty()).then(|| std::mem::take(&mut self.pending).freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(sizes: &[usize]) -> Vec<usize> {
        let mut glue = Coalescer::default();
        let mut out = Vec::new();
        let mut all_in = Vec::new();
        let mut all_out = Vec::new();
        for (n, size) in sizes.iter().enumerate() {
            let chunk = Bytes::from(vec![n as u8; *size]);
            all_in.extend_from_slice(&chunk);
            for buffer in glue.push(chunk) {
                out.push(buffer.len());
                all_out.extend_from_slice(&buffer);
            }
        }
        if let Some(rest) = glue.finish() {
            out.push(rest.len());
            all_out.extend_from_slice(&rest);
        }
        assert_eq!(all_in, all_out, "bytes and order are kept");
        out
    }

    #[test]
    fn small_chunks_are_glued_into_full_buffers() {
        let mb = WRITE_CHUNK;
        assert_eq!(run(&[mb / 2, mb / 2, 10]), vec![mb, 10]);
        assert_eq!(run(&[100, mb]), vec![mb, 100]);
        assert_eq!(run(&[100, 3 * mb]), vec![mb, 2 * mb + 100]);
        assert_eq!(run(&[2 * mb, 5]), vec![2 * mb, 5]);
        assert_eq!(run(&[]), Vec::<usize>::new());
        assert_eq!(run(&[0, 0]), Vec::<usize>::new());
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
