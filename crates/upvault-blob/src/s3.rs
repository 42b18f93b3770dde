//! [`S3BlobStore`]: blobs as objects in an S3-compatible bucket.
//!
//! ```text
//! {prefix}blobs/ab/cd/abcd…   committed blobs, named by their SHA-256 (same fan-out as on disk)
//! {prefix}tmp/<32 hex>        uploads written in full, waiting for the database's commit
//! ```
//!
//! An upload is cut into parts of `part_size_bytes` and sent as a multipart upload while it is
//! hashed on two blocking threads ([`Digests`]); a body shorter than one part goes as a single
//! PUT. At most one part is in flight while the next one fills, so memory stays at about two
//! parts per upload. Whatever stops an upload half-way (the size limit, a body error, a failed
//! part, the future being dropped) aborts the multipart upload, so no parts are left behind.
//!
//! `promote` is a server-side copy of the temporary object to its final key followed by the
//! temporary's deletion; a key that exists already (same content) only costs the deletion.

use crate::pipeline::{Coalescer, Digests};
use anyhow::Context as _;
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{
    GetOptions, GetRange, MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload,
};
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use upvault_core::model::ByteRange;
use upvault_core::ports::{BlobStore, ByteStream, TempBlob};
use upvault_core::{BlobKey, Entity, Error, Limit, Result};

/// Default multipart part size: 16 MiB (uploads of up to 160 GiB in S3's 10,000 parts).
pub const DEFAULT_PART_SIZE: usize = 16 << 20;
/// S3's smallest part (all but the last).
pub const MIN_PART_SIZE: usize = 5 << 20;
/// S3's largest part.
const MAX_PART_SIZE: usize = 5 << 30;
/// S3's most parts in one upload.
const MAX_PARTS: usize = 10_000;
/// A conservative age past which a temporary object is surely a crash's leftover (the
/// service's own default lives in `upvault_core::service::TEMP_MAX_AGE`).
pub const TEMP_MAX_AGE: Duration = Duration::from_secs(60 * 60);
/// How long [`S3BlobStore::open`] waits for the bucket to answer.
const OPEN_TIMEOUT: Duration = Duration::from_secs(30);
/// Length of a temp id: 16 random bytes in lower-case hex.
const TEMP_ID_LEN: usize = 32;

/// Where and how to reach the bucket.
#[derive(Clone)]
pub struct S3Config {
    /// The service's base URL (`https://s3.example.com`, never with the bucket in it); `None`
    /// is AWS itself, from `region`.
    pub endpoint: Option<String>,
    /// The bucket; it must exist.
    pub bucket: String,
    /// The signing region (any value for most S3-compatible servers).
    pub region: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key (never shown by `Debug`).
    pub secret_access_key: String,
    /// `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key`.
    pub path_style: bool,
    /// Prepended to every key, e.g. `upvault/`; a missing trailing `/` is added. Default `""`.
    pub prefix: String,
    /// Multipart part size in bytes: default [`DEFAULT_PART_SIZE`], at least [`MIN_PART_SIZE`].
    pub part_size_bytes: usize,
    /// Allows a plain `http://` endpoint (local test servers).
    pub allow_http: bool,
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            endpoint: None,
            bucket: String::new(),
            region: "us-east-1".to_owned(),
            access_key_id: String::new(),
            secret_access_key: String::new(),
            path_style: false,
            prefix: String::new(),
            part_size_bytes: DEFAULT_PART_SIZE,
            allow_http: false,
        }
    }
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("path_style", &self.path_style)
            .field("prefix", &self.prefix)
            .field("part_size_bytes", &self.part_size_bytes)
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

/// A [`BlobStore`] on an S3-compatible bucket: `{prefix}blobs/ab/cd/<key>` and
/// `{prefix}tmp/<temp id>`.
#[derive(Debug, Clone)]
pub struct S3BlobStore {
    store: Arc<AmazonS3>,
    /// `{prefix}blobs`
    blobs: String,
    /// `{prefix}tmp`
    tmp: String,
    part_size: usize,
}

