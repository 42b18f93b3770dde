//! [`LocalBlobStore`]: blobs as files in a directory.

use crate::buffer::{AlignedBuf, BUFFER_SIZE};
use crate::error::{internal, is_not_found, IoContext};
use crate::pipeline::{self, Failure};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tokio::task::JoinHandle;
use upvault_core::model::ByteRange;
use upvault_core::ports::{BlobStore, ByteStream, TempBlob};
use upvault_core::{BlobKey, Entity, Error, Limit, Result};

/// Bytes read from the file per chunk of a blob stream. Each chunk is read straight into the
/// buffer that goes to the socket (one copy out of the page cache, one blocking call per chunk);
/// with the chunk read ahead, a download holds about twice this much.
const READ_CHUNK: usize = BUFFER_SIZE;
/// Length of a temp id: 16 random bytes in lower-case hex.
const TEMP_ID_LEN: usize = 32;

/// A [`BlobStore`] on a local directory: `root/blobs/ab/cd/<key>` and `root/tmp/<temp id>`.
#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    blobs: PathBuf,
    tmp: PathBuf,
}

impl LocalBlobStore {
    /// Creates `root/blobs` and `root/tmp` if missing.
    pub async fn open(root: impl Into<PathBuf>) -> anyhow::Result<Self> {
        let root = root.into();
        let store = Self {
            blobs: root.join("blobs"),
            tmp: root.join("tmp"),
        };
        for dir in [&store.blobs, &store.tmp] {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|err| internal(err, "creating", dir))?;
        }
        Ok(store)
    }

    /// Path of a committed blob (used later for sendfile fast paths).
    pub fn blob_path(&self, key: &BlobKey) -> PathBuf {
        let hex = key.as_str();
        self.blobs.join(&hex[..2]).join(&hex[2..4]).join(hex)
    }

    /// Path of a temporary object; refuses anything but a temp id this store could have made,
    /// so a caller can never name a path.
    fn temp_path(&self, temp_id: &str) -> Result<PathBuf> {
        let valid = temp_id.len() == TEMP_ID_LEN
            && temp_id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !valid {
            return Err(Error::Internal(anyhow::anyhow!(
                "not a temp id: {temp_id:?}"
            )));
        }
        Ok(self.tmp.join(temp_id))
    }
}

/// Runs blocking file-system work off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(Error::internal)?
}

/// Makes a directory's entries (a rename, a new sub-directory) durable.
fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|dir| dir.sync_all())
        .or_internal("syncing directory", dir)
}

/// Creates the file of an upload, for direct writes where the file system has them.
fn create_temp(path: &Path) -> Result<pipeline::Target> {
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .or_internal("creating", path)?;
    match open_direct(path) {
        Ok(direct) => Ok(pipeline::Target::Direct(direct)),
        Err(err) if err.raw_os_error() == Some(libc::EINVAL) => {
            Ok(pipeline::Target::Buffered(file))
        }
        Err(err) => {
            let _ = fs::remove_file(path);
            Err(internal(err, "opening", path))
        }
    }
}

/// Opens an existing file for direct writes (`EINVAL`: the file system has no direct I/O).
pub(crate) fn open_direct(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
}

/// Removes a file; `true` if it was there.
fn remove_if_present(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(err) if is_not_found(&err) => Ok(false),
        Err(err) => Err(internal(err, "removing", path)),
    }
}

/// Removes a temporary file if the upload future is dropped half-way (client gone).
struct TempGuard(Option<PathBuf>);

impl TempGuard {
    /// The file is kept (or was removed already): nothing to do on drop.
    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = fs::remove_file(path);
        }
    }
}

