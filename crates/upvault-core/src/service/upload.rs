//! Uploads: package limits, concurrency slots, streaming to a temporary blob and the atomic
//! commit of the record (SPEC.md §4).

use super::batch::UploadBatch;
use super::Deps;
use crate::error::{Entity, Error, Limit, Result};
use crate::ids::{AccountId, FolderId};
use crate::model::{limit, File, NewFile, TransferKind, UploadSource};
use crate::name;
use crate::ports::{ByteStream, TempBlob, TransferSlots};
use crate::secret;
use std::sync::Arc;
use tracing::{instrument, warn};

/// What came with an uploaded or imported file besides its bytes.
#[derive(Debug, Clone, Copy)]
pub struct Arrival<'a> {
    /// The name the client gave (a path keeps its last component).
    pub filename: &'a str,
    /// The MIME type the client declared, used when the name says nothing.
    pub declared_type: Option<&'a str>,
    /// How it arrived.
    pub source: UploadSource,
    /// The client's address.
    pub ip: &'a str,
}

/// The limits one account's uploads run under.
#[derive(Debug, Clone, Copy)]
pub struct UploadPolicy {
    /// `can_upload`.
    pub can_upload: bool,
    /// `max_upload_size` (None = unlimited).
    pub max_upload_bytes: Option<u64>,
    /// The override or `max_storage_bytes` (None = unlimited).
    pub storage_limit: Option<u64>,
    /// `concurrent_uploads` (None = unlimited).
    pub concurrent_uploads: Option<u64>,
    /// Bytes the account already stores.
    pub used_bytes: u64,
}

impl UploadPolicy {
    /// The most bytes one more file may have: the smaller of the package's size limit and the
    /// storage left, so a stream is cut as soon as it passes either.
    pub fn max_bytes(&self) -> Option<u64> {
        let left = self
            .storage_limit
            .map(|max| max.saturating_sub(self.used_bytes));
        match (self.max_upload_bytes, left) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The limit a file of `size` bytes breaks, if any (uploads and URL imports alike, before
    /// and after the bytes arrive).
    pub fn refusal(&self, size: u64) -> Option<Limit> {
        if let Some(max) = self.max_upload_bytes.filter(|max| size > *max) {
            return Some(Limit::MaxUploadSize(max));
        }
        self.storage_limit
            .filter(|max| self.used_bytes.saturating_add(size) > *max)
            .map(Limit::Storage)
    }

    /// Maps the store's "more than max_bytes" to the limit that set it.
    fn explain(&self, err: Error) -> Error {
        match err {
            Error::LimitExceeded(Limit::MaxUploadSize(_)) => {
                let over = self.max_bytes().unwrap_or(u64::MAX).saturating_add(1);
                Error::LimitExceeded(self.refusal(over).unwrap_or(Limit::MaxUploadSize(over - 1)))
            }
            other => other,
        }
    }
}

/// Holds a concurrency slot while a transfer runs, renewing its lease; frees it when dropped.
pub struct SlotGuard {
    slot: Option<(i64, Arc<dyn TransferSlots>)>,
    renewer: Option<tokio::task::JoinHandle<()>>,
}

impl SlotGuard {
    /// A guard that holds nothing (unlimited packages).
    pub fn none() -> Self {
        Self {
            slot: None,
            renewer: None,
        }
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        if let Some(renewer) = self.renewer.take() {
            renewer.abort();
        }
        if let Some((slot, slots)) = self.slot.take() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    if let Err(err) = slots.release_slot(slot).await {
                        warn!(%err, "could not release a transfer slot; its lease will lapse");
                    }
                });
            }
        }
    }
}

/// The slot holder of an account (guests on public pages are `ip:{address}`).
pub(crate) fn account_holder(account: AccountId) -> String {
    format!("acct:{account}")
}

/// Takes a concurrency slot for `holder`, or refuses with `limit_error`.
pub(crate) async fn acquire_slot(
    deps: &Deps,
    holder: &str,
    kind: TransferKind,
    max: Option<u64>,
    limit_error: Limit,
) -> Result<SlotGuard> {
    let Some(max) = max else {
        return Ok(SlotGuard::none());
    };
    let lease = deps.config.slot_lease;
    let slot = deps
        .slots
        .acquire_slot(holder, kind, max, deps.clock.now(), deps.now_plus(lease))
        .await?
        .ok_or(Error::LimitExceeded(limit_error))?;
    let slots = deps.slots.clone();
    let clock = deps.clock.clone();
    let renewer = tokio::spawn(async move {
        let mut every = tokio::time::interval(lease / 3);
        every.tick().await;
        loop {
            every.tick().await;
            let until = clock.now() + chrono::Duration::from_std(lease).unwrap_or_default();
            if let Err(err) = slots.renew_slot(slot, until).await {
                warn!(%err, "could not renew a transfer slot");
            }
        }
    });
    Ok(SlotGuard {
        slot: Some((slot, deps.slots.clone())),
        renewer: Some(renewer),
    })
}

/// The storage limit of the account: its override, else its package's (None = unlimited).
pub(crate) async fn storage_limit(deps: &Deps, account: AccountId) -> Result<Option<u64>> {
    let account = deps
        .accounts
        .account(account)
        .await?
        .ok_or(Error::InvalidToken)?;
    if let Some(over) = account.storage_limit_override {
        return Ok(limit(over));
    }
    let package = deps
        .accounts
        .package(account.package_id)
        .await?
        .ok_or(Error::NotFound(Entity::Package))?;
    Ok(limit(package.limits.max_storage_bytes))
}