impl S3BlobStore {
    /// Builds the client and checks that the bucket answers (a one-page listing).
    pub async fn open(config: S3Config) -> anyhow::Result<Self> {
        anyhow::ensure!(!config.bucket.is_empty(), "the S3 bucket name is empty");
        anyhow::ensure!(
            (MIN_PART_SIZE..=MAX_PART_SIZE).contains(&config.part_size_bytes),
            "the S3 part size must be between {MIN_PART_SIZE} and {MAX_PART_SIZE} bytes, not {}",
            config.part_size_bytes
        );
        let prefix = normalise_prefix(&config.prefix)?;
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(&config.secret_access_key)
            .with_virtual_hosted_style_request(!config.path_style)
            .with_allow_http(config.allow_http);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.with_endpoint(bucket_endpoint(endpoint, &config)?);
        }
        let store = builder.build().context("configuring the S3 client")?;
        let store = Self {
            store: Arc::new(store),
            blobs: format!("{prefix}blobs"),
            tmp: format!("{prefix}tmp"),
            part_size: config.part_size_bytes,
        };
        let tmp = Path::from(store.tmp.as_str());
        let probe = store.store.list_with_delimiter(Some(&tmp));
        tokio::time::timeout(OPEN_TIMEOUT, probe)
            .await
            .map_err(|_| anyhow::anyhow!("no answer within {OPEN_TIMEOUT:?}"))
            .and_then(|listed| listed.map_err(anyhow::Error::from))
            .with_context(|| format!("reaching S3 bucket {:?}", config.bucket))?;
        Ok(store)
    }

    /// Removes the temporary objects older than `age`; how many went ([`BlobStore::clean_temp`]).
    /// A multipart upload cut by a crash is not an object and is not listed here: a bucket
    /// lifecycle rule (`AbortIncompleteMultipartUpload`) removes its parts.
    pub async fn clean_temp_older_than(&self, age: Duration) -> Result<u64> {
        let age = chrono::Duration::from_std(age).map_err(Error::internal)?;
        let cutoff = Utc::now() - age;
        let old: Vec<Path> = self
            .store
            .list(Some(&Path::from(self.tmp.as_str())))
            .try_filter_map(|meta| async move {
                Ok((meta.last_modified <= cutoff).then_some(meta.location))
            })
            .try_collect()
            .await
            .map_err(|err| s3_error(err, "listing", &self.tmp))?;
        let removed = self
            .store
            .delete_stream(futures::stream::iter(old.into_iter().map(Ok)).boxed())
            .filter(|outcome| {
                // Gone meanwhile (another instance's sweep, a promote): not ours to count.
                let keep = !matches!(outcome, Err(object_store::Error::NotFound { .. }));
                async move { keep }
            })
            .try_fold(0u64, |removed, _| async move { Ok(removed + 1) })
            .await
            .map_err(|err| s3_error(err, "removing old temporaries in", &self.tmp))?;
        Ok(removed)
    }

    /// The key of a committed blob.
    fn blob_path(&self, key: &BlobKey) -> Path {
        let hex = key.as_str();
        Path::from(format!("{}/{}/{}/{hex}", self.blobs, &hex[..2], &hex[2..4]))
    }

    /// The key of a temporary object; refuses anything but a temp id this store could have
    /// made, so a caller can never name another key.
    fn temp_path(&self, temp_id: &str) -> Result<Path> {
        let valid = temp_id.len() == TEMP_ID_LEN
            && temp_id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !valid {
            return Err(Error::Internal(anyhow::anyhow!(
                "not a temp id: {temp_id:?}"
            )));
        }
        Ok(Path::from(format!("{}/{temp_id}", self.tmp)))
    }

    /// The blob key a listed object stands for, if it sits where that key belongs.
    fn parse_blob_path(&self, location: &Path) -> Option<BlobKey> {
        let rest = location.as_ref().strip_prefix(self.blobs.as_str())?;
        let mut parts = rest.strip_prefix('/')?.split('/');
        let (first, second, name) = (parts.next()?, parts.next()?, parts.next()?);
        let key = BlobKey::parse(name)?;
        let placed =
            parts.next().is_none() && first == &key.as_str()[..2] && second == &key.as_str()[2..4];
        placed.then_some(key)
    }

    /// Streams `body` to `location` (see the module's doc) and returns its size and digests.
    async fn upload(
        &self,
        location: &Path,
        mut body: ByteStream,
        max_bytes: Option<u64>,
    ) -> Result<(u64, [u8; 16], [u8; 32])> {
        let digests = Digests::start();
        let mut glue = Coalescer::new();
        let mut part = PartBuffer::default();
        let mut multipart = Multipart::new(Arc::clone(&self.store), location.clone());
        let mut size = 0u64;

        let failed = |doing: &str, err: std::io::Error| {
            Error::Internal(
                anyhow::Error::new(err).context(format!("{doing} the body for {location}")),
            )
        };
        let sent: Result<()> = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|err| failed("receiving", err))?;
                size += chunk.len() as u64;
                if let Some(max) = max_bytes.filter(|max| size > *max) {
                    return Err(Error::LimitExceeded(Limit::MaxUploadSize(max)));
                }
                for buffer in glue.push(&chunk).map_err(|err| failed("buffering", err))? {
                    let _ = digests.feed(buffer.clone()).await;
                    part.push(buffer);
                    while part.len >= self.part_size {
                        multipart.send(part.take(self.part_size)).await?;
                    }
                }
            }
            if let Some(rest) = glue.finish() {
                let _ = digests.feed(rest.clone()).await;
                part.push(rest);
            }
            Ok(())
        }
        .await;
        drop(body); // stop reading the client before the remaining round trips
        let hashed = digests.finish().await.map_err(Error::internal);

        match (sent, hashed) {
            (Ok(()), Ok((md5, sha256))) => {
                let last = part.take(part.len);
                multipart.finish(last).await?;
                Ok((size, md5, sha256))
            }
            (Err(err), _) | (Ok(()), Err(err)) => {
                multipart.abort().await;
                Err(err)
            }
        }
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn write_temp(&self, body: ByteStream, max_bytes: Option<u64>) -> Result<TempBlob> {
        let temp_id = hex::encode(rand::random::<[u8; TEMP_ID_LEN / 2]>());
        let location = self.temp_path(&temp_id)?;
        let (size_bytes, md5, sha256) = self.upload(&location, body, max_bytes).await?;
        let key = BlobKey::parse(&hex::encode(sha256))
            .expect("a hex-encoded SHA-256 is a valid blob key");
        Ok(TempBlob {
            temp_id,
            size_bytes,
            md5: hex::encode(md5),
            key,
        })
    }

    async fn promote(&self, temp_id: &str, key: &BlobKey) -> Result<()> {
        let temp = self.temp_path(temp_id)?;
        let dest = self.blob_path(key);
        match self.store.head(&dest).await {
            // Same key, same content: the blob is there already, only the temporary goes.
            Ok(_) => {}
            Err(object_store::Error::NotFound { .. }) => self
                .store
                .copy(&temp, &dest)
                .await
                .map_err(|err| s3_error(err, "promoting", temp.as_ref()))?,
            Err(err) => return Err(s3_error(err, "checking", dest.as_ref())),
        }
        self.store
            .delete(&temp)
            .await
            .map_err(|err| s3_error(err, "removing", temp.as_ref()))
    }

    async fn discard(&self, temp_id: &str) -> Result<()> {
        let temp = self.temp_path(temp_id)?;
        delete_if_present(&self.store, &temp).await
    }

    async fn read(&self, key: &BlobKey, range: Option<ByteRange>) -> Result<ByteStream> {
        let location = self.blob_path(key);
        let options = GetOptions {
            range: range.map(|range| GetRange::Bounded(range.start..range.end.saturating_add(1))),
            ..GetOptions::default()
        };
        let got = match self.store.get_opts(&location, options).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Err(Error::NotFound(Entity::File)),
            Err(err) => return Err(s3_error(err, "reading", location.as_ref())),
        };
        if let Some(range) = range {
            // A range that runs past the end comes back shortened: refuse it like the
            // local store does, rather than send fewer bytes than promised.
            if range.start > range.end || got.range != (range.start..range.end + 1) {
                return Err(Error::Internal(anyhow::anyhow!(
                    "range {}-{} outside blob {location} of {} bytes",
                    range.start,
                    range.end,
                    got.meta.size
                )));
            }
        }
        Ok(Box::pin(got.into_stream().map_err(std::io::Error::other)))
    }

    async fn remove(&self, key: &BlobKey) -> Result<()> {
        delete_if_present(&self.store, &self.blob_path(key)).await
    }

    async fn list(&self) -> Result<Vec<(BlobKey, DateTime<Utc>)>> {
        self.store
            .list(Some(&Path::from(self.blobs.as_str())))
            .map_err(|err| s3_error(err, "listing", &self.blobs))
            .try_filter_map(|meta| async move {
                Ok(self
                    .parse_blob_path(&meta.location)
                    .map(|key| (key, meta.last_modified)))
            })
            .try_collect()
            .await
    }

    async fn clean_temp(&self, older_than: Duration) -> Result<u64> {
        self.clean_temp_older_than(older_than).await
    }
}

