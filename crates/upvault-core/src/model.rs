//! The entities the services work on.

use crate::ids::{AccountId, BlobKey, FileId, FolderId, JobId, PackageId};
use chrono::{DateTime, Utc};

/// A user account.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    /// Id.
    pub id: AccountId,
    /// Unique login name.
    pub username: String,
    /// Contact address, may be empty.
    pub email: String,
    /// argon2 PHC string; `None` for accounts that log in only with API keys.
    pub password_hash: Option<String>,
    /// The package (level) whose limits apply.
    pub package_id: PackageId,
    /// Whether it may sign in (only `Active` does).
    pub status: AccountStatus,
    /// What the account may administer.
    pub role: Role,
    /// Title, first and last name, as the documentation's account object has them.
    pub title: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last successful `/authorize`.
    pub last_login_at: Option<DateTime<Utc>>,
    /// Address of the last successful `/authorize`.
    pub last_login_ip: String,
    /// Overrides the package's `max_storage_bytes` when set (0 = unlimited).
    pub storage_limit_override: Option<u64>,
    /// When a paid package expires.
    pub paid_expiry_at: Option<DateTime<Utc>>,
    /// When the last payment was made.
    pub last_payment_at: Option<DateTime<Utc>>,
}

/// What the operator gives when making an account.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Unique login name.
    pub username: String,
    /// Contact address.
    pub email: String,
    /// argon2 PHC of the password.
    pub password_hash: Option<String>,
    /// The package.
    pub package_id: PackageId,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// What it may administer.
    pub role: Role,
    /// Whether it may sign in.
    pub status: AccountStatus,
    /// `Mr`, `Ms`, `Mrs`, `Miss`, `Dr` or empty.
    pub title: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// When a paid package expires.
    pub paid_expiry_at: Option<DateTime<Utc>>,
}

/// An account level with its limits (SPEC.md §3: limits are numbers, 0 = unlimited).
#[derive(Debug, Clone, PartialEq)]
pub struct Package {
    /// Id (the account's `level_id`).
    pub id: PackageId,
    /// Shown name, e.g. "Premium Account".
    pub label: String,
    /// `guest`, `free user`, `paid user`, `admin`.
    pub level_type: String,
    /// The numeric limits and switches.
    pub limits: PackageLimits,
}

/// Declares [`PackageLimits`] once, with the wire/CLI name of every field.
macro_rules! package_limits {
    ($($(#[$doc:meta])* $field:ident),* $(,)?) => {
        /// The limits of a package; every value is a whole number, 0 meaning unlimited (or
        /// "off" for switches such as `can_upload`).
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct PackageLimits {
            $($(#[$doc])* pub $field: u64,)*
        }

        impl PackageLimits {
            /// Every limit's name, in documentation order.
            pub const KEYS: &'static [&'static str] = &[$(stringify!($field)),*];

            /// `(name, value)` of every limit, in documentation order.
            pub fn entries(&self) -> Vec<(&'static str, u64)> {
                vec![$((stringify!($field), self.$field)),*]
            }

            /// Sets one limit by name; `false` when there is no such limit.
            pub fn set(&mut self, key: &str, value: u64) -> bool {
                match key {
                    $(stringify!($field) => { self.$field = value; true })*
                    _ => false,
                }
            }
        }
    };
}

package_limits! {
    /// Largest single upload in bytes.
    max_upload_size,
    /// 1 if the package may upload.
    can_upload,
    /// Seconds a visitor waits between downloads.
    wait_between_downloads,
    /// Download throttle in bytes per second.
    download_speed,
    /// Total bytes of active files.
    max_storage_bytes,
    /// 1 to show adverts (kept for compatibility).
    show_site_adverts,
    /// 1 to show the upgrade screen (kept for compatibility).
    show_upgrade_screen,
    /// Days before inactive files are removed.
    days_to_keep_inactive_files,
    /// Uploads in flight at once.
    concurrent_uploads,
    /// Downloads in flight at once.
    concurrent_downloads,
    /// Downloads per rolling 24 hours.
    downloads_per_24_hours,
    /// Bytes downloaded per rolling 24 hours.
    download_size_per_24_hours,
    /// Largest file that may be downloaded, in bytes.
    max_download_filesize_allowed,
    /// Pending URL imports at once.
    max_remote_download_urls,
    /// 1 when the package is offered on the upgrade page.
    on_upgrade_page,
}

/// Reads a limit where 0 means "no limit".
pub fn limit(value: u64) -> Option<u64> {
    (value > 0).then_some(value)
}

/// Where a file or folder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Visible and usable.
    Active,
    /// Deleted by the user, purged after the retention (SPEC.md §4).
    Trash,
}

impl Status {
    /// The wire and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Trash => "trash",
        }
    }

    /// Parses the database spelling.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "active" => Some(Status::Active),
            "trash" => Some(Status::Trash),
            _ => None,
        }
    }
}

