//! `upvault migrate` (issue 4): an installation on SQLite + local disk is copied into
//! PostgreSQL + S3 (when the test services are up, else into another SQLite + local disk),
//! interrupted once and resumed, and the destination then serves the very same installation.

use crate::md5_hex;
use axum::routing::get;
use axum::Router;
use base64::Engine;
use reqwest::header;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use upvault::cli::migrate::{migrate, MigrateOptions};
use upvault::Config;
use upvault_testkit::{random_bytes, Origin, TestServer, TestUser, PASSWORD};

/// Pins the backends a `TestServer` in `dir` runs on (the test kit reads them from this file).
fn pin_backends(dir: &Path, config: &Config) {
    let backends = serde_json::json!({
        "database_url": config.database_url(),
        "storage": config.storage,
    });
    std::fs::write(
        dir.join("test-backends.json"),
        serde_json::to_vec(&backends).unwrap(),
    )
    .unwrap();
}

/// The environment variable of a test service, or `None` (SQLite / local disk) outside CI and
/// in the embedded pass of `scripts/test.sh` (`UPVAULT_TEST_EMBEDDED=1`).
fn service(var: &str, script: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => Some(value),
        _ => {
            let embedded = std::env::var("UPVAULT_TEST_EMBEDDED").is_ok_and(|v| v == "1");
            assert!(
                embedded || std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but {var} is unset: start the service with `eval \"$({script})\"`"
            );
            eprintln!("{var} is unset: migrating into SQLite / local disk instead");
            None
        }
    }
}

/// The destination: PostgreSQL (a fresh schema) and S3 (a fresh prefix) when the services are
/// up, SQLite and a local directory in `dir` otherwise.
async fn destination_config(dir: &Path) -> Config {
    let tag = format!("migrate_{:016x}", rand::random::<u64>());
    let mut config = Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    config.database_url = Some(format!("sqlite://{}", dir.join("upvault.db").display()));
    config.storage.path = Some(dir.join("blobs"));
    if let Some(base) = service("UPVAULT_TEST_DATABASE_URL", "scripts/ci-postgres.sh") {
        config.database_url = Some(upvault_testkit::postgres_schema(&base, &tag).await);
    }
    if service("UPVAULT_TEST_S3_ENDPOINT", "scripts/ci-s3.sh").is_some() {
        config.storage.path = None;
        upvault_testkit::apply_s3(&mut config, &format!("{tag}/"));
    }
    config
}

fn write_config(path: &Path, config: &Config) {
    std::fs::write(path, toml::to_string(config).unwrap()).unwrap();
}

