//! `LocalBlobStore` against a real temporary directory.

use bytes::Bytes;
use futures::{stream, Stream, StreamExt, TryStreamExt};
use md5::{Digest, Md5};
use rand::{Rng, RngCore, SeedableRng};
use sha2::Sha256;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use upvault_blob::LocalBlobStore;
use upvault_core::model::ByteRange;
use upvault_core::ports::{BlobStore, ByteStream, TempBlob};
use upvault_core::{BlobKey, Entity, Error, Limit};

async fn store() -> (tempfile::TempDir, LocalBlobStore) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = LocalBlobStore::open(dir.path())
        .await
        .expect("the store opens");
    (dir, store)
}

fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut data = vec![0; len];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut data);
    data
}

/// `data` cut into chunks of uneven sizes (1 byte to a few hundred KiB).
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

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("the directory lists")
        .map(|entry| {
            let name = entry.expect("an entry").file_name();
            name.into_string().expect("a UTF-8 name")
        })
        .collect();
    names.sort();
    names
}

async fn read_all(store: &LocalBlobStore, key: &BlobKey, range: Option<ByteRange>) -> Vec<u8> {
    let chunks: Vec<Bytes> = store
        .read(key, range)
        .await
        .expect("the blob opens")
        .try_collect()
        .await
        .expect("the blob streams");
    chunks.concat()
}

/// An endless body of 64 KiB chunks that counts how many were pulled.
fn endless(pulled: Arc<AtomicUsize>) -> impl Stream<Item = io::Result<Bytes>> + Send {
    let chunk = Bytes::from(vec![7u8; 64 * 1024]);
    stream::repeat_with(move || {
        pulled.fetch_add(1, Ordering::SeqCst);
        Ok(chunk.clone())
    })
}

async fn write(store: &LocalBlobStore, data: &[u8]) -> TempBlob {
    store
        .write_temp(uneven_chunks(data, 1), None)
        .await
        .expect("the upload is stored")
}

#[tokio::test]
async fn round_trip_hashes_and_reads_back_ranges() {
    let (dir, store) = store().await;
    let data = random_bytes(7 * 1024 * 1024 + 123, 42);

    let temp = store
        .write_temp(uneven_chunks(&data, 9), Some(data.len() as u64))
        .await
        .unwrap();
    assert_eq!(temp.size_bytes, 7 * 1024 * 1024 + 123);
    assert_eq!(temp.md5, md5_hex(&data));
    assert_eq!(temp.key.as_str(), sha256_hex(&data));
    assert_eq!(temp.temp_id.len(), 32);
    assert_eq!(
        files_in(&dir.path().join("tmp")),
        vec![temp.temp_id.clone()]
    );
    assert_eq!(
        std::fs::read(dir.path().join("tmp").join(&temp.temp_id)).unwrap(),
        data
    );

    store.promote(&temp.temp_id, &temp.key).await.unwrap();
    assert!(files_in(&dir.path().join("tmp")).is_empty());
    let key = temp.key.as_str();
    let expected_path = dir
        .path()
        .join("blobs")
        .join(&key[..2])
        .join(&key[2..4])
        .join(key);
    assert_eq!(store.blob_path(&temp.key), expected_path);
    assert!(expected_path.is_file());

    let last = data.len() as u64 - 1;
    assert_eq!(read_all(&store, &temp.key, None).await, data);
    assert_eq!(
        read_all(&store, &temp.key, Some(ByteRange { start: 0, end: 0 })).await,
        vec![data[0]]
    );
    assert_eq!(
        read_all(
            &store,
            &temp.key,
            Some(ByteRange {
                start: last,
                end: last
            })
        )
        .await,
        vec![data[data.len() - 1]]
    );
    let middle = read_all(
        &store,
        &temp.key,
        Some(ByteRange {
            start: 1_000_000,
            end: 3_500_000,
        }),
    )
    .await;
    assert_eq!(middle.len(), 2_500_001);
    assert_eq!(middle, &data[1_000_000..=3_500_000]);
    assert_eq!(
        read_all(
            &store,
            &temp.key,
            Some(ByteRange {
                start: 0,
                end: last
            })
        )
        .await,
        data
    );
}