#[async_trait]
impl BlobStore for LocalBlobStore {
    async fn write_temp(&self, body: ByteStream, max_bytes: Option<u64>) -> Result<TempBlob> {
        let temp_id = hex::encode(rand::random::<[u8; TEMP_ID_LEN / 2]>());
        let path = self.tmp.join(&temp_id);
        let created = path.clone();
        let target = blocking(move || create_temp(&created)).await?;
        let mut guard = TempGuard(Some(path.clone()));

        let outcome = match pipeline::write(target, body, max_bytes).await {
            Ok(written) => {
                let pipeline::Written {
                    file,
                    size,
                    md5,
                    sha256,
                } = written;
                let synced = path.clone();
                blocking(move || file.sync_all().or_internal("syncing", &synced))
                    .await
                    .map(|()| (size, md5, sha256))
            }
            Err(Failure::TooLarge(max)) => Err(Error::LimitExceeded(Limit::MaxUploadSize(max))),
            Err(Failure::Body(err)) => Err(internal(err, "receiving the body for", &path)),
            Err(Failure::Disk(err)) => Err(internal(err, "writing", &path)),
            Err(Failure::Memory(err)) => Err(internal(err, "buffering", &path)),
            Err(Failure::Worker(err)) => Err(Error::internal(err)),
        };
        match outcome {
            Ok((size_bytes, md5, sha256)) => {
                guard.disarm();
                let key = BlobKey::parse(&hex::encode(sha256))
                    .expect("a hex-encoded SHA-256 is a valid blob key");
                Ok(TempBlob {
                    temp_id,
                    size_bytes,
                    md5: hex::encode(md5),
                    key,
                })
            }
            Err(err) => {
                guard.disarm();
                if let Err(cleanup) = tokio::fs::remove_file(&path).await {
                    if !is_not_found(&cleanup) {
                        tracing::warn!(path = %path.display(), error = %cleanup, "could not remove a failed upload");
                    }
                }
                Err(err)
            }
        }
    }

    async fn promote(&self, temp_id: &str, key: &BlobKey) -> Result<()> {
        let temp = self.temp_path(temp_id)?;
        let dest = self.blob_path(key);
        let blobs = self.blobs.clone();
        blocking(move || {
            if dest.try_exists().or_internal("checking", &dest)? {
                // Same key, same content: the blob is there already.
                remove_if_present(&temp)?;
                return Ok(());
            }
            let parent = dest.parent().expect("a blob path has fan-out directories");
            // `remove` may prune an empty fan-out directory between our mkdir and our rename;
            // then the rename fails with NotFound while the temp is still there: try again.
            let mut attempts = 0;
            let created = loop {
                attempts += 1;
                let created = !parent.try_exists().or_internal("checking", parent)?;
                fs::create_dir_all(parent).or_internal("creating", parent)?;
                match fs::rename(&temp, &dest) {
                    Ok(()) => break created,
                    Err(err) if is_not_found(&err) && attempts < 3 && temp.exists() => continue,
                    Err(err) => return Err(internal(err, "promoting", &temp)),
                }
            };
            sync_dir(parent)?;
            if created {
                // New fan-out directories: make their own entries durable too.
                let grandparent = parent.parent().expect("fan-out directories have a parent");
                sync_dir(grandparent)?;
                sync_dir(&blobs)?;
            }
            Ok(())
        })
        .await
    }

    async fn discard(&self, temp_id: &str) -> Result<()> {
        let temp = self.temp_path(temp_id)?;
        blocking(move || remove_if_present(&temp).map(drop)).await
    }

