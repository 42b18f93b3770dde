//! SPEC.md §1: envelopes, methods, parameter encodings, status codes.

use serde_json::Value;
use upvault_testkit::TestServer;

fn is_datetime(value: &Value) -> bool {
    let s = value.as_str().unwrap_or_default();
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").is_ok()
}

#[tokio::test]
async fn unknown_endpoint_is_404_in_the_error_envelope() {
    let server = TestServer::start().await;
    let response = server
        .client
        .post(server.api("file/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["_status"], "error");
    assert_eq!(body["status"], "error");
    assert!(is_datetime(&body["_datetime"]), "{body}");
    assert!(body["response"].as_str().unwrap().len() > 5);
}

#[tokio::test]
async fn other_methods_are_405_in_the_envelope() {
    let server = TestServer::start().await;
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        let response = server
            .client
            .request(method.clone(), server.api("file/info"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "{method}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["_status"], "error");
    }
}

#[tokio::test]
async fn get_query_urlencoded_multipart_and_json_all_carry_parameters() {
    let server = TestServer::start().await;
    let user = server.user("wire").await;
    let creds = [
        ("access_token", user.token.as_str()),
        ("account_id", user.account_id.as_str()),
    ];

    let get: Value = server
        .client
        .get(server.api("account/info"))
        .query(&creds)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(get["data"]["username"], "wire");

    let form = reqwest::multipart::Form::new()
        .text("access_token", user.token.clone())
        .text("account_id", user.account_id.clone());
    let multipart: Value = server
        .client
        .post(server.api("account/info"))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(multipart["data"]["username"], "wire");

    let json: Value = server
        .client
        .post(server.api("account/info"))
        .json(&serde_json::json!({"access_token": user.token, "account_id": user.account_id.parse::<i64>().unwrap()}))
        .send().await.unwrap().json().await.unwrap();
    assert_eq!(json["data"]["username"], "wire");

    let mixed: Value = server
        .client
        .post(format!(
            "{}?access_token={}",
            server.api("account/info"),
            user.token
        ))
        .form(&[("account_id", user.account_id.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mixed["data"]["username"], "wire");
}

#[tokio::test]
async fn documented_errors_are_200_by_default_and_coded_when_configured() {
    let plain = TestServer::start().await;
    let (status, body) = plain.post_raw("file/info", &[]).await;
    assert_eq!(
        (status, body["response"].as_str().unwrap()),
        (200, "Please provide the access_token param.")
    );

    let coded = TestServer::start_with(|c| c.api.http_error_codes = true).await;
    let user = coded.user("coded").await;
    let (status, _) = coded.post_raw("file/info", &[]).await;
    assert_eq!(status, 400);
    let forged = "x".repeat(128);
    let (status, _) = coded
        .post_raw(
            "file/info",
            &[("access_token", &forged), ("account_id", "1")],
        )
        .await;
    assert_eq!(status, 401);
    let (status, body) = coded
        .post_raw(
            "file/info",
            &[
                ("access_token", &user.token),
                ("account_id", &user.account_id),
                ("file_id", "999"),
            ],
        )
        .await;
    assert_eq!(
        (status, body["response"].as_str().unwrap()),
        (404, "Could not find file based on file_id.")
    );
    let (status, _) = coded
        .post_raw("authorize", &[("username", "coded"), ("password", "wrong")])
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn oversized_form_bodies_are_refused_with_a_clear_error() {
    let server = TestServer::start().await;
    let big = "x".repeat(2 * 1024 * 1024);
    let (status, body) = server
        .post_raw("account/info", &[("junk", big.as_str())])
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["_status"], "error");
    assert!(
        body["response"].as_str().unwrap().contains("larger than"),
        "{body}"
    );
}
