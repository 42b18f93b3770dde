//! `S3BlobStore` against a real S3-compatible server.
//!
//! Runs when `UPVAULT_TEST_S3_ENDPOINT` is set (with `UPVAULT_TEST_S3_BUCKET`,
//! `UPVAULT_TEST_S3_ACCESS_KEY`, `UPVAULT_TEST_S3_SECRET_KEY`, optionally
//! `UPVAULT_TEST_S3_REGION`); `eval "$(scripts/ci-s3.sh)"` starts s3s-fs and prints them.
//! Without them every test is skipped with a message, and fails when `CI=true`.
//! Each test works under a prefix of its own, so they run in parallel on one bucket.
//!
//! Pending multipart uploads are invisible to object listings, and s3s-fs cannot list them
//! through its API; with `UPVAULT_TEST_S3FS_ROOT` (the s3s-fs data directory, printed by the
//! script) the tests check its bookkeeping files for them.

use base64::Engine as _;
use bytes::Bytes;
use futures::{stream, Stream, StreamExt, TryStreamExt};
use md5::{Digest, Md5};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as S3Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use rand::{Rng, RngCore, SeedableRng};
use sha2::Sha256;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use upvault_blob::{S3BlobStore, S3Config, MIN_PART_SIZE};
use upvault_core::model::ByteRange;
use upvault_core::ports::{BlobStore, ByteStream, TempBlob};
use upvault_core::{BlobKey, Entity, Error, Limit};

const MIB: usize = 1024 * 1024;

/// The server's coordinates from the environment, or `None` (skip) outside CI.
fn server_config() -> Option<S3Config> {
    let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let Some(endpoint) = var("UPVAULT_TEST_S3_ENDPOINT") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but UPVAULT_TEST_S3_ENDPOINT is unset: start a server with \
             `eval \"$(scripts/ci-s3.sh)\"` before the tests"
        );
        eprintln!(
            "skipped: UPVAULT_TEST_S3_ENDPOINT is unset (`eval \"$(scripts/ci-s3.sh)\"` starts \
             a local S3 server and sets it)"
        );
        return None;
    };
    let required = |name: &str| var(name).unwrap_or_else(|| panic!("{name} must be set too"));
    Some(S3Config {
        allow_http: endpoint.starts_with("http://"),
        endpoint: Some(endpoint),
        bucket: required("UPVAULT_TEST_S3_BUCKET"),
        region: var("UPVAULT_TEST_S3_REGION").unwrap_or_else(|| "us-east-1".to_owned()),
        access_key_id: required("UPVAULT_TEST_S3_ACCESS_KEY"),
        secret_access_key: required("UPVAULT_TEST_S3_SECRET_KEY"),
        path_style: true,
        prefix: String::new(),
        part_size_bytes: MIN_PART_SIZE,
    })
}

/// A store under a fresh prefix, and a plain client on the same bucket to look behind it.
struct Harness {
    store: S3BlobStore,
    raw: AmazonS3,
    /// `test-<hex>/`
    prefix: String,
    bucket: String,
}

macro_rules! harness_or_skip {
    () => {
        match Harness::start().await {
            Some(harness) => harness,
            None => return,
        }
    };
}

impl Harness {
    async fn start() -> Option<Self> {
        let mut config = server_config()?;
        let prefix = format!("test-{}/", hex::encode(rand::random::<[u8; 8]>()));
        config.prefix = prefix.clone();
        let raw = AmazonS3Builder::new()
            .with_endpoint(config.endpoint.clone().expect("an endpoint"))
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(&config.secret_access_key)
            .with_allow_http(config.allow_http)
            .build()
            .expect("a plain client");
        let bucket = config.bucket.clone();
        let store = S3BlobStore::open(config).await.expect("the store opens");
        Some(Self {
            store,
            raw,
            prefix,
            bucket,
        })
    }

    /// A key under the test's prefix.
    fn key(&self, rest: &str) -> S3Path {
        S3Path::from(format!("{}{rest}", self.prefix))
    }