/// Receives files into storage under the account's limits.
#[derive(Clone)]
pub struct UploadService {
    deps: Deps,
}

impl UploadService {
    pub(super) fn new(deps: Deps) -> Self {
        Self { deps }
    }

    /// A batch of uploads for one request (see [`UploadBatch`]), arriving by `source` from the
    /// client at `ip`.
    pub fn batch(&self, source: UploadSource, ip: &str) -> UploadBatch {
        UploadBatch::new(self.clone(), self.deps.blobs.clone(), source, ip)
    }

    /// Removes a received file that will not be committed (an abandoned URL import).
    pub async fn discard(&self, temp: TempBlob) {
        super::batch::discard(self.deps.blobs.as_ref(), &temp).await;
    }

    /// The limits the account's next upload runs under.
    pub async fn policy(&self, account: AccountId) -> Result<UploadPolicy> {
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
        let storage_limit = match record.storage_limit_override {
            Some(over) => limit(over),
            None => limit(package.limits.max_storage_bytes),
        };
        let used_bytes = match storage_limit {
            Some(_) => self.deps.accounts.storage_used_bytes(account).await?,
            None => 0,
        };
        Ok(UploadPolicy {
            can_upload: package.limits.can_upload > 0,
            max_upload_bytes: limit(package.limits.max_upload_size),
            storage_limit,
            concurrent_uploads: limit(package.limits.concurrent_uploads),
            used_bytes,
        })
    }

    /// Checks `can_upload` and takes a `concurrent_uploads` slot for one upload.
    pub async fn begin(&self, account: AccountId, policy: &UploadPolicy) -> Result<SlotGuard> {
        if !policy.can_upload {
            return Err(Error::LimitExceeded(Limit::UploadsDisabled));
        }
        let max = policy.concurrent_uploads;
        acquire_slot(
            &self.deps,
            &account_holder(account),
            TransferKind::Upload,
            max,
            Limit::ConcurrentUploads(max.unwrap_or(0)),
        )
        .await
    }

    /// Streams a body into a temporary blob, cut off as soon as it passes the policy's limits
    /// (or, with no policy yet, the operator's cap for unauthenticated parts).
    pub async fn receive(
        &self,
        body: ByteStream,
        policy: Option<&UploadPolicy>,
    ) -> Result<TempBlob> {
        let max = match policy {
            Some(policy) => policy.max_bytes(),
            None => Some(self.deps.config.unauthenticated_upload_cap),
        };
        let result = self.deps.blobs.write_temp(body, max).await;
        match policy {
            Some(policy) => result.map_err(|err| policy.explain(err)),
            None => result,
        }
    }

    /// Makes a received blob a file of the account: checks the folder and the limits again, then
    /// commits the record and the blob reference in one transaction. The temporary object is
    /// removed whatever the outcome.
    #[instrument(skip_all, fields(account = %account, size = temp.size_bytes))]
    pub async fn commit(
        &self,
        account: AccountId,
        policy: &UploadPolicy,
        folder: Option<FolderId>,
        arrival: &Arrival<'_>,
        temp: TempBlob,
    ) -> Result<File> {
        let outcome = self
            .commit_inner(account, policy, folder, arrival, &temp)
            .await;
        self.discard(temp).await;
        outcome
    }

    async fn commit_inner(
        &self,
        account: AccountId,
        policy: &UploadPolicy,
        folder: Option<FolderId>,
        arrival: &Arrival<'_>,
        temp: &TempBlob,
    ) -> Result<File> {
        if temp.size_bytes == 0 {
            return Err(Error::EmptyUpload);
        }
        if !policy.can_upload {
            return Err(Error::LimitExceeded(Limit::UploadsDisabled));
        }
        if let Some(limit) = policy.refusal(temp.size_bytes) {
            return Err(Error::LimitExceeded(limit));
        }
        // A `folder_id` that names no folder of the account puts the file in the root, as the
        // real server does: integrations ship with their author's folder id written in.
        let folder = match folder {
            Some(id) => self.deps.folders.folder(account, id).await?.map(|f| f.id),
            None => None,
        };
        let filename = name::for_upload(arrival.filename);
        let new = NewFile {
            account_id: account,
            folder_id: folder,
            mime_type: name::mime_type(&filename, arrival.declared_type),
            extension: name::extension(&filename),
            filename,
            size_bytes: temp.size_bytes,
            blob_key: temp.key.clone(),
            md5: temp.md5.clone(),
            delete_hash: secret::random_hex(16),
            unique_hash: secret::random_hex(32),
            keywords: String::new(),
            uploaded_at: self.deps.clock.now(),
            upload_source: arrival.source,
            uploaded_ip: arrival.ip.to_owned(),
        };
        let blobs = self.deps.blobs.clone();
        let (temp_id, key) = (temp.temp_id.clone(), temp.key.clone());
        let promote = Box::pin(async move { blobs.promote(&temp_id, &key).await });
        self.deps
            .files
            .commit_upload(new, policy.storage_limit, promote)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_size_breaks_the_upload_limit_first_then_the_storage_left() {
        let policy = UploadPolicy {
            can_upload: true,
            max_upload_bytes: Some(100),
            storage_limit: Some(1000),
            concurrent_uploads: None,
            used_bytes: 950,
        };
        assert_eq!(policy.refusal(101), Some(Limit::MaxUploadSize(100)));
        assert_eq!(policy.refusal(60), Some(Limit::Storage(1000)));
        assert_eq!(policy.refusal(50), None);
        assert_eq!(policy.max_bytes(), Some(50));
    }
}
