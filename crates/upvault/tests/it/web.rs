//! The public pages over real HTTP: the file page and its download without JavaScript, previews,
//! the owner's info and delete pages, stats, folder pages with passwords, privacy, the trash,
//! page logins, escaping of hostile names, and every download limit of the visitor's package.

use crate::md5_hex;
use reqwest::header;
use serde_json::Value;
use std::time::{Duration, Instant};
use upvault_testkit::{random_bytes, TestServer, TestUser};

/// A page as a browser gets it.
struct Page {
    status: u16,
    headers: header::HeaderMap,
    body: String,
}

async fn get(server: &TestServer, path: &str, cookie: Option<&str>) -> Page {
    let mut request = server.client.get(format!("{}{path}", server.url));
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = request.send().await.unwrap();
    Page {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

/// Submits a page form as a browser does: with the form token of its cookie.
async fn post_form(
    server: &TestServer,
    path: &str,
    form: &[(&str, &str)],
    cookie: Option<&str>,
) -> Page {
    let response = server.submit_form(path, form, cookie).await;
    Page {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

/// What a visitor reads: the text between tags (attributes and the head left out).
fn visible_text(body: &str) -> String {
    let body = body.split("<body>").nth(1).unwrap_or(body);
    let mut text = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The download form's ticket on a file page.
fn ticket(body: &str) -> String {
    let start = body.find("name=\"t\" value=\"").expect("a download form") + 16;
    body[start..start + body[start..].find('"').unwrap()].to_owned()
}

/// `name=value` of a `Set-Cookie`.
fn cookie_pair(page: &Page) -> String {
    let raw = page.headers[header::SET_COOKIE].to_str().unwrap();
    raw.split(';').next().unwrap().to_owned()
}

async fn guest_limit(server: &TestServer, key: &str, value: &str) {
    server
        .services
        .accounts
        .set_package_field(upvault_core::PackageId(1), key, value)
        .await
        .unwrap();
}

/// Opens the file page and presses its download button (a GET form: no JavaScript needed).
async fn press_download(
    server: &TestServer,
    code: &str,
    cookie: Option<&str>,
) -> reqwest::Response {
    let page = get(server, &format!("/{code}"), cookie).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mut request = server
        .client
        .get(format!("{}/{code}~g", server.url))
        .query(&[("t", ticket(&page.body))]);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.send().await.unwrap()
}

async fn upload(server: &TestServer, user: &TestUser, name: &str, bytes: Vec<u8>) -> Value {
    server.upload_ok(user, name, bytes).await
}

async fn folder(server: &TestServer, user: &TestUser, params: &[(&str, &str)]) -> String {
    let data = server.ok(user, "folder/create", params).await;
    data["id"].as_str().unwrap().to_owned()
}

fn short(item: &Value) -> String {
    item["short_url"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_file_page_shows_the_file_and_its_button_downloads_it() {
    let server = TestServer::start().await;
    let user = server.user("pages").await;
    let body = b"first line\nsecond <b>line</b>\n".repeat(40);
    let item = upload(&server, &user, "notes.txt", body.clone()).await;
    let code = short(&item);

    let page = get(&server, &format!("/{code}"), None).await;
    assert_eq!(page.status, 200);
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("form-action 'self'"));
    assert!(page.body.contains("name=\"viewport\""));
    assert!(page.body.contains("notes.txt"));
    assert!(page.body.contains("1.2 KB"), "size shown");
    assert!(page.body.contains("text/plain"));
    assert!(page.body.contains(" UTC"), "upload date shown");
    // Text preview: the first lines, escaped.
    assert!(page.body.contains("second &#60;b&#62;line&#60;/b&#62;"));
    assert!(!page.body.contains("<b>line"));
    assert!(page.body.contains(&format!("action=\"/{code}~g\"")));
    assert!(!page.body.contains("<script>"), "no inline script");
    // The named variant the API hands out is the same page.
    let named = get(&server, &format!("/{code}/notes.txt"), None).await;
    assert_eq!(named.status, 200);
    assert!(named.body.contains("notes.txt"));

    let response = press_download(&server, &code, None).await;
    assert_eq!(response.status(), 200);
    let disposition = response.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(md5_hex(&response.bytes().await.unwrap()), md5_hex(&body));

    // The API's token download still answers the same URL.
    let url = server
        .download_url(&user, item["file_id"].as_str().unwrap())
        .await;
    let api = server.client.get(&url).send().await.unwrap();
    assert_eq!(api.status(), 200);
    assert_eq!(api.bytes().await.unwrap().len(), body.len());

    // Both counted once, on the owner's page and in the stats.
    let info_path = format!("/{code}~i?{}", delete_hash(&item));
    let mut downloads = String::new();
    for _ in 0..50 {
        let info = get(&server, &info_path, None).await;
        assert_eq!(info.status, 200);
        downloads = between(&info.body, "id=\"downloads\">", "<");
        if downloads == "2" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(downloads, "2");
    let stats = get(&server, &format!("/{code}~s"), None).await;
    assert_eq!(stats.status, 200);
    assert_eq!(between(&stats.body, "id=\"total\">", "<"), "2");
    assert!(stats.body.contains("<svg class=\"chart\""));
    assert!(stats.body.contains("<rect class=\"bar\""));
    assert!(stats.body.contains(": 2</title>"), "today's bar says 2");
}

fn delete_hash(item: &Value) -> String {
    let url = item["delete_url"].as_str().unwrap();
    url.rsplit('?').next().unwrap().to_owned()
}

fn between(body: &str, start: &str, end: &str) -> String {
    let from = body
        .find(start)
        .unwrap_or_else(|| panic!("{start} in {body}"))
        + start.len();
    body[from..from + body[from..].find(end).unwrap()].to_owned()
}

#[tokio::test]
async fn only_raster_images_are_previewed_and_then_sandboxed() {
    let server = TestServer::start().await;
    let user = server.user("previews").await;
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(random_bytes(200, 1));
    let image = short(&upload(&server, &user, "cat.png", png.clone()).await);
    let page = get(&server, &format!("/{image}"), None).await;
    assert!(page.body.contains(&format!("<img src=\"/{image}~p\"")));
    let preview = server
        .client
        .get(format!("{}/{image}~p", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(preview.status(), 200);
    assert_eq!(preview.headers()[header::CONTENT_TYPE], "image/png");
    assert_eq!(
        preview.headers()[header::CONTENT_SECURITY_POLICY],
        "sandbox; default-src 'none'"
    );
    assert_eq!(preview.headers()["x-content-type-options"], "nosniff");
    assert_eq!(preview.bytes().await.unwrap().as_ref(), png.as_slice());

    // SVG and HTML can run script: never previewed inline; HTML's first lines are shown as
    // escaped text, SVG gets an icon.
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";
    let svg = short(&upload(&server, &user, "evil.svg", svg.to_vec()).await);
    let page = get(&server, &format!("/{svg}"), None).await;
    assert!(!page.body.contains("<img"));
    assert!(!page.body.contains("<script>alert"));
    assert_eq!(get(&server, &format!("/{svg}~p"), None).await.status, 404);
    let html = short(
        &upload(
            &server,
            &user,
            "evil.html",
            b"<script>alert(1)</script>".to_vec(),
        )
        .await,
    );
    let page = get(&server, &format!("/{html}"), None).await;
    assert!(page
        .body
        .contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
    assert!(!page.body.contains("<script>alert"));
    assert_eq!(get(&server, &format!("/{html}~p"), None).await.status, 404);
    // Anything else: an icon with the extension.
    let zip = short(&upload(&server, &user, "bundle.zip", random_bytes(100, 2)).await);
    let page = get(&server, &format!("/{zip}"), None).await;
    assert!(page.body.contains("<span>ZIP</span>"));
}

#[tokio::test]
async fn hostile_names_are_escaped_on_every_page() {
    let server = TestServer::start().await;
    let user = server.user("hostile").await;
    // `/` becomes `_` and bidi controls are dropped by the naming rules (SPEC §4); right-to-left
    // script, quotes and emoji are kept.
    let evil = "<script>alert(\"x\")</script> 'q' ملف 🦀";
    let locked = folder(
        &server,
        &user,
        &[
            ("folder_name", evil),
            ("is_public", "1"),
            ("access_password", &md5_hex(b"pw")),
        ],
    )
    .await;
    let open = folder(&server, &user, &[("folder_name", evil), ("is_public", "2")]).await;
    let _child = folder(
        &server,
        &user,
        &[
            ("folder_name", evil),
            ("is_public", "1"),
            ("parent_id", &open),
        ],
    )
    .await;
    let item = server
        .upload(
            &user,
            "plain.txt",
            b"<script>x</script>".to_vec(),
            &[("folder_id", &open)],
        )
        .await["data"][0]
        .clone();
    // An upload keeps only its name's last path component; a rename keeps the whole name.
    let file_id = item["file_id"].as_str().unwrap();
    server
        .ok(
            &user,
            "file/edit",
            &[("file_id", file_id), ("filename", &format!("{evil}.txt"))],
        )
        .await;
    let code = short(&item);
    let hash = delete_hash(&item);
    let pages = [
        format!("/{code}"),
        format!("/{code}/x"),
        format!("/{code}~i?{hash}"),
        format!("/{code}~d?{hash}"),
        format!("/{code}~s"),
        format!("/folder/{open}"),
        format!("/folder/{locked}"),
    ];
    for path in pages {
        let page = get(&server, &path, None).await;
        assert!(
            page.status == 200 || page.status == 401,
            "{path}: {}",
            page.status
        );
        assert!(!page.body.contains("<script>alert"), "{path}");
        assert!(!page.body.contains("<script>x"), "{path}");
        // askama escapes with numeric references.
        assert!(
            page.body
                .contains("&#60;script&#62;alert(&#34;x&#34;)&#60;_script&#62; &#39;q&#39; ملف 🦀"),
            "{path}: {}",
            page.body
        );
    }
    // The download names the file safely too.
    let response = press_download(&server, &code, None).await;
    let disposition = response.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap();
    assert!(
        disposition.contains("filename*=UTF-8''%3Cscript%3Ealert%28%22x%22%29"),
        "{disposition}"
    );
}

#[tokio::test]
async fn the_delete_page_needs_the_right_hash_and_then_trashes() {
    let server = TestServer::start().await;
    let user = server.user("deleter").await;
    let item = upload(&server, &user, "gone.bin", random_bytes(100, 3)).await;
    let code = short(&item);
    let hash = delete_hash(&item);
    let wrong = "0".repeat(32);

    // A wrong hash: nothing shown, nothing changed.
    assert_eq!(
        get(&server, &format!("/{code}~i?{wrong}"), None)
            .await
            .status,
        404
    );
    assert_eq!(
        get(&server, &format!("/{code}~d?{wrong}"), None)
            .await
            .status,
        404
    );
    let refused = post_form(&server, &format!("/{code}~d?{wrong}"), &[], None).await;
    assert_eq!(refused.status, 404);
    let refused = post_form(&server, &format!("/{code}~d"), &[], None).await;
    assert_eq!(refused.status, 404);
    assert_eq!(get(&server, &format!("/{code}"), None).await.status, 200);

    // GET only asks.
    let confirm = get(&server, &format!("/{code}~d?{hash}"), None).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm
        .body
        .contains(&format!("action=\"/{code}~d?{hash}\"")));
    assert_eq!(get(&server, &format!("/{code}"), None).await.status, 200);
    // POST trashes.
    let done = post_form(&server, &format!("/{code}~d?{hash}"), &[], None).await;
    assert_eq!(done.status, 200);
    assert!(done.body.contains("id=\"deleted\""));
    for path in [
        format!("/{code}"),
        format!("/{code}/gone.bin"),
        format!("/{code}~s"),
        format!("/{code}~i?{hash}"),
        format!("/{code}~d?{hash}"),
    ] {
        assert_eq!(get(&server, &path, None).await.status, 404, "{path}");
    }
    let info = server
        .call(
            &user,
            "file/info",
            &[("file_id", item["file_id"].as_str().unwrap())],
        )
        .await;
    assert_eq!(info["_status"], "error", "the API sees it trashed too");
}

#[tokio::test]
async fn folder_passwords_grant_per_folder_and_guesses_are_limited() {
    let server = TestServer::start().await;
    let user = server.user("secretive").await;
    let password = md5_hex(b"hunter2");
    let a = folder(
        &server,
        &user,
        &[
            ("folder_name", "Holiday"),
            ("is_public", "1"),
            ("access_password", &password),
        ],
    )
    .await;
    let b = folder(
        &server,
        &user,
        &[
            ("folder_name", "Other"),
            ("is_public", "2"),
            ("access_password", &password),
        ],
    )
    .await;
    let item = server
        .upload(&user, "beach.txt", b"sand".to_vec(), &[("folder_id", &a)])
        .await["data"][0]
        .clone();
    let code = short(&item);

    let locked = get(&server, &format!("/folder/{a}/Holiday"), None).await;
    assert_eq!(locked.status, 401);
    assert!(locked.body.contains("Password required"));
    assert!(!locked.body.contains("beach.txt"));
    let file_locked = get(&server, &format!("/{code}"), None).await;
    assert_eq!(
        file_locked.status, 401,
        "the file waits for its folder's password"
    );
    assert!(!file_locked.body.contains("beach.txt"));

    let wrong = post_form(
        &server,
        &format!("/folder/{a}"),
        &[("password", "nope")],
        None,
    )
    .await;
    assert_eq!(wrong.status, 403);
    assert!(wrong.body.contains("Wrong password."));
    assert!(!wrong.headers.contains_key(header::SET_COOKIE));

    let right = post_form(
        &server,
        &format!("/folder/{a}"),
        &[("password", "hunter2"), ("next", &format!("/{code}"))],
        None,
    )
    .await;
    assert_eq!(right.status, 303);
    assert_eq!(right.headers[header::LOCATION], format!("/{code}").as_str());
    let set = right.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    let grant = cookie_pair(&right);
    assert!(grant.starts_with(&format!("uv_folder_{a}=")));

    let listing = get(&server, &format!("/folder/{a}/Holiday"), Some(&grant)).await;
    assert_eq!(listing.status, 200);
    assert!(listing.body.contains("beach.txt"));
    assert!(listing
        .body
        .contains(&format!("href=\"/{code}/beach.txt\"")));
    assert_eq!(
        get(&server, &format!("/{code}"), Some(&grant)).await.status,
        200
    );
    let response = press_download(&server, &code, Some(&grant)).await;
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"sand");

    // The grant is scoped to its folder: the same password's other folder stays locked, even
    // with the value under its name.
    assert_eq!(
        get(&server, &format!("/folder/{b}"), Some(&grant))
            .await
            .status,
        401
    );
    let moved = grant.replacen(&format!("uv_folder_{a}="), &format!("uv_folder_{b}="), 1);
    assert_eq!(
        get(&server, &format!("/folder/{b}"), Some(&moved))
            .await
            .status,
        401
    );
    // A forged grant is refused.
    let forged = format!("uv_folder_{a}=99999999999.{}", "0".repeat(64));
    assert_eq!(
        get(&server, &format!("/folder/{a}"), Some(&forged))
            .await
            .status,
        401
    );

    // Guessing: 5 wrong answers per address and folder, then even the right one waits.
    for _ in 0..5 {
        let page = post_form(&server, &format!("/folder/{b}"), &[("password", "x")], None).await;
        assert_eq!(page.status, 403);
    }
    let limited = post_form(
        &server,
        &format!("/folder/{b}"),
        &[("password", "hunter2")],
        None,
    )
    .await;
    assert_eq!(limited.status, 429);
    assert!(limited.headers.contains_key(header::RETRY_AFTER));
    assert!(limited.body.contains("Too many wrong passwords"));
    // Other folders are counted apart.
    let other = post_form(
        &server,
        &format!("/folder/{a}"),
        &[("password", "hunter2")],
        None,
    )
    .await;
    assert_eq!(other.status, 303);
}

#[tokio::test]
async fn private_and_trashed_things_are_not_public() {
    let server = TestServer::start().await;
    let user = server.user("private").await;
    let private = folder(
        &server,
        &user,
        &[("folder_name", "Mine"), ("is_public", "0")],
    )
    .await;
    let below = folder(
        &server,
        &user,
        &[
            ("folder_name", "Below"),
            ("is_public", "2"),
            ("parent_id", &private),
        ],
    )
    .await;
    let hidden = server
        .upload(
            &user,
            "hidden.txt",
            b"secret".to_vec(),
            &[("folder_id", &below)],
        )
        .await["data"][0]
        .clone();
    let hidden_code = short(&hidden);
    for path in [
        format!("/folder/{private}"),
        format!("/folder/{private}/Mine"),
        format!("/folder/{below}"),
        format!("/{hidden_code}"),
        format!("/{hidden_code}~s"),
        format!("/{hidden_code}~g?t=1.1.1.00"),
        "/folder/999999".to_owned(),
        "/folder/abc".to_owned(),
        "/nosuchcode".to_owned(),
    ] {
        let page = get(&server, &path, None).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(!page.body.contains("hidden.txt"), "{path}");
    }
    // The owner's hash still opens the owner's page.
    let info = get(
        &server,
        &format!("/{hidden_code}~i?{}", delete_hash(&hidden)),
        None,
    )
    .await;
    assert_eq!(info.status, 200);

    // Private sub-folders are left out of a public listing.
    let public = folder(
        &server,
        &user,
        &[("folder_name", "Shared"), ("is_public", "2")],
    )
    .await;
    folder(
        &server,
        &user,
        &[
            ("folder_name", "NotYours"),
            ("is_public", "0"),
            ("parent_id", &public),
        ],
    )
    .await;
    folder(
        &server,
        &user,
        &[
            ("folder_name", "Yours"),
            ("is_public", "1"),
            ("parent_id", &public),
        ],
    )
    .await;
    let shown = server
        .upload(
            &user,
            "shown.txt",
            b"hi".to_vec(),
            &[("folder_id", &public)],
        )
        .await["data"][0]
        .clone();
    let listing = get(&server, &format!("/folder/{public}/Shared"), None).await;
    assert_eq!(listing.status, 200);
    assert!(listing.body.contains("Yours") && !listing.body.contains("NotYours"));
    assert!(listing.body.contains("shown.txt"));

    // Trash: the file, then the folder, disappear from every page.
    let page = get(&server, &format!("/{}", short(&shown)), None).await;
    let ticket = ticket(&page.body);
    server
        .ok(
            &user,
            "file/delete",
            &[("file_id", shown["file_id"].as_str().unwrap())],
        )
        .await;
    assert_eq!(
        get(&server, &format!("/{}", short(&shown)), None)
            .await
            .status,
        404
    );
    let late = get(&server, &format!("/{}~g?t={ticket}", short(&shown)), None).await;
    assert_eq!(late.status, 404, "a ticket of a trashed file opens nothing");
    assert!(!get(&server, &format!("/folder/{public}"), None)
        .await
        .body
        .contains("shown.txt"));
    server
        .ok(&user, "folder/delete", &[("folder_id", &public)])
        .await;
    assert_eq!(
        get(&server, &format!("/folder/{public}"), None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn the_wait_between_downloads_is_enforced_by_the_server() {
    let server = TestServer::start().await;
    guest_limit(&server, "wait_between_downloads", "2").await;
    let user = server.user("waiter").await;
    let code = short(&upload(&server, &user, "w.bin", random_bytes(1000, 4)).await);

    let page = get(&server, &format!("/{code}"), None).await;
    assert!(page.body.contains("id=\"countdown\""));
    assert!(page.body.contains("src=\"/static/countdown.js\""));
    let ticket = ticket(&page.body);
    let url = format!("{}/{code}~g?t={ticket}", server.url);
    let early = server.client.get(&url).send().await.unwrap();
    assert_eq!(early.status(), 429);
    assert!(early.headers().contains_key(header::RETRY_AFTER));
    let body = early.text().await.unwrap();
    assert!(
        body.contains("data-limit=\"wait_between_downloads\""),
        "{body}"
    );
    // The visitor reads plain words: no key names in the text, and no "again" before a first
    // download.
    let text = visible_text(&body);
    assert!(!text.contains("wait_between_downloads"), "{text}");
    assert!(text.contains("Your download is almost ready"), "{text}");
    assert!(text.contains("You can download in "), "{text}");
    assert!(!text.contains("again"), "{text}");
    assert!(
        body.contains("http-equiv=\"refresh\""),
        "retries by itself without JavaScript"
    );

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let ready = server.client.get(&url).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.bytes().await.unwrap().len(), 1000);

    // Tickets are bound to their file: another file's ticket opens nothing here.
    let other = code_of_upload(&server, &user).await;
    let wrong = server
        .client
        .get(format!("{}/{other}~g?t={ticket}", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    // And a tampered ticket (moved not-before) is refused.
    let mut parts: Vec<String> = ticket.split('.').map(str::to_owned).collect();
    parts[1] = "1".into();
    let tampered = server
        .client
        .get(format!("{}/{code}~g?t={}", server.url, parts.join(".")))
        .send()
        .await
        .unwrap();
    assert_eq!(tampered.status(), 403);
}

async fn code_of_upload(server: &TestServer, user: &TestUser) -> String {
    short(&upload(server, user, "other.bin", random_bytes(10, 9)).await)
}

#[tokio::test]
async fn download_speed_throttles_the_stream() {
    let server = TestServer::start().await;
    guest_limit(&server, "download_speed", "200000").await;
    let user = server.user("slow").await;
    let body = random_bytes(600_000, 5);
    let code = short(&upload(&server, &user, "s.bin", body.clone()).await);
    let started = Instant::now();
    let response = press_download(&server, &code, None).await;
    assert_eq!(response.status(), 200);
    let received = response.bytes().await.unwrap();
    let took = started.elapsed();
    assert_eq!(md5_hex(&received), md5_hex(&body));
    assert!(took >= Duration::from_millis(2500), "{took:?}");
    assert!(took < Duration::from_secs(8), "{took:?}");
}

#[tokio::test]
async fn daily_download_count_and_volume_are_capped() {
    let server = TestServer::start().await;
    guest_limit(&server, "downloads_per_24_hours", "2").await;
    let user = server.user("daily").await;
    let code = short(&upload(&server, &user, "d.bin", random_bytes(1000, 6)).await);
    for _ in 0..2 {
        let ok = press_download(&server, &code, None).await;
        assert_eq!(ok.status(), 200);
        ok.bytes().await.unwrap();
    }
    let third = press_download(&server, &code, None).await;
    assert_eq!(third.status(), 429);
    let body = third.text().await.unwrap();
    assert!(
        body.contains("data-limit=\"downloads_per_24_hours\""),
        "{body}"
    );
    assert!(
        visible_text(&body).contains("Your package allows 2 downloads in 24 hours"),
        "{body}"
    );
    assert!(
        body.contains("You can download again in 23 hours 59 minutes")
            || body.contains("You can download again in 24 hours"),
        "{body}"
    );

    let server = TestServer::start().await;
    guest_limit(&server, "download_size_per_24_hours", "1500").await;
    let user = server.user("volume").await;
    let code = short(&upload(&server, &user, "v.bin", random_bytes(1000, 7)).await);
    let first = press_download(&server, &code, None).await;
    assert_eq!(first.status(), 200);
    first.bytes().await.unwrap();
    let second = press_download(&server, &code, None).await;
    assert_eq!(second.status(), 429);
    let body = second.text().await.unwrap();
    assert!(
        body.contains("data-limit=\"download_size_per_24_hours\""),
        "{body}"
    );
    assert!(visible_text(&body).contains("past the 1.5 KB"), "{body}");
    assert!(body.contains("You can download again in"), "{body}");
}

#[tokio::test]
async fn a_held_download_blocks_a_second_one_until_it_ends() {
    let server = TestServer::start().await;
    guest_limit(&server, "concurrent_downloads", "1").await;
    guest_limit(&server, "download_speed", "100000").await;
    let user = server.user("concurrent").await;
    let code = short(&upload(&server, &user, "c.bin", random_bytes(500_000, 8)).await);

    let held = press_download(&server, &code, None).await;
    assert_eq!(held.status(), 200);
    let second = press_download(&server, &code, None).await;
    assert_eq!(second.status(), 429);
    let body = second.text().await.unwrap();
    assert!(
        body.contains("data-limit=\"concurrent_downloads\""),
        "{body}"
    );
    assert!(
        visible_text(&body).contains("allows 1 download at a time"),
        "{body}"
    );
    assert!(
        body.contains("as soon as one of your downloads ends"),
        "{body}"
    );

    drop(held);
    let mut status = 0;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let again = press_download(&server, &code, None).await;
        status = again.status().as_u16();
        if status == 200 {
            break;
        }
    }
    assert_eq!(
        status, 200,
        "the slot is freed when the first download goes away"
    );
}

#[tokio::test]
async fn files_over_the_package_download_size_are_refused() {
    let server = TestServer::start().await;
    guest_limit(&server, "max_download_filesize_allowed", "500").await;
    let user = server.user("big").await;
    let big = short(&upload(&server, &user, "big.bin", random_bytes(1000, 10)).await);
    let small = short(&upload(&server, &user, "small.bin", random_bytes(400, 11)).await);

    let page = get(&server, &format!("/{big}"), None).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"blocked\""));
    assert!(visible_text(&page.body).contains("files of up to 500 bytes"));
    assert!(!page.body.contains("download-form"));
    // Even with a ticket from another page, the server refuses.
    let small_page = get(&server, &format!("/{small}"), None).await;
    let ticket = ticket(&small_page.body);
    let forged = server
        .client
        .get(format!("{}/{big}~g?t={ticket}", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let ok = press_download(&server, &small, None).await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn signed_in_visitors_download_under_their_own_package() {
    let server = TestServer::start().await;
    guest_limit(&server, "wait_between_downloads", "60").await;
    let user = server.user_in_package("premium", Some(3)).await;
    let code = short(&upload(&server, &user, "p.bin", random_bytes(1000, 12)).await);

    let guest = get(&server, &format!("/{code}"), None).await;
    assert!(guest.body.contains("id=\"countdown\""));

    let form = get(&server, &format!("/login?next=/{code}"), None).await;
    assert_eq!(form.status, 200);
    let wrong = post_form(
        &server,
        "/login",
        &[("username", "premium"), ("password", "x")],
        None,
    )
    .await;
    assert_eq!(wrong.status, 403);
    assert!(wrong.body.contains("Wrong username or password."));
    let login = post_form(
        &server,
        "/login",
        &[
            ("username", "premium"),
            ("password", &user.password),
            ("next", &format!("/{code}")),
        ],
        None,
    )
    .await;
    assert_eq!(login.status, 303);
    assert_eq!(login.headers[header::LOCATION], format!("/{code}").as_str());
    let session = cookie_pair(&login);
    let page = get(&server, &format!("/{code}"), Some(&session)).await;
    assert!(
        page.body.contains("premium"),
        "the header names the account"
    );
    assert!(
        !page.body.contains("id=\"countdown\""),
        "premium has no wait"
    );
    let response = press_download(&server, &code, Some(&session)).await;
    assert_eq!(response.status(), 200);
    // A guest's ticket is not a signed-in visitor's (and the other way round).
    let guest_ticket = ticket(&guest.body);
    let crossed = server
        .client
        .get(format!("{}/{code}~g?t={guest_ticket}", server.url))
        .header(header::COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(crossed.status(), 403);
    // A forged session is a guest.
    let forged = get(
        &server,
        &format!("/{code}"),
        Some("uv_session=1.99999999999.00"),
    )
    .await;
    assert!(forged.body.contains("id=\"countdown\""));
}

/// Whether an answer is one of our styled pages (the layout's stylesheet and header).
fn styled(page: &Page) -> bool {
    page.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html")
        && page.body.contains("href=\"/static/style.css\"")
        && page.body.contains("<header class=\"top\">")
}

#[tokio::test]
async fn a_dead_download_link_says_it_expired_and_leads_to_the_file_page() {
    let server = TestServer::start().await;
    let user = server.user("expiry").await;
    let item = upload(&server, &user, "kept.txt", b"still here".to_vec()).await;
    let code = short(&item);

    let page = get(
        &server,
        &format!("/{code}?download_token=not-a-token"),
        None,
    )
    .await;
    assert_eq!(page.status, 404);
    assert!(styled(&page), "{}", page.body);
    assert!(page.body.contains("This download link has expired"));
    assert!(
        page.body.contains(&format!("href=\"/{code}\"")),
        "links to the file page: {}",
        page.body
    );
    assert!(page.body.contains("kept.txt"));
    // The file page it leads to still offers the download.
    assert_eq!(get(&server, &format!("/{code}"), None).await.status, 200);

    // A token for a file that is gone: the plain not-found page, no link to nowhere.
    let page = get(&server, "/NoSuchCode?download_token=x", None).await;
    assert_eq!(page.status, 404);
    assert!(styled(&page));
    assert!(!page.body.contains("download link has expired"));
}

#[tokio::test]
async fn every_page_error_is_a_styled_page() {
    let server = TestServer::start().await;

    // GET /logout: a page with the sign-out button, not a bare 405.
    let logout = get(&server, "/logout", None).await;
    assert_eq!(logout.status, 200);
    assert!(styled(&logout));
    assert!(logout.body.contains("You are not logged in"));

    // A path that is not UTF-8.
    let bad = get(&server, "/%ff%fe", None).await;
    assert_eq!(bad.status, 404);
    assert!(styled(&bad), "{}", bad.body);

    // A wrong method keeps its status and Allow, with a page.
    let response = server
        .client
        .put(format!("{}/login", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert!(response.headers().contains_key(header::ALLOW));
    let page = Page {
        status: 405,
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    };
    assert!(styled(&page), "{}", page.body);

    // A form that does not parse (with its token, so that the form check lets it through),
    // and a path no route has.
    let token = server.form_token().await;
    let response = server
        .client
        .post(format!("{}/login", server.url))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, format!("uv_csrf={token}"))
        .body(format!("csrf={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    let page = Page {
        status: 415,
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    };
    assert!(styled(&page), "{}", page.body);
    let response = server
        .client
        .delete(format!("{}/SomeCode/name.txt", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let page = Page {
        status: 405,
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    };
    assert!(styled(&page), "{}", page.body);

    // The API keeps its envelope.
    let api = get(&server, "/api/v2/no/such", None).await;
    assert_eq!(api.status, 404);
    assert!(api.body.contains("\"_status\""), "{}", api.body);

    // A garbage download ticket: one message, headed as what it is.
    let user = server.user("ticketless").await;
    let code = short(&upload(&server, &user, "t.txt", b"t".to_vec()).await);
    let garbage = get(&server, &format!("/{code}~g?t=garbage"), None).await;
    assert_eq!(garbage.status, 403);
    let text = visible_text(&garbage.body);
    assert!(text.contains("This download link has expired"), "{text}");
    assert!(!text.contains("not available yet"), "{text}");

    // A one-byte file is "1 byte".
    let file = get(&server, &format!("/{code}"), None).await;
    assert_eq!(between(&file.body, "id=\"file-size\">", "<"), "1 byte");
}

#[tokio::test]
async fn page_logins_lock_one_account_at_one_address_not_everyone_there() {
    let server = TestServer::start().await;
    server.user("victim").await;
    server.user("neighbour").await;
    let wrong = |user: &'static str| [("username", user), ("password", "wrong guess")];

    // Five wrong tries are five wrong tries; the sixth is held back.
    for attempt in 1..=5 {
        let page = post_form(&server, "/login", &wrong("victim"), None).await;
        assert_eq!(page.status, 403, "try {attempt}: {}", page.body);
        assert!(page.body.contains("Wrong username or password"));
    }
    let locked = post_form(
        &server,
        "/login",
        &[
            ("username", "victim"),
            ("password", upvault_testkit::PASSWORD),
        ],
        None,
    )
    .await;
    assert_eq!(locked.status, 429, "{}", locked.body);
    assert!(locked.headers.contains_key(header::RETRY_AFTER));
    assert!(locked.body.contains("Too many wrong passwords"));

    // Someone else at the same address still signs in.
    let other = post_form(
        &server,
        "/login",
        &[
            ("username", "neighbour"),
            ("password", upvault_testkit::PASSWORD),
        ],
        None,
    )
    .await;
    assert_eq!(other.status, 303, "{}", other.body);

    // The looser ceiling per address: 20 failures in all lock the address.
    for attempt in 6..=20 {
        let name = format!("nobody{attempt}");
        let page = post_form(
            &server,
            "/login",
            &[("username", name.as_str()), ("password", "x")],
            None,
        )
        .await;
        assert_eq!(page.status, 403, "try {attempt}");
    }
    let ceiling = post_form(
        &server,
        "/login",
        &[
            ("username", "neighbour"),
            ("password", upvault_testkit::PASSWORD),
        ],
        None,
    )
    .await;
    assert_eq!(ceiling.status, 429, "{}", ceiling.body);
}

#[tokio::test]
async fn a_forged_cross_site_post_changes_nothing() {
    let server = TestServer::start().await;
    let user = server.user("csrf").await;
    let item = upload(&server, &user, "keep.txt", b"keep".to_vec()).await;
    let code = short(&item);
    let hash = delete_hash(&item);
    let token = server.form_token().await;
    let login = [
        ("username", "csrf"),
        ("password", upvault_testkit::PASSWORD),
    ];
    let forged = |form: Vec<(&'static str, String)>, cookie: Option<String>| {
        let mut request = server
            .client
            .post(format!("{}/{code}~d?{hash}", server.url))
            .header(header::ORIGIN, "https://evil.example")
            .form(&form);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        request.send()
    };
    // No token at all (what a cross-site form sends), a token without its cookie, a cookie with
    // another token, and a token of the right shape this site never signed.
    let unsigned = format!("{}.{}", "0".repeat(32), "0".repeat(64));
    for (form, cookie) in [
        (vec![], None),
        (vec![("csrf", token.clone())], None),
        (
            vec![("csrf", unsigned.clone())],
            Some(format!("uv_csrf={token}")),
        ),
        (
            vec![("csrf", unsigned.clone())],
            Some(format!("uv_csrf={unsigned}")),
        ),
    ] {
        let response = forged(form, cookie).await.unwrap();
        assert_eq!(response.status(), 403);
        let body = response.text().await.unwrap();
        assert!(body.contains("This form has expired"), "{body}");
    }
    // The file is still there, and a forged login signed nobody in.
    assert_eq!(get(&server, &format!("/{code}"), None).await.status, 200);
    let response = server
        .client
        .post(format!("{}/login", server.url))
        .form(&login)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(!response.headers().contains_key(header::SET_COOKIE));

    // The same form with the browser's token works.
    let done = post_form(&server, &format!("/{code}~d?{hash}"), &[], None).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(get(&server, &format!("/{code}"), None).await.status, 404);
}