/// `prefix` with surrounding slashes trimmed and one trailing slash, or empty.
fn normalise_prefix(raw: &str) -> anyhow::Result<String> {
    let trimmed = raw.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    Path::parse(trimmed).with_context(|| format!("the S3 key prefix {raw:?} is not usable"))?;
    Ok(format!("{trimmed}/"))
}

/// The URL object_store wants: with virtual-hosted style, the bucket goes into the host name.
fn bucket_endpoint(endpoint: &str, config: &S3Config) -> anyhow::Result<String> {
    if config.path_style {
        return Ok(endpoint.to_owned());
    }
    let mut url = url::Url::parse(endpoint)
        .with_context(|| format!("the S3 endpoint {endpoint:?} is not a URL"))?;
    let host = url
        .host_str()
        .with_context(|| format!("the S3 endpoint {endpoint:?} has no host"))?;
    let host = format!("{}.{host}", config.bucket);
    url.set_host(Some(&host))
        .with_context(|| format!("the bucket {:?} cannot prefix a host name", config.bucket))?;
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// Deletes an object; no error if it is gone already.
async fn delete_if_present(store: &AmazonS3, location: &Path) -> Result<()> {
    match store.delete(location).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(err) => Err(s3_error(err, "removing", location.as_ref())),
    }
}

