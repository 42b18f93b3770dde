//! SPEC.md §2: /authorize, token checks in order, isolation, revocation.

use upvault_testkit::{TestServer, PASSWORD};

const AUTH_FAILED: &str = "Could not authenticate user. The username and password may be invalid or your account may be locked from too many failed logins.";
const INVALID: &str =
    "Could not validate access_token and account_id, please reauthenticate or try again.";

#[tokio::test]
async fn password_login_issues_a_128_character_token_bound_to_the_account() {
    let server = TestServer::start().await;
    let user = server.user("alice").await;
    assert_eq!(user.token.len(), 128);
    assert!(user.token.bytes().all(|b| b.is_ascii_alphanumeric()));
    let info = server.ok(&user, "account/info", &[]).await;
    assert_eq!(info["id"], user.account_id.as_str());
}

#[tokio::test]
async fn key_pair_login_works_and_wrong_halves_fail_alike() {
    let server = TestServer::start().await;
    server.user("keys").await;
    let (key1, key2) = server
        .services
        .accounts
        .create_api_key("keys")
        .await
        .unwrap();
    assert_eq!((key1.len(), key2.len()), (64, 64));
    let ok = server
        .post("authorize", &[("key1", &key1), ("key2", &key2)])
        .await;
    assert_eq!(ok["_status"], "success", "{ok}");
    assert_eq!(ok["data"]["access_token"].as_str().unwrap().len(), 128);
    assert!(ok.get("response").is_none());

    for params in [
        vec![("key1", key1.as_str()), ("key2", "wrong")],
        vec![("key1", "unknown"), ("key2", key2.as_str())],
        vec![("key1", key1.as_str())],
        vec![("username", "keys"), ("password", "wrong-password")],
        vec![("username", "nobody"), ("password", PASSWORD)],
        vec![],
    ] {
        let answer = server.post("authorize", &params).await;
        assert_eq!(answer["_status"], "error", "{params:?}");
        assert_eq!(answer["status"], "error");
        assert_eq!(answer["response"], AUTH_FAILED, "{params:?}");
    }
}

#[tokio::test]
async fn credentials_are_checked_in_the_documented_order() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let forged = "A".repeat(128);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![], "Please provide the access_token param."),
        (
            vec![("account_id", &alice.account_id)],
            "Please provide the access_token param.",
        ),
        (
            vec![("access_token", &alice.token)],
            "Please provide the account_id param.",
        ),
        (
            vec![
                ("access_token", &alice.token),
                ("account_id", &bob.account_id),
            ],
            INVALID,
        ),
        (
            vec![("access_token", &forged), ("account_id", &alice.account_id)],
            INVALID,
        ),
        (
            vec![("access_token", &alice.token), ("account_id", "abc")],
            INVALID,
        ),
    ];
    for endpoint in [
        "account/info",
        "account/package",
        "folder/listing",
        "file/info",
        "disable_access_token",
    ] {
        for (params, message) in &cases {
            let answer = server.post(endpoint, params).await;
            assert_eq!(answer["response"], *message, "{endpoint} {params:?}");
        }
    }
}

#[tokio::test]
async fn several_tokens_live_at_once_and_revocation_is_per_token() {
    let server = TestServer::start().await;
    let first = server.user("multi").await;
    let second = server.login("multi").await;
    assert_ne!(first.token, second.token);
    let revoked = server.call(&first, "disable_access_token", &[]).await;
    assert_eq!(revoked["response"], "Token removed or no longer available.");
    assert_eq!(revoked["_status"], "success");
    assert_eq!(
        server.call(&first, "account/info", &[]).await["response"],
        INVALID
    );
    assert_eq!(
        server.call(&second, "account/info", &[]).await["_status"],
        "success"
    );
}

#[tokio::test]
async fn account_and_package_have_every_documented_field() {
    let server = TestServer::start().await;
    let user = server.user("fields").await;
    let info = server.ok(&user, "account/info", &[]).await;
    for key in [
        "id",
        "username",
        "level_id",
        "email",
        "lastlogindate",
        "lastloginip",
        "status",
        "title",
        "firstname",
        "lastname",
        "languageId",
        "datecreated",
        "lastPayment",
        "paidExpiryDate",
        "storageLimitOverride",
    ] {
        assert!(info.get(key).is_some(), "account/info lacks {key}: {info}");
    }
    assert_eq!(info["status"], "active");
    assert!(info["lastlogindate"].is_string());
    assert_eq!(info["lastloginip"], "127.0.0.1");
    let package = server.ok(&user, "account/package", &[]).await;
    let keys = [
        "id",
        "label",
        "max_upload_size",
        "can_upload",
        "wait_between_downloads",
        "download_speed",
        "max_storage_bytes",
        "show_site_adverts",
        "show_upgrade_screen",
        "days_to_keep_inactive_files",
        "concurrent_uploads",
        "concurrent_downloads",
        "downloads_per_24_hours",
        "download_size_per_24_hours",
        "max_download_filesize_allowed",
        "max_remote_download_urls",
        "level_type",
        "on_upgrade_page",
    ];
    for key in keys {
        assert!(
            package[key].is_string(),
            "package {key} must be a string: {package}"
        );
    }
    assert_eq!(package["id"], info["level_id"]);
    assert_eq!(package["label"], "Free Account");
}
