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

    // Either wrong half of a full-length pair, and either wrong half of username + password,
    // fail alike; shapes that cannot be a login get the real server's shape messages first.
    let (wrong1, wrong2) = ("x".repeat(64), "y".repeat(64));
    let keys_failed = "Could not authenticate user. The key pair may be invalid or your account \
                       may be locked from too many failed logins.";
    let key1_length = "Please provide key1. It must be 64 characters in length.";
    let key2_length = "Please provide key2. It must be 64 characters in length.";
    for (params, expected) in [
        (
            vec![("key1", key1.as_str()), ("key2", wrong2.as_str())],
            keys_failed,
        ),
        (
            vec![("key1", wrong1.as_str()), ("key2", key2.as_str())],
            keys_failed,
        ),
        (
            vec![("key1", key1.as_str()), ("key2", "short")],
            key2_length,
        ),
        (
            vec![("key1", "unknown"), ("key2", key2.as_str())],
            key1_length,
        ),
        (vec![("key1", key1.as_str())], key2_length),
        (vec![], key1_length),
        (
            vec![("username", "keys"), ("password", "wrong-password")],
            AUTH_FAILED,
        ),
        (
            vec![("username", "nobody"), ("password", PASSWORD)],
            AUTH_FAILED,
        ),
        (vec![("username", "keys")], "Please provide a password."),
    ] {
        let answer = server.post("authorize", &params).await;
        assert_eq!(answer["_status"], "error", "{params:?}");
        assert_eq!(answer["status"], "error");
        assert_eq!(answer["response"], expected, "{params:?}");
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

#[tokio::test]
async fn access_tokens_slide_for_an_hour_and_download_tokens_last_six() {
    use chrono::Duration;
    use std::sync::Arc;
    use upvault_core::clock::ManualClock;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let server = TestServer::start_with_clock(clock.clone()).await;
    let user = server.user("slide").await;
    let item = server
        .upload_ok(&user, "t.txt", b"token test".to_vec())
        .await;
    let download = server
        .download_url(&user, item["file_id"].as_str().unwrap())
        .await;

    // Used every 50 minutes, the token lives on well past its first hour.
    for _ in 0..3 {
        clock.advance(Duration::minutes(50));
        assert_eq!(
            server.call(&user, "account/info", &[]).await["_status"],
            "success"
        );
    }
    // Unused for just over an hour, it lapses.
    clock.advance(Duration::minutes(61));
    assert_eq!(
        server.call(&user, "account/info", &[]).await["response"],
        INVALID
    );

    // The download token was issued 3 h 31 min ago (of the clock's time): still valid until 6 h.
    assert_eq!(
        server.client.get(&download).send().await.unwrap().status(),
        200
    );
    clock.advance(Duration::minutes(150));
    assert_eq!(
        server.client.get(&download).send().await.unwrap().status(),
        404
    );
}

#[tokio::test]
async fn failed_logins_lock_the_account_at_that_address_for_a_while() {
    use std::sync::Arc;
    use upvault_core::clock::ManualClock;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let server = TestServer::start_with_clock(clock.clone()).await;
    server.user("victim").await;
    server.user("neighbour").await;
    let (key1, key2) = server
        .services
        .accounts
        .create_api_key("victim")
        .await
        .unwrap();
    for _ in 0..5 {
        let answer = server
            .post(
                "authorize",
                &[("username", "victim"), ("password", "guess")],
            )
            .await;
        assert_eq!(answer["response"], AUTH_FAILED);
    }
    // Locked: even the right password (and the right key pair) fail, with the documented message.
    let locked = server
        .post(
            "authorize",
            &[("username", "victim"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(locked["response"], AUTH_FAILED);
    let locked = server
        .post("authorize", &[("key1", &key1), ("key2", &key2)])
        .await;
    assert_eq!(
        locked["response"],
        "Could not authenticate user. The key pair may be invalid or your account may be \
         locked from too many failed logins."
    );
    // Another account at the same address is not locked by those five.
    server.login("neighbour").await;
    // The lock lifts once the failures leave the 15-minute window.
    clock.advance(chrono::Duration::minutes(16));
    server.login("victim").await;

    // Guessing many accounts from one address locks the address, not just one account.
    for i in 0..20 {
        server
            .post(
                "authorize",
                &[("username", &format!("nobody{i}")), ("password", "guess")],
            )
            .await;
    }
    let answer = server
        .post(
            "authorize",
            &[("username", "neighbour"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(answer["response"], AUTH_FAILED);
    clock.advance(chrono::Duration::minutes(16));
    server.login("neighbour").await;
}

#[tokio::test]
async fn a_suspended_account_cannot_log_in_or_use_its_tokens() {
    use upvault_core::model::AccountStatus;
    let server = TestServer::start().await;
    let user = server.user("suspect").await;
    let (key1, key2) = server
        .services
        .accounts
        .create_api_key("suspect")
        .await
        .unwrap();
    server.ok(&user, "account/info", &[]).await;

    server
        .services
        .accounts
        .set_status("suspect", AccountStatus::Suspended)
        .await
        .unwrap();
    // The token in hand ends at once; no new one is issued, by any way in.
    let refused = server.call(&user, "account/info", &[]).await;
    assert_eq!(
        refused["response"],
        "Could not validate access_token and account_id, please reauthenticate or try again.",
        "{refused}"
    );
    let by_password = server
        .post(
            "authorize",
            &[("username", "suspect"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(by_password["response"], AUTH_FAILED, "{by_password}");
    let by_keys = server
        .post("authorize", &[("key1", &key1), ("key2", &key2)])
        .await;
    assert_eq!(by_keys["_status"], "error", "{by_keys}");
    let page = server
        .submit_form(
            "/login",
            &[("username", "suspect"), ("password", PASSWORD)],
            None,
        )
        .await;
    assert_eq!(page.status(), 403);

    // Active again: it signs in as before.
    server
        .services
        .accounts
        .set_status("suspect", AccountStatus::Active)
        .await
        .unwrap();
    let back = server.login("suspect").await;
    server.ok(&back, "account/info", &[]).await;
}

#[tokio::test]
async fn the_first_start_admin_administers_and_new_accounts_are_users() {
    use upvault_core::model::Role;
    let server = TestServer::start().await;
    let boot = server
        .services
        .accounts
        .bootstrap_admin()
        .await
        .unwrap()
        .expect("a fresh installation bootstraps");
    let admin = server
        .services
        .accounts
        .account(boot.account_id)
        .await
        .unwrap();
    assert_eq!(admin.role, Role::Admin);
    let user = server.user("plain").await;
    let id = upvault_core::AccountId(user.account_id.parse().unwrap());
    assert_eq!(
        server.services.accounts.account(id).await.unwrap().role,
        Role::User
    );
    server
        .services
        .accounts
        .set_role("plain", Role::Admin)
        .await
        .unwrap();
    assert_eq!(
        server.services.accounts.account(id).await.unwrap().role,
        Role::Admin
    );
}
