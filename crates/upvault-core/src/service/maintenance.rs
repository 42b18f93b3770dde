//! Housekeeping: trash purge, blob garbage collection, and clean-up after a crash.

use super::Deps;
use crate::error::Result;
use crate::ids::BlobKey;
use std::time::Duration;
use tracing::{info, instrument, warn};

/// Temporary objects older than this are removed by every maintenance round (or older than
/// [`crate::service::CoreConfig::temp_max_age_at_start`], if that is longer): an upload's
/// temporary object lives only until its request ends.
pub const TEMP_MAX_AGE: Duration = Duration::from_secs(3600);

/// Periodic and start-up maintenance.
#[derive(Clone)]
pub struct MaintenanceService {
    deps: Deps,
}

/// What one round of maintenance did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MaintenanceReport {
    /// Trashed records purged.
    pub purged_files: u64,
    /// Unreferenced blobs removed.
    pub removed_blobs: u64,
    /// Expired tokens removed.
    pub expired_tokens: u64,
}

impl MaintenanceService {
    pub(super) fn new(deps: Deps) -> Self {
        Self { deps }
    }

    /// Start-up: removes temporary objects a crash left and blobs no record refers to (an
    /// upload whose process died between the promotion and the commit of its record).
    #[instrument(skip_all)]
    pub async fn recover_after_start(&self) -> Result<()> {
        let age = self.deps.config.temp_max_age_at_start;
        let temp = self.deps.blobs.clean_temp(age).await?;
        let orphans = self.sweep_orphans(chrono::Duration::zero()).await?;
        if temp + orphans > 0 {
            info!(temp, orphans, "removed what an earlier crash left behind");
        }
        Ok(())
    }

    /// One round: purge the trash past retention, forget expired tokens, remove unreferenced
    /// blobs.
    #[instrument(skip_all)]
    pub async fn run_once(&self) -> Result<MaintenanceReport> {
        let now = self.deps.clock.now();
        let retention =
            chrono::Duration::from_std(self.deps.config.trash_retention).unwrap_or_default();
        let purged_files = self.deps.files.purge_trash(now - retention).await?;
        let expired_tokens = self.deps.tokens.purge_expired_tokens(now).await?;
        let window =
            chrono::Duration::from_std(self.deps.config.lockout.window).unwrap_or_default();
        self.deps.logins.purge_login_failures(now - window).await?;
        let removed_blobs = self.collect_garbage().await?;
        let age = TEMP_MAX_AGE.max(self.deps.config.temp_max_age_at_start);
        let removed_temp = self.deps.blobs.clean_temp(age).await?;
        if removed_temp > 0 {
            info!(removed_temp, "removed abandoned temporary objects");
        }
        Ok(MaintenanceReport {
            purged_files,
            removed_blobs,
            expired_tokens,
        })
    }

    /// Removes blobs with no reference, each inside the transaction that forgets it, so an
    /// upload of the same content at the same moment cannot lose its bytes.
    pub async fn collect_garbage(&self) -> Result<u64> {
        let mut removed = 0;
        loop {
            let keys = self.deps.files.unreferenced_blobs(256).await?;
            if keys.is_empty() {
                return Ok(removed);
            }
            let batch = keys.len();
            for key in keys {
                if self.remove_blob(key).await? {
                    removed += 1;
                }
            }
            if batch < 256 {
                return Ok(removed);
            }
        }
    }

    async fn remove_blob(&self, key: BlobKey) -> Result<bool> {
        let blobs = self.deps.blobs.clone();
        let target = key.clone();
        let remove = Box::pin(async move { blobs.remove(&target).await });
        self.deps
            .files
            .remove_blob_if_unreferenced(&key, remove)
            .await
    }

    /// Removes stored blobs the database does not know, older than `grace`. Each removal runs
    /// in a transaction that holds the key ([`crate::ports::FileRepo::remove_blob_if_unknown`]),
    /// so a blob promoted by an upload whose transaction has not committed yet (on another
    /// instance) is waited for, never taken for an orphan, whatever `grace` is.
    pub async fn sweep_orphans(&self, grace: chrono::Duration) -> Result<u64> {
        let cutoff = self.deps.clock.now() - grace;
        let mut removed = 0;
        for (key, written_at) in self.deps.blobs.list().await? {
            if written_at > cutoff || self.deps.files.blob_is_known(&key).await? {
                continue;
            }
            let blobs = self.deps.blobs.clone();
            let target = key.clone();
            let remove = Box::pin(async move { blobs.remove(&target).await });
            if self.deps.files.remove_blob_if_unknown(&key, remove).await? {
                warn!(%key, "removed a blob no record refers to");
                removed += 1;
            }
        }
        Ok(removed)
    }
}
