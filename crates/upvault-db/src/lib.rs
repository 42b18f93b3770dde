//! upvault's SQL storage: the repository ports of `upvault-core` on a database.
//!
//! [`SqlStore`] implements every repository trait of [`upvault_core::ports`] (accounts,
//! tokens, files, folders, the URL-import queue and transfer slots) once, on a SQLite file or on
//! PostgreSQL (several stateless instances sharing one database); what differs between the two
//! is its [`Dialect`]'s. Each backend has its own `migrations/<backend>/`, numbered alike and
//! with the same tables and columns.
//! This crate holds no business rules: limits arrive as parameters, and what must be atomic is
//! one method in one write transaction. It never touches blob bytes itself; storage actions are
//! handed in by the services and run inside the transaction that changes the rows.

pub mod copy;
mod error;
pub mod instances;
mod rate;
mod sqlite;
mod store;

pub use store::{Dialect, SqlStore};
pub use upvault_core::model::DayDownloads;

/// Conversions between the domain's types and stored values, the same on every backend (both
/// store times as unix seconds and sizes as signed 64-bit integers).
mod convert {
    use chrono::{DateTime, NaiveDate, Utc};
    use upvault_core::{Error, Result};

    /// Seconds since the epoch, as stored.
    pub(crate) fn secs(at: DateTime<Utc>) -> i64 {
        at.timestamp()
    }

    /// A stored time.
    pub(crate) fn time(secs: i64) -> Result<DateTime<Utc>> {
        DateTime::from_timestamp(secs, 0)
            .ok_or_else(|| Error::internal(anyhow::anyhow!("stored time {secs} is out of range")))
    }

    /// A stored optional time.
    pub(crate) fn opt_time(secs: Option<i64>) -> Result<Option<DateTime<Utc>>> {
        secs.map(time).transpose()
    }

    /// A size or count as stored (signed 64-bit).
    pub(crate) fn int(value: u64) -> i64 {
        i64::try_from(value).unwrap_or(i64::MAX)
    }

    /// A stored size or count; negative values (never written) read as 0.
    pub(crate) fn uint(value: i64) -> u64 {
        u64::try_from(value).unwrap_or(0)
    }

    /// A day as stored (`YYYY-MM-DD`, UTC).
    pub(crate) fn day_key(at: DateTime<Utc>) -> String {
        at.format("%Y-%m-%d").to_string()
    }

    /// A stored day (`YYYY-MM-DD`).
    pub(crate) fn day(raw: &str) -> Result<NaiveDate> {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map_err(|err| Error::internal(anyhow::anyhow!("stored day {raw:?}: {err}")))
    }

    /// A row that does not decode into its model is a fault of ours.
    pub(crate) fn corrupt(what: &str, value: impl std::fmt::Debug) -> Error {
        Error::internal(anyhow::anyhow!("stored {what} {value:?} is invalid"))
    }
}