    /// Every object under `{prefix}{under}`, as keys relative to the prefix, sorted.
    async fn objects(&self, under: &str) -> Vec<String> {
        let listed: Vec<_> = self
            .raw
            .list(Some(&self.key(under)))
            .try_collect()
            .await
            .expect("the bucket lists");
        let mut keys: Vec<String> = listed
            .into_iter()
            .map(|meta| {
                let key = meta.location.as_ref();
                key.strip_prefix(&self.prefix)
                    .expect("our prefix")
                    .to_owned()
            })
            .collect();
        keys.sort();
        keys
    }

    async fn temps(&self) -> Vec<String> {
        self.objects("tmp")
            .await
            .into_iter()
            .map(|key| key.trim_start_matches("tmp/").to_owned())
            .collect()
    }

    /// Multipart uploads pending under the prefix, or `None` if this server cannot tell.
    fn pending_uploads(&self) -> Option<usize> {
        let root = PathBuf::from(std::env::var("UPVAULT_TEST_S3FS_ROOT").ok()?);
        // s3s-fs keeps `.bucket-<b64 bucket>.object-<b64 key>.upload-<id>.metadata.json`
        // from the upload's creation until it completes or is aborted.
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let bucket = format!(".bucket-{}.object-", engine.encode(&self.bucket));
        let mut pending = 0;
        for entry in std::fs::read_dir(&root).expect("the s3s-fs root lists") {
            let name = entry.expect("an entry").file_name();
            let name = name.to_string_lossy();
            let Some(rest) = name.strip_prefix(&bucket) else {
                continue;
            };
            let Some((key, _upload)) = rest.split_once(".upload-") else {
                continue;
            };
            let key = engine.decode(key).expect("a base64 key");
            if key.starts_with(self.prefix.as_bytes()) {
                pending += 1;
            }
        }
        Some(pending)
    }

    /// Waits (up to 10 s) until no multipart upload is pending under the prefix.
    async fn assert_no_pending_upload(&self) {
        let Some(mut pending) = self.pending_uploads() else {
            eprintln!("UPVAULT_TEST_S3FS_ROOT is unset: pending multipart uploads not checked");
            return;
        };
        for _ in 0..100 {
            if pending == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            pending = self.pending_uploads().unwrap_or(0);
        }
        panic!("{pending} multipart upload(s) left pending");
    }

    async fn write(&self, data: &[u8]) -> TempBlob {
        self.store
            .write_temp(uneven_chunks(data, 1), None)
            .await
            .expect("the upload is stored")
    }

    async fn read_all(&self, key: &BlobKey, range: Option<ByteRange>) -> Vec<u8> {
        let chunks: Vec<Bytes> = self
            .store
            .read(key, range)
            .await
            .expect("the blob opens")
            .try_collect()
            .await
            .expect("the blob streams");
        chunks.concat()
    }

    async fn raw_bytes(&self, rest: &str) -> Vec<u8> {
        let got = self
            .raw
            .get(&self.key(rest))
            .await
            .expect("the object exists");
        got.bytes().await.expect("the object reads").to_vec()
    }
}

fn blob_key_path(key: &BlobKey) -> String {
    let hex = key.as_str();
    format!("blobs/{}/{}/{hex}", &hex[..2], &hex[2..4])
}

fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut data = vec![0; len];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut data);
    data
}

/// `data` cut into chunks of uneven sizes (1 byte to a few MiB).
fn uneven_chunks(data: &[u8], seed: u64) -> ByteStream {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut chunks = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let len = match rng.gen_range(0..4) {
            0 => rng.gen_range(1..16),
            1 => rng.gen_range(1..70_000),
            2 => rng.gen_range(1..400_000),
            _ => rng.gen_range(1..3_000_000),
        }
        .min(data.len() - at);
        chunks.push(Ok(Bytes::copy_from_slice(&data[at..at + len])));
        at += len;
    }
    Box::pin(stream::iter(chunks))
}

