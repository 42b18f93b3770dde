//! criterion micro-benchmarks of the hot paths (see the crate docs). Public APIs only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use futures::{stream, StreamExt, TryStreamExt};
use std::hint::black_box;
use tokio::runtime::Runtime;
use upvault_blob::LocalBlobStore;
use upvault_core::listing::{FileCursor, FileOrder, FileQuery, FileScope};
use upvault_core::model::{File, Status, UploadSource};
use upvault_core::ports::{BlobStore, ByteStream};
use upvault_core::{AccountId, BlobKey, FileId, FolderId};
use upvault_http::present::{now_string, Presenter};
use upvault_proto::envelope::Success;
use upvault_proto::objects::ListingData;

/// Size of the in-memory upload.
const UPLOAD_BYTES: usize = 16 << 20;
/// Chunks as a socket hands them over.
const NETWORK_CHUNK: usize = 64 << 10;
/// Rows in the listing.
const LISTING_ROWS: usize = 10_000;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// `data` as a body stream of [`NETWORK_CHUNK`] slices (no copies).
fn chunked(data: &Bytes) -> ByteStream {
    let chunks: Vec<std::io::Result<Bytes>> = (0..data.len())
        .step_by(NETWORK_CHUNK)
        .map(|at| Ok(data.slice(at..(at + NETWORK_CHUNK).min(data.len()))))
        .collect();
    Box::pin(stream::iter(chunks))
}

/// A multipart/form-data body as `/file/upload` receives it: credentials, then the file.
fn multipart_body(boundary: &str, file: &Bytes) -> Bytes {
    let mut body = Vec::with_capacity(file.len() + 1024);
    for (name, value) in [
        ("access_token", "x".repeat(128)),
        ("account_id", "1".into()),
    ] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"upload_file\"; \
             filename=\"bench.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Bytes::from(body)
}

/// The upload pipeline: body → (MD5 ‖ SHA-256 + write) → fsync, through the local store's put
/// path (`write_temp`); the temporary object is discarded after each iteration.
fn upload(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = rt
        .block_on(LocalBlobStore::open(dir.path()))
        .expect("the store opens");
    let data = Bytes::from(upvault_testkit::random_bytes(UPLOAD_BYTES, 1));
    let boundary = "upvault-bench-boundary-7MA4YWxkTrZu0gW";
    let form = multipart_body(boundary, &data);

    let mut group = c.benchmark_group("upload");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(UPLOAD_BYTES as u64));
    group.bench_function("blob_put_16MiB", |b| {
        b.iter(|| {
            rt.block_on(async {
                let temp = store.write_temp(chunked(&data), None).await.unwrap();
                assert_eq!(temp.size_bytes, UPLOAD_BYTES as u64);
                store.discard(&temp.temp_id).await.unwrap();
            })
        })
    });
    group.bench_function("multipart_put_16MiB", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut multipart = multer::Multipart::new(chunked(&form), boundary);
                let mut stored = None;
                while let Some(mut field) = multipart.next_field().await.unwrap() {
                    if field.file_name().is_some() {
                        let body: ByteStream = Box::pin(field.map_err(std::io::Error::other));
                        stored = Some(store.write_temp(body, None).await.unwrap());
                    } else {
                        while let Some(chunk) = field.chunk().await.unwrap() {
                            black_box(chunk);
                        }
                    }
                }
                let temp = stored.expect("the file part");
                assert_eq!(temp.size_bytes, UPLOAD_BYTES as u64);
                store.discard(&temp.temp_id).await.unwrap();
            })
        })
    });
    group.bench_function("body_stream_only_16MiB", |b| {
        // The body stream alone, for comparison: what the pipeline costs beyond reading.
        b.iter(|| {
            rt.block_on(async {
                let total = chunked(&data)
                    .map(|chunk| chunk.map(|c| c.len()).unwrap_or(0))
                    .fold(0, |sum, len| async move { sum + len })
                    .await;
                black_box(total)
            })
        })
    });
    group.finish();
}

/// `AuthService::authenticate` (every API request) against SQLite in a temporary directory.
fn token(c: &mut Criterion) {
    let rt = runtime();
    let (server, user) = rt.block_on(async {
        let server = upvault_testkit::TestServer::start().await;
        let user = server.user("bench").await;
        (server, user)
    });
    let auth = server.services.auth.clone();
    let unknown = "A".repeat(user.token.len());

    let mut group = c.benchmark_group("token");
    group.bench_function("valid", |b| {
        b.iter(|| {
            rt.block_on(auth.authenticate(Some(&user.token), Some(&user.account_id)))
                .expect("a valid token")
        })
    });
    group.bench_function("unknown", |b| {
        b.iter(|| {
            rt.block_on(auth.authenticate(Some(&unknown), Some(&user.account_id)))
                .expect_err("an unknown token")
        })
    });
    group.finish();
    rt.block_on(server.stop());
}

