//! Failed-login counters for the lockout policy, shared by every instance through the database.

use super::PostgresStore;
use crate::convert::{secs, uint};
use crate::error::DbResultExt;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use upvault_core::ports::LoginThrottle;
use upvault_core::Result;

#[async_trait]
impl LoginThrottle for PostgresStore {
    async fn record_login_failure(&self, keys: &[String], at: DateTime<Utc>) -> Result<()> {
        // One statement: every key or none.
        sqlx::query("INSERT INTO login_failures (key, at) SELECT k, $2 FROM UNNEST($1::TEXT[]) k")
            .bind(keys)
            .bind(secs(at))
            .execute(&self.pool)
            .await
            .db()?;
        Ok(())
    }

    async fn login_failures_since(&self, key: &str, since: DateTime<Utc>) -> Result<u64> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE key = $1 AND at > $2")
                .bind(key)
                .bind(secs(since))
                .fetch_one(&self.pool)
                .await
                .db()?;
        Ok(uint(count))
    }

    async fn clear_login_failures(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_failures WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await
            .db()?;
        Ok(())
    }

    async fn purge_login_failures(&self, before: DateTime<Utc>) -> Result<u64> {
        // Housekeeping every instance runs: skip rows another purge holds, never wait on them.
        let done = sqlx::query(
            "DELETE FROM login_failures WHERE id IN ( \
                 SELECT id FROM login_failures WHERE at <= $1 FOR UPDATE SKIP LOCKED)",
        )
        .bind(secs(before))
        .execute(&self.pool)
        .await
        .db()?;
        Ok(done.rows_affected())
    }
}