fn md5_hex(data: &[u8]) -> String {
    hex::encode(Md5::digest(data))
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// An endless body of 64 KiB chunks that counts how many were pulled.
fn endless(pulled: Arc<AtomicUsize>) -> impl Stream<Item = io::Result<Bytes>> + Send {
    let chunk = Bytes::from(vec![7u8; 64 * 1024]);
    stream::repeat_with(move || {
        pulled.fetch_add(1, Ordering::SeqCst);
        Ok(chunk.clone())
    })
}

#[tokio::test]
async fn round_trip_in_parts_hashes_and_reads_back_ranges() {
    let h = harness_or_skip!();
    // Three parts of 5 MiB, 5 MiB and the rest.
    let data = random_bytes(12 * MIB + 123, 42);

    let temp = h
        .store
        .write_temp(uneven_chunks(&data, 9), Some(data.len() as u64))
        .await
        .unwrap();
    assert_eq!(temp.size_bytes, data.len() as u64);
    assert_eq!(temp.md5, md5_hex(&data));
    assert_eq!(temp.key.as_str(), sha256_hex(&data));
    assert_eq!(temp.temp_id.len(), 32);
    assert_eq!(h.temps().await, vec![temp.temp_id.clone()]);
    assert!(h.raw_bytes(&format!("tmp/{}", temp.temp_id)).await == data);
    h.assert_no_pending_upload().await;

    h.store.promote(&temp.temp_id, &temp.key).await.unwrap();
    assert!(h.temps().await.is_empty());
    assert_eq!(h.objects("blobs").await, vec![blob_key_path(&temp.key)]);

    let last = data.len() as u64 - 1;
    let range = |start, end| Some(ByteRange { start, end });
    assert!(h.read_all(&temp.key, None).await == data);
    assert_eq!(h.read_all(&temp.key, range(0, 0)).await, vec![data[0]]);
    assert_eq!(
        h.read_all(&temp.key, range(last, last)).await,
        vec![data[data.len() - 1]]
    );
    let middle = h.read_all(&temp.key, range(1_000_000, 6_500_000)).await;
    assert_eq!(middle.len(), 5_500_001);
    assert!(middle == data[1_000_000..=6_500_000]);
    assert!(h.read_all(&temp.key, range(0, last)).await == data);
}

#[tokio::test]
async fn bodies_of_whole_parts_and_of_less_than_a_part_round_trip() {
    let h = harness_or_skip!();
    for (len, seed) in [
        (MIN_PART_SIZE, 1),     // exactly one part: multipart with an empty tail
        (2 * MIN_PART_SIZE, 2), // exactly two parts
        (MIN_PART_SIZE - 1, 3), // one PUT
        (1, 4),
    ] {
        let data = random_bytes(len, seed);
        let temp = h
            .store
            .write_temp(uneven_chunks(&data, seed), None)
            .await
            .unwrap();
        assert_eq!(temp.size_bytes, len as u64, "{len}");
        assert_eq!(temp.md5, md5_hex(&data), "{len}");
        assert_eq!(temp.key.as_str(), sha256_hex(&data), "{len}");
        h.store.promote(&temp.temp_id, &temp.key).await.unwrap();
        assert!(h.read_all(&temp.key, None).await == data, "{len}");
    }
    assert!(h.temps().await.is_empty());
    assert_eq!(h.store.list().await.unwrap().len(), 4);
    h.assert_no_pending_upload().await;
}

#[tokio::test]
async fn a_range_past_the_end_is_refused() {
    let h = harness_or_skip!();
    let temp = h.write(b"hello").await;
    h.store.promote(&temp.temp_id, &temp.key).await.unwrap();
    for (start, end) in [(2, 5), (5, 9), (3, 2)] {
        let past = h
            .store
            .read(&temp.key, Some(ByteRange { start, end }))
            .await;
        assert!(matches!(past, Err(Error::Internal(_))), "{start}-{end}");
    }
    assert_eq!(
        h.read_all(&temp.key, Some(ByteRange { start: 2, end: 4 }))
            .await,
        b"llo"
    );
}

#[tokio::test]
async fn reading_a_missing_blob_is_not_found() {
    let h = harness_or_skip!();
    let key = BlobKey::parse(&"ab".repeat(32)).unwrap();
    assert!(matches!(
        h.store.read(&key, None).await,
        Err(Error::NotFound(Entity::File))
    ));
    assert!(matches!(
        h.store
            .read(&key, Some(ByteRange { start: 0, end: 1 }))
            .await,
        Err(Error::NotFound(Entity::File))
    ));
}

#[tokio::test]
async fn a_body_over_the_limit_within_the_first_part_is_cut_off() {
    let h = harness_or_skip!();
    let pulled = Arc::new(AtomicUsize::new(0));
    let result = h
        .store
        .write_temp(Box::pin(endless(pulled.clone())), Some(1_000_000))
        .await;
    match result {
        Err(Error::LimitExceeded(Limit::MaxUploadSize(max))) => assert_eq!(max, 1_000_000),
        other => panic!("expected the size limit, got {other:?}"),
    }
    // 15 chunks of 64 KiB = 983,040 bytes fit; the 16th passes the limit, and nothing more is read.
    assert_eq!(pulled.load(Ordering::SeqCst), 16);
    assert!(h.objects("").await.is_empty());
    h.assert_no_pending_upload().await;
}

#[tokio::test]
async fn a_body_over_the_limit_after_some_parts_aborts_the_multipart_upload() {
    let h = harness_or_skip!();
    let pulled = Arc::new(AtomicUsize::new(0));
    let result = h
        .store
        .write_temp(Box::pin(endless(pulled.clone())), Some(12_000_000))
        .await;
    match result {
        Err(Error::LimitExceeded(Limit::MaxUploadSize(max))) => assert_eq!(max, 12_000_000),
        other => panic!("expected the size limit, got {other:?}"),
    }
    // 183 chunks = 11,993,088 bytes fit (two 5 MiB parts went up meanwhile); the 184th passes.
    assert_eq!(pulled.load(Ordering::SeqCst), 184);
    assert!(h.objects("").await.is_empty());
    h.assert_no_pending_upload().await;
}

#[tokio::test]
async fn a_body_exactly_at_the_limit_is_accepted() {
    let h = harness_or_skip!();
    let data = random_bytes(MIN_PART_SIZE + 1_000_000, 3);
    let temp = h
        .store
        .write_temp(uneven_chunks(&data, 4), Some(data.len() as u64))
        .await
        .unwrap();
    assert_eq!(temp.size_bytes, data.len() as u64);
    assert_eq!(temp.key.as_str(), sha256_hex(&data));
}

#[tokio::test]
async fn a_failing_body_is_an_internal_error_and_aborts_the_upload() {
    let h = harness_or_skip!();
    for first in [3 * MIB, 6 * MIB] {
        let chunks = vec![
            Ok(Bytes::from(vec![1u8; first])),
            Ok(Bytes::from_static(b"more")),
            Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "client went away",
            )),
            Ok(Bytes::from_static(b"never read")),
        ];
        let result = h
            .store
            .write_temp(Box::pin(stream::iter(chunks)), None)
            .await;
        match result {
            Err(Error::Internal(err)) => assert!(format!("{err:#}").contains("client went away")),
            other => panic!("expected an internal error, got {other:?}"),
        }
    }
    assert!(h.objects("").await.is_empty());
    h.assert_no_pending_upload().await;
}