/// A file record. Several records may share one blob (copies, identical uploads).
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    /// Id.
    pub id: FileId,
    /// Owner.
    pub account_id: AccountId,
    /// Containing folder, `None` for the root.
    pub folder_id: Option<FolderId>,
    /// Code of the public file page.
    pub short_url: String,
    /// Name as shown.
    pub filename: String,
    /// MIME type.
    pub mime_type: String,
    /// Lower-case extension without the dot.
    pub extension: String,
    /// Size in bytes.
    pub size_bytes: u64,
    /// The stored content (SHA-256).
    pub blob_key: BlobKey,
    /// MD5 of the content, hex (the upload's `hash`).
    pub md5: String,
    /// Secret of the owner's info and delete pages, 32 hex.
    pub delete_hash: String,
    /// Per-record random 64 hex (`unique_hash`).
    pub unique_hash: String,
    /// Active or trash.
    pub status: Status,
    /// Completed downloads.
    pub downloads: u64,
    /// Comma-separated keywords.
    pub keywords: String,
    /// Upload time.
    pub uploaded_at: DateTime<Utc>,
    /// Last edit.
    pub updated_at: Option<DateTime<Utc>>,
    /// When it went to the trash.
    pub trashed_at: Option<DateTime<Utc>>,
    /// How it arrived.
    pub upload_source: UploadSource,
    /// The address it was uploaded from (empty when unknown); shown to its owner only.
    pub uploaded_ip: String,
    /// Its last completed download.
    pub last_accessed_at: Option<DateTime<Utc>>,
}

/// How a file arrived (the real server's `uploadSource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadSource {
    /// `/file/upload`.
    Api,
    /// A URL import (`/file/url_upload_add`).
    Remote,
}

impl UploadSource {
    /// As stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            UploadSource::Api => "api",
            UploadSource::Remote => "remote",
        }
    }

    /// From its stored form.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "api" => Some(UploadSource::Api),
            "remote" => Some(UploadSource::Remote),
            _ => None,
        }
    }
}

/// What an account may administer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The site's operators: every account, package and setting (the real server's level 20).
    Admin,
    /// Its own files and folders.
    User,
}

impl Role {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }

    /// From its stored or typed form.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "admin" => Some(Role::Admin),
            "user" => Some(Role::User),
            _ => None,
        }
    }
}

/// Whether an account may sign in: only an active one does (the real server's four states).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    /// Signs in and uses its tokens.
    Active,
    /// Made but not yet confirmed: refused at login.
    Pending,
    /// Switched off by its owner's request or the operator: refused at login.
    Disabled,
    /// Refused at every login; its tokens ended when it was suspended.
    Suspended,
}

impl AccountStatus {
    /// Every status, as stored.
    pub const ALL: [AccountStatus; 4] = [
        AccountStatus::Active,
        AccountStatus::Pending,
        AccountStatus::Disabled,
        AccountStatus::Suspended,
    ];

    /// As stored and sent (`account/info`'s `status`).
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Pending => "pending",
            AccountStatus::Disabled => "disabled",
            AccountStatus::Suspended => "suspended",
        }
    }

    /// From its stored or sent form.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == raw)
    }

    /// Whether the account may sign in and use its tokens.
    pub fn signs_in(self) -> bool {
        self == AccountStatus::Active
    }
}

/// A file record to create; ids and the short URL are the repository's to assign.
#[derive(Debug, Clone)]
pub struct NewFile {
    /// Owner.
    pub account_id: AccountId,
    /// Folder, `None` for root.
    pub folder_id: Option<FolderId>,
    /// Name.
    pub filename: String,
    /// MIME type.
    pub mime_type: String,
    /// Extension.
    pub extension: String,
    /// Size.
    pub size_bytes: u64,
    /// Content key.
    pub blob_key: BlobKey,
    /// MD5 hex.
    pub md5: String,
    /// 32 hex.
    pub delete_hash: String,
    /// 64 hex.
    pub unique_hash: String,
    /// Keywords.
    pub keywords: String,
    /// Upload time.
    pub uploaded_at: DateTime<Utc>,
    /// How it arrived.
    pub upload_source: UploadSource,
    /// The address it came from (empty when unknown).
    pub uploaded_ip: String,
}

