//! The public pages in a real headless Chromium (Debian's `chromium` + `chromium-driver`),
//! driven over WebDriver: a file page's download button saves the file, and a password folder
//! unlocks. Without the browser they skip with a message, except under `CI=true`, where they
//! fail (`.ci/run` installs it).

use crate::md5_hex;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};
use upvault_testkit::{random_bytes, TestServer};

const CHROMIUM: &str = "/usr/bin/chromium";

/// A chromedriver on a free port and a browser session with a fresh profile and download dir.
struct Browser {
    client: Client,
    downloads: tempfile::TempDir,
    _profile: tempfile::TempDir,
    _driver: Child,
}

fn chromedriver() -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("chromedriver"))
            .find(|path| path.is_file())
    })
}

/// The browser, or `None` (with a message) when it is not installed and this is not CI.
async fn browser() -> Option<Browser> {
    let driver = chromedriver();
    if driver.is_none() || !Path::new(CHROMIUM).exists() {
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
        assert!(
            !ci,
            "CI=true but {CHROMIUM} or chromedriver is missing: .ci/run installs them \
             (apt-get install chromium chromium-driver)"
        );
        eprintln!(
            "SKIPPED browser test: {CHROMIUM} or chromedriver is missing \
             (apt-get install chromium chromium-driver)"
        );
        return None;
    }
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let child = Command::new(driver.unwrap())
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver starts");
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let profile = tempfile::tempdir().unwrap();
    let downloads = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                format!("--user-data-dir={}", profile.path().display()),
            ],
            "prefs": {
                "download.default_directory": downloads.path().display().to_string(),
                "download.prompt_for_download": false,
                "download.directory_upgrade": true,
                "safebrowsing.enabled": false,
            },
        }),
    );
    // Both rustls back-ends are linked in (reqwest's and fantoccini's): pick one explicitly.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = ClientBuilder::rustls()
        .expect("a TLS config for the WebDriver client")
        .capabilities(caps)
        .connect(&url)
        .await
        .expect("a Chromium session");
    Some(Browser {
        client,
        downloads,
        _profile: profile,
        _driver: child,
    })
}

/// Waits for a completed download of `len` bytes in `dir`: Chrome writes `*.crdownload` and
/// may create the final name before the bytes are in it.
async fn downloaded(dir: &Path, len: usize) -> Vec<u8> {
    for _ in 0..400 {
        let done = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_none_or(|e| e != "crdownload"))
            .find(|p| std::fs::metadata(p).is_ok_and(|m| m.len() as usize == len));
        if let Some(path) = done {
            return std::fs::read(path).unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no download of {len} bytes arrived in {}", dir.display());
}

#[tokio::test]
async fn a_browser_presses_download_and_gets_the_file() {
    let Some(browser) = browser().await else {
        return;
    };
    let server = TestServer::start().await;
    let user = server.user("browser").await;
    let body = random_bytes(300_000, 21);
    let item = server.upload_ok(&user, "report 🦀.bin", body.clone()).await;
    let url = item["url"].as_str().unwrap().to_owned();

    let client = &browser.client;
    client.goto(&url).await.unwrap();
    let name = client
        .find(Locator::Id("file-name"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(name, "report 🦀.bin");
    client
        .find(Locator::Id("download-button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let bytes = downloaded(browser.downloads.path(), body.len()).await;
    assert_eq!(md5_hex(&bytes), md5_hex(&body));
    client.clone().close().await.unwrap();
}

#[tokio::test]
async fn a_browser_unlocks_a_password_folder() {
    let Some(browser) = browser().await else {
        return;
    };
    let server = TestServer::start().await;
    let user = server.user("browserfolder").await;
    let folder = server
        .ok(
            &user,
            "folder/create",
            &[
                ("folder_name", "Family photos"),
                ("is_public", "1"),
                ("access_password", &md5_hex(b"open sesame")),
            ],
        )
        .await;
    let id = folder["id"].as_str().unwrap().to_owned();
    server
        .upload(&user, "beach.txt", b"sand".to_vec(), &[("folder_id", &id)])
        .await;

    let client = &browser.client;
    client
        .goto(folder["url_folder"].as_str().unwrap())
        .await
        .unwrap();
    assert!(client.find(Locator::Id("files")).await.is_err());
    client
        .find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys("wrong")
        .await
        .unwrap();
    client
        .find(Locator::Id("unlock-button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let error = client
        .wait()
        .for_element(Locator::Id("unlock-error"))
        .await
        .unwrap();
    assert_eq!(error.text().await.unwrap(), "Wrong password.");
    client
        .find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys("open sesame")
        .await
        .unwrap();
    client
        .find(Locator::Id("unlock-button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let files = client
        .wait()
        .for_element(Locator::Id("files"))
        .await
        .unwrap();
    assert!(files.text().await.unwrap().contains("beach.txt"));
    let heading = client
        .find(Locator::Id("folder-name"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(heading, "Family photos");
    client.clone().close().await.unwrap();
}
