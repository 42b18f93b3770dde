//! Copying every blob of one store into another (`upvault migrate`), through the
//! [`BlobStore`] port only, so any pair of backends works.
//!
//! Blobs the destination has already are skipped (a rerun after an interruption continues).
//! Each copied blob is streamed, never held in memory, into a temporary object of the
//! destination, whose SHA-256 must equal the key before it is promoted: a corrupt source blob is
//! discarded and named, not stored under a key it does not match.

use anyhow::Context as _;
use futures::{StreamExt as _, TryStreamExt as _};
use std::collections::HashSet;
use std::sync::Arc;
use upvault_core::ports::{BlobStore, ByteStream};
use upvault_core::BlobKey;

/// Progress of a blob copy, for a progress bar; called from several tasks at once.
pub trait BlobCopyProgress: Send + Sync {
    /// The plan: `to_copy` blobs to copy, `present` already in the destination.
    fn planned(&self, to_copy: u64, present: u64) {
        let _ = (to_copy, present);
    }
    /// `bytes` more bytes went through.
    fn bytes(&self, bytes: u64) {
        let _ = bytes;
    }
    /// A blob is in the destination, verified.
    fn copied(&self, key: &BlobKey, size_bytes: u64) {
        let _ = (key, size_bytes);
    }
}

/// A [`BlobCopyProgress`] that reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoBlobProgress;

impl BlobCopyProgress for NoBlobProgress {}

/// What a blob copy did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlobCopyReport {
    /// Blobs in the source.
    pub listed: u64,
    /// Of those, already in the destination (skipped).
    pub present: u64,
    /// Blobs copied now.
    pub copied: u64,
    /// Bytes copied now.
    pub bytes: u64,
}

/// Copies every blob of `source` that `destination` lacks, `concurrency` at a time. A blob
/// that fails (unreadable, or bytes that do not hash to its key) does not stop the others; the
/// run fails at the end naming them, and a rerun copies only what is still missing.
pub async fn copy_blobs(
    source: &dyn BlobStore,
    destination: &dyn BlobStore,
    concurrency: usize,
    progress: Arc<dyn BlobCopyProgress>,
) -> anyhow::Result<BlobCopyReport> {
    let listed = source
        .list()
        .await
        .context("cannot list the source's blobs")?;
    let present: HashSet<BlobKey> = destination
        .list()
        .await
        .context("cannot list the destination's blobs")?
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    let mut missing: Vec<BlobKey> = listed
        .iter()
        .map(|(key, _)| key)
        .filter(|key| !present.contains(*key))
        .cloned()
        .collect();
    missing.sort();
    missing.dedup();
    let mut report = BlobCopyReport {
        listed: listed.len() as u64,
        present: (listed.len() - missing.len()) as u64,
        ..BlobCopyReport::default()
    };
    progress.planned(missing.len() as u64, report.present);

    let mut results = futures::stream::iter(missing)
        .map(|key| {
            let progress = progress.clone();
            async move {
                let copied = copy_one(source, destination, &key, progress.clone()).await;
                if let Ok(size) = copied {
                    progress.copied(&key, size);
                }
                (key, copied)
            }
        })
        .buffer_unordered(concurrency.max(1));
    let mut failures = Vec::new();
    while let Some((key, copied)) = results.next().await {
        match copied {
            Ok(size) => {
                report.copied += 1;
                report.bytes += size;
            }
            Err(err) => failures.push(format!("{key}: {err:#}")),
        }
    }
    if !failures.is_empty() {
        anyhow::bail!(
            "{} of {} blobs could not be copied (the others were; a rerun retries these):\n  {}",
            failures.len(),
            report.copied + failures.len() as u64,
            failures.join("\n  ")
        );
    }
    Ok(report)
}

/// Streams one blob into a temporary object of `destination`, checks its digest and promotes
/// it; its size.
async fn copy_one(
    source: &dyn BlobStore,
    destination: &dyn BlobStore,
    key: &BlobKey,
    progress: Arc<dyn BlobCopyProgress>,
) -> anyhow::Result<u64> {
    let body = source
        .read(key, None)
        .await
        .context("cannot read it from the source")?;
    let counted: ByteStream = Box::pin(body.inspect_ok(move |chunk| {
        progress.bytes(chunk.len() as u64);
    }));
    let temp = destination
        .write_temp(counted, None)
        .await
        .context("cannot write it to the destination")?;
    if temp.key != *key {
        destination
            .discard(&temp.temp_id)
            .await
            .context("its bytes do not match its key, and the copy could not be discarded")?;
        anyhow::bail!(
            "the source's bytes hash to {}, not to the key: the source blob is corrupt \
             (nothing was stored for it)",
            temp.key
        );
    }
    destination
        .promote(&temp.temp_id, key)
        .await
        .context("cannot promote it in the destination")?;
    Ok(temp.size_bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::LocalBlobStore;
    use bytes::Bytes;

    async fn put(store: &LocalBlobStore, data: &'static [u8]) -> BlobKey {
        let body: ByteStream = Box::pin(futures::stream::iter([Ok(Bytes::from_static(data))]));
        let temp = store.write_temp(body, None).await.unwrap();
        store.promote(&temp.temp_id, &temp.key).await.unwrap();
        temp.key
    }

    #[tokio::test]
    async fn copies_what_is_missing_and_refuses_corrupt_blobs() {
        let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let source = LocalBlobStore::open(dirs.0.path().to_path_buf())
            .await
            .unwrap();
        let destination = LocalBlobStore::open(dirs.1.path().to_path_buf())
            .await
            .unwrap();
        let one = put(&source, b"one").await;
        let two = put(&source, b"two").await;
        put(&destination, b"one").await;

        let report = copy_blobs(&source, &destination, 2, Arc::new(NoBlobProgress))
            .await
            .unwrap();
        assert_eq!(
            report,
            BlobCopyReport {
                listed: 2,
                present: 1,
                copied: 1,
                bytes: 3
            }
        );
        let again = copy_blobs(&source, &destination, 2, Arc::new(NoBlobProgress))
            .await
            .unwrap();
        assert_eq!((again.copied, again.present), (0, 2));

        // A source blob whose bytes no longer match its key is named and not stored.
        let three = put(&source, b"three").await;
        let key = three.as_str();
        let file = dirs
            .0
            .path()
            .join("blobs")
            .join(&key[..2])
            .join(&key[2..4])
            .join(key);
        std::fs::write(&file, b"tampered").unwrap();
        let err = copy_blobs(&source, &destination, 2, Arc::new(NoBlobProgress))
            .await
            .unwrap_err();
        assert!(format!("{err:#}").contains(three.as_str()), "{err:#}");
        let keys: Vec<BlobKey> = destination
            .list()
            .await
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert!(keys.contains(&one) && keys.contains(&two) && !keys.contains(&three));
        let leftovers = std::fs::read_dir(dirs.1.path().join("tmp"))
            .unwrap()
            .count();
        assert_eq!(leftovers, 0, "the rejected copy was discarded");
    }
}