#[tokio::test]
async fn a_range_past_the_end_is_refused() {
    let (_dir, store) = store().await;
    let temp = write(&store, b"hello").await;
    store.promote(&temp.temp_id, &temp.key).await.unwrap();
    let past = store
        .read(&temp.key, Some(ByteRange { start: 2, end: 5 }))
        .await;
    assert!(matches!(past, Err(Error::Internal(_))));
    assert_eq!(
        read_all(&store, &temp.key, Some(ByteRange { start: 2, end: 4 })).await,
        b"llo"
    );
}

#[tokio::test]
async fn reading_a_missing_blob_is_not_found() {
    let (_dir, store) = store().await;
    let key = BlobKey::parse(&"ab".repeat(32)).unwrap();
    assert!(matches!(
        store.read(&key, None).await,
        Err(Error::NotFound(Entity::File))
    ));
}

#[tokio::test]
async fn a_body_over_the_limit_is_cut_off_and_removed() {
    let (dir, store) = store().await;
    let pulled = Arc::new(AtomicUsize::new(0));
    let result = store
        .write_temp(Box::pin(endless(pulled.clone())), Some(1_000_000))
        .await;
    match result {
        Err(Error::LimitExceeded(Limit::MaxUploadSize(max))) => assert_eq!(max, 1_000_000),
        other => panic!("expected the size limit, got {other:?}"),
    }
    // 15 chunks of 64 KiB = 983,040 bytes fit; the 16th passes the limit, and nothing more is read.
    assert_eq!(pulled.load(Ordering::SeqCst), 16);
    assert!(files_in(&dir.path().join("tmp")).is_empty());
}

#[tokio::test]
async fn a_body_exactly_at_the_limit_is_accepted() {
    let (_dir, store) = store().await;
    let data = random_bytes(1_000_000, 3);
    let temp = store
        .write_temp(uneven_chunks(&data, 4), Some(1_000_000))
        .await
        .unwrap();
    assert_eq!(temp.size_bytes, 1_000_000);
    assert_eq!(temp.key.as_str(), sha256_hex(&data));
}

#[tokio::test]
async fn a_failing_body_is_an_internal_error_and_leaves_nothing() {
    let (dir, store) = store().await;
    let chunks = vec![
        Ok(Bytes::from(vec![1u8; 3 * 1024 * 1024])),
        Ok(Bytes::from_static(b"more")),
        Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "client went away",
        )),
        Ok(Bytes::from_static(b"never read")),
    ];
    let result = store.write_temp(Box::pin(stream::iter(chunks)), None).await;
    match result {
        Err(Error::Internal(err)) => assert!(format!("{err:#}").contains("client went away")),
        other => panic!("expected an internal error, got {other:?}"),
    }
    assert!(files_in(&dir.path().join("tmp")).is_empty());
}

#[tokio::test]
async fn an_empty_body_has_the_digests_of_nothing() {
    let (dir, store) = store().await;
    let temp = store
        .write_temp(Box::pin(stream::empty()), Some(10))
        .await
        .unwrap();
    assert_eq!(temp.size_bytes, 0);
    assert_eq!(temp.md5, "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(
        temp.key.as_str(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        std::fs::metadata(dir.path().join("tmp").join(&temp.temp_id))
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test]
async fn promoting_the_same_content_twice_keeps_one_blob() {
    let (dir, store) = store().await;
    let first = write(&store, b"same bytes").await;
    let second = write(&store, b"same bytes").await;
    assert_ne!(first.temp_id, second.temp_id);
    assert_eq!(first.key, second.key);

    store.promote(&first.temp_id, &first.key).await.unwrap();
    store.promote(&second.temp_id, &second.key).await.unwrap();
    assert!(files_in(&dir.path().join("tmp")).is_empty());
    assert_eq!(read_all(&store, &first.key, None).await, b"same bytes");
    assert_eq!(store.list().await.unwrap().len(), 1);
}

#[tokio::test]
async fn list_finds_promoted_blobs_and_remove_forgets_them() {
    let (dir, store) = store().await;
    let before = chrono::Utc::now() - chrono::Duration::seconds(5);
    let a = write(&store, b"alpha").await;
    let b = write(&store, b"beta").await;
    let pending = write(&store, b"not promoted").await;
    store.promote(&a.temp_id, &a.key).await.unwrap();
    store.promote(&b.temp_id, &b.key).await.unwrap();
    // Strangers in the blob tree are ignored.
    std::fs::write(dir.path().join("blobs").join("README"), "hi").unwrap();
    let a_dir = store.blob_path(&a.key).parent().unwrap().to_owned();
    std::fs::write(a_dir.join("not-a-key"), "x").unwrap();

    let mut listed = store.list().await.unwrap();
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

    store.remove(&b.key).await.unwrap();
    store.remove(&b.key).await.unwrap(); // gone already: fine
    assert!(!store.blob_path(&b.key).exists());
    // b's fan-out directories are pruned (they held nothing else); a's keep the stranger.
    let b_key = b.key.as_str();
    assert!(!dir.path().join("blobs").join(&b_key[..2]).exists());
    assert!(a_dir.exists());
    let listed = store.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].0, a.key);
    assert!(matches!(
        store.read(&b.key, None).await,
        Err(Error::NotFound(Entity::File))
    ));
}