/// Who may see a folder's public page (SPEC.md §3 `isPublic`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// "0": only the owner, through the API.
    Private,
    /// "1": anyone with the link.
    Unlisted,
    /// "2": anyone, and listed in site search.
    Public,
}

impl Visibility {
    /// The wire digit.
    pub fn as_code(self) -> u8 {
        match self {
            Visibility::Private => 0,
            Visibility::Unlisted => 1,
            Visibility::Public => 2,
        }
    }

    /// Parses the wire digit.
    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            0 => Some(Visibility::Private),
            1 => Some(Visibility::Unlisted),
            2 => Some(Visibility::Public),
            _ => None,
        }
    }
}

/// A folder.
#[derive(Debug, Clone, PartialEq)]
pub struct Folder {
    /// Id.
    pub id: FolderId,
    /// Owner.
    pub account_id: AccountId,
    /// Parent, `None` for the root.
    pub parent_id: Option<FolderId>,
    /// Name.
    pub name: String,
    /// Who may see it.
    pub visibility: Visibility,
    /// MD5 hex of the access password, as the API takes it.
    pub access_password_md5: Option<String>,
    /// Active or trash.
    pub status: Status,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: Option<DateTime<Utc>>,
}

/// A folder to create.
#[derive(Debug, Clone)]
pub struct NewFolder {
    /// Owner.
    pub account_id: AccountId,
    /// Parent.
    pub parent_id: Option<FolderId>,
    /// Name.
    pub name: String,
    /// Visibility.
    pub visibility: Visibility,
    /// MD5 of the access password.
    pub access_password_md5: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// Aggregates of a folder's direct, active content.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FolderStats {
    /// Bytes of the files directly inside.
    pub total_size: u64,
    /// Downloads of the files directly inside.
    pub total_downloads: u64,
    /// Sub-folders directly inside.
    pub child_folder_count: u64,
    /// Files directly inside.
    pub file_count: u64,
}

/// A folder with its aggregates, as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FolderView {
    /// The folder.
    pub folder: Folder,
    /// Its aggregates.
    pub stats: FolderStats,
}

/// The state of a URL import (SPEC.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    /// Waiting for a worker.
    Pending,
    /// A worker holds its lease.
    Downloading,
    /// Stored as a file.
    Complete,
    /// Gave up; `error` says why.
    Failed,
}

impl JobStatus {
    /// The wire and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Downloading => "downloading",
            JobStatus::Complete => "complete",
            JobStatus::Failed => "failed",
        }
    }

    /// Parses the database spelling.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(JobStatus::Pending),
            "downloading" => Some(JobStatus::Downloading),
            "complete" => Some(JobStatus::Complete),
            "failed" => Some(JobStatus::Failed),
            _ => None,
        }
    }
}

/// A scheduled URL import.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportJob {
    /// `scheduled_item_id`.
    pub id: JobId,
    /// Owner.
    pub account_id: AccountId,
    /// The http(s) URL to fetch.
    pub url: String,
    /// Destination folder.
    pub folder_id: Option<FolderId>,
    /// State.
    pub status: JobStatus,
    /// When it was scheduled.
    pub created_at: DateTime<Utc>,
    /// When a worker first started it.
    pub started_at: Option<DateTime<Utc>>,
    /// When it completed or failed.
    pub finished_at: Option<DateTime<Utc>>,
    /// Bytes received (final size once complete).
    pub total_size: u64,
    /// Why it failed.
    pub error: Option<String>,
    /// The stored file once complete.
    pub file_id: Option<FileId>,
    /// Times a worker has claimed it (a crash mid-download claims again).
    pub attempts: u32,
}