#[tokio::test]
async fn a_dropped_upload_aborts_its_multipart_upload() {
    let h = harness_or_skip!();
    let pulled = Arc::new(AtomicUsize::new(0));
    let upload = h.store.write_temp(Box::pin(endless(pulled.clone())), None);
    let timed_out = tokio::time::timeout(Duration::from_millis(1500), upload).await;
    assert!(timed_out.is_err());
    // More than a part was read, so a multipart upload was under way.
    assert!(pulled.load(Ordering::SeqCst) * 64 * 1024 > MIN_PART_SIZE);
    h.assert_no_pending_upload().await;
    assert!(h.objects("").await.is_empty());
}

#[tokio::test]
async fn an_empty_body_has_the_digests_of_nothing() {
    let h = harness_or_skip!();
    let temp = h
        .store
        .write_temp(Box::pin(stream::empty()), Some(10))
        .await
        .unwrap();
    assert_eq!(temp.size_bytes, 0);
    assert_eq!(temp.md5, "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(
        temp.key.as_str(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert!(h
        .raw_bytes(&format!("tmp/{}", temp.temp_id))
        .await
        .is_empty());
    h.store.promote(&temp.temp_id, &temp.key).await.unwrap();
    assert!(h.read_all(&temp.key, None).await.is_empty());
}

#[tokio::test]
async fn promoting_the_same_content_twice_keeps_one_blob_without_copying_again() {
    let h = harness_or_skip!();
    let first = h.write(b"same bytes").await;
    let second = h.write(b"same bytes").await;
    assert_ne!(first.temp_id, second.temp_id);
    assert_eq!(first.key, second.key);

    h.store.promote(&first.temp_id, &first.key).await.unwrap();
    let blob = h.key(&blob_key_path(&first.key));
    let before = h.raw.head(&blob).await.unwrap();
    // Last-Modified has one-second resolution: a copy now would show.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    h.store.promote(&second.temp_id, &second.key).await.unwrap();
    let after = h.raw.head(&blob).await.unwrap();
    assert_eq!(
        after.last_modified, before.last_modified,
        "the blob was rewritten"
    );
    assert_eq!(after.e_tag, before.e_tag);

    assert!(h.temps().await.is_empty());
    assert_eq!(h.read_all(&first.key, None).await, b"same bytes");
    assert_eq!(h.store.list().await.unwrap().len(), 1);
}

#[tokio::test]
async fn list_finds_promoted_blobs_and_remove_forgets_them() {
    let h = harness_or_skip!();
    let before = chrono::Utc::now() - chrono::Duration::seconds(5);
    let a = h.write(b"alpha").await;
    let b = h.write(b"beta").await;
    let pending = h.write(b"not promoted").await;
    h.store.promote(&a.temp_id, &a.key).await.unwrap();
    h.store.promote(&b.temp_id, &b.key).await.unwrap();
    // Strangers in the blob tree are ignored, a key in the wrong fan-out too.
    for stranger in [
        "blobs/README".to_owned(),
        format!(
            "blobs/{}/{}/not-a-key",
            &a.key.as_str()[..2],
            &a.key.as_str()[2..4]
        ),
        format!("blobs/00/00/{}", a.key),
        format!("{}.old", blob_key_path(&b.key)),
    ] {
        h.raw
            .put(&h.key(&stranger), PutPayload::from_static(b"x"))
            .await
            .unwrap();
    }

    let mut listed = h.store.list().await.unwrap();
    listed.sort();
    let mut expected = vec![a.key.clone(), b.key.clone()];
    expected.sort();
    assert_eq!(
        listed
            .iter()
            .map(|(key, _)| key.clone())
            .collect::<Vec<_>>(),
        expected
    );
    let now = chrono::Utc::now() + chrono::Duration::seconds(5);
    assert!(listed.iter().all(|(_, at)| *at > before && *at < now));
    assert!(!listed.iter().any(|(key, _)| *key == pending.key));

    h.store.remove(&b.key).await.unwrap();
    h.store.remove(&b.key).await.unwrap(); // gone already: fine
    let listed = h.store.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].0, a.key);
    assert!(matches!(
        h.store.read(&b.key, None).await,
        Err(Error::NotFound(Entity::File))
    ));
}

