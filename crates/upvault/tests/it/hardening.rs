//! Issue 6, hardening: rate limits (429 + `Retry-After`, per address and per token, in process
//! and in the database), `X-Forwarded-For` only from trusted proxies, header limits, slowloris
//! and stalled bodies, malformed requests. Time-based limits run on a `ManualClock`; connection
//! timeouts are set to one second.

use chrono::{DateTime, Utc};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use upvault::Config;
use upvault_core::clock::ManualClock;
use upvault_proto::messages;
use upvault_testkit::{TestServer, TestUser};

/// A clock stopped at the start of a minute (the database counts aligned minutes).
fn minute_clock() -> Arc<ManualClock> {
    let now = Utc::now().timestamp();
    let start = DateTime::from_timestamp(now - now % 60, 0).unwrap();
    Arc::new(ManualClock::new(start))
}

/// Limits far from every test's traffic except the ones a test tightens.
fn generous(config: &mut Config) {
    let limits = &mut config.rate_limit;
    limits.enabled = true;
    limits.api_per_ip_per_minute = 10_000;
    limits.api_per_token_per_minute = 10_000;
    limits.pages_per_ip_per_minute = 10_000;
    limits.burst = 100;
}

/// POSTs `params` to an API endpoint, with extra headers; returns status, `Retry-After` and JSON.
async fn api(
    server: &TestServer,
    endpoint: &str,
    params: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> (u16, Option<u64>, Value) {
    let mut request = server.client.post(server.api(endpoint)).form(params);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
    let body = response.text().await.unwrap();
    let json =
        serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON ({status}): {body}"));
    (status, retry_after, json)
}

/// An unauthenticated API call (answered with a documented error, and counted).
async fn anonymous(server: &TestServer, headers: &[(&str, &str)]) -> (u16, Option<u64>, Value) {
    api(server, "file/info", &[("file_id", "1")], headers).await
}

/// An authenticated API call.
async fn as_user(server: &TestServer, user: &TestUser) -> (u16, Option<u64>, Value) {
    let params = [
        ("access_token", user.token.as_str()),
        ("account_id", user.account_id.as_str()),
    ];
    api(server, "account/info", &params, &[]).await
}

/// Asserts the documented 429: status, `Retry-After`, the error envelope. Returns the wait.
fn assert_rate_limited(answer: &(u16, Option<u64>, Value)) -> u64 {
    let (status, retry_after, json) = answer;
    assert_eq!(*status, 429, "{json}");
    assert_eq!(json["_status"], "error", "{json}");
    assert_eq!(json["status"], "error", "{json}");
    assert_eq!(json["response"], messages::RATE_LIMITED, "{json}");
    assert!(json["_datetime"].is_string(), "{json}");
    let secs = retry_after.expect("a 429 carries Retry-After");
    assert!(secs >= 1, "Retry-After {secs}");
    secs
}

fn advance(clock: &ManualClock, secs: u64) {
    clock.advance(chrono::Duration::seconds(i64::try_from(secs).unwrap()));
}

/// The API per address: three requests, then 429; after `Retry-After` one more; pages and
/// other addresses are untouched. Run on the counters `store` names.
async fn api_limit_per_address(store: &str) {
    let clock = minute_clock();
    let server = TestServer::start_with_clock_and(clock.clone(), |c| {
        generous(c);
        c.rate_limit.api_per_ip_per_minute = 3;
        c.rate_limit.store = store.into();
    })
    .await;
    for n in 0..3 {
        let (status, _, json) = anonymous(&server, &[]).await;
        assert_eq!(status, 200, "request {n}: {json}");
        assert_eq!(json["_status"], "error", "{json}");
    }
    let wait = assert_rate_limited(&anonymous(&server, &[]).await);
    // The pages count separately.
    let page = server.client.get(&server.url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    // Not before the time it names…
    advance(&clock, wait - 1);
    assert_rate_limited(&anonymous(&server, &[]).await);
    // …and from then on, without a long sleep: the limiter reads the server's clock.
    advance(&clock, 2 * wait + 1);
    let (status, _, json) = anonymous(&server, &[]).await;
    assert_eq!(status, 200, "recovered after Retry-After: {json}");
}

#[tokio::test]
async fn api_rate_limit_per_address_answers_429_with_retry_after_and_recovers() {
    api_limit_per_address("memory").await;
}

/// The database's counters (what several instances share; PostgreSQL when
/// `UPVAULT_TEST_DATABASE_URL` is set, else SQLite).
#[tokio::test]
async fn database_rate_limit_per_address_answers_429_with_retry_after_and_recovers() {
    api_limit_per_address("database").await;
}

/// Two instances on one database share the database's counters: the allowance is per site,
/// not per instance.
#[tokio::test]
async fn instances_on_one_database_share_the_rate_counters() {
    let clock = minute_clock();
    let adjust = |c: &mut Config| {
        generous(c);
        c.rate_limit.api_per_ip_per_minute = 4;
        c.rate_limit.store = "database".into();
    };
    let first = TestServer::start_with_clock_and(clock.clone(), adjust).await;
    let second = first.start_beside(adjust).await;
    for server in [&first, &second, &first, &second] {
        assert_eq!(anonymous(server, &[]).await.0, 200);
    }
    assert_rate_limited(&anonymous(&second, &[]).await);
}

#[tokio::test]
async fn api_rate_limit_per_token_is_independent_of_the_address() {
    for store in ["memory", "database"] {
        let clock = minute_clock();
        let server = TestServer::start_with_clock_and(clock.clone(), |c| {
            generous(c);
            c.rate_limit.api_per_token_per_minute = 3;
            c.rate_limit.store = store.into();
        })
        .await;
        let alice = server.user("alice").await;
        let bob = server.user("bob").await;
        for _ in 0..3 {
            let (status, _, json) = as_user(&server, &alice).await;
            assert_eq!((status, json["_status"].as_str()), (200, Some("success")));
        }
        let wait = assert_rate_limited(&as_user(&server, &alice).await);
        // Same address, another token: served.
        let (_, _, json) = as_user(&server, &bob).await;
        assert_eq!(json["_status"], "success", "{store}: {json}");
        // A refused token cannot even be revoked (every API request with it counts).
        let params = [
            ("access_token", alice.token.as_str()),
            ("account_id", alice.account_id.as_str()),
        ];
        assert_rate_limited(&api(&server, "disable_access_token", &params, &[]).await);
        advance(&clock, 2 * wait + 1);
        let (_, _, json) = as_user(&server, &alice).await;
        assert_eq!(json["_status"], "success", "{store}: recovered: {json}");
    }
}

#[tokio::test]
async fn pages_over_the_limit_get_a_429_page_and_stylesheets_are_free() {
    let clock = minute_clock();
    let server = TestServer::start_with_clock_and(clock.clone(), |c| {
        generous(c);
        c.rate_limit.pages_per_ip_per_minute = 3;
    })
    .await;
    for _ in 0..3 {
        let page = server.client.get(&server.url).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let css = server
            .client
            .get(format!("{}/static/style.css", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(css.status(), 200);
    }
    // A file page (a short URL that does not exist) counts like any page.
    let refused = server
        .client
        .get(format!("{}/AbCdEfGh", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(refused.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(refused.headers().contains_key("content-security-policy"));
    let html = refused.text().await.unwrap();
    assert!(html.contains("Too many requests"), "{html}");
    // The API counts apart.
    assert_eq!(anonymous(&server, &[]).await.0, 200);
    advance(&clock, wait);
    let page = server.client.get(&server.url).send().await.unwrap();
    assert_eq!(page.status(), 200);
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_trusted_proxies() {
    // Behind a trusted proxy: each forwarded client has its own allowance.
    let clock = minute_clock();
    let proxied = TestServer::start_with_clock_and(clock.clone(), |c| {
        generous(c);
        c.rate_limit.api_per_ip_per_minute = 2;
        c.http.trusted_proxies = vec!["127.0.0.1/32".into(), "10.0.0.0/8".into()];
    })
    .await;
    let client_a = [("x-forwarded-for", "203.0.113.1")];
    // The client forged the left-most entry; the right-most untrusted one is the real client.
    let client_b = [("x-forwarded-for", "203.0.113.1, 198.51.100.2, 10.0.0.7")];
    for _ in 0..2 {
        assert_eq!(anonymous(&proxied, &client_a).await.0, 200);
    }
    assert_rate_limited(&anonymous(&proxied, &client_a).await);
    assert_eq!(anonymous(&proxied, &client_b).await.0, 200);
    // Login records the forwarded client.
    proxied
        .services
        .accounts
        .create_user(
            "carol",
            upvault_testkit::PASSWORD,
            "",
            None,
            upvault_core::model::Role::User,
        )
        .await
        .unwrap();
    let (_, _, login) = api(
        &proxied,
        "authorize",
        &[
            ("username", "carol"),
            ("password", upvault_testkit::PASSWORD),
        ],
        &client_b,
    )
    .await;
    assert_eq!(login["_status"], "success", "{login}");
    let token = login["data"]["access_token"].as_str().unwrap();
    let account = login["data"]["account_id"].as_str().unwrap();
    let (_, _, info) = api(
        &proxied,
        "account/info",
        &[("access_token", token), ("account_id", account)],
        &[("x-forwarded-for", "192.0.2.50")],
    )
    .await;
    assert_eq!(info["data"]["lastloginip"], "198.51.100.2", "{info}");

    // Not behind a trusted proxy: the header is ignored, so it cannot buy a fresh allowance.
    let direct = TestServer::start_with_clock_and(clock.clone(), |c| {
        generous(c);
        c.rate_limit.api_per_ip_per_minute = 2;
    })
    .await;
    for n in 0..2 {
        let forged = format!("192.0.2.{n}");
        assert_eq!(
            anonymous(&direct, &[("x-forwarded-for", &forged)]).await.0,
            200
        );
    }
    assert_rate_limited(&anonymous(&direct, &[("x-forwarded-for", "192.0.2.99")]).await);
}

/// The server's address as `host:port`.
fn address(server: &TestServer) -> String {
    server.url.trim_start_matches("http://").to_owned()
}

/// Sends `request` on a new connection and reads until the server closes it (or 10 s).
async fn raw(server: &TestServer, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(address(server)).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// The status code of a raw response.
fn status_of(response: &str) -> u16 {
    response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"))
}

/// A normal request, to show the server is up.
async fn still_serving(server: &TestServer) {
    let (status, _, json) = anonymous(server, &[]).await;
    assert_eq!(status, 200, "{json}");
}

#[tokio::test]
async fn oversized_headers_are_refused_with_431_and_the_server_stays_up() {
    let server = TestServer::start_with(|c| {
        c.http.max_header_bytes = 16 * 1024;
        c.http.max_headers = 50;
    })
    .await;
    let big = "a".repeat(32 * 1024);
    let response = raw(
        &server,
        format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n").as_bytes(),
    )
    .await;
    assert_eq!(status_of(&response), 431, "{response}");
    let many: String = (0..80).map(|n| format!("X-H{n}: v\r\n")).collect();
    let response = raw(
        &server,
        format!("GET / HTTP/1.1\r\nHost: x\r\n{many}\r\n").as_bytes(),
    )
    .await;
    assert_eq!(status_of(&response), 431, "{response}");
    // Within the limits, through reqwest: fine.
    let ok = server
        .client
        .get(&server.url)
        .header("x-fine", "a".repeat(4 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    still_serving(&server).await;
}

#[tokio::test]
async fn the_default_limit_is_100_header_fields() {
    let server = TestServer::start().await;
    // Host and Connection plus `extra` fields, on a connection closed after the answer.
    let request = |extra: usize| {
        let fields: String = (0..extra).map(|n| format!("X-H{n}: v\r\n")).collect();
        format!("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{fields}\r\n")
    };
    // 100 fields: within the limit; 101: over it.
    let response = raw(&server, request(98).as_bytes()).await;
    assert_eq!(status_of(&response), 200, "{response}");
    let response = raw(&server, request(99).as_bytes()).await;
    assert_eq!(status_of(&response), 431, "{response}");
    still_serving(&server).await;
}

fn quick_timeouts(config: &mut Config) {
    config.http.header_read_timeout_secs = 1;
    config.http.idle_timeout_secs = 1;
}

#[tokio::test]
async fn slowloris_half_a_header_line_is_disconnected_while_others_are_served() {
    let server = TestServer::start_with(quick_timeouts).await;
    let mut slow = TcpStream::connect(address(&server)).await.unwrap();
    let started = Instant::now();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaa")
        .await
        .unwrap();
    // Meanwhile, another connection is served.
    still_serving(&server).await;
    let mut out = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut out)).await;
    let elapsed = started.elapsed();
    assert!(
        closed.is_ok(),
        "the slow connection is still open after 10 s"
    );
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(5),
        "closed after {elapsed:?}"
    );
    // An idle kept-alive connection is closed too.
    let mut idle = TcpStream::connect(address(&server)).await.unwrap();
    idle.write_all(b"GET /static/style.css HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let rest =
        tokio::time::timeout(Duration::from_secs(10), idle.read_to_end(&mut Vec::new())).await;
    assert!(rest.is_ok(), "an idle kept-alive connection stays open");
    still_serving(&server).await;
}

/// The head of a multipart upload with credentials first, then a file part whose bytes follow.
fn upload_head(user: &TestUser, declared_len: usize) -> (Vec<u8>, String) {
    let boundary = "XhardeningX";
    let mut body = String::new();
    for (name, value) in [
        ("access_token", user.token.as_str()),
        ("account_id", user.account_id.as_str()),
    ] {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"upload_file\"; \
         filename=\"slow.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    ));
    let tail = format!("\r\n--{boundary}--\r\n");
    let length = body.len() + declared_len + tail.len();
    let head = format!(
        "POST /api/v2/file/upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; \
         boundary={boundary}\r\nContent-Length: {length}\r\n\r\n{body}"
    );
    (head.into_bytes(), tail)
}

#[tokio::test]
async fn a_client_gone_between_two_files_leaves_nothing_behind() {
    let server = TestServer::start().await;
    let user = server.user("gone").await;
    let (head, _) = upload_head(&user, 10 * 1024 * 1024);
    let mut client = TcpStream::connect(address(&server)).await.unwrap();
    client.write_all(&head).await.unwrap();
    // A whole first file, then the start of a second one.
    client.write_all(&[1u8; 100 * 1024]).await.unwrap();
    client
        .write_all(
            b"\r\n--XhardeningX\r\nContent-Disposition: form-data; name=\"upload_file\"; \
              filename=\"two.bin\"\r\n\r\n",
        )
        .await
        .unwrap();
    client.write_all(&[2u8; 64 * 1024]).await.unwrap();
    for _ in 0..200 {
        if !server.temp_objects().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(client);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.temp_objects().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        server.temp_objects().is_empty(),
        "{:?}",
        server.temp_objects()
    );
    // Neither file was committed: the request never ended.
    let listing = server.ok(&user, "folder/listing", &[]).await;
    assert_eq!(
        listing["files"].as_array().map(Vec::len),
        Some(0),
        "{listing}"
    );
}

#[tokio::test]
async fn an_upload_that_stalls_mid_body_is_cut_off_and_leaves_no_temporary_object() {
    let server = TestServer::start_with(quick_timeouts).await;
    let user = server.user("stall").await;
    let (head, _) = upload_head(&user, 1024 * 1024);
    let mut slow = TcpStream::connect(address(&server)).await.unwrap();
    slow.write_all(&head).await.unwrap();
    slow.write_all(&vec![7u8; 64 * 1024]).await.unwrap();
    let started = Instant::now();
    // Meanwhile, others are served.
    still_serving(&server).await;
    let mut out = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut out)).await;
    assert!(
        closed.is_ok(),
        "the stalled upload is still open after 10 s"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let response = String::from_utf8_lossy(&out);
    assert_eq!(status_of(&response), 408, "{response}");
    assert!(response.contains("The request body stalled"), "{response}");
    assert!(
        server.temp_objects().is_empty(),
        "{:?}",
        server.temp_objects()
    );
    let listing = server
        .ok(&user, "folder/listing", &[("parent_folder_id", "0")])
        .await;
    assert_eq!(
        listing["files"].as_array().map_or(0, Vec::len),
        0,
        "{listing}"
    );
    still_serving(&server).await;
}

#[tokio::test]
async fn a_slow_upload_that_keeps_moving_is_not_cut_off() {
    // No total-time limit: 2.5 s of trickling through a 1 s idle timeout.
    let server = TestServer::start_with(quick_timeouts).await;
    let user = server.user("trickle").await;
    let chunk = vec![5u8; 1000];
    let chunks = 10;
    let (head, tail) = upload_head(&user, chunk.len() * chunks);
    let mut stream = TcpStream::connect(address(&server)).await.unwrap();
    stream.write_all(&head).await.unwrap();
    for _ in 0..chunks {
        tokio::time::sleep(Duration::from_millis(250)).await;
        stream.write_all(&chunk).await.unwrap();
    }
    stream.write_all(tail.as_bytes()).await.unwrap();
    let mut out = vec![0u8; 64 * 1024];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut out))
        .await
        .unwrap()
        .unwrap();
    let response = String::from_utf8_lossy(&out[..n]);
    assert_eq!(status_of(&response), 200, "{response}");
    assert!(response.contains("\"_status\":\"success\""), "{response}");
}

#[tokio::test]
async fn malformed_requests_get_clear_errors_and_the_server_stays_up() {
    let server = TestServer::start_with(quick_timeouts).await;
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("garbage request line", b"HELLO\r\n\r\n".to_vec(), 400, ""),
        (
            "header without a colon",
            b"GET / HTTP/1.1\r\nHost: x\r\nbroken header\r\n\r\n".to_vec(),
            400,
            "",
        ),
        (
            "two content lengths",
            b"POST /api/v2/file/info HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab".to_vec(),
            400,
            "",
        ),
        (
            "bad chunked body",
            b"POST /api/v2/file/info HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nxx\r\n0\r\n\r\n".to_vec(),
            200,
            messages::BAD_REQUEST_BODY,
        ),
        (
            "multipart without a boundary",
            b"POST /api/v2/file/info HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc".to_vec(),
            200,
            messages::BAD_REQUEST_BODY,
        ),
        (
            "broken multipart",
            b"POST /api/v2/file/upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=zz\r\nContent-Length: 9\r\nConnection: close\r\n\r\n--zz\r\nbad".to_vec(),
            200,
            messages::BAD_REQUEST_BODY,
        ),
        (
            "invalid JSON",
            b"POST /api/v2/file/info HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{nope".to_vec(),
            200,
            messages::BAD_REQUEST_BODY,
        ),
        (
            "body shorter than its length",
            b"POST /api/v2/file/info HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nshort".to_vec(),
            408,
            "The request body stalled",
        ),
    ];
    for (name, request, status, text) in cases {
        let response = raw(&server, &request).await;
        assert_eq!(status_of(&response), status, "{name}: {response}");
        assert!(response.contains(text), "{name}: {response}");
        still_serving(&server).await;
    }
}
