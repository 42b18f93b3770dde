//! The URL-import queue: jobs are rows, a worker holds one under a lease it renews, and a lapsed
//! lease (a crashed instance) lets another worker claim the job again (SPEC.md §4: a scheduled
//! download is never silently lost).

use super::{corrupt, int, opt_time, secs, time, uint, SqliteStore};
use crate::error::DbResultExt;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use upvault_core::error::Limit;
use upvault_core::ids::{AccountId, FileId, FolderId, JobId};
use upvault_core::model::{ImportJob, JobOutcome, JobStatus, NewImportJob};
use upvault_core::ports::JobQueue;
use upvault_core::{Error, Result};

/// Claims after which a job whose lease lapsed again is given up rather than retried: a URL
/// that crashes its worker every time must not take the queue down with it.
const MAX_ATTEMPTS: i64 = 3;

/// The error a job gets when it reaches [`MAX_ATTEMPTS`].
const TOO_MANY_ATTEMPTS: &str = "The download was interrupted too many times.";

const JOB_COLUMNS: &str = "id, account_id, url, folder_id, status, created_at, started_at, \
     finished_at, total_size, error, file_id, attempts";

#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    account_id: i64,
    url: String,
    folder_id: Option<i64>,
    status: String,
    created_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    total_size: i64,
    error: Option<String>,
    file_id: Option<i64>,
    attempts: i64,
}

impl TryFrom<JobRow> for ImportJob {
    type Error = Error;

    fn try_from(row: JobRow) -> Result<Self> {
        Ok(ImportJob {
            id: JobId(row.id),
            account_id: AccountId(row.account_id),
            url: row.url,
            folder_id: row.folder_id.map(FolderId),
            status: JobStatus::parse(&row.status)
                .ok_or_else(|| corrupt("job status", &row.status))?,
            created_at: time(row.created_at)?,
            started_at: opt_time(row.started_at)?,
            finished_at: opt_time(row.finished_at)?,
            total_size: uint(row.total_size),
            error: row.error,
            file_id: row.file_id.map(FileId),
            attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
        })
    }
}

#[async_trait]
impl JobQueue for SqliteStore {
    async fn push_import(&self, new: NewImportJob, max_pending: Option<u64>) -> Result<ImportJob> {
        let mut tx = self.write().await?;
        if let Some(max) = max_pending {
            let unfinished: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM import_jobs \
                 WHERE account_id = ? AND status IN ('pending', 'downloading')",
            )
            .bind(new.account_id.0)
            .fetch_one(&mut *tx)
            .await
            .db()?;
            if uint(unfinished) >= max {
                return Err(Error::LimitExceeded(Limit::RemoteDownloadUrls(max)));
            }
        }
        let row: JobRow = sqlx::query_as(&format!(
            "INSERT INTO import_jobs (account_id, url, folder_id, status, created_at) \
             VALUES (?, ?, ?, 'pending', ?) RETURNING {JOB_COLUMNS}"
        ))
        .bind(new.account_id.0)
        .bind(&new.url)
        .bind(new.folder_id.map(|id| id.0))
        .bind(secs(new.created_at))
        .fetch_one(&mut *tx)
        .await
        .db()?;
        tx.commit().await.db()?;
        row.try_into()
    }

    async fn import_job(&self, account: AccountId, id: JobId) -> Result<Option<ImportJob>> {
        sqlx::query_as::<_, JobRow>(&format!(
            "SELECT {JOB_COLUMNS} FROM import_jobs WHERE id = ? AND account_id = ?"
        ))
        .bind(id.0)
        .bind(account.0)
        .fetch_optional(self.pool())
        .await
        .db()?
        .map(ImportJob::try_from)
        .transpose()
    }

    async fn claim_import(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<ImportJob>> {
        let now = secs(now);
        let mut tx = self.write().await?;
        loop {
            let candidate: Option<(i64, String, i64)> = sqlx::query_as(
                "SELECT id, status, attempts FROM import_jobs \
                 WHERE status = 'pending' \
                    OR (status = 'downloading' AND lease_expires_at < ?) \
                 ORDER BY created_at, id LIMIT 1",
            )
            .bind(now)
            .fetch_optional(&mut *tx)
            .await
            .db()?;
            let Some((id, status, attempts)) = candidate else {
                tx.commit().await.db()?;
                return Ok(None);
            };
            if status == JobStatus::Downloading.as_str() && attempts >= MAX_ATTEMPTS {
                sqlx::query(
                    "UPDATE import_jobs SET status = 'failed', error = ?, finished_at = ?, \
                     lease_owner = NULL, lease_expires_at = NULL WHERE id = ?",
                )
                .bind(TOO_MANY_ATTEMPTS)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await
                .db()?;
                continue;
            }
            let row: JobRow = sqlx::query_as(&format!(
                "UPDATE import_jobs SET status = 'downloading', lease_owner = ?, \
                 lease_expires_at = ?, started_at = COALESCE(started_at, ?), \
                 attempts = attempts + 1 WHERE id = ? RETURNING {JOB_COLUMNS}"
            ))
            .bind(worker)
            .bind(secs(lease_until))
            .bind(now)
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .db()?;
            tx.commit().await.db()?;
            return row.try_into().map(Some);
        }
    }

    async fn heartbeat_import(
        &self,
        id: JobId,
        worker: &str,
        lease_until: DateTime<Utc>,
        received_bytes: u64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE import_jobs SET lease_expires_at = ?, total_size = ? \
             WHERE id = ? AND lease_owner = ? AND status = 'downloading'",
        )
        .bind(secs(lease_until))
        .bind(int(received_bytes))
        .bind(id.0)
        .bind(worker)
        .execute(self.pool())
        .await
        .db()?;
        Ok(done.rows_affected() > 0)
    }

    async fn finish_import(
        &self,
        id: JobId,
        worker: &str,
        outcome: JobOutcome,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let (status, file_id, total_size, error) = match outcome {
            JobOutcome::Complete {
                file_id,
                size_bytes,
            } => (
                JobStatus::Complete,
                Some(file_id.0),
                Some(int(size_bytes)),
                None,
            ),
            JobOutcome::Failed { error } => (JobStatus::Failed, None, None, Some(error)),
        };
        let done = sqlx::query(
            "UPDATE import_jobs SET status = ?, file_id = ?, \
             total_size = COALESCE(?, total_size), error = ?, finished_at = ?, \
             lease_owner = NULL, lease_expires_at = NULL \
             WHERE id = ? AND lease_owner = ? AND status = 'downloading'",
        )
        .bind(status.as_str())
        .bind(file_id)
        .bind(total_size)
        .bind(error)
        .bind(secs(at))
        .bind(id.0)
        .bind(worker)
        .execute(self.pool())
        .await
        .db()?;
        if done.rows_affected() == 0 {
            tracing::warn!(
                job = id.0,
                worker,
                "finish of an import this worker no longer holds"
            );
        }
        Ok(())
    }

    async fn release_imports(&self, worker: &str) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE import_jobs SET status = 'pending', lease_owner = NULL, \
             lease_expires_at = NULL WHERE lease_owner = ? AND status = 'downloading'",
        )
        .bind(worker)
        .execute(self.pool())
        .await
        .db()?;
        Ok(done.rows_affected())
    }
}
