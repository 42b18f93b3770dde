//! SPEC.md §6: the operator CLI's exact forms, and `serve`'s first-start bootstrap and
//! graceful stop on SIGTERM.

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

fn upvault(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_upvault"))
        .args(args)
        .env("UPVAULT_DATA_DIR", dir)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn user_apikey_and_package_commands() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = upvault(
        dir.path(),
        &[
            "user",
            "add",
            "carol",
            "--password",
            "long enough pw",
            "--email",
            "c@example.com",
            "--json",
        ],
    );
    assert!(ok, "{err}");
    let user: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(user["username"], "carol");
    assert!(user["id"].as_str().unwrap().parse::<i64>().is_ok());

    let (ok, out, _) = upvault(
        dir.path(),
        &[
            "user",
            "add",
            "dave",
            "--password",
            "long enough pw",
            "--package",
            "3",
        ],
    );
    assert!(ok);
    assert!(out.trim().parse::<i64>().is_ok(), "{out}");
    let (ok, _, err) = upvault(
        dir.path(),
        &["user", "add", "carol", "--password", "long enough pw"],
    );
    assert!(!ok && err.contains("taken"), "{err}");

    let (ok, out, err) = upvault(dir.path(), &["apikey", "create", "carol", "--json"]);
    assert!(ok, "{err}");
    let keys: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(keys["key1"].as_str().unwrap().len(), 64);
    assert_eq!(keys["key2"].as_str().unwrap().len(), 64);

    let (ok, out, _) = upvault(dir.path(), &["package", "list", "--json"]);
    assert!(ok);
    let packages: Value = serde_json::from_str(&out).unwrap();
    let labels: Vec<&str> = packages
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["Guest", "Free Account", "Premium Account"]);

    let (ok, _, err) = upvault(
        dir.path(),
        &[
            "package",
            "set",
            "1",
            "wait_between_downloads=30",
            "download_speed=51200",
        ],
    );
    assert!(ok, "{err}");
    let (_, out, _) = upvault(dir.path(), &["package", "list", "--json"]);
    let packages: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(packages[0]["wait_between_downloads"], "30");
    assert_eq!(packages[0]["download_speed"], "51200");
    let (ok, _, err) = upvault(dir.path(), &["package", "set", "1", "no_such_limit=1"]);
    assert!(!ok && err.contains("no_such_limit"), "{err}");
    // Lookups that find nothing name what was typed.
    let (ok, _, err) = upvault(dir.path(), &["package", "set", "99", "download_speed=1"]);
    assert!(
        !ok && err.contains("there is no package with id 99"),
        "{err}"
    );
    let (ok, _, err) = upvault(
        dir.path(),
        &[
            "user",
            "add",
            "ghost",
            "--password",
            "12345678",
            "--package",
            "42",
        ],
    );
    assert!(
        !ok && err.contains("there is no package with id 42"),
        "{err}"
    );
    let (ok, out, err) = upvault(
        dir.path(),
        &[
            "user",
            "add",
            "erin",
            "--password",
            "long enough pw",
            "--role",
            "admin",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.trim().parse::<i64>().is_ok(), "{out}");
    let (ok, out, _) = upvault(dir.path(), &["user", "role", "erin", "user"]);
    assert!(ok && out.contains("erin is now user"), "{out}");
    let (ok, _, err) = upvault(dir.path(), &["user", "role", "erin", "root"]);
    assert!(!ok && err.contains("invalid value 'root'"), "{err}");
    let (ok, _, err) = upvault(dir.path(), &["user", "role", "nobody", "admin"]);
    assert!(
        !ok && err.contains("there is no account named \"nobody\""),
        "{err}"
    );
    let (ok, out, _) = upvault(dir.path(), &["user", "suspend", "dave"]);
    assert!(ok && out.contains("dave is suspended"), "{out}");
    let (ok, out, _) = upvault(dir.path(), &["user", "activate", "dave"]);
    assert!(ok && out.contains("dave is active"), "{out}");
    let (ok, _, err) = upvault(dir.path(), &["user", "suspend", "nobody"]);
    assert!(
        !ok && err.contains("there is no account named \"nobody\""),
        "{err}"
    );
    let (ok, _, err) = upvault(dir.path(), &["apikey", "create", "nobody"]);
    assert!(
        !ok && err.contains("there is no account named \"nobody\""),
        "{err}"
    );
}

