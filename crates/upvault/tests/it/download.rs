//! download_url: streaming, Range (suffix included), HEAD, validators, disposition, tokens bound
//! to one file, trashed files gone, downloads counted once.

use crate::md5_hex;
use reqwest::header;
use upvault_testkit::{random_bytes, TestServer};

#[tokio::test]
async fn ranges_head_and_validators() {
    let server = TestServer::start().await;
    let user = server.user("dl").await;
    let body = random_bytes(3 * 1024 * 1024 + 11, 7);
    let item = server
        .upload_ok(&user, "résumé 🦀 \"v2\".pdf", body.clone())
        .await;
    let url = server
        .download_url(&user, item["file_id"].as_str().unwrap())
        .await;
    assert!(url.starts_with(&format!(
        "{}/{}?download_token=",
        server.url,
        item["short_url"].as_str().unwrap()
    )));
    assert_eq!(url.rsplit('=').next().unwrap().len(), 64);

    let full = server.client.get(&url).send().await.unwrap();
    assert_eq!(full.status(), 200);
    let headers = full.headers().clone();
    assert_eq!(
        headers[header::CONTENT_LENGTH],
        body.len().to_string().as_str()
    );
    assert_eq!(headers[header::ACCEPT_RANGES], "bytes");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let disposition = headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\""),
        "{disposition}"
    );
    assert!(
        disposition.contains("filename*=UTF-8''r%C3%A9sum%C3%A9%20%F0%9F%A6%80%20%22v2%22.pdf"),
        "{disposition}"
    );
    let etag = headers[header::ETAG].to_str().unwrap().to_owned();
    assert!(headers.contains_key(header::LAST_MODIFIED));
    assert_eq!(md5_hex(&full.bytes().await.unwrap()), md5_hex(&body));

    let cases = [
        ("bytes=0-9", 0, 9),
        ("bytes=100-", 100, body.len() - 1),
        ("bytes=-500", body.len() - 500, body.len() - 1),
        ("bytes=1048576-2097151", 1048576, 2097151),
    ];
    for (range, start, end) in cases {
        let response = server
            .client
            .get(&url)
            .header(header::RANGE, range)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 206, "{range}");
        assert_eq!(
            response.headers()[header::CONTENT_RANGE],
            format!("bytes {start}-{end}/{}", body.len()).as_str()
        );
        assert_eq!(
            response.bytes().await.unwrap().as_ref(),
            &body[start..=end],
            "{range}"
        );
    }
    let beyond = server
        .client
        .get(&url)
        .header(header::RANGE, format!("bytes={}-", body.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.status(), 416);
    assert_eq!(
        beyond.headers()[header::CONTENT_RANGE],
        format!("bytes */{}", body.len()).as_str()
    );

    let head = server.client.head(&url).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.headers()[header::CONTENT_LENGTH],
        body.len().to_string().as_str()
    );
    assert!(head.bytes().await.unwrap().is_empty());

    let cached = server
        .client
        .get(&url)
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);
    let stale = server
        .client
        .get(&url)
        .header(header::RANGE, "bytes=0-0")
        .header(header::IF_RANGE, "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 200);
}

#[tokio::test]
async fn tokens_are_bound_to_their_file_and_die_with_it() {
    let server = TestServer::start().await;
    let user = server.user("tok").await;
    let a = server.upload_ok(&user, "a.txt", b"aaa".to_vec()).await;
    let b = server.upload_ok(&user, "b.txt", b"bbb".to_vec()).await;
    let url_a = server
        .download_url(&user, a["file_id"].as_str().unwrap())
        .await;
    let token_a = url_a.rsplit('=').next().unwrap();
    let wrong_file = format!(
        "{}/{}?download_token={token_a}",
        server.url,
        b["short_url"].as_str().unwrap()
    );
    assert_eq!(
        server
            .client
            .get(&wrong_file)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let bogus = format!(
        "{}/{}?download_token={}",
        server.url,
        a["short_url"].as_str().unwrap(),
        "0".repeat(64)
    );
    assert_eq!(
        server.client.get(&bogus).send().await.unwrap().status(),
        404
    );

    let by_short = server
        .ok(
            &user,
            "file/download",
            &[("short_url", b["short_url"].as_str().unwrap())],
        )
        .await;
    assert_eq!(by_short["file_id"], b["file_id"]);
    assert_eq!(by_short["filename"], "b.txt");
    let got = server
        .client
        .get(by_short["download_url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.as_ref(), b"bbb");

    server
        .ok(
            &user,
            "file/delete",
            &[("file_id", a["file_id"].as_str().unwrap())],
        )
        .await;
    assert_eq!(
        server.client.get(&url_a).send().await.unwrap().status(),
        404
    );
}

#[tokio::test]
async fn a_download_counts_once_not_per_range() {
    let server = TestServer::start().await;
    let user = server.user("count").await;
    let item = server
        .upload_ok(&user, "c.bin", random_bytes(100_000, 3))
        .await;
    let id = item["file_id"].as_str().unwrap();
    let url = server.download_url(&user, id).await;
    server.get_bytes(&url).await;
    server
        .client
        .get(&url)
        .header(header::RANGE, "bytes=50000-")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    server.client.head(&url).send().await.unwrap();
    let mut downloads = String::new();
    for _ in 0..50 {
        downloads = server.ok(&user, "file/info", &[("file_id", id)]).await["downloads"]
            .as_str()
            .unwrap()
            .to_owned();
        if downloads == "1" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(downloads, "1");
    // Give a stray second count the chance to show up before asserting it did not.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        server.ok(&user, "file/info", &[("file_id", id)]).await["downloads"],
        "1"
    );
}
