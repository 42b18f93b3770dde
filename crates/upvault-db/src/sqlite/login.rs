//! Failed-login counters for the lockout policy, shared by every instance through the database.

use super::{secs, SqliteStore};
use crate::error::DbResultExt;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use upvault_core::ports::LoginThrottle;
use upvault_core::Result;

#[async_trait]
impl LoginThrottle for SqliteStore {
    async fn record_login_failure(&self, keys: &[String], at: DateTime<Utc>) -> Result<()> {
        let mut tx = self.write().await?;
        for key in keys {
            sqlx::query("INSERT INTO login_failures (key, at) VALUES (?, ?)")
                .bind(key)
                .bind(secs(at))
                .execute(&mut *tx)
                .await
                .db()?;
        }
        tx.commit().await.db()?;
        Ok(())
    }

    async fn login_failures_since(&self, key: &str, since: DateTime<Utc>) -> Result<u64> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE key = ? AND at > ?")
                .bind(key)
                .bind(secs(since))
                .fetch_one(self.pool())
                .await
                .db()?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn clear_login_failures(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_failures WHERE key = ?")
            .bind(key)
            .execute(self.pool())
            .await
            .db()?;
        Ok(())
    }

    async fn purge_login_failures(&self, before: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM login_failures WHERE at <= ?")
            .bind(secs(before))
            .execute(self.pool())
            .await
            .db()?;
        Ok(done.rows_affected())
    }
}