/// A URL import to schedule.
#[derive(Debug, Clone)]
pub struct NewImportJob {
    /// Owner.
    pub account_id: AccountId,
    /// URL.
    pub url: String,
    /// Destination folder.
    pub folder_id: Option<FolderId>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// How a worker ended a job.
#[derive(Debug, Clone)]
pub enum JobOutcome {
    /// Stored as this file, of this size.
    Complete {
        /// The new file.
        file_id: FileId,
        /// Its size.
        size_bytes: u64,
    },
    /// Gave up.
    Failed {
        /// Why, for the user.
        error: String,
    },
}

/// A stored API key pair: `key1` is the public half, `key2` is kept as an argon2 hash.
#[derive(Debug, Clone)]
pub struct ApiKeyRecord {
    /// The account it logs in as.
    pub account_id: AccountId,
    /// argon2 PHC of key2.
    pub key2_hash: String,
}

/// A live access token's record.
#[derive(Debug, Clone, Copy)]
pub struct AccessTokenRecord {
    /// The account it is bound to.
    pub account_id: AccountId,
    /// When it lapses unless used.
    pub expires_at: DateTime<Utc>,
}

/// What kind of transfer holds a concurrency slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferKind {
    /// An upload (`concurrent_uploads`).
    Upload,
    /// A download (`concurrent_downloads`).
    Download,
}

impl TransferKind {
    /// The database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferKind::Upload => "upload",
            TransferKind::Download => "download",
        }
    }
}

/// A byte range of a blob, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// Last byte.
    pub end: u64,
}

impl ByteRange {
    /// Number of bytes in the range.
    pub fn len(&self) -> u64 {
        self.end - self.start + 1
    }

    /// Never true: a range holds at least one byte.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// Completed downloads of one file on one UTC day (the public stats page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayDownloads {
    /// The day (UTC).
    pub day: chrono::NaiveDate,
    /// Completed downloads that day.
    pub downloads: u64,
}

/// One download a visitor started from a public page, as the 24-hour limits count it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedDownload {
    /// When it started.
    pub at: DateTime<Utc>,
    /// Bytes it was charged (the requested length).
    pub bytes: u64,
    /// Whether it counts towards `downloads_per_24_hours` (it starts at byte 0).
    pub counted: bool,
}

/// A download to put in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDownloadLog {
    /// Who downloads (`ip:…` for guests, `acct:…` for signed-in accounts).
    pub visitor: String,
    /// What.
    pub file_id: FileId,
    /// The entry itself.
    pub entry: LoggedDownload,
}

/// Why a download from a public page was refused, and when the refusal lifts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownloadRefusal {
    /// `wait_between_downloads`: the ticket is not valid before `until`.
    Wait {
        /// When the download may start.
        until: DateTime<Utc>,
    },
    /// The ticket is malformed, expired, or another visitor's or file's.
    TicketInvalid,
    /// `max_download_filesize_allowed`.
    FileTooLarge {
        /// The limit in bytes.
        max: u64,
    },
    /// `downloads_per_24_hours`.
    DailyCount {
        /// The limit.
        max: u64,
        /// When the oldest counted download leaves the window.
        lifts_at: DateTime<Utc>,
    },
    /// `download_size_per_24_hours`.
    DailyBytes {
        /// The limit in bytes.
        max: u64,
        /// When enough bytes leave the window; `None` if this file alone is over the limit.
        lifts_at: Option<DateTime<Utc>>,
    },
    /// `concurrent_downloads`.
    Concurrent {
        /// The limit.
        max: u64,
    },
}

impl DownloadRefusal {
    /// The package limit that refused, by its operator name (`None` for a bad ticket).
    pub fn limit_name(&self) -> Option<&'static str> {
        match self {
            DownloadRefusal::Wait { .. } => Some("wait_between_downloads"),
            DownloadRefusal::TicketInvalid => None,
            DownloadRefusal::FileTooLarge { .. } => Some("max_download_filesize_allowed"),
            DownloadRefusal::DailyCount { .. } => Some("downloads_per_24_hours"),
            DownloadRefusal::DailyBytes { .. } => Some("download_size_per_24_hours"),
            DownloadRefusal::Concurrent { .. } => Some("concurrent_downloads"),
        }
    }

    /// When trying again can succeed (`None`: not by waiting, or as soon as another ends).
    pub fn lifts_at(&self) -> Option<DateTime<Utc>> {
        match self {
            DownloadRefusal::Wait { until } => Some(*until),
            DownloadRefusal::DailyCount { lifts_at, .. } => Some(*lifts_at),
            DownloadRefusal::DailyBytes { lifts_at, .. } => *lifts_at,
            _ => None,
        }
    }
}
