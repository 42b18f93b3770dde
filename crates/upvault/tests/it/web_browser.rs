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
    browser_as(None).await
}

/// The browser as a phone `width` CSS pixels wide (Chromium's mobile emulation: a window
/// cannot be made narrower than 500 px), or as a desktop.
async fn browser_as(phone_width: Option<u32>) -> Option<Browser> {
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
    if let Some(width) = phone_width {
        caps["goog:chromeOptions"]["mobileEmulation"] = json!({
            "deviceMetrics": {"width": width, "height": 844, "pixelRatio": 1.0, "touch": true},
        });
    }
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

/// Where things are drawn on the current page: the brand against the content column, the
/// chart's visible date labels against the chart, and whether anything scrolls sideways.
const MEASURE: &str = r#"
const left = (selector) => {
  const element = document.querySelector(selector);
  return element ? element.getBoundingClientRect().left : null;
};
const svg = document.querySelector("svg.chart");
const labels = svg ? [...svg.querySelectorAll("text.label")]
  .filter((label) => getComputedStyle(label).display !== "none")
  .map((label) => { const r = label.getBoundingClientRect(); return [r.left, r.right, r.height]; })
  : [];
const chart = svg ? svg.getBoundingClientRect() : null;
return {
  viewport: window.innerWidth,
  scroll_width: document.documentElement.scrollWidth,
  brand: left("header.top .brand"),
  card: left("main .card"),
  nav_right: document.querySelector("header.top nav").getBoundingClientRect().right,
  card_right: document.querySelector("main .card").getBoundingClientRect().right,
  chart: chart ? [chart.left, chart.right] : null,
  labels,
};
"#;

/// Sets the viewport (not the window) to `width` × 800 CSS pixels.
async fn viewport(client: &Client, width: u32) {
    client.set_window_size(width, 800).await.unwrap();
    let sizes: serde_json::Value = client
        .execute(
            "return [outerWidth - innerWidth, outerHeight - innerHeight];",
            vec![],
        )
        .await
        .unwrap();
    let extra = |i: usize| u32::try_from(sizes[i].as_i64().unwrap_or(0).max(0)).unwrap_or(0);
    client
        .set_window_size(width + extra(0), 800 + extra(1))
        .await
        .unwrap();
}

#[tokio::test]
async fn pages_line_up_and_fit_on_a_desktop_and_a_phone() {
    let Some(desktop) = browser().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(dir, |c| c.site_name = "Files at home".into()).await;
    for (key, value) in [
        ("wait_between_downloads", "15"),
        ("download_speed", "2000000"),
    ] {
        server
            .services
            .accounts
            .set_package_field(upvault_core::PackageId(1), key, value)
            .await
            .unwrap();
    }
    let user = server.user("layout").await;
    let report = "Quarterly numbers\n=================\n\nRevenue   1,204,330\nCosts       \
                  873,912\nMargin       27.4 %\n\nNotes: the <b>bold</b> claims are escaped, \
                  not rendered.\n";
    let item = server
        .upload_ok(&user, "q3-report.md", report.as_bytes().to_vec())
        .await;
    let file_url = item["url"].as_str().unwrap().to_owned();
    let folder = server
        .ok(
            &user,
            "folder/create",
            &[("folder_name", "Holiday 2024"), ("is_public", "2")],
        )
        .await;
    let folder_id = folder["id"].as_str().unwrap().to_owned();
    for name in ["Beach day", "Hiking"] {
        server
            .ok(
                &user,
                "folder/create",
                &[
                    ("folder_name", name),
                    ("parent_id", &folder_id),
                    ("is_public", "2"),
                ],
            )
            .await;
    }
    for (name, size) in [
        ("itinerary <draft>.txt", 2),
        ("notes.pdf", 700_000),
        ("sunset.jpg", 2_400_000),
    ] {
        server
            .upload(
                &user,
                name,
                random_bytes(size, 3),
                &[("folder_id", &folder_id)],
            )
            .await;
    }
    // Two downloads today, so the chart has a bar.
    for _ in 0..2 {
        let url = server
            .download_url(&user, item["file_id"].as_str().unwrap())
            .await;
        server
            .client
            .get(&url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
    }

    let phone = browser_as(Some(390)).await.unwrap();
    let pages = [
        ("file", file_url.clone()),
        ("folder", folder["url_folder"].as_str().unwrap().to_owned()),
        ("stats", format!("{file_url}~s")),
    ];
    // `UPVAULT_WRITE_SCREENSHOTS=1` refreshes the README's screenshots and leaves every page at
    // both widths in target/screenshots/ for review.
    let screenshots = std::env::var("UPVAULT_WRITE_SCREENSHOTS").is_ok_and(|v| v == "1");
    viewport(&desktop.client, 1280).await;
    for (client, width) in [(&desktop.client, 1280u32), (&phone.client, 390)] {
        for (page, url) in &pages {
            client.goto(url).await.unwrap();
            let m: serde_json::Value = client.execute(MEASURE, vec![]).await.unwrap();
            let at = format!("{page} page at {width} px: {m}");
            if screenshots {
                let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
                std::fs::create_dir_all(&shots).unwrap();
                let png = client.screenshot().await.unwrap();
                std::fs::write(shots.join(format!("{page}-{width}.png")), png).unwrap();
            }
            let number = |key: &str| m[key].as_f64().unwrap();
            assert_eq!(m["viewport"].as_u64(), Some(u64::from(width)), "{at}");
            assert!(
                number("scroll_width") <= f64::from(width),
                "nothing scrolls sideways: {at}"
            );
            // The brand and the navigation line up with the content column.
            assert!((number("brand") - number("card")).abs() < 1.0, "{at}");
            assert!(
                (number("nav_right") - number("card_right")).abs() < 1.0,
                "{at}"
            );
            if *page != "stats" {
                continue;
            }
            let chart = m["chart"].as_array().unwrap();
            let (chart_left, chart_right) =
                (chart[0].as_f64().unwrap(), chart[1].as_f64().unwrap());
            let labels: Vec<(f64, f64, f64)> = m["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| {
                    (
                        l[0].as_f64().unwrap(),
                        l[1].as_f64().unwrap(),
                        l[2].as_f64().unwrap(),
                    )
                })
                .collect();
            assert!(labels.len() >= 2, "{at}");
            for (left, right, height) in &labels {
                assert!(
                    *left >= chart_left - 0.5 && *right <= chart_right + 0.5,
                    "{at}"
                );
                assert!(*height >= 9.0, "labels are readable: {at}");
            }
            for pair in labels.windows(2) {
                assert!(pair[0].1 + 4.0 <= pair[1].0, "labels keep apart: {at}");
            }
        }
    }

    let client = &desktop.client;
    if screenshots {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
        viewport(client, 1000).await;
        for (page, url) in &pages[..2] {
            client.goto(url).await.unwrap();
            let png = client.screenshot().await.unwrap();
            std::fs::write(docs.join(format!("{page}-page.png")), png).unwrap();
        }
    }
    client.clone().close().await.unwrap();
    phone.client.clone().close().await.unwrap();
}
