//! Public third-party clients of the API, run unmodified against a real server (issue 18 #7,
//! docs/COMPATIBILITY.md). `scripts/interop-setup.sh` installs them from their registries and
//! names them in `UPVAULT_TEST_INTEROP_PYTHON` and `UPVAULT_TEST_INTEROP_TSX`; each driver in
//! tests/interop prints one JSON line per call, and the tests judge the lines and then what
//! the server holds.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use upvault_testkit::{TestServer, TestUser};

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// The program a setup variable names, or `None` (skipped, except under CI).
fn installed(var: &str) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(path) if Path::new(&path).exists() => Some(PathBuf::from(path)),
        _ => {
            crate::skip_without(
                var,
                "eval \"$(scripts/interop-setup.sh)\", as scripts/test.sh does",
            );
            None
        }
    }
}

/// A user with an API key pair, as the clients log in.
async fn user_with_keys(server: &TestServer, name: &str) -> (TestUser, String, String) {
    let user = server.user(name).await;
    let (key1, key2) = server.services.accounts.create_api_key(name).await.unwrap();
    (user, key1, key2)
}

/// Each step's line, by step name.
struct Steps(BTreeMap<String, Value>);

impl Steps {
    fn parse(output: &std::process::Output) -> Self {
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "the client failed: {output:?}\n{stdout}"
        );
        let steps = stdout
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).expect(line))
            .map(|line| (line["step"].as_str().unwrap().to_owned(), line))
            .collect();
        Self(steps)
    }

    /// The value of a step that must have succeeded.
    fn ok(&self, step: &str) -> &Value {
        let line = self.0.get(step).unwrap_or_else(|| panic!("no step {step}"));
        assert_eq!(line["ok"], true, "{step}: {line}");
        &line["value"]
    }

    /// The message of a step that must have failed.
    fn refused(&self, step: &str) -> &str {
        let line = self.0.get(step).unwrap_or_else(|| panic!("no step {step}"));
        assert_eq!(line["ok"], false, "{step}: {line}");
        line["error"].as_str().unwrap()
    }
}

