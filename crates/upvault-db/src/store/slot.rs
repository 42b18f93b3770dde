//! Transfer slots: concurrency counted in the database so every instance sees the same count,
//! with leases so a crashed instance's slots free themselves.
//!
//! An acquisition counts the live slots of its holder (`acct:{id}`, `ip:{address}`) and kind and
//! inserts one under the [`Serial::Slots`] lock of that pair: the count then includes every slot taken before, on any
//! instance, so the limit holds however many instances acquire at once.

use super::rows::execute;
use super::{Serial, SqlStore};
use crate::convert::{int, secs};
use crate::error::DbResultExt;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use upvault_core::model::TransferKind;
use upvault_core::ports::TransferSlots;
use upvault_core::Result;

#[async_trait]
impl TransferSlots for SqlStore {
    async fn acquire_slot(
        &self,
        holder: &str,
        kind: TransferKind,
        limit: u64,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let now = secs(now);
        let mut tx = self.begin().await?;
        // Housekeeping of lapsed slots (any holder's). The count below ignores lapsed slots
        // whether or not they are gone yet.
        execute(
            &mut *tx,
            &self
                .dialect
                .purge("transfer_slots", "id", "expires_at <= $1"),
            &[now.into()],
        )
        .await?;
        self.serialise(&mut tx, Serial::Slots(holder, kind)).await?;
        let held: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM transfer_slots \
             WHERE holder = $1 AND kind = $2 AND expires_at > $3",
        )
        .bind(holder)
        .bind(kind.as_str())
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .db()?;
        if held >= int(limit) {
            return Ok(None);
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO transfer_slots (holder, kind, expires_at) VALUES ($1, $2, $3) \
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
        execute(
            self.pool(),
            "UPDATE transfer_slots SET expires_at = $1 WHERE id = $2",
            &[secs(lease_until).into(), slot.into()],
        )
        .await?;
        Ok(())
    }

    async fn release_slot(&self, slot: i64) -> Result<()> {
        execute(
            self.pool(),
            "DELETE FROM transfer_slots WHERE id = $1",
            &[slot.into()],
        )
        .await?;
        Ok(())
    }
}
