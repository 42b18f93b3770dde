//! Access tokens and download tokens, stored only as digests (SPEC.md §2).

use super::{secs, time, SqliteStore};
use crate::error::DbResultExt;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use upvault_core::ids::{AccountId, FileId};
use upvault_core::model::AccessTokenRecord;
use upvault_core::ports::TokenRepo;
use upvault_core::Result;

#[async_trait]
impl TokenRepo for SqliteStore {
    async fn insert_access_token(
        &self,
        digest: &str,
        account: AccountId,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO access_tokens (digest, account_id, created_at, expires_at) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(digest)
        .bind(account.0)
        .bind(secs(created_at))
        .bind(secs(expires_at))
        .execute(self.pool())
        .await
        .db()?;
        Ok(())
    }

    async fn access_token(&self, digest: &str) -> Result<Option<AccessTokenRecord>> {
        let row = self.inline.optional(
            "SELECT account_id, expires_at FROM access_tokens WHERE digest = ?",
            [digest],
            |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)),
        )?;
        row.map(|(account_id, expires_at)| {
            Ok(AccessTokenRecord {
                account_id: AccountId(account_id),
                expires_at: time(expires_at)?,
            })
        })
        .transpose()
    }

    async fn refresh_access_token(&self, digest: &str, expires_at: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE access_tokens SET expires_at = ? WHERE digest = ?")
            .bind(secs(expires_at))
            .bind(digest)
            .execute(self.pool())
            .await
            .db()?;
        Ok(())
    }

    async fn delete_access_token(&self, digest: &str, account: AccountId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM access_tokens WHERE digest = ? AND account_id = ?")
            .bind(digest)
            .bind(account.0)
            .execute(self.pool())
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
        sqlx::query("INSERT INTO download_tokens (digest, file_id, expires_at) VALUES (?, ?, ?)")
            .bind(digest)
            .bind(file.0)
            .bind(secs(expires_at))
            .execute(self.pool())
            .await
            .db()?;
        Ok(())
    }

    async fn download_token_file(
        &self,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<FileId>> {
        let file = self.inline.optional(
            "SELECT file_id FROM download_tokens WHERE digest = ? AND expires_at > ?",
            (digest, secs(now)),
            |row| row.get::<_, i64>(0),
        )?;
        Ok(file.map(FileId))
    }

    async fn purge_expired_tokens(&self, now: DateTime<Utc>) -> Result<u64> {
        let mut tx = self.write().await?;
        let access = sqlx::query("DELETE FROM access_tokens WHERE expires_at <= ?")
            .bind(secs(now))
            .execute(&mut *tx)
            .await
            .db()?;
        let download = sqlx::query("DELETE FROM download_tokens WHERE expires_at <= ?")
            .bind(secs(now))
            .execute(&mut *tx)
            .await
            .db()?;
        tx.commit().await.db()?;
        Ok(access.rows_affected() + download.rows_affected())
    }
}
