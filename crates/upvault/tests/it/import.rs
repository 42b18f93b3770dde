//! /file/url_upload_add and /file/url_upload_status: background imports from a local origin,
//! the SSRF guard, the package's limits, and jobs surviving a restart.

use crate::md5_hex;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use base64::Engine;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use upvault_core::PackageId;
use upvault_testkit::{random_bytes, Origin, TestServer, TestUser};

fn b64(url: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(url)
}

async fn wait_done(server: &TestServer, user: &TestUser, id: &str) -> Value {
    for _ in 0..300 {
        let status = server
            .ok(user, "file/url_upload_status", &[("scheduled_item_id", id)])
            .await;
        if status["status"] == "complete" || status["status"] == "failed" {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("import {id} did not finish");
}

fn origin_with(body: Vec<u8>) -> Router {
    let body = Arc::new(body);
    Router::new()
        .route(
            "/files/report%20final.pdf",
            get({
                let body = body.clone();
                move || async move { body.as_ref().clone() }
            }),
        )
        .route(
            "/redirect",
            get(|| async { axum::response::Redirect::temporary("/files/report%20final.pdf") }),
        )
        .route(
            "/missing",
            get(|| async { (axum::http::StatusCode::NOT_FOUND, "no").into_response() }),
        )
}

#[tokio::test]
async fn imports_a_url_in_the_background() {
    let body = random_bytes(2 * 1024 * 1024 + 5, 11);
    let origin = Origin::start(origin_with(body.clone())).await;
    let server = TestServer::start_with(|c| c.remote_upload.allow_private_addresses = true).await;
    let user = server.user("imp").await;
    let folder = server
        .ok(&user, "folder/create", &[("folder_name", "Imports")])
        .await;
    let url = format!("{}/redirect", origin.url);
    let answer = server
        .call(
            &user,
            "file/url_upload_add",
            &[
                ("file_url_base64", &b64(&url)),
                ("folder_id", folder["id"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(
        answer["response"], "File download from URL scheduled",
        "{answer}"
    );
    assert_eq!(answer["data"]["url"], url);
    let id = answer["data"]["scheduled_item_id"]
        .as_i64()
        .expect("scheduled_item_id is a number");

    let status = wait_done(&server, &user, &id.to_string()).await;
    assert_eq!(status["status"], "complete", "{status}");
    assert_eq!(status["scheduled_item_id"], id);
    assert_eq!(status["total_size"], body.len() as i64);
    assert!(
        status["created"].is_string()
            && status["started"].is_string()
            && status["finished"].is_string()
    );
    let file = &status["downloaded_file"];
    assert_eq!(file["name"], "report final.pdf");
    assert_eq!(file["size"], body.len() as i64);
    let file_id = file["file_id"]
        .as_i64()
        .expect("file_id is a number")
        .to_string();
    assert!(file["url"]
        .as_str()
        .unwrap()
        .ends_with("/report%20final.pdf"));

    let info = server
        .ok(&user, "file/info", &[("file_id", &file_id)])
        .await;
    assert_eq!(info["folderId"], folder["id"]);
    assert_eq!(info["uploadSource"], "remote");
    let download = server.download_url(&user, &file_id).await;
    let got = server.get_bytes(&download).await;
    assert_eq!(md5_hex(&got), md5_hex(&body));

    let failed = server
        .ok(
            &user,
            "file/url_upload_add",
            &[("file_url_base64", &b64(&format!("{}/missing", origin.url)))],
        )
        .await;
    let failed = wait_done(&server, &user, &failed["scheduled_item_id"].to_string()).await;
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["error"].as_str().unwrap().contains("404"),
        "{failed}"
    );
}

#[tokio::test]
async fn private_addresses_are_refused_by_default() {
    let origin = Origin::start(origin_with(b"secret".to_vec())).await;
    let server = TestServer::start().await;
    let user = server.user("ssrf").await;
    let port = origin.url.rsplit(':').next().unwrap();
    for url in [
        format!("{}/files/report%20final.pdf", origin.url),
        format!("http://localhost:{port}/files/report%20final.pdf"),
        format!("http://[::1]:{port}/files/report%20final.pdf"),
        format!("http://2130706433:{port}/files/report%20final.pdf"),
        format!("http://[::ffff:127.0.0.1]:{port}/files/report%20final.pdf"),
    ] {
        let job = server
            .ok(
                &user,
                "file/url_upload_add",
                &[("file_url_base64", &b64(&url))],
            )
            .await;
        let status = wait_done(&server, &user, &job["scheduled_item_id"].to_string()).await;
        assert_eq!(status["status"], "failed", "{url}: {status}");
        assert!(status.get("downloaded_file").is_none());
    }
    assert_eq!(
        server.ok(&user, "folder/listing", &[]).await["files"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test]
async fn bad_urls_and_limits_are_refused_up_front() {
    let server = TestServer::start().await;
    server
        .services
        .accounts
        .set_package_field(PackageId(2), "max_remote_download_urls", "1")
        .await
        .unwrap();
    let user = server.user("lim").await;
    let other = server.user("other").await;
    let bad = server
        .call(
            &user,
            "file/url_upload_add",
            &[("file_url_base64", "%%%not-base64")],
        )
        .await;
    assert_eq!(
        bad["response"],
        "Could not parse the file_url_base64 parameter. Ensure it's base64 encoded."
    );
    for scheme in [
        "file:///etc/passwd",
        "ftp://example.com/x",
        "gopher://example.com/",
    ] {
        let refused = server
            .call(
                &user,
                "file/url_upload_add",
                &[("file_url_base64", &b64(scheme))],
            )
            .await;
        assert_eq!(refused["_status"], "error", "{scheme}");
    }
    // One pending job is allowed; the second is refused while the first waits. The first
    // points at a blackhole port so it stays pending or fails, whichever comes first.
    let first = server
        .call(
            &user,
            "file/url_upload_add",
            &[("file_url_base64", &b64("http://192.0.2.1/slow"))],
        )
        .await;
    assert_eq!(first["_status"], "success");
    let status = server
        .ok(
            &user,
            "file/url_upload_status",
            &[(
                "scheduled_item_id",
                &first["data"]["scheduled_item_id"].to_string(),
            )],
        )
        .await;
    if status["status"] == "pending" || status["status"] == "downloading" {
        let second = server
            .call(
                &user,
                "file/url_upload_add",
                &[("file_url_base64", &b64("http://192.0.2.1/again"))],
            )
            .await;
        assert!(
            second["response"]
                .as_str()
                .unwrap()
                .contains("max_remote_download_urls"),
            "{second}"
        );
    }
    let foreign = server
        .call(
            &other,
            "file/url_upload_status",
            &[(
                "scheduled_item_id",
                &first["data"]["scheduled_item_id"].to_string(),
            )],
        )
        .await;
    assert_eq!(
        foreign["response"],
        "Could not find scheduled item based on scheduled_item_id."
    );
}

#[tokio::test]
async fn the_package_size_limit_applies_to_imports() {
    let origin = Origin::start(origin_with(vec![5u8; 300_000])).await;
    let server = TestServer::start_with(|c| c.remote_upload.allow_private_addresses = true).await;
    server
        .services
        .accounts
        .set_package_field(PackageId(2), "max_upload_size", "100000")
        .await
        .unwrap();
    let user = server.user("big").await;
    let job = server
        .ok(
            &user,
            "file/url_upload_add",
            &[(
                "file_url_base64",
                &b64(&format!("{}/files/report%20final.pdf", origin.url)),
            )],
        )
        .await;
    let status = wait_done(&server, &user, &job["scheduled_item_id"].to_string()).await;
    assert_eq!(status["status"], "failed");
    assert!(
        status["error"]
            .as_str()
            .unwrap()
            .contains("max_upload_size"),
        "{status}"
    );
    assert!(server.temp_objects().is_empty());
}

#[tokio::test]
async fn a_job_in_flight_at_shutdown_is_finished_after_restart() {
    // The origin holds the first request open until the server has stopped.
    let release = Arc::new(tokio::sync::Notify::new());
    let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let router = Router::new().route(
        "/slow.bin",
        get({
            let (release, hits) = (release.clone(), hits.clone());
            move || {
                let (release, hits) = (release.clone(), hits.clone());
                async move {
                    if hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                        release.notified().await;
                    }
                    vec![3u8; 4096]
                }
            }
        }),
    );
    let origin = Origin::start(router).await;
    let server = TestServer::start_with(|c| c.remote_upload.allow_private_addresses = true).await;
    let user = server.user("restart").await;
    let job = server
        .ok(
            &user,
            "file/url_upload_add",
            &[("file_url_base64", &b64(&format!("{}/slow.bin", origin.url)))],
        )
        .await;
    let id = job["scheduled_item_id"].to_string();
    for _ in 0..200 {
        if hits.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let config = server.config.clone();
    let dir = server.stop().await;
    release.notify_waiters();

    let server = TestServer::start_in(dir, |c| {
        c.remote_upload.allow_private_addresses = true;
        c.site_name = config.site_name.clone();
    })
    .await;
    let user = server.login("restart").await;
    let status = wait_done(&server, &user, &id).await;
    assert_eq!(status["status"], "complete", "{status}");
    assert_eq!(status["total_size"], 4096);
}
