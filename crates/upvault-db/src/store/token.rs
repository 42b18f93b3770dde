//! Access tokens and download tokens, stored only as digests (SPEC.md §2).

use super::rows::{execute, Columns, FromColumns};
use super::SqlStore;
use crate::convert::{secs, time};
use crate::error::DbResultExt;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use upvault_core::ids::{AccountId, FileId};
use upvault_core::model::AccessTokenRecord;
use upvault_core::ports::TokenRepo;
use upvault_core::Result;

#[async_trait]
impl TokenRepo for SqlStore {
    async fn insert_access_token(
        &self,
        digest: &str,
        account: AccountId,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        execute(
            self.pool(),
            "INSERT INTO access_tokens (digest, account_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
            &[
                digest.into(),
                account.0.into(),
                secs(created_at).into(),
                secs(expires_at).into(),
            ],
        )
        .await?;
        Ok(())
    }

    async fn access_token(&self, digest: &str) -> Result<Option<AccessTokenRecord>> {
        self.read_one(
            "SELECT account_id, expires_at FROM access_tokens WHERE digest = $1",
            &[digest.into()],
        )
        .await
    }

    async fn refresh_access_token(&self, digest: &str, expires_at: DateTime<Utc>) -> Result<()> {
        execute(
            self.pool(),
            "UPDATE access_tokens SET expires_at = $1 WHERE digest = $2",
            &[secs(expires_at).into(), digest.into()],
        )
        .await?;
        Ok(())
    }

    async fn delete_access_token(&self, digest: &str, account: AccountId) -> Result<bool> {
        let done = execute(
            self.pool(),
            "DELETE FROM access_tokens WHERE digest = $1 AND account_id = $2",
            &[digest.into(), account.0.into()],
        )
        .await?;
        Ok(done > 0)
    }

    async fn insert_download_token(
        &self,
        digest: &str,
        file: FileId,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        execute(
            self.pool(),
            "INSERT INTO download_tokens (digest, file_id, expires_at) VALUES ($1, $2, $3)",
            &[digest.into(), file.0.into(), secs(expires_at).into()],
        )
        .await?;
        Ok(())
    }

    async fn download_token_file(
        &self,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<FileId>> {
        self.read_one(
            "SELECT file_id FROM download_tokens WHERE digest = $1 AND expires_at > $2",
            &[digest.into(), secs(now).into()],
        )
        .await
    }

    async fn purge_expired_tokens(&self, now: DateTime<Utc>) -> Result<u64> {
        let mut tx = self.begin().await?;
        let mut purged = 0;
        for table in ["access_tokens", "download_tokens"] {
            purged += execute(
                &mut *tx,
                &self.dialect.purge(table, "digest", "expires_at <= $1"),
                &[secs(now).into()],
            )
            .await?;
        }
        tx.commit().await.db()?;
        Ok(purged)
    }
}

impl FromColumns for AccessTokenRecord {
    fn decode(row: &impl Columns) -> Result<Self> {
        Ok(Self {
            account_id: AccountId(row.get(0)?),
            expires_at: time(row.get(1)?)?,
        })
    }
}

impl FromColumns for FileId {
    fn decode(row: &impl Columns) -> Result<Self> {
        Ok(Self(row.get(0)?))
    }
}
