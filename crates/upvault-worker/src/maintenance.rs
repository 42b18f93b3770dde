//! Periodic housekeeping: trash purge, expired tokens, blob garbage collection.

use std::future::Future;
use std::time::Duration;
use tokio::time::MissedTickBehavior;
use tracing::{debug, info, warn};
use upvault_core::service::{MaintenanceReport, Services};

/// Runs `maintenance.run_once()` every `every` until `shutdown` resolves. The first round runs
/// one period after start (start-up recovery is `recover_after_start`, run by the server before).
/// A round in progress when `shutdown` resolves is dropped; every step of it is transactional.
pub async fn run_maintenance(
    services: Services,
    every: Duration,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let period = every.max(Duration::from_millis(1));
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = ticks.tick() => {}
        }
        tokio::select! {
            () = &mut shutdown => break,
            result = services.maintenance.run_once() => match result {
                Ok(report) if report == MaintenanceReport::default() => {
                    debug!("maintenance round: nothing to do")
                }
                Ok(report) => info!(
                    purged_files = report.purged_files,
                    removed_blobs = report.removed_blobs,
                    expired_tokens = report.expired_tokens,
                    "maintenance round"
                ),
                Err(err) => warn!(%err, "maintenance round failed"),
            },
        }
    }
    debug!("maintenance stopped");
}
