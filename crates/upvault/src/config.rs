//! The operator's configuration (SPEC.md §6): defaults, then the TOML file, then `UPVAULT_*`
//! environment variables (nested keys joined by `__`, e.g. `UPVAULT_API__HTTP_ERROR_CODES`).

use anyhow::Context;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Everything the operator can set.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Base of every URL the API hands out; default `http://{listen}`.
    pub public_url: Option<String>,
    /// Where the embedded database and blobs live.
    pub data_dir: PathBuf,
    /// `sqlite://…` (default: `{data_dir}/upvault.db`).
    pub database_url: Option<String>,
    /// Shown in pages and `url_html`.
    pub site_name: String,
    /// Where bytes are stored.
    pub storage: StorageConfig,
    /// URL imports.
    pub remote_upload: RemoteUploadConfig,
    /// API behaviour.
    pub api: ApiConfig,
    /// Request and retention limits.
    pub limits: LimitsConfig,
    /// The public pages.
    pub web: WebConfig,
    /// Connections: proxies, timeouts, header limits.
    pub http: HttpConfig,
    /// Requests per minute per client and per token.
    pub rate_limit: RateLimitConfig,
}

/// The database URL may carry a password: it is shown as `user:<redacted>@host`.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url_password),
            )
            .field("site_name", &self.site_name)
            .field("storage", &self.storage)
            .field("remote_upload", &self.remote_upload)
            .field("api", &self.api)
            .field("limits", &self.limits)
            .field("web", &self.web)
            .field("http", &self.http)
            .field("rate_limit", &self.rate_limit)
            .finish()
    }
}

/// `scheme://user:secret@host/…` → `scheme://user:<redacted>@host/…`; other URLs unchanged.
pub fn redact_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:<redacted>@{host}{tail}")
        }
        _ => url.to_owned(),
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            data_dir: PathBuf::from("./data"),
            database_url: None,
            site_name: "upvault".into(),
            storage: StorageConfig::default(),
            remote_upload: RemoteUploadConfig::default(),
            api: ApiConfig::default(),
            limits: LimitsConfig::default(),
            web: WebConfig::default(),
            http: HttpConfig::default(),
            rate_limit: RateLimitConfig::default(),
        }
    }
}

/// `[storage]`: `backend = "local"` (a directory) or `"s3"` (an S3-compatible bucket).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// `local` or `s3`.
    pub backend: String,
    /// Blob directory of the local backend; default `{data_dir}/blobs`.
    pub path: Option<PathBuf>,
    /// S3: the service's base URL without the bucket (`https://s3.example.com`); unset = AWS.
    pub endpoint: Option<String>,
    /// S3: the bucket (it must exist).
    pub bucket: String,
    /// S3: the signing region.
    pub region: String,
    /// S3: access key id.
    pub access_key_id: String,
    /// S3: secret access key (never logged).
    pub secret_access_key: String,
    /// S3: path-style addressing (`endpoint/bucket/key`), as most self-hosted servers want.
    pub path_style: bool,
    /// S3: prefix of every key, so several installations can share a bucket.
    pub prefix: String,
    /// S3: multipart part size in bytes (at least 5 MiB).
    pub part_size_bytes: usize,
    /// At start, temporary objects (uploads cut by a crash) older than this many seconds are
    /// removed. 0 removes them all: right when one instance uses the storage. With several
    /// instances on one storage, set it above the longest upload (e.g. 3600), so a restarting
    /// instance leaves the others' uploads in progress alone.
    pub temp_max_age_secs: u64,
}

impl std::fmt::Debug for StorageConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageConfig")
            .field("backend", &self.backend)
            .field("path", &self.path)
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("path_style", &self.path_style)
            .field("prefix", &self.prefix)
            .field("part_size_bytes", &self.part_size_bytes)
            .field("temp_max_age_secs", &self.temp_max_age_secs)
            .finish()
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            backend: "local".into(),
            path: None,
            endpoint: None,
            bucket: String::new(),
            region: "us-east-1".into(),
            access_key_id: String::new(),
            secret_access_key: String::new(),
            path_style: true,
            prefix: String::new(),
            part_size_bytes: 16 * 1024 * 1024,
            temp_max_age_secs: 0,
        }
    }
}