#[tokio::test]
async fn list_pages_through_more_than_a_thousand_blobs() {
    let h = harness_or_skip!();
    // Written straight into the blob tree: 1,100 uploads would take a while.
    let keys: Vec<BlobKey> = (0..1100u32)
        .map(|n| BlobKey::parse(&sha256_hex(&n.to_be_bytes())).unwrap())
        .collect();
    stream::iter(&keys)
        .for_each_concurrent(32, |key| async {
            h.raw
                .put(&h.key(&blob_key_path(key)), PutPayload::from_static(b"x"))
                .await
                .unwrap();
        })
        .await;
    let mut listed: Vec<BlobKey> = h
        .store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    listed.sort();
    let mut expected = keys;
    expected.sort();
    assert_eq!(listed, expected);
}

#[tokio::test]
async fn clean_temp_removes_only_old_leftovers() {
    let h = harness_or_skip!();
    let one = h.write(b"one").await;
    h.write(b"two").await;
    h.raw
        .put(&h.key("tmp/stray"), PutPayload::from_static(b"x"))
        .await
        .unwrap();
    // Fresh temporaries may be another instance's uploads in progress: kept.
    assert_eq!(
        h.store.clean_temp(Duration::from_secs(3600)).await.unwrap(),
        0
    );
    assert_eq!(h.temps().await.len(), 3);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        h.store
            .clean_temp_older_than(Duration::from_secs(3600))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        h.store
            .clean_temp_older_than(Duration::from_secs(1))
            .await
            .unwrap(),
        3
    );
    assert!(h.temps().await.is_empty());
    assert_eq!(
        h.store.clean_temp_older_than(Duration::ZERO).await.unwrap(),
        0
    );
    // A cleaned temporary cannot be promoted.
    assert!(matches!(
        h.store.promote(&one.temp_id, &one.key).await,
        Err(Error::Internal(_))
    ));
}

