//! The operator's configuration (SPEC.md §6): defaults, then the TOML file, then `UPVAULT_*`
//! environment variables (nested keys joined by `__`, e.g. `UPVAULT_API__HTTP_ERROR_CODES`).

use anyhow::Context;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Everything the operator can set.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// Wrong folder passwords (or page logins) one address may try per window.
    pub password_attempts: u64,
    /// The window of `password_attempts`, in seconds.
    pub password_window_secs: u64,
}

impl Default for WebConfig {
    fn default() -> Self {
        let core = upvault_core::service::PublicConfig::default();
        Self {
            secure_cookies: None,
            ticket_ttl_secs: core.ticket_ttl.as_secs(),
            grant_ttl_secs: core.grant_ttl.as_secs(),
            session_ttl_secs: core.session_ttl.as_secs(),
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
            session_ttl: secs(self.session_ttl_secs),
            preview_max_bytes: self.preview_max_bytes,
            guess_limit: self.password_attempts.max(1),
            guess_window: secs(self.password_window_secs.max(1)),
            ..upvault_core::service::PublicConfig::default()
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
        self.listen
            .parse::<std::net::SocketAddr>()
            .with_context(|| {
                format!(
                    "listen: {:?} is not an address such as 127.0.0.1:8080",
                    self.listen
                )
            })?;
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
