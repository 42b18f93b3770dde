//! Opening the backends the config names: SQLite or PostgreSQL for metadata, a local directory
//! or an S3-compatible bucket for bytes (SPEC.md §6). Any combination works; the domain sees
//! only the ports.

use crate::Config;
use anyhow::Context;
use async_trait::async_trait;
use std::sync::Arc;
use upvault_core::ports::*;
use upvault_db::instances::Instance;

/// Every repository port on one database.
#[async_trait]
pub trait Database:
    AccountRepo
    + TokenRepo
    + FileRepo
    + FolderRepo
    + JobQueue
    + TransferSlots
    + LoginThrottle
    + PublicRepo
    + RateLimiter
{
    /// Closes the pool (graceful shutdown).
    async fn close(&self);
    /// The heartbeat of a serving instance (see [`upvault_db::instances`]).
    async fn beat(&self, instance: &Instance) -> upvault_core::Result<()>;
    /// Removes a stopping instance's heartbeat.
    async fn leave(&self, id: &str) -> upvault_core::Result<()>;
}

#[async_trait]
impl Database for upvault_db::SqlStore {
    async fn close(&self) {
        upvault_db::SqlStore::close(self).await;
    }
    async fn beat(&self, instance: &Instance) -> upvault_core::Result<()> {
        upvault_db::SqlStore::beat(self, instance).await
    }
    async fn leave(&self, id: &str) -> upvault_core::Result<()> {
        upvault_db::SqlStore::leave(self, id).await
    }
}

/// Opens the database of `database_url` (default: SQLite in `data_dir`), running migrations.
pub async fn open_database(config: &Config) -> anyhow::Result<Arc<dyn Database>> {
    Ok(Arc::new(open_store(config).await?))
}

/// The database of `database_url` as the store itself (the row copier of `migrate` needs it),
/// running migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<upvault_db::SqlStore> {
    upvault_db::SqlStore::connect(&config.database_url()).await
}

/// Opens the blob store of `[storage]`.
pub async fn open_blobs(config: &Config) -> anyhow::Result<Arc<dyn BlobStore>> {
    match config.storage.backend.as_str() {
        "s3" => {
            let store = upvault_blob::S3BlobStore::open(config.s3())
                .await
                .with_context(|| {
                    format!("cannot open the S3 bucket {:?}", config.storage.bucket)
                })?;
            Ok(Arc::new(store))
        }
        _ => {
            let store = upvault_blob::LocalBlobStore::open(config.blob_dir())
                .await
                .context("cannot open the blob directory")?;
            Ok(Arc::new(store))
        }
    }
}
