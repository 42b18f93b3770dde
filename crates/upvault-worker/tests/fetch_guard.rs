//! The outbound-fetch guard against a real server on 127.0.0.1.

use axum::extract::{Path, Query};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use upvault_worker::ssrf::{redirect_policy, PublicOnlyResolver};
use upvault_worker::{build_client, guarded_get, FetchConfig, FetchError, Refusal};
use url::Url;

fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to.to_owned())]).into_response()
}

/// `/x` answers; `/r/{n}` takes `n` redirects to reach `/x`; `/to?u=` redirects to `u`.
async fn serve() -> u16 {
    let app = Router::new()
        .route("/", get(|| async { "root" }))
        .route("/x", get(|| async { "hello" }))
        .route(
            "/r/{n}",
            get(|Path(n): Path<u32>| async move {
                if n <= 1 {
                    redirect("/x")
                } else {
                    redirect(&format!("/r/{}", n - 1))
                }
            }),
        )
        .route(
            "/to",
            get(|Query(q): Query<HashMap<String, String>>| async move {
                redirect(q.get("u").map(String::as_str).unwrap_or("/x"))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

fn config(allow_private: bool) -> FetchConfig {
    FetchConfig {
        allow_private_addresses: allow_private,
        connect_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(5),
        user_agent: "upvault-test".to_owned(),
    }
}

async fn fetch(allow_private: bool, url: &str) -> Result<String, FetchError> {
    let client = build_client(&config(allow_private)).expect("client");
    let url = Url::parse(url).expect(url);
    let response = guarded_get(&client, &url, allow_private).await?;
    assert!(response.status().is_success(), "{}", response.status());
    Ok(response.text().await.expect("body"))
}

fn refusal(result: Result<String, FetchError>) -> Option<Refusal> {
    match result {
        Err(FetchError::Refused(refusal)) => Some(refusal),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn loopback_literals_are_refused() {
    let port = serve().await;
    for url in [
        format!("http://127.0.0.1:{port}/x"),
        format!("http://[::1]:{port}/x"),
        format!("http://[::ffff:127.0.0.1]:{port}/x"),
        format!("http://2130706433:{port}/"),
        format!("http://0x7f.1:{port}/"),
        format!("http://0177.0.0.1:{port}/"),
    ] {
        assert_eq!(
            refusal(fetch(false, &url).await),
            Some(Refusal::NonPublicAddress),
            "{url}"
        );
    }
    // The same server is reachable when private addresses are allowed.
    assert_eq!(
        fetch(true, &format!("http://127.0.0.1:{port}/x"))
            .await
            .expect("allowed"),
        "hello"
    );
    assert_eq!(
        fetch(true, &format!("http://2130706433:{port}/"))
            .await
            .expect("allowed"),
        "root"
    );
}

#[tokio::test]
async fn host_names_resolving_to_loopback_are_refused_by_the_resolver() {
    let port = serve().await;
    let url = format!("http://localhost:{port}/x");
    assert_eq!(
        refusal(fetch(false, &url).await),
        Some(Refusal::NonPublicAddress)
    );
    assert_eq!(
        FetchError::Refused(Refusal::NonPublicAddress).user_message(),
        "The URL points to a non-public address."
    );
    assert_eq!(fetch(true, &url).await.expect("allowed"), "hello");
}

#[tokio::test]
async fn follows_five_redirects_and_refuses_the_sixth() {
    let port = serve().await;
    assert_eq!(
        fetch(true, &format!("http://127.0.0.1:{port}/r/5"))
            .await
            .expect("5 redirects"),
        "hello"
    );
    assert_eq!(
        refusal(fetch(true, &format!("http://127.0.0.1:{port}/r/6")).await),
        Some(Refusal::TooManyRedirects)
    );
}

#[tokio::test]
async fn redirects_to_other_schemes_are_refused() {
    let port = serve().await;
    for target in [
        "file:///etc/passwd",
        "ftp://127.0.0.1/x",
        "gopher://127.0.0.1/",
    ] {
        let url = format!("http://127.0.0.1:{port}/to?u={target}");
        assert_eq!(
            refusal(fetch(true, &url).await),
            Some(Refusal::UnsupportedScheme),
            "{target}"
        );
    }
}

/// The redirect policy refuses a hop to a non-public IP literal, which no resolver sees. The
/// first hop goes through a permissive resolver, standing in for a public host.
#[tokio::test]
async fn redirect_to_a_private_literal_is_refused() {
    let port = serve().await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .dns_resolver(Arc::new(PublicOnlyResolver {
            allow_private: true,
        }))
        .redirect(redirect_policy(false))
        .build()
        .expect("client");
    for target in [
        format!("http://127.0.0.1:{port}/x"),
        format!("http://2130706433:{port}/x"),
        format!("http://[::1]:{port}/x"),
    ] {
        let url = format!("http://localhost:{port}/to?u={target}");
        let err = client.get(&url).send().await.expect_err(&target);
        assert_eq!(
            upvault_worker::ssrf::refusal_of(&err),
            Some(Refusal::NonPublicAddress),
            "{target}"
        );
    }
    // A hop to a host name is left to the resolver, which here allows it.
    let url = format!("http://localhost:{port}/to?u=http://localhost:{port}/x");
    let body = client
        .get(&url)
        .send()
        .await
        .expect("redirect to a name")
        .text()
        .await
        .expect("body");
    assert_eq!(body, "hello");
}
