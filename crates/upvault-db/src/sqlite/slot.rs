//! Transfer slots: concurrency counted in the database so every instance sees the same count,
//! with leases so a crashed instance's slots free themselves.

use super::{int, secs, SqliteStore};
use crate::error::DbResultExt;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use upvault_core::model::TransferKind;
use upvault_core::ports::TransferSlots;
use upvault_core::Result;

#[async_trait]
impl TransferSlots for SqliteStore {
    async fn acquire_slot(
        &self,
        holder: &str,
        kind: TransferKind,
        limit: u64,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM transfer_slots WHERE expires_at <= ?")
            .bind(secs(now))
            .execute(&mut *tx)
            .await
            .db()?;
        let held: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM transfer_slots WHERE holder = ? AND kind = ?")
                .bind(holder)
                .bind(kind.as_str())
                .fetch_one(&mut *tx)
                .await
                .db()?;
        if held >= int(limit) {
            return Ok(None);
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO transfer_slots (holder, kind, expires_at) VALUES (?, ?, ?) \
             RETURNING id",
        )
        .bind(holder)
        .bind(kind.as_str())
        .bind(secs(lease_until))
        .fetch_one(&mut *tx)
        .await
        .db()?;
        tx.commit().await.db()?;
        Ok(Some(id))
    }

    async fn renew_slot(&self, slot: i64, lease_until: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE transfer_slots SET expires_at = ? WHERE id = ?")
            .bind(secs(lease_until))
            .bind(slot)
            .execute(self.pool())
            .await
            .db()?;
        Ok(())
    }

    async fn release_slot(&self, slot: i64) -> Result<()> {
        sqlx::query("DELETE FROM transfer_slots WHERE id = ?")
            .bind(slot)
            .execute(self.pool())
            .await
            .db()?;
        Ok(())
    }
}