fn listing_rows() -> Vec<File> {
    let key = BlobKey::parse(&"ab".repeat(32)).expect("a valid key");
    let uploaded = chrono::Utc::now();
    (0..LISTING_ROWS)
        .map(|i| File {
            id: FileId(i as i64 + 1),
            account_id: AccountId(1),
            folder_id: Some(FolderId(7)),
            short_url: format!("s{i:07}"),
            filename: format!("holiday photo {i:05}.jpg"),
            mime_type: "image/jpeg".into(),
            extension: "jpg".into(),
            size_bytes: 1_234_567 + i as u64,
            blob_key: key.clone(),
            md5: format!("{i:032x}"),
            delete_hash: format!("{i:032x}"),
            unique_hash: format!("{i:064x}"),
            status: Status::Active,
            downloads: i as u64 % 17,
            keywords: String::new(),
            uploaded_at: uploaded,
            updated_at: None,
            trashed_at: None,
            upload_source: UploadSource::Api,
            uploaded_ip: "203.0.113.9".into(),
            last_accessed_at: None,
        })
        .collect()
}

/// 10 000 rows → File objects → the `/folder/listing` success envelope as JSON bytes.
fn listing(c: &mut Criterion) {
    let rows = listing_rows();
    let present = Presenter::new("https://files.example.com", "upvault");
    let mut group = c.benchmark_group("listing");
    group.throughput(Throughput::Elements(LISTING_ROWS as u64));
    // The rows as the store hands them over (owned: presenting moves their strings).
    group.bench_function("present_and_serialize_10k", |b| {
        b.iter_batched(
            || rows.clone(),
            |rows| {
                let data = ListingData {
                    folders: Vec::new(),
                    files: rows.into_iter().map(|f| present.file(f, true)).collect(),
                };
                serde_json::to_vec(&Success::new(None, Some(data), now_string())).unwrap()
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("serialize_only_10k", |b| {
        b.iter_batched(
            || ListingData {
                folders: Vec::new(),
                files: rows.iter().map(|f| present.file(f.clone(), true)).collect(),
            },
            |data| serde_json::to_vec(&Success::new(None, Some(data), now_string())).unwrap(),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// Files in the folder that `pages/*` pages through.
const PAGED_FILES: i64 = 100_000;

/// A keyset page of a 100 000-file folder, first and 500th of 100 files: the same cost.
fn pages(c: &mut Criterion) {
    let rt = runtime();
    let (server, account) = rt.block_on(async {
        let server = upvault_testkit::TestServer::start().await;
        let user = server.user("pages").await;
        (server, AccountId(user.account_id.parse().unwrap()))
    });
    // Filled in one transaction beside the server (an upload each would take minutes).
    let mut db = rusqlite::Connection::open(server.config.data_dir.join("upvault.db")).unwrap();
    let tx = db.transaction().unwrap();
    let key = "ab".repeat(32);
    tx.execute(
        "INSERT INTO blobs (key, size_bytes, ref_count, created_at) VALUES (?1, 1, ?2, 0)",
        rusqlite::params![key, PAGED_FILES],
    )
    .unwrap();
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO files (account_id, short_url, filename, mime_type, extension, \
                 size_bytes, blob_key, md5, delete_hash, unique_hash, uploaded_at) \
                 VALUES (?1, ?2, ?3, 'text/plain', 'txt', ?4, ?5, '', '', '', ?4)",
            )
            .unwrap();
        for i in 0..PAGED_FILES {
            let name = format!("file-{i:06}.txt");
            insert
                .execute(rusqlite::params![account.0, format!("p{i}"), name, i, key])
                .unwrap();
        }
    }
    tx.commit().unwrap();
    let files = server.services.files.clone();
    let first = FileQuery::default();
    // Where page 500 of 100 starts: after the 49 999th name.
    let before = rt
        .block_on(files.page(
            account,
            FileScope::Folder(None),
            &FileQuery {
                name_contains: "file-049999.txt".into(),
                ..FileQuery::default()
            },
        ))
        .unwrap();
    let page_500 = FileQuery {
        after: Some(FileCursor::of(&before.files[0], FileOrder::Name)),
        ..FileQuery::default()
    };
    let mut group = c.benchmark_group("pages");
    for (name, query) in [("first_of_100k", &first), ("500th_of_100k", &page_500)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let page = rt
                    .block_on(files.page(account, FileScope::Folder(None), query))
                    .unwrap();
                assert_eq!(page.files.len(), 100);
                page
            })
        });
    }
    group.finish();
    rt.block_on(server.stop());
}

criterion_group!(benches, upload, token, listing, pages);
criterion_main!(benches);