    async fn read(&self, key: &BlobKey, range: Option<ByteRange>) -> Result<ByteStream> {
        let path = self.blob_path(key);
        let file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(err) if is_not_found(&err) => return Err(Error::NotFound(Entity::File)),
            Err(err) => return Err(internal(err, "opening", &path)),
        };
        let size = file
            .metadata()
            .await
            .or_internal("reading metadata of", &path)?
            .len();
        let (start, len) = match range {
            None => (0, size),
            Some(range) if range.start <= range.end && range.end < size => {
                (range.start, range.len())
            }
            Some(range) => {
                return Err(Error::Internal(anyhow::anyhow!(
                    "range {}-{} outside blob {} of {size} bytes",
                    range.start,
                    range.end,
                    path.display()
                )))
            }
        };
        let mut file = file.into_std().await;
        if start > 0 {
            file.seek(SeekFrom::Start(start))
                .or_internal("seeking in", &path)?;
        }
        Ok(read_ahead(file, len))
    }

    async fn remove(&self, key: &BlobKey) -> Result<()> {
        let path = self.blob_path(key);
        blocking(move || {
            remove_if_present(&path)?;
            // Prune the fan-out directories if that emptied them; a failure (not empty, or
            // a concurrent promote) is fine.
            let mut dir = path.parent();
            for _ in 0..2 {
                let Some(current) = dir else { break };
                if fs::remove_dir(current).is_err() {
                    break;
                }
                dir = current.parent();
            }
            Ok(())
        })
        .await
    }

    async fn list(&self) -> Result<Vec<(BlobKey, DateTime<Utc>)>> {
        let blobs = self.blobs.clone();
        blocking(move || {
            let mut found = Vec::new();
            for first in read_dirs(&blobs)? {
                for second in read_dirs(&first)? {
                    for entry in read_entries(&second)? {
                        let name = entry.file_name();
                        let Some(key) = name.to_str().and_then(BlobKey::parse) else {
                            continue;
                        };
                        let path = entry.path();
                        let modified = match entry.metadata().and_then(|meta| meta.modified()) {
                            Ok(modified) => modified,
                            Err(err) if is_not_found(&err) => continue, // removed meanwhile
                            Err(err) => return Err(internal(err, "reading metadata of", &path)),
                        };
                        if entry.file_type().or_internal("reading", &path)?.is_file() {
                            found.push((key, DateTime::<Utc>::from(modified)));
                        }
                    }
                }
            }
            Ok(found)
        })
        .await
    }

    async fn clean_temp(&self, older_than: Duration) -> Result<u64> {
        let tmp = self.tmp.clone();
        blocking(move || {
            let cutoff = SystemTime::now().checked_sub(older_than);
            let mut removed = 0;
            for entry in read_entries(&tmp)? {
                let path = entry.path();
                if !entry.file_type().or_internal("reading", &path)?.is_file() {
                    continue;
                }
                // An upload in progress writes to its file: its modification time is recent.
                let stale = match (cutoff, entry.metadata().and_then(|meta| meta.modified())) {
                    (_, Err(err)) if is_not_found(&err) => continue, // promoted meanwhile
                    (_, Err(err)) => return Err(internal(err, "reading metadata of", &path)),
                    (None, Ok(_)) => false,
                    (Some(cutoff), Ok(modified)) => older_than.is_zero() || modified <= cutoff,
                };
                if stale && remove_if_present(&path)? {
                    removed += 1;
                }
            }
            Ok(removed)
        })
        .await
    }
}

/// Streams the next `len` bytes of `file` in [`READ_CHUNK`] buffers, each read on the blocking
/// pool, with the next chunk already being read while the current one is sent. No blocking
/// thread is held between chunks, so a slow (or throttled) client costs no thread.
fn read_ahead(file: fs::File, len: u64) -> ByteStream {
    type Pending = JoinHandle<(fs::File, std::io::Result<bytes::Bytes>)>;

    fn start(file: fs::File, left: u64) -> Pending {
        let want = left.min(READ_CHUNK as u64) as usize;
        // A reused buffer: a fresh one per chunk costs page faults.
        tokio::task::spawn_blocking(move || {
            let read = AlignedBuf::take(READ_CHUNK)
                .and_then(|mut buf| (&file).read_exact(buf.fill(want)).map(|()| buf));
            let chunk = match read {
                Ok(buf) => Ok(buf.freeze()),
                Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => Err(
                    std::io::Error::new(err.kind(), "the blob is shorter than it was"),
                ),
                Err(err) => Err(err),
            };
            (file, chunk)
        })
    }

    let pending = (len > 0).then(|| start(file, len));
    Box::pin(futures::stream::unfold(
        (pending, len),
        |(pending, left)| async move {
            let (file, chunk) = match pending?.await {
                Ok(done) => done,
                Err(err) => return Some((Err(std::io::Error::other(err)), (None, 0))),
            };
            match chunk {
                Ok(chunk) => {
                    let left = left - chunk.len() as u64;
                    let next = (left > 0).then(|| start(file, left));
                    Some((Ok(chunk), (next, left)))
                }
                Err(err) => Some((Err(err), (None, 0))),
            }
        },
    ))
}

/// The entries of a directory; none if it vanished meanwhile (a concurrent `remove`).
fn read_entries(dir: &Path) -> Result<Vec<fs::DirEntry>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if is_not_found(&err) => return Ok(Vec::new()),
        Err(err) => return Err(internal(err, "listing", dir)),
    };
    entries
        .collect::<std::io::Result<Vec<_>>>()
        .or_internal("listing", dir)
}

/// The sub-directories of a directory.
fn read_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for entry in read_entries(dir)? {
        let path = entry.path();
        if entry.file_type().or_internal("reading", &path)?.is_dir() {
            dirs.push(path);
        }
    }
    Ok(dirs)
}
