//! Rate limiting (SPEC.md §1: 429 with `Retry-After`): the settings, the in-process limiter
//! (keyed GCRA from `governor`) and the checks the API makes, per client address on every API
//! request and per `access_token` where one is presented.
//!
//! Counters live behind the [`RateLimiter`] port: in process on a single instance (no database
//! write per request), in the shared database when several instances serve one site.

use crate::AppState;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::Quota;
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::warn;
use upvault_core::ports::{RateLimit, RateLimiter};
use upvault_core::{Error, Result};

/// `[rate_limit]`: what one client may ask for per minute.
#[derive(Debug, Clone)]
pub struct RateLimitConfig {
    /// Off: nothing is counted.
    pub enabled: bool,
    /// Every `/api/v2/*` request, per client address.
    pub api_per_ip: RateLimit,
    /// Every API request that presents an `access_token`, per token.
    pub api_per_token: RateLimit,
    /// Public pages and download URLs, per client address (stylesheets and scripts are free).
    pub pages_per_ip: RateLimit,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            api_per_ip: RateLimit {
                per_minute: 1200,
                burst: 120,
            },
            api_per_token: RateLimit {
                per_minute: 600,
                burst: 120,
            },
            pages_per_ip: RateLimit {
                per_minute: 300,
                burst: 120,
            },
        }
    }
}

/// Counts one request under `scope:subject`. A limiter that fails (the shared database is
/// unreachable) lets the request through: refusing everyone would turn an outage of the
/// counters into an outage of the site, and the request meets the same database next anyway.
/// `subject` is built only when limits are on: a token's key is a SHA-256 of it.
pub async fn check(
    state: &AppState,
    scope: &str,
    subject: impl FnOnce() -> String,
    limit: RateLimit,
) -> Result<()> {
    if !state.config.rate_limit.enabled {
        return Ok(());
    }
    let now = state.services.now();
    match state
        .limiter
        .check(&format!("{scope}:{}", subject()), limit, now)
        .await
    {
        Err(Error::Internal(err)) => {
            warn!(error = %format!("{err:#}"), "rate limiter unavailable; request admitted");
            Ok(())
        }
        other => other,
    }
}

/// API requests presenting `token`, per token. Keyed by the token's digest: the counter store
/// (possibly the database) never sees a live token.
pub(crate) async fn check_token(state: &AppState, token: &str) -> Result<()> {
    let limit = state.config.rate_limit.api_per_token;
    let digest = || upvault_core::secret::token_digest(token);
    check(state, "api-token", digest, limit).await
}

/// The in-process limiter: one keyed GCRA limiter per distinct limit, on the `Clock` port's
/// time (tests move it).
pub struct MemoryRateLimiter {
    limiters: Mutex<HashMap<RateLimit, Arc<Keyed>>>,
    clock: LatestTime,
}

type Keyed = governor::RateLimiter<
    String,
    DefaultKeyedStateStore<String>,
    LatestTime,
    NoOpMiddleware<Duration>,
>;

impl Default for MemoryRateLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryRateLimiter {
    /// An empty limiter.
    pub fn new() -> Self {
        Self {
            limiters: Mutex::new(HashMap::new()),
            clock: LatestTime::default(),
        }
    }

    fn limiter(&self, limit: RateLimit) -> Arc<Keyed> {
        let mut limiters = self
            .limiters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        limiters
            .entry(limit)
            .or_insert_with(|| {
                let per_minute = limit.per_minute.max(1);
                let period = Duration::from_secs(60) / per_minute;
                let burst = NonZeroU32::new(limit.burst.max(1)).unwrap_or(NonZeroU32::MIN);
                let quota = Quota::with_period(period)
                    .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
                    .allow_burst(burst);
                Arc::new(governor::RateLimiter::new(
                    quota,
                    DefaultKeyedStateStore::default(),
                    self.clock.clone(),
                ))
            })
            .clone()
    }
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn check(&self, key: &str, limit: RateLimit, now: DateTime<Utc>) -> Result<()> {
        let now = self.clock.advance_to(now);
        let limiter = self.limiter(limit);
        match limiter.check_key(&key.to_owned()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(now);
                Err(Error::RateLimited(ceil_secs(wait)))
            }
        }
    }

    async fn purge_rate_counters(&self, now: DateTime<Utc>) -> Result<u64> {
        self.clock.advance_to(now);
        let limiters: Vec<Arc<Keyed>> = self
            .limiters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .values()
            .cloned()
            .collect();
        let mut purged = 0;
        for limiter in limiters {
            let before = limiter.len();
            limiter.retain_recent();
            limiter.shrink_to_fit();
            purged += before.saturating_sub(limiter.len()) as u64;
        }
        Ok(purged)
    }
}

/// Whole seconds, rounded up, at least 1 (a `Retry-After` of 0 invites a busy loop).
fn ceil_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

/// governor's clock: the latest `now` the limiter was given (time since the Unix epoch), so
/// the limiter runs on the same clock as every other rule. It never goes back.
#[derive(Debug, Clone, Default)]
struct LatestTime(Arc<AtomicU64>);

impl LatestTime {
    fn advance_to(&self, now: DateTime<Utc>) -> Duration {
        let nanos = u64::try_from(now.timestamp_nanos_opt().unwrap_or(i64::MAX)).unwrap_or(0);
        let latest = self.0.fetch_max(nanos, Ordering::AcqRel).max(nanos);
        Duration::from_nanos(latest)
    }
}

impl GovernorClock for LatestTime {
    type Instant = Duration;

    fn now(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::Acquire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
    }

    #[tokio::test]
    async fn burst_then_refusal_then_recovery() {
        let limiter = MemoryRateLimiter::new();
        let limit = RateLimit {
            per_minute: 6,
            burst: 3,
        };
        for _ in 0..3 {
            limiter.check("k", limit, at(0)).await.unwrap();
        }
        let Err(Error::RateLimited(secs)) = limiter.check("k", limit, at(0)).await else {
            panic!("the fourth request at once must be refused");
        };
        assert_eq!(secs, 10, "one request every 10 seconds");
        // Another key has its own allowance.
        limiter.check("other", limit, at(0)).await.unwrap();
        limiter.check("k", limit, at(10)).await.unwrap();
        assert!(limiter.check("k", limit, at(10)).await.is_err());
        // After a quiet minute the whole burst is back; the purge forgets full buckets.
        assert_eq!(limiter.purge_rate_counters(at(120)).await.unwrap(), 2);
        for _ in 0..3 {
            limiter.check("k", limit, at(120)).await.unwrap();
        }
    }
}
