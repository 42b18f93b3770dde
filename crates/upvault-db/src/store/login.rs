//! Failed-login counters for the lockout policy, shared by every instance through the database.

use super::rows::execute;
use super::SqlStore;
use crate::convert::{secs, uint};
use crate::error::DbResultExt;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use upvault_core::ports::LoginThrottle;
use upvault_core::Result;

#[async_trait]
impl LoginThrottle for SqlStore {
    async fn record_login_failure(&self, keys: &[String], at: DateTime<Utc>) -> Result<()> {
        // One transaction: every key or none.
        let mut tx = self.begin().await?;
        for key in keys {
            execute(
                &mut *tx,
                "INSERT INTO login_failures (key, at) VALUES ($1, $2)",
                &[key.into(), secs(at).into()],
            )
            .await?;
        }
        tx.commit().await.db()?;
        Ok(())
    }

    async fn login_failures_since(&self, key: &str, since: DateTime<Utc>) -> Result<u64> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE key = $1 AND at > $2")
                .bind(key)
                .bind(secs(since))
                .fetch_one(self.pool())
                .await
                .db()?;
        Ok(uint(count))
    }

    async fn clear_login_failures(&self, key: &str) -> Result<()> {
        execute(
            self.pool(),
            "DELETE FROM login_failures WHERE key = $1",
            &[key.into()],
        )
        .await?;
        Ok(())
    }

    async fn purge_login_failures(&self, before: DateTime<Utc>) -> Result<u64> {
        let sql = self.dialect.purge("login_failures", "id", "at <= $1");
        let done = execute(self.pool(), &sql, &[secs(before).into()]).await?;
        Ok(done)
    }
}
