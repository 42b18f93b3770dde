//! The URL-import queue: jobs are rows, a worker holds one under a lease it renews, and a lapsed
//! lease (a crashed instance) lets another worker claim the job again (SPEC.md §4: a scheduled
//! download is never silently lost).
//!
//! Workers of every instance claim from the same table. A claim locks its candidate row with
//! `FOR UPDATE SKIP LOCKED`: concurrent claimers pass over each other's candidates instead of
//! waiting, and a row changed since the claimer's snapshot is re-checked against the condition
//! before it is locked, so a job is never handed to two workers.

use super::rows::{execute, Arg};
use super::{Serial, SqlStore};
use crate::convert::{corrupt, int, opt_time, secs, time, uint};
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
impl JobQueue for SqlStore {
    async fn push_import(&self, new: NewImportJob, max_pending: Option<u64>) -> Result<ImportJob> {
        let mut tx = self.begin().await?;
        if let Some(max) = max_pending {
            // Under the account's lock, the count includes every push that passed before.
            self.serialise(&mut tx, Serial::Imports(new.account_id))
                .await?;
            let unfinished: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM import_jobs \
                 WHERE account_id = $1 AND status IN ('pending', 'downloading')",
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
             VALUES ($1, $2, $3, 'pending', $4) RETURNING {JOB_COLUMNS}"
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
            "SELECT {JOB_COLUMNS} FROM import_jobs WHERE id = $1 AND account_id = $2"
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
        let mut tx = self.begin().await?;
        loop {
            let sql = format!(
                "SELECT id, status, attempts FROM import_jobs \
                 WHERE status = 'pending' \
                    OR (status = 'downloading' AND lease_expires_at < $1) \
                 ORDER BY created_at, id LIMIT 1{}",
                self.dialect.claim()
            );
            let candidate: Option<(i64, String, i64)> = sqlx::query_as(&sql)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await
                .db()?;
            let Some((id, status, attempts)) = candidate else {
                tx.commit().await.db()?;
                return Ok(None);
            };
            if status == JobStatus::Downloading.as_str() && attempts >= MAX_ATTEMPTS {
                // Still locked by us; the next round no longer matches it.
                execute(
                    &mut *tx,
                    "UPDATE import_jobs SET status = 'failed', error = $1, finished_at = $2, \
                     lease_owner = NULL, lease_expires_at = NULL WHERE id = $3",
                    &[TOO_MANY_ATTEMPTS.into(), now.into(), id.into()],
                )
                .await?;
                continue;
            }
            let row: JobRow = sqlx::query_as(&format!(
                "UPDATE import_jobs SET status = 'downloading', lease_owner = $1, \
                 lease_expires_at = $2, started_at = COALESCE(started_at, $3), \
                 attempts = attempts + 1 WHERE id = $4 RETURNING {JOB_COLUMNS}"
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
        let done = execute(
            self.pool(),
            "UPDATE import_jobs SET lease_expires_at = $1, total_size = $2 \
             WHERE id = $3 AND lease_owner = $4 AND status = 'downloading'",
            &[
                secs(lease_until).into(),
                int(received_bytes).into(),
                id.0.into(),
                worker.into(),
            ],
        )
        .await?;
        Ok(done > 0)
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
        let done = execute(
            self.pool(),
            "UPDATE import_jobs SET status = $1, file_id = $2, \
             total_size = COALESCE($3, total_size), error = $4, finished_at = $5, \
             lease_owner = NULL, lease_expires_at = NULL \
             WHERE id = $6 AND lease_owner = $7 AND status = 'downloading'",
            &[
                status.as_str().into(),
                file_id.into(),
                total_size.into(),
                Arg::from(&error),
                secs(at).into(),
                id.0.into(),
                worker.into(),
            ],
        )
        .await?;
        if done == 0 {
            tracing::warn!(
                job = id.0,
                worker,
                "finish of an import this worker no longer holds"
            );
        }
        Ok(())
    }

    async fn release_imports(&self, worker: &str) -> Result<u64> {
        let done = execute(
            self.pool(),
            "UPDATE import_jobs SET status = 'pending', lease_owner = NULL, \
             lease_expires_at = NULL WHERE lease_owner = $1 AND status = 'downloading'",
            &[worker.into()],
        )
        .await?;
        Ok(done)
    }
}
