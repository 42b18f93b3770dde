//! What a visitor's package entitles it to on the pages: the download a ticket admits, under
//! `max_download_filesize_allowed`, `concurrent_downloads` and the 24-hour count and volume
//! (logged in the database, so instances share them), and the folder-password guesses allowed.

use super::{chrono_duration, Gate, Grants, PublicService, Visitor};
use crate::error::{Entity, Error, Limit, Result};
use crate::model::{
    limit, DownloadRefusal, File, LoggedDownload, NewDownloadLog, Package, TransferKind,
};
use crate::service::account::GUEST_PACKAGE;
use crate::service::upload::{acquire_slot, SlotGuard};
use tracing::instrument;

/// What a download request will cost the visitor, worked out from its `Range` once the size is
/// known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    /// Bytes charged to `download_size_per_24_hours`.
    pub bytes: u64,
    /// Whether it counts towards `downloads_per_24_hours` (it starts at byte 0).
    pub counts: bool,
}

/// A download that may go ahead: hold `slot` until the last byte is sent.
pub struct DownloadGrant {
    /// The file.
    pub file: File,
    /// `download_speed` in bytes/s (None: unthrottled).
    pub bytes_per_sec: Option<u64>,
    /// The `concurrent_downloads` slot.
    pub slot: SlotGuard,
}

/// The answer to a download from a page.
pub enum DownloadOutcome {
    /// Go ahead.
    Granted(Box<DownloadGrant>),
    /// Refused, with the limit and when it lifts.
    Refused(DownloadRefusal),
}

impl PublicService {
    /// Starts a download from a page: checks the ticket and every download limit of the
    /// visitor's package, takes a `concurrent_downloads` slot and logs the download.
    #[instrument(skip_all)]
    pub async fn download(
        &self,
        short_url: &str,
        ticket: &str,
        visitor: &Visitor,
        grants: &Grants,
        charge: impl FnOnce(u64) -> Charge,
    ) -> Result<DownloadOutcome> {
        let Gate::Open(file) = self.visible_file(short_url, grants).await? else {
            return Err(Error::NotFound(Entity::File));
        };
        let now = self.deps.clock.now();
        match self.check_ticket(ticket, file.id, visitor, now).await? {
            Ok(()) => {}
            Err(refusal) => return Ok(DownloadOutcome::Refused(refusal)),
        }
        let package = self.package_of(visitor).await?;
        if let Some(refusal) = too_large(&file, &package) {
            return Ok(DownloadOutcome::Refused(refusal));
        }
        let charge = charge(file.size_bytes);
        let max = limit(package.limits.concurrent_downloads);
        let slot = match acquire_slot(
            &self.deps,
            &visitor.key(),
            TransferKind::Download,
            max,
            Limit::ConcurrentDownloads(max.unwrap_or(0)),
        )
        .await
        {
            Ok(slot) => slot,
            Err(Error::LimitExceeded(Limit::ConcurrentDownloads(max))) => {
                return Ok(DownloadOutcome::Refused(DownloadRefusal::Concurrent {
                    max,
                }))
            }
            Err(err) => return Err(err),
        };
        let (max_count, max_bytes) = (
            limit(package.limits.downloads_per_24_hours),
            limit(package.limits.download_size_per_24_hours),
        );
        let entry = LoggedDownload {
            at: now,
            bytes: charge.bytes,
            counted: charge.counts,
        };
        let admit = Box::new(move |window: &[LoggedDownload]| {
            admit_download(window, charge, max_count, max_bytes)
        });
        let logged = self
            .repo
            .log_download(
                NewDownloadLog {
                    visitor: visitor.key(),
                    file_id: file.id,
                    entry,
                },
                now - chrono::Duration::hours(24),
                admit,
            )
            .await?;
        if let Err(refusal) = logged {
            return Ok(DownloadOutcome::Refused(refusal));
        }
        Ok(DownloadOutcome::Granted(Box::new(DownloadGrant {
            file,
            bytes_per_sec: limit(package.limits.download_speed),
            slot,
        })))
    }

    pub(super) async fn package_of(&self, visitor: &Visitor) -> Result<Package> {
        let id = match visitor {
            Visitor::Guest(_) => GUEST_PACKAGE,
            Visitor::Account(id) => match self.deps.accounts.account(*id).await? {
                Some(account) => account.package_id,
                None => GUEST_PACKAGE,
            },
        };
        self.deps
            .accounts
            .package(id)
            .await?
            .ok_or(Error::NotFound(Entity::Package))
    }