/// Turns an S3 failure into [`Error::Internal`], naming what was being done and to which key.
fn s3_error(err: object_store::Error, what: &str, key: &str) -> Error {
    Error::Internal(anyhow::Error::new(err).context(format!("{what} {key}")))
}

/// The bytes of the part being filled, kept as the buffers they arrived in.
#[derive(Default)]
struct PartBuffer {
    buffers: VecDeque<Bytes>,
    len: usize,
}

impl PartBuffer {
    fn push(&mut self, buffer: Bytes) {
        self.len += buffer.len();
        self.buffers.push_back(buffer);
    }

    /// The first `len` bytes (all parts but the last have exactly the same size, which some
    /// S3-compatible servers require); a buffer on the edge is split, not copied.
    fn take(&mut self, len: usize) -> PutPayload {
        let mut taken = Vec::new();
        let mut missing = len.min(self.len);
        self.len -= missing;
        while missing > 0 {
            let Some(mut buffer) = self.buffers.pop_front() else {
                break;
            };
            if buffer.len() > missing {
                self.buffers.push_front(buffer.split_off(missing));
            }
            missing -= buffer.len();
            taken.push(buffer);
        }
        taken.into_iter().collect()
    }
}

/// The upload of one object: nothing until a first full part exists (then a multipart upload,
/// one part in flight at a time), a single PUT if the body ends before. Dropped half-way (the
/// caller's future was cancelled), it aborts the multipart upload from a spawned task.
struct Multipart {
    store: Arc<AmazonS3>,
    location: Path,
    upload: Option<Box<dyn MultipartUpload>>,
    in_flight: Option<JoinHandle<object_store::Result<()>>>,
    parts: usize,
}

