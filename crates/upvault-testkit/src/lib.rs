//! Dev-only test kit: [`TestServer`] boots the real server in-process on `127.0.0.1:0` with a
//! temporary `data_dir` (bind, then spawn: no sleeps, no fixed ports), creates accounts and
//! drives the API over real HTTP; [`Origin`] is a local web server to import URLs from.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use axum::Router;
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use upvault::{App, Config};
use upvault_core::ports::BlobStore;
use upvault_core::service::Services;
use upvault_core::Clock;

/// A running server.
pub struct TestServer {
    /// `http://127.0.0.1:port`.
    pub url: String,
    /// The services behind it, for set-up that has no API (accounts, packages).
    pub services: Services,
    /// The blob store it writes to.
    pub blobs: Arc<dyn BlobStore>,
    /// The config it runs with.
    pub config: Config,
    /// An HTTP client.
    pub client: reqwest::Client,
    stop: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    dir: Option<TempDir>,
}

/// An account with a live token.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
    /// `account_id` as the API gives it.
    pub account_id: String,
    /// A live `access_token`.
    pub token: String,
}

/// The password every test account gets.
pub const PASSWORD: &str = "correct horse battery";

impl TestServer {
    /// A server with the default config.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A server whose config `adjust` may change first.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, adjust).await
    }

    /// A server whose time-based rules read `clock` (tests move it).
    pub async fn start_with_clock(clock: Arc<dyn Clock>) -> Self {
        Self::boot(tempfile::tempdir().unwrap(), |_| {}, clock).await
    }

    /// A server on `clock` whose config `adjust` may change first.
    pub async fn start_with_clock_and(
        clock: Arc<dyn Clock>,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        Self::boot(tempfile::tempdir().unwrap(), adjust, clock).await
    }

    /// A server over an existing data directory (restart tests).
    pub async fn start_in(dir: TempDir, adjust: impl FnOnce(&mut Config)) -> Self {
        Self::boot(dir, adjust, Arc::new(upvault_core::SystemClock)).await
    }

    async fn boot(dir: TempDir, adjust: impl FnOnce(&mut Config), clock: Arc<dyn Clock>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let mut config = Config {
            listen: address.to_string(),
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        adjust(&mut config);
        // A restart, or a second instance, keeps the backends recorded by the first start.
        let backends = backends_of(dir.path()).await;
        config.database_url = Some(backends.database_url);
        config.storage = backends.storage;
        let app = App::build_with_clock(config.clone(), clock).await.unwrap();
        let services = app.services.clone();
        let blobs = app.blobs();
        let stop = CancellationToken::new();
        let signal = stop.clone();
        let task = tokio::spawn(app.serve(listener, async move { signal.cancelled().await }));
        TestServer {
            url: format!("http://{address}"),
            services,
            blobs,
            config,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            stop,
            task: Some(task),
            dir: Some(dir),
        }
    }

    /// Stops the server gracefully and hands back its data directory.
    pub async fn stop(mut self) -> TempDir {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
        self.dir
            .take()
            .expect("the data directory is held until stop")
    }

    /// The data directory.
    pub fn data_dir(&self) -> &std::path::Path {
        self.dir
            .as_ref()
            .expect("the data directory is held until stop")
            .path()
    }

    /// `{url}/api/v2/{endpoint}`.
    pub fn api(&self, endpoint: &str) -> String {
        format!("{}/api/v2/{}", self.url, endpoint.trim_start_matches('/'))
    }

    /// Creates an account (free package unless `package` is given) and logs it in.
    pub async fn user(&self, username: &str) -> TestUser {
        self.user_in_package(username, None).await
    }

    /// Creates an account in a package and logs it in.
    pub async fn user_in_package(&self, username: &str, package: Option<i64>) -> TestUser {
        self.account_with_role(username, package, upvault_core::model::Role::User)
            .await
    }

    /// Creates an administrator (the `admin` role, premium package) and logs it in.
    pub async fn admin(&self, username: &str) -> TestUser {
        self.account_with_role(username, Some(3), upvault_core::model::Role::Admin)
            .await
    }

    async fn account_with_role(
        &self,
        username: &str,
        package: Option<i64>,
        role: upvault_core::model::Role,
    ) -> TestUser {
        self.services
            .accounts
            .create_user(
                username,
                PASSWORD,
                "",
                package.map(upvault_core::PackageId),
                role,
            )
            .await
            .unwrap();
        self.login(username).await
    }

    /// Logs an existing account in with its password.
    pub async fn login(&self, username: &str) -> TestUser {
        let answer = self
            .post(
                "authorize",
                &[("username", username), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(answer["_status"], "success", "login failed: {answer}");
        TestUser {
            username: username.to_owned(),
            password: PASSWORD.to_owned(),
            account_id: answer["data"]["account_id"].as_str().unwrap().to_owned(),
            token: answer["data"]["access_token"].as_str().unwrap().to_owned(),
        }
    }

    /// POSTs urlencoded parameters; returns the JSON answer (any status).
    pub async fn post(&self, endpoint: &str, params: &[(&str, &str)]) -> Value {
        self.post_raw(endpoint, params).await.1
    }

    /// POSTs urlencoded parameters; returns status and JSON.
    pub async fn post_raw(&self, endpoint: &str, params: &[(&str, &str)]) -> (u16, Value) {
        let response = self
            .client
            .post(self.api(endpoint))
            .form(params)
            .send()
            .await
            .unwrap();
        json(response).await
    }

    /// POSTs as `user` (credentials added).
    pub async fn call(&self, user: &TestUser, endpoint: &str, params: &[(&str, &str)]) -> Value {
        let mut all = vec![
            ("access_token", user.token.as_str()),
            ("account_id", user.account_id.as_str()),
        ];
        all.extend_from_slice(params);
        self.post(endpoint, &all).await
    }

    /// Calls as `user` and asserts success; returns `data` (or the whole answer when it has none).
    pub async fn ok(&self, user: &TestUser, endpoint: &str, params: &[(&str, &str)]) -> Value {
        let answer = self.call(user, endpoint, params).await;
        assert_eq!(
            answer["_status"], "success",
            "{endpoint} {params:?}: {answer}"
        );
        if answer.get("data").is_some() {
            answer["data"].clone()
        } else {
            answer
        }
    }

    /// Uploads one file as `user` with extra fields; returns the whole answer.
    pub async fn upload(
        &self,
        user: &TestUser,
        filename: &str,
        bytes: Vec<u8>,
        extra: &[(&str, &str)],
    ) -> Value {
        let mut form = Form::new()
            .text("access_token", user.token.clone())
            .text("account_id", user.account_id.clone());
        for (k, v) in extra {
            form = form.text((*k).to_owned(), (*v).to_owned());
        }
        form = form.part(
            "upload_file",
            Part::bytes(bytes).file_name(filename.to_owned()),
        );
        let response = self
            .client
            .post(self.api("file/upload"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        json(response).await.1
    }

    /// Uploads and asserts success; returns the one item of `data`.
    pub async fn upload_ok(&self, user: &TestUser, filename: &str, bytes: Vec<u8>) -> Value {
        let answer = self.upload(user, filename, bytes, &[]).await;
        assert_eq!(answer["_status"], "success", "{answer}");
        answer["data"][0].clone()
    }

    /// A `download_url` for a file of `user`.
    pub async fn download_url(&self, user: &TestUser, file_id: &str) -> String {
        let data = self
            .ok(user, "file/download", &[("file_id", file_id)])
            .await;
        data["download_url"].as_str().unwrap().to_owned()
    }

    /// The form token a page hands a new browser (the `uv_csrf` cookie, which every page form
    /// sends back in its `csrf` field).
    pub async fn form_token(&self) -> String {
        let page = self
            .client
            .get(format!("{}/", self.url))
            .send()
            .await
            .unwrap();
        page.headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("uv_csrf="))
            .and_then(|v| v.split(';').next())
            .expect("a page issues a form token")
            .to_owned()
    }

    /// POSTs a page form at `path` as a browser does: the fields, the form token, and
    /// `cookie` (e.g. a session) beside the token's cookie.
    pub async fn submit_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
        cookie: Option<&str>,
    ) -> reqwest::Response {
        let token = self.form_token().await;
        let mut fields = form.to_vec();
        fields.push(("csrf", &token));
        let cookies = match cookie {
            Some(cookie) => format!("uv_csrf={token}; {cookie}"),
            None => format!("uv_csrf={token}"),
        };
        self.client
            .post(format!("{}{path}", self.url))
            .form(&fields)
            .header(reqwest::header::COOKIE, cookies)
            .send()
            .await
            .unwrap()
    }

    /// The body of a plain GET of `url` (a download URL or a page), whatever its status.
    pub async fn get_bytes(&self, url: &str) -> bytes::Bytes {
        self.client
            .get(url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, value)
}

/// Where a server records the backends it was first started with (restart tests reuse them).
const BACKENDS_FILE: &str = "test-backends.json";

/// The database and storage a test installation lives on, recorded in its directory so that
/// restarts and further instances share them.
#[derive(serde::Serialize, serde::Deserialize)]
struct Backends {
    database_url: String,
    storage: upvault::config::StorageConfig,
}

/// The backends recorded in `dir`, chosen and recorded first if there are none yet.
async fn backends_of(dir: &std::path::Path) -> Backends {
    let file = dir.join(BACKENDS_FILE);
    if let Ok(saved) = std::fs::read(&file) {
        return serde_json::from_slice(&saved).unwrap();
    }
    let mut config = Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    choose_test_backends(&mut config).await;
    if config.storage.backend == "local" {
        config.storage.path = Some(config.blob_dir());
    }
    let backends = Backends {
        database_url: config.database_url(),
        storage: config.storage,
    };
    std::fs::write(&file, serde_json::to_vec(&backends).unwrap()).unwrap();
    backends
}

/// A fresh installation directory with its test backends chosen, and the `UPVAULT_*`
/// environment a `upvault` process needs to run on it (for tests that kill a real process).
pub async fn installation() -> (TempDir, Vec<(String, String)>) {
    let dir = tempfile::tempdir().unwrap();
    let backends = backends_of(dir.path()).await;
    let storage = &backends.storage;
    let mut env = vec![
        (
            "UPVAULT_DATA_DIR".to_owned(),
            dir.path().display().to_string(),
        ),
        (
            "UPVAULT_DATABASE_URL".to_owned(),
            backends.database_url.clone(),
        ),
        (
            "UPVAULT_STORAGE__BACKEND".to_owned(),
            storage.backend.clone(),
        ),
    ];
    if let Some(path) = &storage.path {
        env.push((
            "UPVAULT_STORAGE__PATH".to_owned(),
            path.display().to_string(),
        ));
    }
    if storage.backend == "s3" {
        for (key, value) in [
            ("ENDPOINT", storage.endpoint.clone().unwrap_or_default()),
            ("BUCKET", storage.bucket.clone()),
            ("REGION", storage.region.clone()),
            ("ACCESS_KEY_ID", storage.access_key_id.clone()),
            ("SECRET_ACCESS_KEY", storage.secret_access_key.clone()),
            ("PATH_STYLE", storage.path_style.to_string()),
            ("PREFIX", storage.prefix.clone()),
        ] {
            env.push((format!("UPVAULT_STORAGE__{key}"), value));
        }
    }
    (dir, env)
}

impl TestServer {
    /// A second instance on the same database and storage (its own port and data directory),
    /// as several instances behind a load balancer run.
    pub async fn start_beside(&self, adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            self.data_dir().join(BACKENDS_FILE),
            dir.path().join(BACKENDS_FILE),
        )
        .unwrap();
        Self::start_in(dir, adjust).await
    }
}

/// SQLite + local disk by default; PostgreSQL (a fresh schema per server) when
/// `UPVAULT_TEST_DATABASE_URL` is set, and an S3 bucket (a fresh prefix per server) when
/// `UPVAULT_TEST_S3_ENDPOINT` is set — as `scripts/test.sh` and CI set them.
async fn choose_test_backends(config: &mut Config) {
    let tag = format!("t{:016x}", rand::random::<u64>());
    if let Ok(base) = std::env::var("UPVAULT_TEST_DATABASE_URL") {
        config.database_url = Some(postgres_schema(&base, &tag).await);
    }
    if std::env::var("UPVAULT_TEST_S3_ENDPOINT").is_ok() {
        apply_s3(config, &format!("{tag}/"));
    }
}

/// Creates the schema `tag` in the test PostgreSQL at `base` and returns a database URL whose
/// connections use it, so that every test server has tables of its own.
pub async fn postgres_schema(base: &str, tag: &str) -> String {
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(base).await.unwrap();
    sqlx::query(&format!("CREATE SCHEMA {tag}"))
        .execute(&mut connection)
        .await
        .unwrap();
    connection.close().await.unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}options[search_path]={tag}")
}

/// Points `config` at the test S3 server (`UPVAULT_TEST_S3_*`), under the key prefix `prefix`.
pub fn apply_s3(config: &mut Config, prefix: &str) {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    config.storage.backend = "s3".into();
    config.storage.endpoint = Some(var("UPVAULT_TEST_S3_ENDPOINT"));
    config.storage.bucket = var("UPVAULT_TEST_S3_BUCKET");
    config.storage.access_key_id = var("UPVAULT_TEST_S3_ACCESS_KEY");
    config.storage.secret_access_key = var("UPVAULT_TEST_S3_SECRET_KEY");
    config.storage.region =
        std::env::var("UPVAULT_TEST_S3_REGION").unwrap_or_else(|_| "us-east-1".into());
    config.storage.path_style = true;
    config.storage.prefix = prefix.to_owned();
}

/// Every file under `dir`, recursively.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

impl TestServer {
    /// The keys of every stored blob, on whichever backend the server uses.
    pub async fn blob_keys(&self) -> Vec<String> {
        let listed = self.blobs.list().await.unwrap();
        listed.into_iter().map(|(key, _)| key.to_string()).collect()
    }

    /// Temporary objects (and, on S3, unfinished multipart uploads) the server holds right now.
    pub fn temp_objects(&self) -> Vec<String> {
        if self.config.storage.backend != "s3" {
            return files_under(&self.config.blob_dir().join("tmp"))
                .into_iter()
                .map(|p| p.display().to_string())
                .collect();
        }
        // s3s-fs keeps a bucket as a directory and an unfinished multipart upload as a
        // `.bucket-<b64>.object-<b64 key>.upload-<id>…` file in its root.
        let Ok(root) = std::env::var("UPVAULT_TEST_S3FS_ROOT") else {
            return Vec::new();
        };
        let root = std::path::PathBuf::from(root);
        let bucket = &self.config.storage.bucket;
        let tmp_prefix = format!("{}tmp/", self.config.storage.prefix);
        let mut found: Vec<String> = files_under(&root.join(bucket).join(&tmp_prefix))
            .into_iter()
            .map(|p| p.display().to_string())
            .collect();
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let marker = format!(".bucket-{}.object-", engine.encode(bucket));
        for entry in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some((key, _)) = name
                .strip_prefix(&marker)
                .and_then(|rest| rest.split_once(".upload-"))
            else {
                continue;
            };
            let key = String::from_utf8(engine.decode(key).unwrap_or_default()).unwrap_or_default();
            if key.starts_with(&tmp_prefix) {
                found.push(format!("pending upload {key}"));
            }
        }
        found
    }
}