    pub(super) async fn check_guesses(&self, key: &str) -> Result<()> {
        let now = self.deps.clock.now();
        let window = chrono_duration(self.config.guess_window);
        let guesses = self.repo.guesses_since(key, now - window).await?;
        let over = guesses.len() as u64 >= self.config.guess_limit.max(1);
        if let Some(oldest) = guesses.first().filter(|_| over) {
            let retry = (*oldest + window - now).num_seconds().max(1);
            return Err(Error::RateLimited(u64::try_from(retry).unwrap_or(1)));
        }
        Ok(())
    }
}

/// The 24-hour rules: `window` is the visitor's downloads of the last 24 hours, oldest first.
pub fn admit_download(
    window: &[LoggedDownload],
    charge: Charge,
    max_count: Option<u64>,
    max_bytes: Option<u64>,
) -> std::result::Result<(), DownloadRefusal> {
    let day = chrono::Duration::hours(24);
    if let Some(max) = max_count.filter(|_| charge.counts) {
        let counted: Vec<&LoggedDownload> = window.iter().filter(|d| d.counted).collect();
        let used = counted.len() as u64;
        if used >= max {
            // The oldest entries must leave the window until one place is free.
            let index = usize::try_from(used - max).unwrap_or(0);
            if let Some(oldest) = counted.get(index).or(counted.last()) {
                let lifts_at = oldest.at + day;
                return Err(DownloadRefusal::DailyCount { max, lifts_at });
            }
        }
    }
    if let Some(max) = max_bytes.filter(|_| charge.bytes > 0) {
        let used: u64 = window.iter().map(|d| d.bytes).sum();
        if used.saturating_add(charge.bytes) > max {
            if charge.bytes > max {
                return Err(DownloadRefusal::DailyBytes {
                    max,
                    lifts_at: None,
                });
            }
            let mut left = used;
            let mut lifts_at = None;
            for entry in window {
                left = left.saturating_sub(entry.bytes);
                if left.saturating_add(charge.bytes) <= max {
                    lifts_at = Some(entry.at + day);
                    break;
                }
            }
            return Err(DownloadRefusal::DailyBytes { max, lifts_at });
        }
    }
    Ok(())
}

pub(super) fn too_large(file: &File, package: &Package) -> Option<DownloadRefusal> {
    limit(package.limits.max_download_filesize_allowed)
        .filter(|max| file.size_bytes > *max)
        .map(|max| DownloadRefusal::FileTooLarge { max })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, TimeZone, Utc};

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 1, 1, hour, 0, 0).unwrap()
    }

    fn logged(hour: u32, bytes: u64) -> LoggedDownload {
        LoggedDownload {
            at: at(hour),
            bytes,
            counted: true,
        }
    }

    const FULL: Charge = Charge {
        bytes: 100,
        counts: true,
    };

    #[test]
    fn the_daily_count_lifts_when_the_oldest_leaves_the_window() {
        let window = [logged(1, 10), logged(2, 10), logged(3, 10)];
        assert_eq!(admit_download(&window, FULL, Some(4), None), Ok(()));
        assert_eq!(
            admit_download(&window, FULL, Some(3), None),
            Err(DownloadRefusal::DailyCount {
                max: 3,
                lifts_at: at(1) + chrono::Duration::hours(24)
            })
        );
        assert_eq!(
            admit_download(&window, FULL, Some(2), None),
            Err(DownloadRefusal::DailyCount {
                max: 2,
                lifts_at: at(2) + chrono::Duration::hours(24)
            })
        );
        // A resumed range does not count.
        let resume = Charge {
            bytes: 10,
            counts: false,
        };
        assert_eq!(admit_download(&window, resume, Some(1), None), Ok(()));
    }

    #[test]
    fn the_daily_volume_lifts_when_enough_bytes_leave() {
        let window = [logged(1, 300), logged(2, 300), logged(3, 300)];
        assert_eq!(admit_download(&window, FULL, None, Some(1000)), Ok(()));
        assert_eq!(
            admit_download(&window, FULL, None, Some(950)),
            Err(DownloadRefusal::DailyBytes {
                max: 950,
                lifts_at: Some(at(1) + chrono::Duration::hours(24))
            })
        );
        assert_eq!(
            admit_download(&window, FULL, None, Some(99)),
            Err(DownloadRefusal::DailyBytes {
                max: 99,
                lifts_at: None
            })
        );
    }
}
