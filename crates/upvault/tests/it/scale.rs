//! Several instances on one database and one storage behave as one server (issue 4): tokens,
//! files and revocations are shared, each URL-import job runs exactly once, and the job of an
//! instance that died is finished by another once its lease lapses. On SQLite + local disk
//! always; on PostgreSQL + S3 when the test services are up.

use crate::md5_hex;
use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use base64::Engine;
use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use upvault_testkit::{Origin, TestServer, TestUser, PASSWORD};

const INVALID: &str =
    "Could not validate access_token and account_id, please reauthenticate or try again.";

fn b64(url: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(url)
}

async fn wait_complete(server: &TestServer, user: &TestUser, id: &str) -> serde_json::Value {
    for _ in 0..400 {
        let status = server
            .ok(user, "file/url_upload_status", &[("scheduled_item_id", id)])
            .await;
        if status["status"] == "complete" || status["status"] == "failed" {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {id} did not finish");
}

#[tokio::test]
async fn two_instances_share_tokens_files_revocations_and_jobs() {
    let hits: Arc<Mutex<HashMap<u32, u32>>> = Arc::default();
    let counter = hits.clone();
    let origin = Origin::start(Router::new().route(
        "/job/{n}",
        get(move |Path(n): Path<u32>| {
            let counter = counter.clone();
            async move {
                *counter.lock().unwrap().entry(n).or_default() += 1;
                format!("payload of job {n}").repeat(1000)
            }
        }),
    ))
    .await;
    let allow = |c: &mut upvault::Config| c.remote_upload.allow_private_addresses = true;
    let a = TestServer::start_with(allow).await;
    let b = a.start_beside(allow).await;

    // A token issued by A is valid on B.
    let user = a.user("shared").await;
    assert_eq!(b.ok(&user, "account/info", &[]).await["username"], "shared");

    // Uploaded on A, downloaded from B.
    let body = upvault_testkit::random_bytes(3 * 1024 * 1024, 5);
    let item = a.upload_ok(&user, "both.bin", body.clone()).await;
    let url = b
        .download_url(&user, item["file_id"].as_str().unwrap())
        .await;
    assert!(url.starts_with(&b.url));
    let got = b.get_bytes(&url).await;
    assert_eq!(md5_hex(&got), md5_hex(&body));

    // Jobs scheduled on both are each run exactly once, by whichever instance claims them.
    let jobs = 8;
    let mut ids = Vec::new();
    for n in 0..jobs {
        let server = if n % 2 == 0 { &a } else { &b };
        let job = server
            .ok(
                &user,
                "file/url_upload_add",
                &[("file_url_base64", &b64(&format!("{}/job/{n}", origin.url)))],
            )
            .await;
        ids.push(job["scheduled_item_id"].to_string());
    }
    for id in &ids {
        let status = wait_complete(&a, &user, id).await;
        assert_eq!(status["status"], "complete", "{status}");
    }
    let hits = hits.lock().unwrap().clone();
    assert_eq!(hits.len(), jobs as usize, "{hits:?}");
    assert!(
        hits.values().all(|&count| count == 1),
        "a job ran twice: {hits:?}"
    );
    let listed = b.ok(&user, "folder/listing", &[]).await["files"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(listed, jobs as usize + 1);

    // Revoked on B, refused by A.
    assert_eq!(
        b.call(&user, "disable_access_token", &[]).await["_status"],
        "success"
    );
    assert_eq!(
        a.call(&user, "account/info", &[]).await["response"],
        INVALID
    );
}

#[tokio::test]
async fn the_job_of_a_killed_instance_is_finished_by_another() {
    // The origin never answers the first request (the instance that makes it gets killed) and
    // answers every later one.
    let first = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = first.clone();
    let origin = Origin::start(Router::new().route(
        "/slow.bin",
        get(move || {
            let seen = seen.clone();
            async move {
                if seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                    std::future::pending::<()>().await;
                }
                vec![7u8; 50_000]
            }
        }),
    ))
    .await;

    let (dir, env) = upvault_testkit::installation().await;
    let binary = env!("CARGO_BIN_EXE_upvault");
    let created = Command::new(binary)
        .args(["user", "add", "killed", "--password", PASSWORD])
        .envs(env.iter().cloned())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut instance_a = Command::new(binary)
        .arg("serve")
        .envs(env.iter().cloned())
        .env("UPVAULT_LISTEN", format!("127.0.0.1:{port}"))
        .env("UPVAULT_REMOTE_UPLOAD__ALLOW_PRIVATE_ADDRESSES", "true")
        .env("UPVAULT_REMOTE_UPLOAD__LEASE_SECS", "2")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let api = format!("http://127.0.0.1:{port}/api/v2");
    let client = reqwest::Client::new();
    let mut login = serde_json::Value::Null;
    for _ in 0..200 {
        let sent = client
            .post(format!("{api}/authorize"))
            .form(&[("username", "killed"), ("password", PASSWORD)])
            .send()
            .await;
        if let Ok(response) = sent {
            login = response.json().await.unwrap();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(login["_status"], "success", "{login}");
    let (token, account) = (
        login["data"]["access_token"].as_str().unwrap(),
        login["data"]["account_id"].as_str().unwrap(),
    );
    let job: serde_json::Value = client
        .post(format!("{api}/file/url_upload_add"))
        .form(&[
            ("access_token", token),
            ("account_id", account),
            ("file_url_base64", &b64(&format!("{}/slow.bin", origin.url))),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = job["data"]["scheduled_item_id"].to_string();
    for _ in 0..200 {
        if first.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        first.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "instance A never started the job"
    );

    // SIGKILL: no graceful release of the job.
    instance_a.kill().unwrap();
    instance_a.wait().unwrap();

    let b = TestServer::start_in(dir, |c| {
        c.remote_upload.allow_private_addresses = true;
        c.remote_upload.lease_secs = 2;
    })
    .await;
    let user = b.login("killed").await;
    let status = wait_complete(&b, &user, &id).await;
    assert_eq!(status["status"], "complete", "{status}");
    assert_eq!(status["total_size"], 50_000);
    let file_id = status["downloaded_file"]["file_id"].to_string();
    let url = b.download_url(&user, &file_id).await;
    let got = b.get_bytes(&url).await;
    assert_eq!(got.as_ref(), vec![7u8; 50_000].as_slice());
}
