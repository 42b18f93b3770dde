//! The real server's admin endpoints (`account/create`, `account/edit`, `account/delete`,
//! `package/listing`) and our `account/find`: administrators only, with the real server's
//! messages (issue 18 #6).

use serde_json::Value;
use upvault_proto::messages;
use upvault_testkit::{TestServer, TestUser};

const ADMIN_ENDPOINTS: [&str; 5] = [
    "account/create",
    "account/edit",
    "account/delete",
    "account/find",
    "package/listing",
];

/// Calls an admin endpoint with `user`'s token alone (no `account_id` of the caller).
async fn admin_call(
    server: &TestServer,
    user: &TestUser,
    endpoint: &str,
    params: &[(&str, &str)],
) -> Value {
    let mut all = vec![("access_token", user.token.as_str())];
    all.extend_from_slice(params);
    server.post(endpoint, &all).await
}

fn refusal(answer: &Value) -> &str {
    assert_eq!(answer["_status"], "error", "{answer}");
    answer["response"].as_str().unwrap()
}

#[tokio::test]
async fn admin_endpoints_refuse_everyone_but_administrators() {
    let server = TestServer::start().await;
    let user = server.user("plainuser").await;
    let someone = server.user("someone").await;
    for endpoint in ADMIN_ENDPOINTS {
        // The token comes first, then the role, and only then the endpoint's parameters.
        let answer = server.post(endpoint, &[("username", "x")]).await;
        assert_eq!(
            refusal(&answer),
            messages::MISSING_ACCESS_TOKEN,
            "{endpoint}"
        );
        let answer = server
            .post(endpoint, &[("access_token", &"x".repeat(128))])
            .await;
        assert_eq!(
            refusal(&answer),
            messages::INVALID_TOKEN_ALONE,
            "{endpoint}"
        );
        let answer = admin_call(
            &server,
            &user,
            endpoint,
            &[("account_id", &someone.account_id)],
        )
        .await;
        assert_eq!(refusal(&answer), messages::ADMIN_ONLY, "{endpoint}");
    }
    // Nothing was made, changed or deleted by the refused calls.
    let info = server.ok(&someone, "account/info", &[]).await;
    assert_eq!(info["username"], "someone");

    // A user's token still reads only its own account.
    let mut params = vec![("access_token", user.token.as_str())];
    params.push(("account_id", someone.account_id.as_str()));
    for endpoint in ["account/info", "account/package"] {
        let answer = server.post(endpoint, &params).await;
        assert_eq!(refusal(&answer), messages::INVALID_TOKEN, "{endpoint}");
    }

    // With `http_error_codes`, a refusal for the role is 403.
    let coded = TestServer::start_with(|c| c.api.http_error_codes = true).await;
    let user = coded.user("plainuser").await;
    let (status, _) = coded
        .post_raw("package/listing", &[("access_token", &user.token)])
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn an_administrator_reads_any_account_and_lists_the_packages() {
    let server = TestServer::start().await;
    let admin = server.admin("operator").await;
    let user = server.user_in_package("premiumuser", Some(3)).await;
    let mut params = vec![("access_token", admin.token.as_str())];
    params.push(("account_id", user.account_id.as_str()));
    let info = server.post("account/info", &params).await;
    assert_eq!(info["data"]["username"], "premiumuser", "{info}");
    let package = server.post("account/package", &params).await;
    assert_eq!(package["data"]["id"], "3", "{package}");
    let params = [
        ("access_token", admin.token.as_str()),
        ("account_id", "99999"),
    ];
    let answer = server.post("account/info", &params).await;
    assert_eq!(refusal(&answer), messages::TARGET_ACCOUNT_NOT_FOUND);

    let listing = admin_call(&server, &admin, "package/listing", &[]).await;
    let packages = listing["data"]["packages"].as_array().unwrap();
    let labels: Vec<_> = packages
        .iter()
        .map(|p| p["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        ["Guest", "Free Account", "Premium Account"],
        "{listing}"
    );
    // Every package has the fields of `/account/package`, in strings.
    let own = server.ok(&user, "account/package", &[]).await;
    assert_eq!(packages[2], own);

    let answer = admin_call(&server, &admin, "package/nothing", &[]).await;
    assert_eq!(
        answer["response"],
        "No method found within endpoint (package): nothing"
    );
}

#[tokio::test]
async fn an_administrator_creates_edits_finds_and_deletes_an_account() {
    let server = TestServer::start().await;
    let admin = server.admin("operator").await;

    let created = admin_call(
        &server,
        &admin,
        "account/create",
        &[
            ("username", "forumuser"),
            ("password", "correct horse"),
            ("email", "Forum.User@Example.com"),
            ("package_id", "3"),
            ("status", "active"),
            ("title", "Dr"),
            ("firstname", "Zoë"),
            ("lastname", "Ødegård"),
            ("paid_expiry_date", "2027-01-31 12:00:00"),
        ],
    )
    .await;
    assert_eq!(created["response"], messages::USER_CREATED, "{created}");
    let data = &created["data"];
    assert_eq!(data["username"], "forumuser");
    assert_eq!(
        data["email"], "forum.user@example.com",
        "stored lower-cased"
    );
    assert_eq!(data["level_id"], "3");
    assert_eq!(data["status"], "active");
    assert_eq!(data["title"], "Dr");
    assert_eq!(data["firstname"], "Zoë");
    assert_eq!(data["lastname"], "Ødegård");
    assert_eq!(data["paidExpiryDate"], "2027-01-31 12:00:00");
    let id = data["id"].as_str().unwrap().to_owned();
    // The new account signs in with its password and is a plain user.
    let answer = server
        .post(
            "authorize",
            &[("username", "forumuser"), ("password", "correct horse")],
        )
        .await;
    assert_eq!(answer["data"]["account_id"], id.as_str(), "{answer}");
    let member = TestUser {
        username: "forumuser".into(),
        password: "correct horse".into(),
        account_id: id.clone(),
        token: answer["data"]["access_token"].as_str().unwrap().to_owned(),
    };
    let answer = admin_call(&server, &member, "package/listing", &[]).await;
    assert_eq!(refusal(&answer), messages::ADMIN_ONLY);

    // Refusals, in the real server's order and words; none creates anything.
    let good = [
        ("username", "another"),
        ("password", "long enough"),
        ("email", "another@example.com"),
    ];
    let with = |name: &'static str, value: &'static str| -> Vec<(&'static str, &'static str)> {
        let mut params: Vec<_> = good.iter().copied().filter(|(n, _)| *n != name).collect();
        if !value.is_empty() {
            params.push((name, value));
        }
        params
    };
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (with("username", ""), "Please provide the username param."),
        (with("password", ""), "Please provide the password param."),
        (with("email", ""), "Please provide the email param."),
        (
            with("password", "short"),
            "Password must be at least 8 characters long.",
        ),
        (
            with("email", "not an address"),
            "The email address you entered appears to be invalid.",
        ),
        (
            with("email", "FORUM.user@example.com"),
            messages::EMAIL_TAKEN,
        ),
        (with("username", "forumuser"), messages::USERNAME_TAKEN),
        (
            [good.to_vec(), vec![("package_id", "1")]].concat(),
            messages::GUEST_PACKAGE,
        ),
        (
            [good.to_vec(), vec![("package_id", "77")]].concat(),
            messages::PACKAGE_NOT_FOUND,
        ),
        (
            [good.to_vec(), vec![("package_id", "free")]].concat(),
            messages::PACKAGE_NOT_FOUND,
        ),
        (
            [good.to_vec(), vec![("paid_expiry_date", "tomorrow")]].concat(),
            messages::BAD_PAID_EXPIRY_DATE,
        ),
    ];
    for (params, expected) in &cases {
        let answer = admin_call(&server, &admin, "account/create", params).await;
        assert_eq!(refusal(&answer), *expected, "{params:?}");
    }
    let answer = admin_call(&server, &admin, "account/find", &[("username", "another")]).await;
    assert_eq!(refusal(&answer), messages::FOUND_NO_ACCOUNT);

    // An unknown status is active and an unknown title empty, as the real server has them.
    let lenient = admin_call(
        &server,
        &admin,
        "account/create",
        &[good.to_vec(), vec![("status", "vip"), ("title", "Sir")]].concat(),
    )
    .await;
    assert_eq!(lenient["data"]["status"], "active", "{lenient}");
    assert_eq!(lenient["data"]["title"], "");
    assert_eq!(
        lenient["data"]["level_id"], "2",
        "the free package by default"
    );

    // Find by username, or by email without case.
    for params in [
        [("username", "forumuser")],
        [("email", "FORUM.USER@example.com")],
    ] {
        let found = admin_call(&server, &admin, "account/find", &params).await;
        assert_eq!(found["data"]["id"], id.as_str(), "{params:?}: {found}");
    }
    let answer = admin_call(&server, &admin, "account/find", &[]).await;
    assert_eq!(refusal(&answer), messages::MISSING_FIND_TERMS);

    // Edit: blank keeps, a new password ends the account's tokens.
    let edited = admin_call(
        &server,
        &admin,
        "account/edit",
        &[
            ("account_id", &id),
            ("email", "new.address@example.com"),
            ("lastname", "Smith"),
            ("firstname", ""),
            ("password", "a new password"),
        ],
    )
    .await;
    assert_eq!(edited["response"], messages::USER_UPDATED, "{edited}");
    assert_eq!(edited["data"]["email"], "new.address@example.com");
    assert_eq!(edited["data"]["lastname"], "Smith");
    assert_eq!(edited["data"]["firstname"], "Zoë", "blank keeps");
    let answer = server.call(&member, "account/info", &[]).await;
    assert_eq!(
        refusal(&answer),
        messages::INVALID_TOKEN,
        "the old token ended"
    );
    let answer = server
        .post(
            "authorize",
            &[("username", "forumuser"), ("password", "a new password")],
        )
        .await;
    assert_eq!(answer["_status"], "success", "{answer}");
    // Its own email again is no conflict; another account's is.
    let answer = admin_call(
        &server,
        &admin,
        "account/edit",
        &[("account_id", &id), ("email", "new.address@example.com")],
    )
    .await;
    assert_eq!(answer["_status"], "success", "{answer}");
    let answer = admin_call(
        &server,
        &admin,
        "account/edit",
        &[("account_id", &id), ("email", "another@example.com")],
    )
    .await;
    assert_eq!(refusal(&answer), messages::EMAIL_TAKEN);
    // A status that refuses login: the account cannot sign in.
    let answer = admin_call(
        &server,
        &admin,
        "account/edit",
        &[("account_id", &id), ("status", "disabled")],
    )
    .await;
    assert_eq!(answer["data"]["status"], "disabled", "{answer}");
    let answer = server
        .post(
            "authorize",
            &[("username", "forumuser"), ("password", "a new password")],
        )
        .await;
    assert_eq!(refusal(&answer), messages::AUTH_FAILED);
    for (params, expected) in [
        (vec![], messages::MISSING_EDIT_ACCOUNT_ID),
        (
            vec![("account_id", "99999")],
            messages::TARGET_ACCOUNT_NOT_FOUND,
        ),
        (
            vec![("account_id", "abc")],
            messages::TARGET_ACCOUNT_NOT_FOUND,
        ),
        (
            vec![("account_id", admin.account_id.as_str())],
            messages::EDIT_ADMIN,
        ),
        (
            vec![("account_id", id.as_str()), ("package_id", "1")],
            messages::GUEST_PACKAGE,
        ),
    ] {
        let answer = admin_call(&server, &admin, "account/edit", &params).await;
        assert_eq!(refusal(&answer), expected, "{params:?}");
    }

    // Delete: the account goes with its files, folders and tokens.
    let victim = server.user("leaving").await;
    let folder = server
        .ok(&victim, "folder/create", &[("folder_name", "docs")])
        .await;
    let folder_id = folder["id"].as_str().unwrap();
    let file = server
        .upload(
            &victim,
            "notes.txt",
            b"goodbye".to_vec(),
            &[("folder_id", folder_id)],
        )
        .await;
    let file = &file["data"][0];
    let file_id = file["file_id"].to_string().trim_matches('"').to_owned();
    let public = server
        .upload_ok(&victim, "public.txt", b"hello".to_vec())
        .await;
    let page = public["url"].as_str().unwrap().to_owned();
    let info = server
        .ok(&victim, "file/info", &[("file_id", &file_id)])
        .await;
    assert_eq!(info["folderId"], folder_id, "{info}");
    assert_eq!(server.client.get(&page).send().await.unwrap().status(), 200);
    for (params, expected) in [
        (vec![], messages::MISSING_DELETE_ACCOUNT_ID),
        (
            vec![("account_id", "99999")],
            messages::TARGET_ACCOUNT_NOT_FOUND,
        ),
        (
            vec![("account_id", admin.account_id.as_str())],
            messages::DELETE_ADMIN,
        ),
    ] {
        let answer = admin_call(&server, &admin, "account/delete", &params).await;
        assert_eq!(refusal(&answer), expected, "{params:?}");
    }
    let deleted = admin_call(
        &server,
        &admin,
        "account/delete",
        &[("account_id", &victim.account_id)],
    )
    .await;
    assert_eq!(deleted["response"], messages::USER_DELETED, "{deleted}");
    assert!(deleted.get("data").is_none(), "{deleted}");
    let answer = server
        .call(&victim, "file/info", &[("file_id", &file_id)])
        .await;
    assert_eq!(refusal(&answer), messages::INVALID_TOKEN);
    assert_eq!(server.client.get(&page).send().await.unwrap().status(), 404);
    let answer = admin_call(&server, &admin, "account/find", &[("username", "leaving")]).await;
    assert_eq!(refusal(&answer), messages::FOUND_NO_ACCOUNT);
    // The bytes go with the next sweep, and the store stays consistent.
    server.services.maintenance.run_once().await.unwrap();
    assert!(server.integrity_problems().await.is_empty());
    let answer = server
        .post(
            "authorize",
            &[("username", "leaving"), ("password", &victim.password)],
        )
        .await;
    assert_eq!(refusal(&answer), messages::AUTH_FAILED);
}