impl Multipart {
    fn new(store: Arc<AmazonS3>, location: Path) -> Self {
        Self {
            store,
            location,
            upload: None,
            in_flight: None,
            parts: 0,
        }
    }

    /// Sends a full part once the previous one has landed (the memory bound).
    async fn send(&mut self, part: PutPayload) -> Result<()> {
        self.wait_in_flight().await?;
        if self.parts == MAX_PARTS {
            return Err(Error::Internal(anyhow::anyhow!(
                "{} needs more than {MAX_PARTS} parts: raise the S3 part size",
                self.location
            )));
        }
        let upload = match &mut self.upload {
            Some(upload) => upload,
            None => {
                let started = self
                    .store
                    .put_multipart(&self.location)
                    .await
                    .map_err(|err| {
                        s3_error(err, "starting the upload of", self.location.as_ref())
                    })?;
                self.upload.insert(started)
            }
        };
        // A task of its own, so the part travels while the next one is read.
        self.in_flight = Some(tokio::spawn(upload.put_part(part)));
        self.parts += 1;
        Ok(())
    }

    /// Waits for the part in flight; its failure is the upload's.
    async fn wait_in_flight(&mut self) -> Result<()> {
        let Some(task) = self.in_flight.take() else {
            return Ok(());
        };
        let location = self.location.as_ref();
        task.await
            .map_err(Error::internal)?
            .map_err(|err| s3_error(err, "uploading a part of", location))
    }

    /// Sends the last bytes and makes the object visible.
    async fn finish(mut self, last: PutPayload) -> Result<()> {
        if self.upload.is_none() {
            self.store
                .put(&self.location, last)
                .await
                .map_err(|err| s3_error(err, "writing", self.location.as_ref()))?;
            return Ok(());
        }
        let sent = async {
            if last.content_length() > 0 {
                self.send(last).await?;
            }
            self.wait_in_flight().await
        }
        .await;
        if let Err(err) = sent {
            self.abort().await;
            return Err(err);
        }
        let location = self.location.clone();
        let Some(upload) = self.upload.as_mut() else {
            return Ok(()); // unreachable: checked above
        };
        match upload.complete().await {
            Ok(_) => {
                self.upload = None; // done: nothing to abort on drop
                Ok(())
            }
            Err(err) => {
                // The completion may have happened all the same (a lost answer): remove
                // whichever of the object or the pending upload exists.
                self.abort().await;
                if let Err(cleanup) = delete_if_present(&self.store, &location).await {
                    tracing::warn!(key = %location, error = %cleanup, "could not remove a failed upload");
                }
                Err(s3_error(err, "completing the upload of", location.as_ref()))
            }
        }
    }

    /// Cancels the part in flight and aborts the multipart upload, if one was started.
    async fn abort(&mut self) {
        if let Some(task) = self.in_flight.take() {
            task.abort();
            let _ = task.await;
        }
        if let Some(mut upload) = self.upload.take() {
            if let Err(err) = upload.abort().await {
                tracing::warn!(key = %self.location, error = %err, "could not abort a multipart upload");
            }
        }
    }
}