/// `[remote_upload]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemoteUploadConfig {
    /// Allow imports from private, loopback and link-local addresses (tests only).
    pub allow_private_addresses: bool,
    /// Imports running at once per instance.
    pub concurrency: usize,
    /// Seconds to wait for a connection.
    pub connect_timeout_secs: u64,
    /// Seconds to wait between two chunks of a body.
    pub idle_timeout_secs: u64,
    /// Seconds an instance holds a job without renewing it; a job whose instance died is taken
    /// over by another once this lapses.
    pub lease_secs: u64,
}

impl Default for RemoteUploadConfig {
    fn default() -> Self {
        Self {
            allow_private_addresses: false,
            concurrency: 4,
            connect_timeout_secs: 10,
            idle_timeout_secs: 30,
            lease_secs: 60,
        }
    }
}

/// `[api]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Send documented errors with 400/401/404 instead of 200 (SPEC.md §1).
    pub http_error_codes: bool,
    /// Sliding lifetime of access tokens.
    pub access_token_ttl_secs: u64,
    /// Lifetime of download tokens.
    pub download_token_ttl_secs: u64,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            http_error_codes: false,
            access_token_ttl_secs: 3600,
            download_token_ttl_secs: 6 * 3600,
        }
    }
}

/// `[limits]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest body of a non-upload request.
    pub max_form_bytes: usize,
    /// Most multipart parts in one request.
    pub max_multipart_parts: usize,
    /// Days trashed files and folders are kept.
    pub trash_retention_days: u64,
    /// Cap on a file sent before the request's credentials.
    pub unauthenticated_upload_cap_bytes: u64,
    /// Seconds between maintenance rounds (trash purge, blob GC).
    pub maintenance_interval_secs: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_form_bytes: 1024 * 1024,
            max_multipart_parts: 64,
            trash_retention_days: 30,
            unauthenticated_upload_cap_bytes: 10 * 1024 * 1024 * 1024,
            maintenance_interval_secs: 600,
        }
    }
}

/// `[web]`: the public pages (SPEC.md §5).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// Mark cookies `Secure`; default: when `public_url` is https.
    pub secure_cookies: Option<bool>,
    /// Seconds a download ticket stays usable once its wait is over.
    pub ticket_ttl_secs: u64,
    /// Seconds a folder-password grant lasts.
    pub grant_ttl_secs: u64,
    /// Seconds a page login lasts.
    pub session_ttl_secs: u64,
    /// Largest image shown as a preview on the file page.
    pub preview_max_bytes: u64,
    /// Wrong passwords of one folder one address may try per window.
    pub password_attempts: u64,
    /// The window of `password_attempts`, in seconds.
    pub password_window_secs: u64,
}

impl Default for WebConfig {
    fn default() -> Self {
        let core = upvault_core::service::PublicConfig::default();
        let sessions = upvault_core::service::CoreConfig::default().page_session_ttl;
        Self {
            secure_cookies: None,
            ticket_ttl_secs: core.ticket_ttl.as_secs(),
            grant_ttl_secs: core.grant_ttl.as_secs(),
            session_ttl_secs: sessions.as_secs(),
            preview_max_bytes: core.preview_max_bytes,
            password_attempts: core.guess_limit,
            password_window_secs: core.guess_window.as_secs(),
        }
    }
}

impl WebConfig {
    /// The domain's settings of the public pages.
    pub fn public_config(&self) -> upvault_core::service::PublicConfig {
        let secs = std::time::Duration::from_secs;
        upvault_core::service::PublicConfig {
            ticket_ttl: secs(self.ticket_ttl_secs),
            grant_ttl: secs(self.grant_ttl_secs),
            preview_max_bytes: self.preview_max_bytes,
            guess_limit: self.password_attempts.max(1),
            guess_window: secs(self.password_window_secs.max(1)),
            ..upvault_core::service::PublicConfig::default()
        }
    }
}

/// `[http]`: connections.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Reverse proxies (CIDRs or addresses) whose `X-Forwarded-For` names the client; from
    /// anyone else the header is ignored.
    pub trusted_proxies: Vec<String>,
    /// Seconds a client has to send a request's line and headers (slowloris).
    pub header_read_timeout_secs: u64,
    /// Seconds a client may stay silent in the middle of a request body, or not read a
    /// response; there is no limit on a transfer's total time.
    pub idle_timeout_secs: u64,
    /// Largest request line and headers, in bytes (at least 8192); larger ones get 431.
    pub max_header_bytes: usize,
    /// Most header fields in one request; more get 431.
    pub max_headers: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        let serve = upvault_http::serve::ServeConfig::default();
        Self {
            trusted_proxies: Vec::new(),
            header_read_timeout_secs: serve.header_read_timeout.as_secs(),
            idle_timeout_secs: serve.idle_timeout.as_secs(),
            max_header_bytes: serve.max_header_bytes,
            max_headers: serve.max_headers,
        }
    }
}