/// An API call and the source's answer to it.
type Recorded = (TestUser, &'static str, Vec<(String, String)>, Value);

/// What the source installation looked like, to hold the destination against.
struct Fixture {
    alice: TestUser,
    bob: TestUser,
    key1: String,
    key2: String,
    /// (file id, content MD5) of every active file, alice's and bob's.
    files: Vec<(TestUser, String, String)>,
    trashed: String,
    /// file/info, folder/listing, account/info and url_upload_status answers, by request.
    answers: Vec<Recorded>,
    /// The locked folder, its name and the grant cookie the source issued for it.
    locked: (String, String, String),
    /// A short URL and its delete hash.
    deletable: (String, String),
    max_file_id: i64,
}

/// Asks `server` as `user` and returns the answer without the server's own URL and the time.
async fn answer(
    server: &TestServer,
    user: &TestUser,
    endpoint: &str,
    params: &[(String, String)],
) -> Value {
    let params: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut value = server.call(user, endpoint, &params).await;
    // The time of the answer, not of the data.
    value.as_object_mut().unwrap().remove("_datetime");
    serde_json::from_str(&value.to_string().replace(&server.url, "http://SERVER")).unwrap()
}

fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Builds the source installation on `server` (SQLite + local disk).
async fn build_source(server: &TestServer) -> Fixture {
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let (key1, key2) = server
        .services
        .accounts
        .create_api_key("alice")
        .await
        .unwrap();

    let create = |name: &'static str, extra: Vec<(&'static str, String)>| {
        let alice = alice.clone();
        async move {
            let mut params = vec![("folder_name", name.to_owned())];
            params.extend(extra);
            let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            server.ok(&alice, "folder/create", &params).await["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let password_md5 = md5_hex(b"hunter2");
    let top = create(
        "Top",
        vec![
            ("is_public", "1".into()),
            ("access_password", password_md5.clone()),
        ],
    )
    .await;
    let inner = create("Inner", vec![("parent_id", top.clone())]).await;
    let deep = create("Deep", vec![("parent_id", inner.clone())]).await;
    // A parent younger than its child: the copy must order folders by depth, not by id.
    let archive = create("Archive", vec![("is_public", "2".into())]).await;
    server
        .ok(
            &alice,
            "folder/move",
            &[("folder_id", &top), ("new_parent_folder_id", &archive)],
        )
        .await;

    let mut files = Vec::new();
    let upload = |user: &TestUser, name: &str, body: Vec<u8>, folder: Option<&str>| {
        let user = user.clone();
        let name = name.to_owned();
        let folder = folder.map(str::to_owned);
        async move {
            let extra: Vec<(&str, &str)> = folder
                .as_deref()
                .map(|f| vec![("folder_id", f)])
                .unwrap_or_default();
            let answer = server.upload(&user, &name, body.clone(), &extra).await;
            assert_eq!(answer["_status"], "success", "{answer}");
            let item = answer["data"][0].clone();
            (user, item, md5_hex(&body))
        }
    };
    let (user, a, a_md5) = upload(&alice, "a.bin", random_bytes(300_000, 1), Some(&inner)).await;
    files.push((
        user,
        a["file_id"].as_str().unwrap().to_owned(),
        a_md5.clone(),
    ));
    let (user, b, b_md5) = upload(&alice, "notes b.txt", b"plain text".to_vec(), None).await;
    files.push((user, b["file_id"].as_str().unwrap().to_owned(), b_md5));
    let (user, c, c_md5) = upload(
        &alice,
        "c.bin",
        random_bytes(2 * 1024 * 1024 + 3, 2),
        Some(&deep),
    )
    .await;
    files.push((user, c["file_id"].as_str().unwrap().to_owned(), c_md5));
    let (user, d, d_md5) = upload(&bob, "bob.dat", random_bytes(70_000, 3), None).await;
    files.push((user, d["file_id"].as_str().unwrap().to_owned(), d_md5));
    let (_, t, _) = upload(&alice, "gone.bin", random_bytes(1000, 4), None).await;
    let trashed = t["file_id"].as_str().unwrap().to_owned();
    server
        .ok(&alice, "file/delete", &[("file_id", &trashed)])
        .await;
    // A copy shares its original's blob.
    let copied = server
        .ok(
            &alice,
            "file/copy",
            &[
                ("file_id", a["file_id"].as_str().unwrap()),
                ("copy_to_folder_id", &archive),
            ],
        )
        .await;
    let copy_id = copied["new_file"]["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    files.push((alice.clone(), copy_id, a_md5));

    // A completed URL import.
    let body = random_bytes(123_456, 5);
    let origin = Origin::start(Router::new().route(
        "/report.pdf",
        get({
            let body = body.clone();
            move || async move { body.clone() }
        }),
    ))
    .await;
    let url =
        base64::engine::general_purpose::STANDARD.encode(format!("{}/report.pdf", origin.url));
    let job = server
        .ok(
            &alice,
            "file/url_upload_add",
            &[("file_url_base64", &url), ("folder_id", &inner)],
        )
        .await["scheduled_item_id"]
        .as_i64()
        .unwrap()
        .to_string();
    let mut status = Value::Null;
    for _ in 0..300 {
        status = server
            .ok(
                &alice,
                "file/url_upload_status",
                &[("scheduled_item_id", &job)],
            )
            .await;
        if status["status"] == "complete" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status["status"], "complete", "{status}");
    let imported = status["downloaded_file"]["file_id"]
        .as_i64()
        .unwrap()
        .to_string();
    files.push((alice.clone(), imported, md5_hex(&body)));

    // Downloads counted (the file's counter and the per-day stats) of a file in the root,
    // whose stats page is public.
    let counted = d["file_id"].as_str().unwrap();
    let url = server.download_url(&bob, counted).await;
    let got = server.get_bytes(&url).await;
    assert_eq!(md5_hex(&got), files[3].2);
    for _ in 0..100 {
        let info = server.ok(&bob, "file/info", &[("file_id", counted)]).await;
        if info["downloads"] == "1" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A download from the public file page (the download log behind the 24-hour limits).
    let code = b["short_url"].as_str().unwrap();
    let page = server
        .client
        .get(format!("{}/{code}", server.url))
        .send()
        .await
        .unwrap();
    let page = page.text().await.unwrap();
    let start = page.find("name=\"t\" value=\"").expect("a download form") + 16;
    let ticket = &page[start..start + page[start..].find('"').unwrap()];
    let got = server
        .client
        .get(format!("{}/{code}~g", server.url))
        .query(&[("t", ticket)])
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.as_ref(), b"plain text");
    for _ in 0..100 {
        let info = server
            .ok(
                &alice,
                "file/info",
                &[("file_id", b["file_id"].as_str().unwrap())],
            )
            .await;
        if info["downloads"] == "1" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A failed login (the lockout counters).
    let wrong = server
        .post(
            "authorize",
            &[("username", "bob"), ("password", "not bob's password")],
        )
        .await;
    assert_eq!(wrong["_status"], "error");

    // A folder-password grant issued by the source (signed with its site secret).
    let grant = server
        .submit_form(&format!("/folder/{top}"), &[("password", "hunter2")], None)
        .await;
    assert_eq!(grant.status(), 303);
    let grant = grant.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();

    let mut answers = Vec::new();
    for (user, id, _) in &files {
        answers.push((user.clone(), "file/info", p(&[("file_id", id)])));
    }
    answers.push((alice.clone(), "file/info", p(&[("file_id", &trashed)])));
    for folder in [None, Some(&archive), Some(&top), Some(&inner), Some(&deep)] {
        let params = folder
            .map(|f| p(&[("parent_folder_id", f)]))
            .unwrap_or_default();
        answers.push((alice.clone(), "folder/listing", params));
    }
    answers.push((bob.clone(), "folder/listing", Vec::new()));
    answers.push((alice.clone(), "account/info", Vec::new()));
    answers.push((bob.clone(), "account/info", Vec::new()));
    answers.push((
        alice.clone(),
        "file/url_upload_status",
        p(&[("scheduled_item_id", &job)]),
    ));
    let mut recorded = Vec::new();
    for (user, endpoint, params) in answers {
        let value = answer(server, &user, endpoint, &params).await;
        recorded.push((user, endpoint, params, value));
    }
    let delete_url = b["delete_url"].as_str().unwrap();
    let max_file_id = files
        .iter()
        .map(|(_, id, _)| id.parse::<i64>().unwrap())
        .chain([trashed.parse().unwrap()])
        .max()
        .unwrap();
    Fixture {
        alice,
        bob,
        key1,
        key2,
        files,
        trashed,
        answers: recorded,
        locked: (top, "Top".into(), grant),
        deletable: (
            b["short_url"].as_str().unwrap().to_owned(),
            delete_url.rsplit('?').next().unwrap().to_owned(),
        ),
        max_file_id,
    }
}

fn upvault(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_upvault"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn migrate_copies_a_whole_installation_and_resumes() {
    // The source: SQLite + local disk, whatever the test services.
    let source_dir = tempfile::tempdir().unwrap();
    let mut source = Config {
        data_dir: source_dir.path().to_path_buf(),
        ..Config::default()
    };
    source.storage.path = Some(source.blob_dir());
    source.database_url = Some(source.database_url());
    pin_backends(source_dir.path(), &source);
    let started = Instant::now();
    let server = TestServer::start_in(source_dir, |c| {
        c.remote_upload.allow_private_addresses = true
    })
    .await;
    let fixture = build_source(&server).await;
    let source_dir = server.stop().await;
    let built = started.elapsed();

    let dest_dir = tempfile::tempdir().unwrap();
    let destination = destination_config(dest_dir.path()).await;
    let configs = tempfile::tempdir().unwrap();
    let (source_toml, dest_toml) = (
        configs.path().join("source.toml"),
        configs.path().join("dest.toml"),
    );
    write_config(&source_toml, &source);
    write_config(&dest_toml, &destination);
    let (source_toml, dest_toml) = (source_toml.to_str().unwrap(), dest_toml.to_str().unwrap());

    // Refused: the destination is the source.
    let (ok, err) = upvault(&["--config", source_toml, "migrate", "--from", source_toml]);
    assert!(
        !ok && err.contains("the destination is the source"),
        "{err}"
    );

    // Interrupted after 4 rows (the 3 packages and 1 of the 2 accounts).
    let started = Instant::now();
    let partial = migrate(
        &source,
        &destination,
        MigrateOptions {
            max_rows: Some(4),
            ..MigrateOptions::default()
        },
    )
    .await
    .unwrap();
    assert!(!partial.complete, "{partial}");
    assert!(partial.blobs.is_none());
    let rows = partial.rows.as_ref().unwrap();
    assert_eq!(rows.tables.iter().map(|t| t.read).sum::<u64>(), 4);
    assert_eq!(rows.tables.last().unwrap().table, "accounts");

    // The real binary resumes and finishes.
    let (ok, err) = upvault(&["--config", dest_toml, "migrate", "--from", source_toml]);
    assert!(ok, "{err}");
    assert!(err.contains("migrated:"), "{err}");
    let migrated = started.elapsed();

    // A third run finds everything in place: no duplicates, nothing copied again.
    let again = migrate(&source, &destination, MigrateOptions::default())
        .await
        .unwrap();
    assert!(again.complete, "{again}");
    for table in &again.rows.as_ref().unwrap().tables {
        assert_eq!(table.written, 0, "{table:?}");
        assert_eq!(table.destination_rows, table.source_rows, "{table:?}");
        assert_eq!(table.read, table.source_rows, "{table:?}");
    }
    let counts: Vec<_> = again
        .rows
        .as_ref()
        .unwrap()
        .tables
        .iter()
        .map(|t| (t.table, t.source_rows))
        .collect();
    for table in [
        "accounts",
        "api_keys",
        "access_tokens",
        "folders",
        "blobs",
        "files",
        "download_tokens",
        "import_jobs",
        "download_stats",
        "download_log",
        "login_failures",
        "site_secrets",
    ] {
        assert!(
            counts.iter().any(|(t, n)| *t == table && *n > 0),
            "{table} was copied: {counts:?}"
        );
    }
    let blobs = again.blobs.unwrap();
    assert_eq!((blobs.copied, blobs.present), (0, blobs.listed));
    // a.bin and its copy share one blob; the trashed file keeps its blob until purged.
    assert_eq!(blobs.listed, 6);

    // The destination serves the same installation.
    pin_backends(dest_dir.path(), &destination);
    let dest = TestServer::start_in(dest_dir, |_| {}).await;
    let newest = check_destination(&dest, &fixture).await;
    let verified = started.elapsed();

    // And back again (from PostgreSQL + S3 when the services are up), into SQLite + local disk.
    let dest_dir = dest.stop().await;
    let back_dir = tempfile::tempdir().unwrap();
    let mut back = Config {
        data_dir: back_dir.path().to_path_buf(),
        ..Config::default()
    };
    back.storage.path = Some(back.blob_dir());
    back.database_url = Some(back.database_url());
    let returned = migrate(&destination, &back, MigrateOptions::default())
        .await
        .unwrap();
    assert!(returned.complete, "{returned}");
    for table in &returned.rows.as_ref().unwrap().tables {
        // The default packages are seeded alike, everything else is new there.
        let expected = if table.table == "packages" {
            0
        } else {
            table.source_rows
        };
        assert_eq!(table.written, expected, "{table:?}");
        assert_eq!(table.destination_rows, table.source_rows, "{table:?}");
    }
    assert_eq!(returned.blobs.unwrap().copied, 7);
    pin_backends(back_dir.path(), &back);
    let server = TestServer::start_in(back_dir, |_| {}).await;
    let alice = server.login("alice").await;
    let later = server
        .upload_ok(&alice, "later.txt", b"and back".to_vec())
        .await;
    let later: i64 = later["file_id"].as_str().unwrap().parse().unwrap();
    assert!(later > newest, "{later} > {newest}");
    drop(dest_dir);
    eprintln!("migrate fixture: rows per table {counts:?}");
    eprintln!(
        "migrate fixture: built in {:.1}s, migrated (interrupted + resumed) in {:.1}s, \
         verified in {:.1}s; {again}",
        built.as_secs_f64(),
        migrated.as_secs_f64(),
        (verified - migrated).as_secs_f64(),
    );
    eprintln!("migrate fixture: back again: {returned}");
    drop(source_dir);
}

/// Holds the destination against the source; returns the id of a file uploaded last.
async fn check_destination(server: &TestServer, fixture: &Fixture) -> i64 {
    // The old access tokens are valid: every recorded answer is the same.
    for (user, endpoint, params, expected) in &fixture.answers {
        let got = answer(server, user, endpoint, params).await;
        assert_eq!(&got, expected, "{endpoint} {params:?} as {}", user.username);
    }
    // The download stats came along.
    let (user, id, _) = &fixture.files[3];
    let info = server.ok(user, "file/info", &[("file_id", id)]).await;
    assert_eq!(info["downloads"], "1");
    let short = info["shortUrl"].as_str().unwrap();
    let stats = server
        .client
        .get(format!("{}/{short}~s", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(stats.status(), 200);
    assert!(stats.text().await.unwrap().contains("id=\"total\">1<"));

    // Every file downloads with its bytes.
    for (user, id, md5) in &fixture.files {
        let url = server.download_url(user, id).await;
        let body = server.get_bytes(&url).await;
        assert_eq!(&md5_hex(&body), md5, "file {id}");
    }
    let gone = server
        .call(
            &fixture.alice,
            "file/info",
            &[("file_id", &fixture.trashed)],
        )
        .await;
    assert_eq!(
        gone["_status"], "error",
        "the trashed file stays trashed: {gone}"
    );

    // The same password and the same key pair log in.
    let login = server
        .post("authorize", &[("username", "bob"), ("password", PASSWORD)])
        .await;
    assert_eq!(login["_status"], "success", "{login}");
    assert_eq!(login["data"]["account_id"], fixture.bob.account_id);
    let login = server
        .post(
            "authorize",
            &[("key1", &fixture.key1), ("key2", &fixture.key2)],
        )
        .await;
    assert_eq!(login["_status"], "success", "{login}");
    assert_eq!(login["data"]["account_id"], fixture.alice.account_id);

    // The folder's password still locks it, and the grant the source signed still opens it.
    let (folder, name, grant) = &fixture.locked;
    let page = |cookie: Option<&str>| {
        let mut request = server
            .client
            .get(format!("{}/folder/{folder}/{name}", server.url));
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        request.send()
    };
    assert_eq!(page(None).await.unwrap().status(), 401);
    let open = page(Some(grant)).await.unwrap();
    assert_eq!(open.status(), 200);
    let body = open.text().await.unwrap();
    assert!(
        !body.contains("Password required") && body.contains("Top"),
        "{body}"
    );
    let right = server
        .submit_form(
            &format!("/folder/{folder}"),
            &[("password", "hunter2")],
            None,
        )
        .await;
    assert_eq!(right.status(), 303);

    // The delete hash page works.
    let (code, hash) = &fixture.deletable;
    let confirm = server
        .client
        .get(format!("{}/{code}~d?{hash}", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(confirm.status(), 200);
    let done = server
        .submit_form(&format!("/{code}~d?{hash}"), &[], None)
        .await;
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("id=\"deleted\""));

    // New ids continue after the copied ones.
    let new = server
        .upload_ok(&fixture.alice, "new.txt", b"after the move".to_vec())
        .await;
    let new_id: i64 = new["file_id"].as_str().unwrap().parse().unwrap();
    assert!(
        new_id > fixture.max_file_id,
        "{new_id} > {}",
        fixture.max_file_id
    );
    let folder = server
        .ok(&fixture.bob, "folder/create", &[("folder_name", "Fresh")])
        .await;
    assert!(folder["id"].as_str().unwrap().parse::<i64>().unwrap() > 4);
    new_id
}

/// A fresh SQLite + local-disk installation config in `dir`.
fn embedded_config(dir: &Path) -> Config {
    let mut config = Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    config.storage.path = Some(config.blob_dir());
    config.database_url = Some(config.database_url());
    config
}

#[tokio::test]
async fn migrate_refuses_a_source_a_server_still_uses() {
    let source_dir = tempfile::tempdir().unwrap();
    let source = embedded_config(source_dir.path());
    pin_backends(source_dir.path(), &source);
    let server = TestServer::start_in(source_dir, |_| {}).await;
    let user = server.user("busy").await;
    server.upload_ok(&user, "live.txt", b"live".to_vec()).await;

    let dest_dir = tempfile::tempdir().unwrap();
    let destination = embedded_config(dest_dir.path());
    let mut refusal = String::new();
    for _ in 0..50 {
        match migrate(&source, &destination, MigrateOptions::default()).await {
            Err(err) => {
                refusal = format!("{err:#}");
                break;
            }
            // The first heartbeat may not be written yet.
            Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    assert!(refusal.contains("1 server(s) use the source"), "{refusal}");
    assert!(
        refusal.contains(&format!("pid {}", std::process::id())),
        "{refusal}"
    );
    assert!(refusal.contains("--force"), "{refusal}");

    // --force copies anyway.
    let forced = migrate(
        &source,
        &destination,
        MigrateOptions {
            force: true,
            ..MigrateOptions::default()
        },
    )
    .await
    .unwrap();
    assert!(forced.complete, "{forced}");

    // Stopped, the server takes its heartbeat with it; counts mean something on a fresh
    // destination (nothing "there already").
    let source_dir = server.stop().await;
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = embedded_config(fresh_dir.path());
    let summary = migrate(&source, &fresh, MigrateOptions::default())
        .await
        .unwrap();
    let line = summary.to_string();
    assert!(
        line.starts_with("migrated: 1 account, 0 folders, 1 file and "),
        "{line}"
    );
    assert!(line.contains("; 1 blob ("), "{line}");
    assert!(!line.contains("earlier run"), "{line}");
    // A rerun says what an earlier run had done.
    let again = migrate(&source, &fresh, MigrateOptions::default())
        .await
        .unwrap()
        .to_string();
    assert!(again.contains("there from an earlier run"), "{again}");
    drop(source_dir);
}