impl Drop for Multipart {
    fn drop(&mut self) {
        let Some(mut upload) = self.upload.take() else {
            return;
        };
        let in_flight = self.in_flight.take();
        let location = self.location.clone();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(key = %location, "no runtime to abort a multipart upload");
            return;
        };
        runtime.spawn(async move {
            if let Some(task) = in_flight {
                task.abort();
                let _ = task.await;
            }
            if let Err(err) = upload.abort().await {
                tracing::warn!(key = %location, error = %err, "could not abort a multipart upload");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_normalised_or_refused() {
        assert_eq!(normalise_prefix("").unwrap(), "");
        assert_eq!(normalise_prefix("/").unwrap(), "");
        assert_eq!(normalise_prefix("upvault").unwrap(), "upvault/");
        assert_eq!(normalise_prefix("/a/b/").unwrap(), "a/b/");
        assert!(normalise_prefix("a//b").is_err());
        assert!(normalise_prefix("a/../b").is_err());
    }

    #[test]
    fn virtual_hosted_endpoints_get_the_bucket_in_the_host() {
        let config = |path_style| S3Config {
            bucket: "files".to_owned(),
            path_style,
            ..S3Config::default()
        };
        assert_eq!(
            bucket_endpoint("https://s3.example.com", &config(false)).unwrap(),
            "https://files.s3.example.com"
        );
        assert_eq!(
            bucket_endpoint("http://127.0.0.1:9000/", &config(true)).unwrap(),
            "http://127.0.0.1:9000/"
        );
        assert!(bucket_endpoint("not a url", &config(false)).is_err());
    }

    fn store(prefix: &str) -> S3BlobStore {
        let s3 = AmazonS3Builder::new()
            .with_bucket_name("b")
            .with_region("us-east-1")
            .build()
            .unwrap();
        S3BlobStore {
            store: Arc::new(s3),
            blobs: format!("{prefix}blobs"),
            tmp: format!("{prefix}tmp"),
            part_size: MIN_PART_SIZE,
        }
    }

    #[test]
    fn blob_keys_map_to_fanned_out_paths_and_back() {
        let store = store("p/");
        let key = BlobKey::parse(&format!("abcd{}", "0".repeat(60))).unwrap();
        let path = store.blob_path(&key);
        assert_eq!(path.as_ref(), format!("p/blobs/ab/cd/{key}"));
        assert_eq!(store.parse_blob_path(&path), Some(key.clone()));
        for stranger in [
            format!("p/blobs/00/00/{key}"),
            format!("p/blobs/ab/cd/{key}/x"),
            format!("p/blobs/ab/{key}"),
            format!("blobs/ab/cd/{key}"),
            format!("p/blobsx/ab/cd/{key}"),
            "p/blobs/ab/cd/README".to_owned(),
        ] {
            assert_eq!(
                store.parse_blob_path(&Path::from(stranger.as_str())),
                None,
                "{stranger}"
            );
        }
        assert_eq!(
            store.temp_path(&"0a".repeat(16)).unwrap().as_ref(),
            format!("p/tmp/{}", "0a".repeat(16))
        );
        assert!(store.temp_path("../x").is_err());
    }

    #[test]
    fn parts_are_cut_to_the_exact_size_without_losing_bytes() {
        let mut part = PartBuffer::default();
        let mut all = Vec::new();
        for n in 0..10u8 {
            let buffer = vec![n; 300 + usize::from(n) * 7];
            all.extend_from_slice(&buffer);
            part.push(Bytes::from(buffer));
        }
        let mut out = Vec::new();
        while part.len >= 1000 {
            let payload = part.take(1000);
            assert_eq!(payload.content_length(), 1000);
            out.extend(payload.iter().flat_map(|bytes| bytes.to_vec()));
        }
        let rest = part.take(part.len);
        assert!(rest.content_length() < 1000);
        out.extend(rest.iter().flat_map(|bytes| bytes.to_vec()));
        assert_eq!(out, all);
        assert_eq!(part.len, 0);
        assert_eq!(part.take(0).content_length(), 0);
    }
}
