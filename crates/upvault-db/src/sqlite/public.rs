//! What the public pages store: per-day statistics, the download log behind the 24-hour limits,
//! failed folder-password guesses and the shared signing secrets.

use super::{file, int, secs, time, uint, SqliteStore};
use crate::error::DbResultExt;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use upvault_core::ids::FileId;
use upvault_core::model::{DayDownloads, DownloadRefusal, LoggedDownload, NewDownloadLog};
use upvault_core::ports::{DownloadAdmission, PublicRepo};
use upvault_core::Result;

#[async_trait]
impl PublicRepo for SqliteStore {
    async fn download_stats(&self, file: FileId) -> Result<Vec<DayDownloads>> {
        file::download_stats(self.pool(), file).await
    }

    async fn log_download(
        &self,
        new: NewDownloadLog,
        since: DateTime<Utc>,
        admit: DownloadAdmission,
    ) -> Result<std::result::Result<(), DownloadRefusal>> {
        // BEGIN IMMEDIATE: the read and the append are one decision, across instances too.
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM download_log WHERE visitor = ? AND at <= ?")
            .bind(&new.visitor)
            .bind(secs(since))
            .execute(&mut *tx)
            .await
            .db()?;
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT at, bytes, counted FROM download_log WHERE visitor = ? AND at > ? \
             ORDER BY at, id",
        )
        .bind(&new.visitor)
        .bind(secs(since))
        .fetch_all(&mut *tx)
        .await
        .db()?;
        let window = rows
            .into_iter()
            .map(|(at, bytes, counted)| {
                Ok(LoggedDownload {
                    at: time(at)?,
                    bytes: uint(bytes),
                    counted: counted != 0,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if let Err(refusal) = admit(&window) {
            tx.commit().await.db()?;
            return Ok(Err(refusal));
        }
        sqlx::query(
            "INSERT INTO download_log (visitor, file_id, bytes, counted, at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&new.visitor)
        .bind(new.file_id.0)
        .bind(int(new.entry.bytes))
        .bind(i64::from(new.entry.counted))
        .bind(secs(new.entry.at))
        .execute(&mut *tx)
        .await
        .db()?;
        tx.commit().await.db()?;
        Ok(Ok(()))
    }

    async fn record_guess(&self, key: &str, at: DateTime<Utc>) -> Result<()> {
        let mut tx = self.write().await?;
        // Old guesses are of no use to any window; drop them as new ones come.
        sqlx::query("DELETE FROM guess_failures WHERE at < ?")
            .bind(secs(at) - 7 * 24 * 3600)
            .execute(&mut *tx)
            .await
            .db()?;
        sqlx::query("INSERT INTO guess_failures (key, at) VALUES (?, ?)")
            .bind(key)
            .bind(secs(at))
            .execute(&mut *tx)
            .await
            .db()?;
        tx.commit().await.db()?;
        Ok(())
    }

    async fn guesses_since(&self, key: &str, since: DateTime<Utc>) -> Result<Vec<DateTime<Utc>>> {
        let rows: Vec<i64> = sqlx::query_scalar(
            "SELECT at FROM guess_failures WHERE key = ? AND at > ? ORDER BY at",
        )
        .bind(key)
        .bind(secs(since))
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter().map(time).collect()
    }

    async fn secret(&self, name: &str, candidate: &str) -> Result<String> {
        sqlx::query("INSERT INTO site_secrets (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING")
            .bind(name)
            .bind(candidate)
            .execute(self.pool())
            .await
            .db()?;
        sqlx::query_scalar("SELECT value FROM site_secrets WHERE name = ?")
            .bind(name)
            .fetch_one(self.pool())
            .await
            .db()
    }
}
