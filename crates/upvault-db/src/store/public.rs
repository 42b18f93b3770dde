//! What the public pages store: per-day statistics, the download log behind the 24-hour limits,
//! failed folder-password guesses and the shared signing secrets.

use super::rows::{execute, Arg};
use super::{file, Serial, SqlStore};
use crate::convert::{int, secs, time, uint};
use crate::error::DbResultExt;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use upvault_core::ids::FileId;
use upvault_core::model::{DayDownloads, DownloadRefusal, LoggedDownload, NewDownloadLog};
use upvault_core::ports::{DownloadAdmission, PublicRepo};
use upvault_core::Result;

/// Guesses older than this are of no use to any window.
const GUESS_RETENTION_SECS: i64 = 7 * 24 * 3600;

#[async_trait]
impl PublicRepo for SqlStore {
    async fn download_stats(&self, file: FileId) -> Result<Vec<DayDownloads>> {
        file::download_stats(self.pool(), file).await
    }

    async fn log_download(
        &self,
        new: NewDownloadLog,
        since: DateTime<Utc>,
        admit: DownloadAdmission,
    ) -> Result<std::result::Result<(), DownloadRefusal>> {
        let mut tx = self.begin().await?;
        // The read and the append are one decision: under the visitor's lock, the window
        // includes every download admitted before, on any instance.
        self.serialise(&mut tx, Serial::Visitor(&new.visitor))
            .await?;
        execute(
            &mut *tx,
            "DELETE FROM download_log WHERE visitor = $1 AND at <= $2",
            &[Arg::from(&new.visitor), secs(since).into()],
        )
        .await?;
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT at, bytes, counted FROM download_log WHERE visitor = $1 AND at > $2 \
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
        execute(
            &mut *tx,
            "INSERT INTO download_log (visitor, file_id, bytes, counted, at) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                Arg::from(&new.visitor),
                new.file_id.0.into(),
                int(new.entry.bytes).into(),
                i64::from(new.entry.counted).into(),
                secs(new.entry.at).into(),
            ],
        )
        .await?;
        tx.commit().await.db()?;
        Ok(Ok(()))
    }

    async fn record_guess(&self, key: &str, at: DateTime<Utc>) -> Result<()> {
        let mut tx = self.begin().await?;
        // Old guesses go as new ones come; concurrent guesses never wait on each other (the
        // table has no key: PostgreSQL's rows by `ctid`).
        execute(
            &mut *tx,
            &self.dialect.purge("guess_failures", "ctid", "at < $1"),
            &[(secs(at) - GUESS_RETENTION_SECS).into()],
        )
        .await?;
        execute(
            &mut *tx,
            "INSERT INTO guess_failures (key, at) VALUES ($1, $2)",
            &[key.into(), secs(at).into()],
        )
        .await?;
        tx.commit().await.db()?;
        Ok(())
    }

    async fn guesses_since(&self, key: &str, since: DateTime<Utc>) -> Result<Vec<DateTime<Utc>>> {
        let rows: Vec<i64> = sqlx::query_scalar(
            "SELECT at FROM guess_failures WHERE key = $1 AND at > $2 ORDER BY at",
        )
        .bind(key)
        .bind(secs(since))
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter().map(time).collect()
    }

    async fn secret(&self, name: &str, candidate: &str) -> Result<String> {
        // A concurrent first insert of the same name waits for the other, then does nothing;
        // the read after it sees the winner's value.
        execute(
            self.pool(),
            "INSERT INTO site_secrets (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[name.into(), candidate.into()],
        )
        .await?;
        sqlx::query_scalar("SELECT value FROM site_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(self.pool())
            .await
            .db()
    }
}