/// arunpt/primeuploads-py (PyPI `primeuploads-py` 0.0.2, MIT): aiohttp for the calls, the
/// `curl` program for uploads.
#[tokio::test]
async fn the_python_client_primeuploads_py_runs_every_call() {
    let Some(python) = installed("UPVAULT_TEST_INTEROP_PYTHON") else {
        return;
    };
    let server = TestServer::start().await;
    let (user, key1, key2) = user_with_keys(&server, "python").await;
    let work = tempfile::tempdir().unwrap();
    let sample = work.path().join("quarterly figures.csv");
    std::fs::write(&sample, "quarter,total\nQ1,10\n").unwrap();
    let shim = interop_dir().join("curl-shim");
    let path = format!(
        "{}:{}",
        shim.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = tokio::process::Command::new(python)
        .arg(interop_dir().join("primeuploads.py"))
        // The client caches its session in ./primesession.json.
        .current_dir(work.path())
        .env("PATH", path)
        .env("UPVAULT_URL", &server.url)
        .env("UPVAULT_KEY1", &key1)
        .env("UPVAULT_KEY2", &key2)
        .env("UPVAULT_SAMPLE", &sample)
        .output()
        .await
        .unwrap();
    let steps = Steps::parse(&output);

    assert_eq!(
        steps.ok("authorize")["account_id"],
        user.account_id.as_str()
    );
    assert_eq!(steps.ok("account_info")["data"]["username"], "python");
    assert_eq!(steps.ok("account_package")["data"]["id"], "2");
    // `parent_id=None` and `access_password=None` (Python's None as text) are "not given".
    let folder = &steps.ok("create_folder")["data"];
    assert_eq!(folder["folderName"], "Prime ✓");
    assert_eq!(folder["parentId"], Value::Null, "{folder}");
    let inner = &steps.ok("create_folder nested")["data"];
    assert_eq!(inner["parentId"], folder["id"], "{inner}");
    let uploaded = &steps.ok("upload")["data"][0];
    assert_eq!(uploaded["name"], "quarterly figures.csv");
    assert_eq!(uploaded["size"], "20");
    let root = &steps.ok("list_folders root")["data"];
    assert_eq!(root["folders"].as_array().unwrap().len(), 1, "{root}");
    assert_eq!(root["files"][0]["filename"], "quarterly figures.csv");
    assert_eq!(
        steps.ok("file_info")["data"]["md5"],
        crate::md5_hex(b"quarter,total\nQ1,10\n")
    );
    assert!(steps.ok("download")["data"]["download_url"].is_string());
    assert_eq!(steps.ok("fetch download"), "quarter,total\nQ1,10\n");
    assert_eq!(steps.ok("edit_file type")["data"]["fileType"], "text/csv");
    // The client sends the new name as `folder_id` too (its line 110): refused, clearly.
    assert_eq!(
        steps.refused("edit_file name"),
        "Could not find the folder defined by folder_id."
    );
    assert_eq!(
        steps.ok("copy")["response"],
        upvault_proto::messages::FILE_COPIED
    );
    assert_eq!(steps.ok("move")["data"]["folderId"], folder["id"]);
    // It asks for the folder by the documentation's `parent_folder_id`.
    assert_eq!(steps.ok("folder_info")["data"]["id"], folder["id"]);
    assert_eq!(
        steps.ok("edit_folder")["data"]["folderName"],
        "Prime renamed"
    );
    assert_eq!(
        steps.ok("list_folders after edit")["data"]["files"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "the moved file and its copy"
    );
    assert_eq!(steps.ok("move_folder")["data"]["parentId"], Value::Null);
    steps.ok("delete_file");
    steps.ok("delete_folder");
    steps.ok("disable_access_token");
    assert_eq!(
        steps.refused("account_info after"),
        upvault_proto::messages::INVALID_TOKEN
    );

    // What the server holds: the moved-out folder, and nothing left of the rest.
    let listing = server.ok(&user, "folder/listing", &[]).await;
    let names: Vec<_> = listing["folders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["folderName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["inner"], "{listing}");
    assert_eq!(listing["files"].as_array().unwrap().len(), 0, "{listing}");
    assert!(server.integrity_problems().await.is_empty());
}

/// SilentSnowSoul/OpenList-Worker's ClientIwara (TypeScript, AGPL-3.0, vendored unmodified):
/// Node's fetch, FormData and Blob.
#[tokio::test]
async fn the_node_client_of_openlist_worker_runs_every_call() {
    let Some(tsx) = installed("UPVAULT_TEST_INTEROP_TSX") else {
        return;
    };
    let server = TestServer::start().await;
    let (user, key1, key2) = user_with_keys(&server, "node").await;
    let output = tokio::process::Command::new(tsx)
        .arg(interop_dir().join("iwara.mts"))
        .env("UPVAULT_URL", &server.url)
        .env("UPVAULT_KEY1", &key1)
        .env("UPVAULT_KEY2", &key2)
        .output()
        .await
        .unwrap();
    let steps = Steps::parse(&output);

    steps.ok("init");
    steps.ok("createFolder");
    steps.ok("createFolder nested");
    let root = steps.ok("listFolder root");
    assert_eq!(root["folders"][0]["folderName"], "Ünïcode ✓ folder");
    steps.ok("upload");
    let listed = steps.ok("listFolder folder");
    assert_eq!(
        listed["files"][0]["filename"], "report 2024 ☃.csv",
        "{listed}"
    );
    assert!(steps.ok("download").is_string());
    assert_eq!(steps.ok("fetch download"), "a,b\n1,2\n");
    steps.ok("editFile");
    // It sends an empty folder for "the root"; the API asks for `0`, as the real server does.
    for step in ["copyFile to root", "moveFile to root"] {
        assert!(
            steps.refused(step).starts_with("Please provide the "),
            "{step}"
        );
    }
    assert_eq!(
        steps.refused("moveFolder to root"),
        "Please provide the new_parent_folder_id param."
    );
    steps.ok("copyFile to folder");
    steps.ok("moveFile to folder");
    steps.ok("editFolder");
    steps.ok("moveFolder");
    steps.ok("deleteFile");
    steps.ok("deleteFolder");
    let after = steps.ok("listFolder after");
    assert_eq!(after["folders"], serde_json::json!([]), "{after}");

    // Only the copy is left, in the trash with its folder: nothing in the listing.
    let listing = server.ok(&user, "folder/listing", &[]).await;
    assert_eq!(listing["files"].as_array().unwrap().len(), 0, "{listing}");
    assert!(server.integrity_problems().await.is_empty());
}
