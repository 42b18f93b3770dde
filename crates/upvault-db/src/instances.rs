//! Which servers use a database: every serving instance writes a heartbeat row (the
//! `instances` table) and deletes it when it stops, so that `upvault migrate` can refuse a
//! source that a server still writes to.

use crate::convert::{secs, time};
use crate::error::DbResultExt;
use crate::store::rows::{execute, Arg};
use crate::SqlStore;
use chrono::{DateTime, Utc};
use upvault_core::Result;

/// One serving process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// Random per process.
    pub id: String,
    /// The machine it runs on.
    pub host: String,
    /// Its process id there.
    pub pid: u32,
    /// When it started serving.
    pub started_at: DateTime<Utc>,
    /// Its last heartbeat.
    pub seen_at: DateTime<Utc>,
}

const BEAT: &str = "INSERT INTO instances (id, host, pid, started_at, seen_at) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at";
const LEAVE: &str = "DELETE FROM instances WHERE id = $1";
const SEEN: &str = "SELECT id, host, pid, started_at, seen_at FROM instances \
     WHERE seen_at >= $1 ORDER BY seen_at DESC";
/// Rows of servers silent for a day (killed ones): nobody reads them any more.
const FORGET: &str = "DELETE FROM instances WHERE seen_at < $1";

type Row = (String, String, i64, i64, i64);

fn instance((id, host, pid, started_at, seen_at): Row) -> Result<Instance> {
    Ok(Instance {
        id,
        host,
        pid: u32::try_from(pid).unwrap_or_default(),
        started_at: time(started_at)?,
        seen_at: time(seen_at)?,
    })
}

impl SqlStore {
    /// Records that `instance` is alive now (`instance.seen_at`), and forgets rows of servers
    /// silent for a day.
    pub async fn beat(&self, instance: &Instance) -> Result<()> {
        execute(
            self.pool(),
            BEAT,
            &[
                Arg::from(&instance.id),
                Arg::from(&instance.host),
                i64::from(instance.pid).into(),
                secs(instance.started_at).into(),
                secs(instance.seen_at).into(),
            ],
        )
        .await?;
        execute(
            self.pool(),
            FORGET,
            &[(secs(instance.seen_at) - 86_400).into()],
        )
        .await?;
        Ok(())
    }

    /// Removes the row of a server that stops.
    pub async fn leave(&self, id: &str) -> Result<()> {
        execute(self.pool(), LEAVE, &[id.into()]).await?;
        Ok(())
    }

    /// The servers seen since `since`, the latest first.
    pub async fn seen_since(&self, since: DateTime<Utc>) -> Result<Vec<Instance>> {
        let rows: Vec<Row> = sqlx::query_as(SEEN)
            .bind(secs(since))
            .fetch_all(self.pool())
            .await
            .db()?;
        rows.into_iter().map(instance).collect()
    }
}
