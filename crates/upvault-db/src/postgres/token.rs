//! Access tokens and download tokens, stored only as digests (SPEC.md §2).

use super::PostgresStore;
use crate::convert::{secs, time};
use crate::error::DbResultExt;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use upvault_core::ids::{AccountId, FileId};
use upvault_core::model::AccessTokenRecord;
use upvault_core::ports::TokenRepo;
use upvault_core::Result;

#[async_trait]
impl TokenRepo for PostgresStore {
    async fn insert_access_token(
        &self,
        digest: &str,
        account: AccountId,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO access_tokens (digest, account_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(digest)
        .bind(account.0)
        .bind(secs(created_at))
        .bind(secs(expires_at))
        .execute(&self.pool)
        .await
        .db()?;
        Ok(())
    }

    async fn access_token(&self, digest: &str) -> Result<Option<AccessTokenRecord>> {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT account_id, expires_at FROM access_tokens WHERE digest = $1")
                .bind(digest)
                .fetch_optional(&self.pool)
                .await
                .db()?;
        row.map(|(account_id, expires_at)| {
            Ok(AccessTokenRecord {
                account_id: AccountId(account_id),
                expires_at: time(expires_at)?,
            })
        })
        .transpose()
    }

    async fn refresh_access_token(&self, digest: &str, expires_at: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE access_tokens SET expires_at = $1 WHERE digest = $2")
            .bind(secs(expires_at))
            .bind(digest)
            .execute(&self.pool)
            .await
            .db()?;
        Ok(())
    }

    async fn delete_access_token(&self, digest: &str, account: AccountId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM access_tokens WHERE digest = $1 AND account_id = $2")
            .bind(digest)
            .bind(account.0)
            .execute(&self.pool)
            .await
            .db()?;
        Ok(done.rows_affected() > 0)
    }

    async fn insert_download_token(
        &self,
        digest: &str,
        file: FileId,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO download_tokens (digest, file_id, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(digest)
        .bind(file.0)
        .bind(secs(expires_at))
        .execute(&self.pool)
        .await
        .db()?;
        Ok(())
    }

    async fn download_token_file(
        &self,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<FileId>> {
        let file: Option<i64> = sqlx::query_scalar(
            "SELECT file_id FROM download_tokens WHERE digest = $1 AND expires_at > $2",
        )
        .bind(digest)
        .bind(secs(now))
        .fetch_optional(&self.pool)
        .await
        .db()?;
        Ok(file.map(FileId))
    }

    async fn purge_expired_tokens(&self, now: DateTime<Utc>) -> Result<u64> {
        // Every instance runs this housekeeping: rows another purge (or a refresh) holds are
        // skipped rather than waited for, so two purges neither deadlock nor count a row twice.
        let mut tx = self.begin().await?;
        let access = sqlx::query(
            "DELETE FROM access_tokens WHERE digest IN ( \
                 SELECT digest FROM access_tokens WHERE expires_at <= $1 \
                 FOR UPDATE SKIP LOCKED)",
        )
        .bind(secs(now))
        .execute(&mut *tx)
        .await
        .db()?;
        let download = sqlx::query(
            "DELETE FROM download_tokens WHERE digest IN ( \
                 SELECT digest FROM download_tokens WHERE expires_at <= $1 \
                 FOR UPDATE SKIP LOCKED)",
        )
        .bind(secs(now))
        .execute(&mut *tx)
        .await
        .db()?;
        tx.commit().await.db()?;
        Ok(access.rows_affected() + download.rows_affected())
    }
}