/// A local web server to import URLs from.
pub struct Origin {
    /// `http://127.0.0.1:port`.
    pub url: String,
    stop: CancellationToken,
}

impl Origin {
    /// Serves `router` on an ephemeral loopback port.
    pub async fn start(router: Router) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        let stop = CancellationToken::new();
        let signal = stop.clone();
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move { signal.cancelled().await })
                .await
                .unwrap();
        });
        Origin {
            url: format!("http://{address}"),
            stop,
        }
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// `len` pseudo-random bytes from `seed` (fast, reproducible).
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407)
        | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Bytes as they would come over the wire.
pub fn bytes(data: &[u8]) -> bytes::Bytes {
    bytes::Bytes::copy_from_slice(data)
}

/// What the database says about files and blobs, read with SQL (crash and GC tests).
#[derive(Debug, Default, Clone)]
pub struct StoredState {
    /// `(file id, account id, blob key, size, status)` of every file record, trash included.
    pub files: Vec<(i64, i64, String, i64, String)>,
    /// `(blob key, ref_count)` of every blob record.
    pub blobs: Vec<(String, i64)>,
}

impl StoredState {
    /// Every inconsistency between the records, the blobs in storage (`stored`) and
    /// `storage_used` (account → bytes the service reports): a file whose blob has no record or
    /// no bytes, a reference count that is not the number of records naming the blob, a stored
    /// blob no record knows (an orphan), and storage used that is not the sum of active files.
    pub fn problems(
        &self,
        stored: &[String],
        storage_used: &std::collections::HashMap<i64, u64>,
    ) -> Vec<String> {
        use std::collections::{HashMap, HashSet};
        let mut problems = Vec::new();
        let stored: HashSet<&str> = stored.iter().map(String::as_str).collect();
        let rows: HashMap<&str, i64> = self.blobs.iter().map(|(k, n)| (k.as_str(), *n)).collect();
        let mut naming: HashMap<&str, i64> = HashMap::new();
        let mut active: HashMap<i64, u64> = HashMap::new();
        for (id, account, key, size, status) in &self.files {
            *naming.entry(key.as_str()).or_default() += 1;
            if status == "active" {
                *active.entry(*account).or_default() += u64::try_from(*size).unwrap_or(0);
            }
            if !rows.contains_key(key.as_str()) {
                problems.push(format!("file {id} names blob {key}, which has no record"));
            }
            if !stored.contains(key.as_str()) {
                problems.push(format!(
                    "file {id} ({status}) names blob {key}, which is not stored"
                ));
            }
        }
        for (key, refs) in &self.blobs {
            let named = naming.get(key.as_str()).copied().unwrap_or(0);
            if *refs != named {
                problems.push(format!(
                    "blob {key} counts {refs} references, {named} records name it"
                ));
            }
        }
        for key in &stored {
            if !rows.contains_key(key) {
                problems.push(format!(
                    "stored blob {key} is an orphan: no record knows it"
                ));
            }
        }
        for (account, used) in storage_used {
            let sum = active.get(account).copied().unwrap_or(0);
            if *used != sum {
                problems.push(format!(
                    "account {account}: storage used {used}, active files sum to {sum}"
                ));
            }
        }
        problems
    }
}