#[test]
fn serve_bootstraps_an_admin_once_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_upvault"))
        .arg("serve")
        .env("UPVAULT_DATA_DIR", dir.path())
        .env("UPVAULT_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines = stdout.lines();
    let mut printed = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if line.contains("key2:") {
            break;
        }
    }
    assert!(
        printed.contains("\"admin\"") && printed.contains("password:") && printed.contains("key1:"),
        "{printed}"
    );
    let key1 = printed
        .lines()
        .find(|l| l.contains("key1:"))
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap()
        .to_owned();
    let key2 = printed
        .lines()
        .find(|l| l.contains("key2:"))
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap()
        .to_owned();

    // The printed keys log in.
    let answer = authorize(port, &format!("key1={key1}&key2={key2}"));
    assert_eq!(answer["_status"], "success", "{answer}");
    stop(child);

    // The printed password lost: the operator sets a new one, read from stdin.
    let mut passwd = Command::new(env!("CARGO_BIN_EXE_upvault"))
        .args(["user", "passwd", "admin"])
        .env("UPVAULT_DATA_DIR", dir.path())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    passwd
        .stdin
        .take()
        .unwrap()
        .write_all(b"a new pass phrase\n")
        .unwrap();
    let output = passwd.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let (ok, _, err) = upvault(
        dir.path(),
        &["user", "passwd", "nobody", "--password", "12345678"],
    );
    assert!(
        !ok && err.contains("there is no account named \"nobody\""),
        "{err}"
    );
    let (ok, _, err) = upvault(
        dir.path(),
        &["user", "passwd", "admin", "--password", "short"],
    );
    assert!(!ok && err.contains("at least 8"), "{err}");

    let child = Command::new(env!("CARGO_BIN_EXE_upvault"))
        .arg("serve")
        .env("UPVAULT_DATA_DIR", dir.path())
        .env("UPVAULT_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let answer = authorize(port, "username=admin&password=a new pass phrase");
    assert_eq!(answer["_status"], "success", "{answer}");
    let answer = authorize(port, "username=admin&password=old");
    assert_eq!(answer["_status"], "error", "{answer}");
    stop(child);
}

/// `/authorize` once the server on `port` answers.
fn authorize(port: u16, body: &str) -> Value {
    for _ in 0..200 {
        if let Ok(response) = reqwest::blocking_post(port, body) {
            return response;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("no server on port {port}");
}

/// SIGTERM, and the server stops cleanly.
fn stop(mut child: std::process::Child) {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}

/// A tiny blocking client so this test needs no runtime.
mod reqwest {
    use serde_json::Value;
    use std::io::{Read, Write};

    /// `/authorize` with a form `body`.
    pub(super) fn blocking_post(port: u16, body: &str) -> std::io::Result<Value> {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
        write!(
            stream,
            "POST /api/v2/authorize HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let json = response.split("\r\n\r\n").nth(1).unwrap_or_default();
        serde_json::from_str(json).map_err(std::io::Error::other)
    }
}

/// `upvault package list` against `database_url`: whether it worked, its stderr, how long.
fn against_database(url: &str) -> (bool, String, std::time::Duration) {
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_upvault"))
        .args(["package", "list"])
        .env("UPVAULT_DATA_DIR", dir.path())
        .env("UPVAULT_DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stderr).unwrap(),
        started.elapsed(),
    )
}

#[test]
fn an_unusable_postgres_fails_at_once_and_says_why() {
    // Nothing listens on a port just freed.
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let (ok, err, took) = against_database(&format!("postgres://u:p@127.0.0.1:{port}/upvault"));
    assert!(!ok);
    assert!(err.contains("connection refused"), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(!err.contains(":p@"), "no password in messages: {err}");
    // The pool alone waited its 30 s acquire timeout before saying "pool timed out".
    assert!(took < std::time::Duration::from_secs(20), "{took:?}");

    let Ok(base) = std::env::var("UPVAULT_TEST_DATABASE_URL") else {
        eprintln!("UPVAULT_TEST_DATABASE_URL is unset: wrong password / missing database skipped");
        return;
    };
    let url = url::Url::parse(&base).unwrap();
    let mut wrong_password = url.clone();
    wrong_password
        .set_password(Some("not-the-password"))
        .unwrap();
    let (ok, err, _) = against_database(wrong_password.as_str());
    assert!(
        !ok && err.contains("authentication failed for user"),
        "{err}"
    );
    assert!(!err.contains("not-the-password"), "{err}");
    let mut missing = url;
    missing.set_path("/no_such_database_here");
    let (ok, err, _) = against_database(missing.as_str());
    assert!(
        !ok && err.contains("\"no_such_database_here\" does not exist"),
        "{err}"
    );
}
