//! URL imports: `/file/url_upload_add`, `/file/url_upload_status`, and the job steps the
//! background worker runs (SPEC.md §4). The fetch itself (HTTP, SSRF guard) is the worker's.

use super::upload::UploadPolicy;
use super::Deps;
use crate::error::{Entity, Error, Limit, Result};
use crate::ids::{AccountId, FolderId, JobId};
use crate::model::{limit, ImportJob, JobOutcome, NewImportJob};
use base64::Engine;
use std::time::Duration;

/// Schedules imports and hands them to workers.
#[derive(Clone)]
pub struct ImportService {
    deps: Deps,
}

impl ImportService {
    pub(super) fn new(deps: Deps) -> Self {
        Self { deps }
    }

    /// Decodes `file_url_base64`, checks it and the folder, and schedules the import under the
    /// package's `max_remote_download_urls`.
    pub async fn schedule(
        &self,
        account: AccountId,
        file_url_base64: &str,
        folder: Option<FolderId>,
    ) -> Result<ImportJob> {
        let url = decode_url(file_url_base64)?;
        if let Some(folder) = folder {
            self.deps
                .folders
                .folder(account, folder)
                .await?
                .ok_or(Error::NotFound(Entity::UploadFolder))?;
        }
        let record = self
            .deps
            .accounts
            .account(account)
            .await?
            .ok_or(Error::InvalidToken)?;
        let package = self
            .deps
            .accounts
            .package(record.package_id)
            .await?
            .ok_or(Error::NotFound(Entity::Package))?;
        if package.limits.can_upload == 0 {
            return Err(Error::LimitExceeded(Limit::UploadsDisabled));
        }
        let new = NewImportJob {
            account_id: account,
            url: url.to_string(),
            folder_id: folder,
            created_at: self.deps.clock.now(),
        };
        self.deps
            .jobs
            .push_import(new, limit(package.limits.max_remote_download_urls))
            .await
    }

    /// A job of the account.
    pub async fn status(&self, account: AccountId, id: JobId) -> Result<ImportJob> {
        self.deps
            .jobs
            .import_job(account, id)
            .await?
            .ok_or(Error::NotFound(Entity::ScheduledItem))
    }

    /// Claims the next job for `worker` with a lease of `lease`.
    pub async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<ImportJob>> {
        self.deps
            .jobs
            .claim_import(worker, self.deps.clock.now(), self.deps.now_plus(lease))
            .await
    }

    /// Extends the lease; `false` when the job is no longer ours.
    pub async fn heartbeat(
        &self,
        id: JobId,
        worker: &str,
        lease: Duration,
        received: u64,
    ) -> Result<bool> {
        self.deps
            .jobs
            .heartbeat_import(id, worker, self.deps.now_plus(lease), received)
            .await
    }

    /// Ends a job.
    pub async fn finish(&self, id: JobId, worker: &str, outcome: JobOutcome) -> Result<()> {
        self.deps
            .jobs
            .finish_import(id, worker, outcome, self.deps.clock.now())
            .await
    }

    /// Gives a worker's jobs back on shutdown.
    pub async fn release(&self, worker: &str) -> Result<u64> {
        self.deps.jobs.release_imports(worker).await
    }

    /// The upload policy of the job's account (size and storage limits apply to imports).
    pub async fn policy(&self, job: &ImportJob) -> Result<UploadPolicy> {
        super::UploadService::new(self.deps.clone())
            .policy(job.account_id)
            .await
    }
}

/// `file_url_base64` → an http(s) URL. Accepts standard and URL-safe alphabets, with or without
/// padding, and ignores surrounding blanks (clients differ).
pub fn decode_url(raw: &str) -> Result<url::Url> {
    let cleaned: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    let bad = || {
        Error::InvalidParam(
            "Could not parse the file_url_base64 parameter. Ensure it's base64 encoded.".into(),
        )
    };
    let trimmed = cleaned.trim_end_matches('=');
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(trimmed)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(trimmed))
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let url = url::Url::parse(text.trim()).map_err(|_| scheme_error())?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(scheme_error());
    }
    Ok(url)
}

fn scheme_error() -> Error {
    Error::InvalidParam(
        "The file_url_base64 param must decode to an http:// or https:// URL.".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn decodes_standard_and_url_safe_base64() {
        assert_eq!(
            decode_url(&b64("https://example.com/a.png"))
                .unwrap()
                .as_str(),
            "https://example.com/a.png"
        );
        let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("http://h/?a=b>>?");
        assert_eq!(decode_url(&url_safe).unwrap().host_str(), Some("h"));
    }

    #[test]
    fn refuses_other_schemes_and_garbage() {
        for bad in [
            "file:///etc/passwd",
            "ftp://h/x",
            "gopher://h",
            "javascript:alert(1)",
            "not a url",
        ] {
            assert!(
                matches!(decode_url(&b64(bad)), Err(Error::InvalidParam(_))),
                "{bad}"
            );
        }
        assert!(decode_url("%%%").is_err());
    }
}