impl TestServer {
    /// Every file and blob record, read with SQL from the server's database.
    pub async fn stored_state(&self) -> StoredState {
        let url = self.config.database_url();
        let files_sql =
            "SELECT id, account_id, blob_key, size_bytes, status FROM files ORDER BY id";
        let blobs_sql = "SELECT key, ref_count FROM blobs ORDER BY key";
        if url.starts_with("postgres") {
            use sqlx::Connection;
            let mut db = sqlx::PgConnection::connect(&url).await.unwrap();
            let state = StoredState {
                files: sqlx::query_as(files_sql).fetch_all(&mut db).await.unwrap(),
                blobs: sqlx::query_as(blobs_sql).fetch_all(&mut db).await.unwrap(),
            };
            db.close().await.unwrap();
            state
        } else {
            use sqlx::Connection;
            let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
            let state = StoredState {
                files: sqlx::query_as(files_sql).fetch_all(&mut db).await.unwrap(),
                blobs: sqlx::query_as(blobs_sql).fetch_all(&mut db).await.unwrap(),
            };
            db.close().await.unwrap();
            state
        }
    }

    /// Checks the records against storage and `storage_used_bytes` of every account that has
    /// files; returns the problems found (none when consistent).
    pub async fn integrity_problems(&self) -> Vec<String> {
        let state = self.stored_state().await;
        let stored = self.blob_keys().await;
        let mut used = std::collections::HashMap::new();
        for (_, account, _, _, _) in &state.files {
            if let std::collections::hash_map::Entry::Vacant(slot) = used.entry(*account) {
                let bytes = self
                    .services
                    .accounts
                    .storage_used(upvault_core::AccountId(*account))
                    .await
                    .unwrap();
                slot.insert(bytes);
            }
        }
        state.problems(&stored, &used)
    }
}
