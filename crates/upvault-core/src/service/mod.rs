//! The services: each applies SPEC.md's rules to one area through the ports.

mod account;
mod admin;
mod auth;
mod batch;
mod file;
mod folder;
mod import;
mod maintenance;
mod public;
mod signer;
mod upload;

pub use account::{AccountService, BootstrapAdmin, FREE_PACKAGE, GUEST_PACKAGE, PREMIUM_PACKAGE};
pub use admin::{plausible_email, AccountChanges, AccountDraft, Admin, AdminService};
pub use auth::AuthService;
pub use batch::{FileOutcome, ReadOn, UploadBatch};
pub use file::{within_download_size, FileEdit, FileRef, FileService};
pub use folder::{FolderEdit, FolderService};
pub use import::{decode_url, ImportService};
pub use maintenance::{MaintenanceReport, MaintenanceService, TEMP_MAX_AGE};
pub use public::{
    admit_download, Charge, DownloadGrant, DownloadOffer, DownloadOutcome, FilePage, FileStats,
    FolderListing, Gate, Grants, Preview, PublicConfig, PublicService, Visitor,
    RASTER_PREVIEW_TYPES,
};
pub use upload::{Arrival, SlotGuard, UploadPolicy, UploadService};

use crate::clock::Clock;
use crate::ports::*;
use std::sync::Arc;
use std::time::Duration;

/// Tunables of the domain, from the operator's config.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// Sliding lifetime of an access token (SPEC.md §2: 1 hour).
    pub access_token_ttl: Duration,
    /// A token's expiry is pushed forward at most this often, so checking a token is a read and
    /// not a write on every request.
    pub access_token_refresh_grain: Duration,
    /// Lifetime of a download token (SPEC.md §4: 6 hours by default).
    pub download_token_ttl: Duration,
    /// How long trashed items are kept before they are purged.
    pub trash_retention: Duration,
    /// Lease of a concurrency slot; renewed while the transfer runs.
    pub slot_lease: Duration,
    /// Cap on a file received before the request's credentials were read (multipart parts
    /// before `access_token`): the largest `max_upload_size` of any package, or this.
    pub unauthenticated_upload_cap: u64,
    /// When failed logins lock an account or address out.
    pub lockout: LockoutPolicy,
    /// At start, temporary objects older than this are a crash's leftovers and are removed.
    /// Zero (one instance per storage) removes them all; with several instances on one storage
    /// it must exceed the longest upload, so a restart leaves the others' uploads alone.
    pub temp_max_age_at_start: Duration,
    /// How long a page session lasts.
    pub page_session_ttl: Duration,
}

/// Failed-login lockout (SPEC.md §2: "your account may be locked from too many failed logins").
///
/// Every lock is temporary: it lifts as failures age out of the window. Keys are the
/// (account, address) pair, the address alone and the account alone, with growing thresholds,
/// so a guesser is stopped quickly at its own address, an address behind a NAT is only locked
/// after many failures and only for the window, and an account is protected against guesses
/// spread over many addresses without one attacker being able to lock its owner out for long.
#[derive(Debug, Clone)]
pub struct LockoutPolicy {
    /// The sliding window failures are counted in.
    pub window: Duration,
    /// Failures of one account from one address that lock that pair.
    pub per_account_and_address: u64,
    /// Failures from one address, any account, that lock the address.
    pub per_address: u64,
    /// Failures of one account, any address, that lock the account.
    pub per_account: u64,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(15 * 60),
            per_account_and_address: 5,
            per_address: 20,
            per_account: 100,
        }
    }
}

impl Default for CoreConfig {
    fn default() -> Self {
        Self {
            access_token_ttl: Duration::from_secs(3600),
            access_token_refresh_grain: Duration::from_secs(60),
            download_token_ttl: Duration::from_secs(6 * 3600),
            trash_retention: Duration::from_secs(30 * 24 * 3600),
            slot_lease: Duration::from_secs(120),
            unauthenticated_upload_cap: 10 * 1024 * 1024 * 1024,
            lockout: LockoutPolicy::default(),
            temp_max_age_at_start: Duration::ZERO,
            page_session_ttl: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// Everything a service may reach: the ports, the clock and the config.
#[derive(Clone)]
pub struct Deps {
    /// Accounts, keys, packages.
    pub accounts: Arc<dyn AccountRepo>,
    /// Tokens.
    pub tokens: Arc<dyn TokenRepo>,
    /// File records.
    pub files: Arc<dyn FileRepo>,
    /// Folders.
    pub folders: Arc<dyn FolderRepo>,
    /// URL-import jobs.
    pub jobs: Arc<dyn JobQueue>,
    /// Concurrency slots.
    pub slots: Arc<dyn TransferSlots>,
    /// Failed-login counters.
    pub logins: Arc<dyn LoginThrottle>,
    /// The pages' download log, guesses and the site's secrets.
    pub public: Arc<dyn PublicRepo>,
    /// Bytes.
    pub blobs: Arc<dyn BlobStore>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Tunables.
    pub config: CoreConfig,
}

impl Deps {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Adds a std duration to now.
    fn now_plus(&self, by: Duration) -> chrono::DateTime<chrono::Utc> {
        self.now() + chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX)
    }
}

/// All services, built once at start-up and shared by the HTTP layer and the workers.
#[derive(Clone)]
pub struct Services {
    /// The ports and config they were built from: the services' own (nothing outside the
    /// domain reaches past them to a port).
    deps: Deps,
    /// `/authorize`, token checks.
    pub auth: AuthService,
    /// Accounts and packages.
    pub accounts: AccountService,
    /// What administrators do to other accounts.
    pub admin: AdminService,
    /// Folders.
    pub folders: FolderService,
    /// Files.
    pub files: FileService,
    /// Uploads.
    pub uploads: UploadService,
    /// URL imports.
    pub imports: ImportService,
    /// Trash purge, blob GC, crash clean-up.
    pub maintenance: MaintenanceService,
}

impl Services {
    /// The domain's time (the clock every time-based rule reads).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.deps.now()
    }

    /// Builds every service over the same ports.
    pub fn new(deps: Deps) -> Self {
        Self {
            auth: AuthService::new(deps.clone()),
            accounts: AccountService::new(deps.clone()),
            admin: AdminService::new(deps.clone()),
            folders: FolderService::new(deps.clone()),
            files: FileService::new(deps.clone()),
            uploads: UploadService::new(deps.clone()),
            imports: ImportService::new(deps.clone()),
            maintenance: MaintenanceService::new(deps.clone()),
            deps,
        }
    }
}