#[tokio::test]
async fn clean_temp_removes_leftovers() {
    let (dir, store) = store().await;
    write(&store, b"one").await;
    write(&store, b"two").await;
    std::fs::write(dir.path().join("tmp").join("stray"), "x").unwrap();
    // Fresh temporaries may be another instance's uploads in progress: kept under an age.
    let hour = std::time::Duration::from_secs(3600);
    assert_eq!(store.clean_temp(hour).await.unwrap(), 0);
    assert_eq!(files_in(&dir.path().join("tmp")).len(), 3);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let second = std::time::Duration::from_secs(1);
    assert_eq!(store.clean_temp(second).await.unwrap(), 3);
    assert!(files_in(&dir.path().join("tmp")).is_empty());
    std::fs::write(dir.path().join("tmp").join("fresh"), "x").unwrap();
    assert_eq!(
        store.clean_temp(std::time::Duration::ZERO).await.unwrap(),
        1
    );
    assert_eq!(
        store.clean_temp(std::time::Duration::ZERO).await.unwrap(),
        0
    );
}

#[tokio::test]
async fn discard_removes_a_temp_and_tolerates_a_missing_one() {
    let (dir, store) = store().await;
    let temp = write(&store, b"unwanted").await;
    store.discard(&temp.temp_id).await.unwrap();
    assert!(files_in(&dir.path().join("tmp")).is_empty());
    store.discard(&temp.temp_id).await.unwrap();
}

#[tokio::test]
async fn temp_ids_cannot_name_paths() {
    let (dir, store) = store().await;
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "keep me").unwrap();
    let key = BlobKey::parse(&sha256_hex(b"keep me")).unwrap();
    let valid_shape_but_upper = "A".repeat(32);
    for bad in [
        "../../etc/passwd",
        "../victim",
        "",
        valid_shape_but_upper.as_str(),
        "0123456789abcdef0123456789abcde",   // 31 chars
        "0123456789abcdef0123456789abcdef0", // 33 chars
        "0123456789abcdef/123456789abcdef",
    ] {
        assert!(
            matches!(store.discard(bad).await, Err(Error::Internal(_))),
            "{bad}"
        );
        assert!(
            matches!(store.promote(bad, &key).await, Err(Error::Internal(_))),
            "{bad}"
        );
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    assert!(store.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn promoting_a_missing_temp_fails() {
    let (_dir, store) = store().await;
    let key = BlobKey::parse(&sha256_hex(b"x")).unwrap();
    let result = store
        .promote("0123456789abcdef0123456789abcdef", &key)
        .await;
    assert!(matches!(result, Err(Error::Internal(_))));
    assert!(!store.blob_path(&key).exists());
}

#[tokio::test]
async fn a_dropped_upload_leaves_no_temp() {
    let (dir, store) = store().await;
    let pulled = Arc::new(AtomicUsize::new(0));
    let slow = endless(pulled.clone()).then(|chunk| async {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        chunk
    });
    let upload = store.write_temp(Box::pin(slow), None);
    let timed_out = tokio::time::timeout(std::time::Duration::from_millis(100), upload).await;
    assert!(timed_out.is_err());
    assert!(pulled.load(Ordering::SeqCst) > 0);
    assert!(files_in(&dir.path().join("tmp")).is_empty());
}