#[tokio::test]
async fn discard_removes_a_temp_and_tolerates_a_missing_one() {
    let h = harness_or_skip!();
    let temp = h.write(b"unwanted").await;
    h.store.discard(&temp.temp_id).await.unwrap();
    assert!(h.temps().await.is_empty());
    h.store.discard(&temp.temp_id).await.unwrap();
}

#[tokio::test]
async fn temp_ids_cannot_name_other_keys() {
    let h = harness_or_skip!();
    let victim = h.write(b"keep me").await;
    h.store.promote(&victim.temp_id, &victim.key).await.unwrap();
    let blob = blob_key_path(&victim.key);
    let valid_shape_but_upper = "A".repeat(32);
    let to_the_blob = format!("../{blob}");
    for bad in [
        "../../etc/passwd",
        to_the_blob.as_str(),
        blob.as_str(),
        "",
        valid_shape_but_upper.as_str(),
        "0123456789abcdef0123456789abcde",   // 31 chars
        "0123456789abcdef0123456789abcdef0", // 33 chars
        "0123456789abcdef/123456789abcdef",
    ] {
        assert!(
            matches!(h.store.discard(bad).await, Err(Error::Internal(_))),
            "{bad}"
        );
        assert!(
            matches!(
                h.store.promote(bad, &victim.key).await,
                Err(Error::Internal(_))
            ),
            "{bad}"
        );
    }
    assert_eq!(h.read_all(&victim.key, None).await, b"keep me");
    assert_eq!(h.objects("").await, vec![blob]);
}

#[tokio::test]
async fn promoting_a_missing_temp_fails() {
    let h = harness_or_skip!();
    let key = BlobKey::parse(&sha256_hex(b"x")).unwrap();
    let result = h
        .store
        .promote("0123456789abcdef0123456789abcdef", &key)
        .await;
    assert!(matches!(result, Err(Error::Internal(_))));
    assert!(h.objects("").await.is_empty());
}

#[tokio::test]
async fn opening_checks_the_bucket() {
    let Some(config) = server_config() else {
        return;
    };
    let missing = S3Config {
        bucket: format!("no-such-bucket-{}", hex::encode(rand::random::<[u8; 4]>())),
        ..config.clone()
    };
    assert!(S3BlobStore::open(missing).await.is_err());
    let wrong_secret = S3Config {
        secret_access_key: "not-the-secret".to_owned(),
        ..config.clone()
    };
    assert!(S3BlobStore::open(wrong_secret).await.is_err());
    let small_parts = S3Config {
        part_size_bytes: MIN_PART_SIZE - 1,
        ..config
    };
    assert!(S3BlobStore::open(small_parts).await.is_err());
}

/// The pending-upload probe sees an upload that was started and not finished, so the
/// tests that find none prove something.
#[tokio::test]
async fn the_pending_upload_probe_works() {
    let h = harness_or_skip!();
    if h.pending_uploads().is_none() {
        eprintln!("UPVAULT_TEST_S3FS_ROOT is unset: nothing to check");
        return;
    }
    let mut upload = h.raw.put_multipart(&h.key("tmp/probe")).await.unwrap();
    upload
        .put_part(PutPayload::from(vec![0u8; MIN_PART_SIZE]))
        .await
        .unwrap();
    assert_eq!(h.pending_uploads(), Some(1));
    upload.abort().await.unwrap();
    assert_eq!(h.pending_uploads(), Some(0));
}

#[test]
fn the_secret_stays_out_of_debug() {
    let config = S3Config {
        bucket: "b".to_owned(),
        access_key_id: "AKIDEXAMPLE".to_owned(),
        secret_access_key: "wJalrXUtnFEMI-very-secret".to_owned(),
        ..S3Config::default()
    };
    let shown = format!("{config:?}");
    assert!(shown.contains("AKIDEXAMPLE"));
    assert!(!shown.contains("very-secret"), "{shown}");
}