impl HttpConfig {
    /// The accept loop's limits.
    pub fn serve_config(&self) -> upvault_http::serve::ServeConfig {
        upvault_http::serve::ServeConfig {
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs.max(1)),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs.max(1)),
            max_header_bytes: self.max_header_bytes.max(8192),
            max_headers: self.max_headers.max(1),
        }
    }

    /// The trusted proxies, parsed; the error names the bad entry.
    pub fn trusted_proxies(&self) -> anyhow::Result<upvault_http::TrustedProxies> {
        upvault_http::TrustedProxies::parse(&self.trusted_proxies)
            .map_err(|err| anyhow::anyhow!("http.trusted_proxies: {err}"))
    }
}

/// `[rate_limit]`: requests per minute, answered 429 with `Retry-After` beyond.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Count requests at all.
    pub enabled: bool,
    /// Where the counters live: `auto` (in process on SQLite, in the database on PostgreSQL,
    /// where several instances share them), `memory` or `database`.
    pub store: String,
    /// API requests per minute from one client address (IPv6: one /64).
    pub api_per_ip_per_minute: u32,
    /// API requests per minute with one `access_token`.
    pub api_per_token_per_minute: u32,
    /// Page and download-URL requests per minute from one client address.
    pub pages_per_ip_per_minute: u32,
    /// Requests a client may send at once after a quiet spell, under each limit above (never
    /// more than that limit's per-minute number).
    pub burst: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        let http = upvault_http::RateLimitConfig::default();
        Self {
            enabled: http.enabled,
            store: "auto".into(),
            api_per_ip_per_minute: http.api_per_ip.per_minute,
            api_per_token_per_minute: http.api_per_token.per_minute,
            pages_per_ip_per_minute: http.pages_per_ip.per_minute,
            burst: 120,
        }
    }
}

impl RateLimitConfig {
    /// The limits as the HTTP layer applies them.
    pub fn http(&self) -> upvault_http::RateLimitConfig {
        // A limit never admits more at once than in a whole minute.
        let limit = |per_minute: u32| upvault_core::ports::RateLimit {
            per_minute: per_minute.max(1),
            burst: self.burst.clamp(1, per_minute.max(1)),
        };
        upvault_http::RateLimitConfig {
            enabled: self.enabled,
            api_per_ip: limit(self.api_per_ip_per_minute),
            api_per_token: limit(self.api_per_token_per_minute),
            pages_per_ip: limit(self.pages_per_ip_per_minute),
        }
    }
}

