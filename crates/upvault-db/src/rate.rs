//! Request-rate counters in the database, for several instances serving one site (a single
//! instance counts in process and never writes here).
//!
//! A sliding minute, estimated from two fixed one-minute windows: the previous window's hits,
//! weighted by how much of it still lies within the last 60 seconds, plus the current window's.
//! One statement per request bumps the current window and reads the previous one. A refused
//! request is counted too, so a client that ignores `Retry-After` stays refused. The allowance
//! is `max(per_minute, burst)` per minute.

use crate::convert::secs;
use crate::error::DbResultExt;
use crate::SqlStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use upvault_core::ports::{RateLimit, RateLimiter};
use upvault_core::{Error, Result};

/// Length of a counting window, in seconds.
const WINDOW_SECS: i64 = 60;

/// Bumps the current window of `$1` (starting at `$2`) and reads the previous one (`$3`).
const BUMP: &str = "INSERT INTO rate_windows (key, window_start, hits) VALUES ($1, $2, 1) \
     ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_windows.hits + 1 \
     RETURNING hits, COALESCE((SELECT p.hits FROM rate_windows p \
                               WHERE p.key = $1 AND p.window_start = $3), 0)";

/// The window `now` falls in, and how far into it `now` is.
fn window(now: DateTime<Utc>) -> (i64, i64) {
    let at = secs(now);
    let elapsed = at.rem_euclid(WINDOW_SECS);
    (at - elapsed, elapsed)
}

/// Whether a request that made the current window's count `current` (itself included) is
/// admitted; if not, the seconds until one would be, assuming the client sends nothing more.
fn decide(previous: i64, current: i64, elapsed: i64, limit: RateLimit) -> Result<()> {
    let allowance = i64::from(limit.per_minute.max(limit.burst).max(1));
    // Estimated requests in the 60 seconds before `elapsed + wait`, counting one more.
    let estimate = |at: i64| -> f64 {
        let (older, newer) = if at < WINDOW_SECS {
            (previous, current)
        } else {
            (current, 0)
        };
        let into = at % WINDOW_SECS;
        let weight = (WINDOW_SECS - into) as f64 / WINDOW_SECS as f64;
        older as f64 * weight + newer as f64
    };
    // This request is part of `current` already.
    if estimate(elapsed) <= allowance as f64 {
        return Ok(());
    }
    let wait = (1..=2 * WINDOW_SECS)
        .find(|wait| {
            let at = elapsed + wait;
            at >= 2 * WINDOW_SECS || estimate(at) + 1.0 <= allowance as f64
        })
        .unwrap_or(2 * WINDOW_SECS);
    Err(Error::RateLimited(u64::try_from(wait).unwrap_or(1)))
}

#[async_trait]
impl RateLimiter for SqlStore {
    async fn check(&self, key: &str, limit: RateLimit, now: DateTime<Utc>) -> Result<()> {
        let (start, elapsed) = window(now);
        let (current, previous): (i64, i64) = sqlx::query_as(BUMP)
            .bind(key)
            .bind(start)
            .bind(start - WINDOW_SECS)
            .fetch_one(self.pool())
            .await
            .db()?;
        decide(previous, current, elapsed, limit)
    }

    async fn purge_rate_counters(&self, now: DateTime<Utc>) -> Result<u64> {
        let (start, _) = window(now);
        let sql = self
            .dialect()
            .purge("rate_windows", "key, window_start", "window_start < $1");
        let done = sqlx::query(&sql)
            .bind(start - WINDOW_SECS)
            .execute(self.pool())
            .await
            .db()?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: RateLimit = RateLimit {
        per_minute: 10,
        burst: 10,
    };

    fn refused_for(result: Result<()>) -> Option<u64> {
        match result {
            Ok(()) => None,
            Err(Error::RateLimited(secs)) => Some(secs),
            Err(other) => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn the_allowance_is_admitted_and_no_more() {
        assert_eq!(refused_for(decide(0, 10, 0, LIMIT)), None);
        // The 11th request in the first second of a window: the next window starts in 60 s,
        // and its 11 hits weigh 9 (10 with one more) 11 s into it.
        assert_eq!(refused_for(decide(0, 11, 0, LIMIT)), Some(71));
    }

    #[test]
    fn the_previous_window_weighs_by_its_overlap() {
        // 10 hits last minute; 30 s into this one they weigh 5, so 5 more are admitted.
        assert_eq!(refused_for(decide(10, 5, 30, LIMIT)), None);
        let wait = refused_for(decide(10, 6, 30, LIMIT)).unwrap();
        // 10 * (60 - t) / 60 + 6 + 1 <= 10  →  t >= 42.
        assert_eq!(wait, 12);
    }

    #[test]
    fn windows_are_aligned_minutes() {
        let at = DateTime::from_timestamp(1_700_000_075, 0).unwrap();
        assert_eq!(window(at), (1_700_000_040, 35));
    }
}