impl Config {
    /// Loads defaults, then `file` (if given), then `UPVAULT_*` variables; validates.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            anyhow::ensure!(
                file.exists(),
                "config file {} does not exist",
                file.display()
            );
            figment = figment.merge(Toml::file(file));
        }
        // UPVAULT_TEST_* and UPVAULT_CI_* belong to the test suite and its scripts.
        figment = figment.merge(
            Env::prefixed("UPVAULT_")
                .filter(|key| !{
                    let key = key.as_str().to_ascii_lowercase();
                    key.starts_with("test_") || key.starts_with("ci_")
                })
                .split("__"),
        );
        let config: Config = figment.extract().context("invalid configuration")?;
        config.validate()?;
        Ok(config)
    }

    /// Refuses values that cannot work, naming the key.
    pub fn validate(&self) -> anyhow::Result<()> {
        // A host name is fine as long as it resolves (`localhost:8080`), as for the listener.
        let resolved = std::net::ToSocketAddrs::to_socket_addrs(self.listen.as_str())
            .map(|mut addresses| addresses.next().is_some());
        anyhow::ensure!(
            matches!(resolved, Ok(true)),
            "listen: {:?} is not an address or host name with a port, such as 127.0.0.1:8080 \
             or localhost:8080{}",
            self.listen,
            match resolved {
                Err(err) => format!(" ({err})"),
                _ => String::new(),
            }
        );
        match self.storage.backend.as_str() {
            "local" => {}
            "s3" => anyhow::ensure!(
                !self.storage.bucket.is_empty(),
                "storage.bucket must be set when storage.backend is \"s3\""
            ),
            other => anyhow::bail!(
                "storage.backend: {other:?} is not supported (use \"local\" or \"s3\")"
            ),
        }
        if let Some(url) = &self.database_url {
            anyhow::ensure!(
                ["sqlite:", "postgres://", "postgresql://"]
                    .iter()
                    .any(|p| url.starts_with(p)),
                "database_url must start with sqlite:, postgres:// or postgresql://"
            );
        }
        if let Some(url) = &self.public_url {
            anyhow::ensure!(
                url.starts_with("http://") || url.starts_with("https://"),
                "public_url: {url:?} must start with http:// or https://"
            );
        }
        anyhow::ensure!(
            self.remote_upload.concurrency > 0,
            "remote_upload.concurrency must be at least 1"
        );
        anyhow::ensure!(
            self.remote_upload.lease_secs >= 2,
            "remote_upload.lease_secs must be at least 2"
        );
        self.http.trusted_proxies()?;
        anyhow::ensure!(
            self.http.max_header_bytes >= 8192,
            "http.max_header_bytes must be at least 8192"
        );
        for (key, value) in [
            (
                "http.header_read_timeout_secs",
                self.http.header_read_timeout_secs,
            ),
            ("http.idle_timeout_secs", self.http.idle_timeout_secs),
            ("http.max_headers", self.http.max_headers as u64),
            (
                "rate_limit.api_per_ip_per_minute",
                self.rate_limit.api_per_ip_per_minute.into(),
            ),
            (
                "rate_limit.api_per_token_per_minute",
                self.rate_limit.api_per_token_per_minute.into(),
            ),
            (
                "rate_limit.pages_per_ip_per_minute",
                self.rate_limit.pages_per_ip_per_minute.into(),
            ),
            ("rate_limit.burst", self.rate_limit.burst.into()),
        ] {
            anyhow::ensure!(value >= 1, "{key} must be at least 1");
        }
        anyhow::ensure!(
            ["auto", "memory", "database"].contains(&self.rate_limit.store.as_str()),
            "rate_limit.store: {:?} is not supported (use \"auto\", \"memory\" or \"database\")",
            self.rate_limit.store
        );
        Ok(())
    }

    /// The base of public URLs.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_owned()
    }

    /// The database URL.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("upvault.db").display()))
    }

    /// The S3 settings of `[storage]`.
    pub fn s3(&self) -> upvault_blob::S3Config {
        let storage = &self.storage;
        upvault_blob::S3Config {
            endpoint: storage.endpoint.clone(),
            bucket: storage.bucket.clone(),
            region: storage.region.clone(),
            access_key_id: storage.access_key_id.clone(),
            secret_access_key: storage.secret_access_key.clone(),
            path_style: storage.path_style,
            prefix: storage.prefix.clone(),
            part_size_bytes: storage.part_size_bytes,
            allow_http: storage
                .endpoint
                .as_deref()
                .is_some_and(|e| e.starts_with("http://")),
        }
    }

    /// The local blob directory.
    pub fn blob_dir(&self) -> PathBuf {
        self.storage
            .path
            .clone()
            .unwrap_or_else(|| self.data_dir.join("blobs"))
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error.
mod tests {
    use super::*;

    #[test]
    fn example_config_parses() {
        // Inside a Jail: it serialises tests that touch the environment.
        figment::Jail::expect_with(|_| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../upvault.example.toml");
            let config = Config::load(Some(&path)).map_err(|e| format!("{e:#}"))?;
            assert_eq!(config.listen, "127.0.0.1:8080");
            assert!(!config.api.http_error_codes);
            Ok(())
        });
    }

    /// Every key of the example, commented out or not, by section (`""` = top level).
    fn example_keys() -> std::collections::BTreeSet<String> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../upvault.example.toml");
        let text = std::fs::read_to_string(path).unwrap();
        let mut section = String::new();
        let mut keys = std::collections::BTreeSet::new();
        for line in text.lines() {
            let line = line.trim();
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = format!("{name}.");
                continue;
            }
            let line = line.strip_prefix('#').unwrap_or(line).trim_start();
            if let Some((key, _)) = line.split_once('=') {
                let key = key.trim();
                if !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                    keys.insert(format!("{section}{key}"));
                }
            }
        }
        keys
    }

    #[test]
    fn the_example_lists_every_config_key() {
        // JSON keeps `None` fields as null, so optional keys are listed too.
        let defaults = serde_json::to_value(Config::default()).unwrap();
        let mut missing = Vec::new();
        let documented = example_keys();
        for (key, value) in defaults.as_object().unwrap() {
            let nested = value
                .as_object()
                .map(|table| table.keys().map(|inner| format!("{key}.{inner}")).collect());
            for key in nested.unwrap_or_else(|| vec![key.clone()]) {
                if !documented.contains(&key) {
                    missing.push(key);
                }
            }
        }
        assert!(
            missing.is_empty(),
            "upvault.example.toml does not list {missing:?}"
        );
    }

    #[test]
    fn the_example_parses_with_every_commented_key_set() {
        // The commented-out examples must be valid keys and values too.
        figment::Jail::expect_with(|jail| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../upvault.example.toml");
            let text = std::fs::read_to_string(path).unwrap();
            let uncommented: String = text
                .lines()
                .map(|line| match line.strip_prefix("# ") {
                    Some(rest)
                        if rest.split_once(" = ").is_some_and(|(key, _)| {
                            key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                        }) =>
                    {
                        format!("{rest}\n")
                    }
                    _ => format!("{line}\n"),
                })
                .collect();
            jail.create_file("all.toml", &uncommented)?;
            let config = Config::load(Some(Path::new("all.toml"))).map_err(|e| format!("{e:#}"))?;
            assert_eq!(config.web.secure_cookies, Some(true));
            Ok(())
        });
    }

    #[test]
    fn listen_takes_a_host_name_that_resolves() {
        let mut config = Config {
            listen: "localhost:8080".into(),
            ..Config::default()
        };
        config.validate().unwrap();
        config.listen = "localhost".into();
        let err = format!("{:#}", config.validate().unwrap_err());
        assert!(err.contains("localhost:8080"), "{err}");
    }

    #[test]
    fn env_overrides_nested_keys() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "c.toml",
                "listen = \"127.0.0.1:9000\"\n[api]\nhttp_error_codes = false\n",
            )?;
            jail.set_env("UPVAULT_API__HTTP_ERROR_CODES", "true");
            jail.set_env("UPVAULT_SITE_NAME", "Files");
            jail.set_env("UPVAULT_TEST_DATABASE_URL", "ignored");
            let config = Config::load(Some(Path::new("c.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(config.listen, "127.0.0.1:9000");
            assert!(config.api.http_error_codes);
            assert_eq!(config.site_name, "Files");
            assert_eq!(config.public_url(), "http://127.0.0.1:9000");
            Ok(())
        });
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let mut config = Config {
            database_url: Some("postgres://upvault:hunter2@db:5432/upvault".into()),
            ..Config::default()
        };
        config.storage.secret_access_key = "s3-secret".into();
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("s3-secret"), "{shown}");
        assert!(
            shown.contains("postgres://upvault:<redacted>@db:5432/upvault"),
            "{shown}"
        );
        assert_eq!(
            redact_url_password("sqlite://data/x.db"),
            "sqlite://data/x.db"
        );
        assert_eq!(
            redact_url_password("postgres://u:p@w@h/d?sslmode=require"),
            "postgres://u:<redacted>@h/d?sslmode=require"
        );
    }

    #[test]
    fn hardening_keys_are_validated() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "p.toml",
                "[http]\ntrusted_proxies = [\"10.0.0.0/8\", \"nope\"]\n",
            )?;
            let err = Config::load(Some(Path::new("p.toml"))).unwrap_err();
            let err = format!("{err:#}");
            assert!(
                err.contains("http.trusted_proxies") && err.contains("nope"),
                "{err}"
            );
            jail.create_file("r.toml", "[rate_limit]\nburst = 0\n")?;
            let err = Config::load(Some(Path::new("r.toml"))).unwrap_err();
            assert!(format!("{err:#}").contains("rate_limit.burst"), "{err:#}");
            jail.create_file("s.toml", "[rate_limit]\nstore = \"redis\"\n")?;
            let err = Config::load(Some(Path::new("s.toml"))).unwrap_err();
            assert!(format!("{err:#}").contains("rate_limit.store"), "{err:#}");
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.toml", "lissten = \"x\"\n")?;
            let err = Config::load(Some(Path::new("c.toml"))).unwrap_err();
            assert!(format!("{err:#}").contains("lissten"), "{err:#}");
            jail.create_file("d.toml", "listen = \"nowhere\"\n")?;
            let err = Config::load(Some(Path::new("d.toml"))).unwrap_err();
            assert!(format!("{err:#}").contains("listen"), "{err:#}");
            Ok(())
        });
    }
}
