//! The domain's one error type: outcomes, not mechanisms.

use crate::units::human_size;

/// What a lookup did not find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    /// A file (unknown, foreign or trashed).
    File,
    /// A folder named by `folder_id`.
    Folder,
    /// The destination of a move (`new_parent_folder_id`).
    MoveDestination,
    /// The destination of a copy (`copy_to_folder_id`).
    CopyDestination,
    /// The folder of an upload or import (`folder_id`).
    UploadFolder,
    /// The parent of a new or edited folder (`parent_id`).
    ParentFolder,
    /// A URL-import job.
    ScheduledItem,
    /// An account.
    Account,
    /// A package.
    Package,
    /// The account an administrator named by `account_id`.
    TargetAccount,
    /// The package an administrator named by `package_id`.
    TargetPackage,
    /// The account an administrator looked for by username or email.
    FoundAccount,
}

/// What an account-management call may not do, whoever sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The caller is not an administrator.
    NotAdmin,
    /// Administrators' accounts are changed by the operator (CLI), not through the API.
    EditAdmin,
    /// Administrators' accounts are deleted by the operator (CLI), not through the API.
    DeleteAdmin,
    /// The guest package is the one visitors get; no account holds it.
    GuestPackage,
}

/// A value that must be unique among accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unique {
    /// The login name.
    Username,
    /// The email address.
    Email,
}

/// A package limit or operator limit that refused the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Limit {
    /// `can_upload` is off.
    UploadsDisabled,
    /// `max_upload_size` in bytes.
    MaxUploadSize(u64),
    /// `max_storage_bytes` / `storageLimitOverride` in bytes.
    Storage(u64),
    /// `concurrent_uploads`.
    ConcurrentUploads(u64),
    /// `max_remote_download_urls` pending imports.
    RemoteDownloadUrls(u64),
    /// `concurrent_downloads`.
    ConcurrentDownloads(u64),
}

impl Limit {
    /// A sentence a client can act on (SPEC.md §1: name the limit and why).
    pub fn message(&self) -> String {
        match self {
            Limit::UploadsDisabled => {
                "Your account's package does not allow uploads (can_upload).".to_owned()
            }
            Limit::MaxUploadSize(max) => format!(
                "The file is larger than your package allows (max_upload_size is {}).",
                human_size(*max)
            ),
            Limit::Storage(max) => {
                format!(
                    "Not enough storage left for this file (max_storage_bytes is {}).",
                    human_size(*max)
                )
            }
            Limit::ConcurrentUploads(max) => format!(
                "Too many uploads at once (concurrent_uploads is {max}). Wait for one to finish."
            ),
            Limit::RemoteDownloadUrls(max) => {
                format!("Too many pending URL downloads (max_remote_download_urls is {max}).")
            }
            Limit::ConcurrentDownloads(max) => {
                format!("Too many downloads at once (concurrent_downloads is {max}).")
            }
        }
    }
}

/// Every way a domain operation can fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The thing does not exist for this caller (other accounts' ids included).
    #[error("not found: {0:?}")]
    NotFound(Entity),
    /// A parameter is missing; the message is the documented "Please provide …" text.
    #[error("missing parameter: {0}")]
    MissingParam(&'static str),
    /// A parameter is present but unusable.
    #[error("invalid parameter: {0}")]
    InvalidParam(String),
    /// `/authorize` failed (bad credentials or locked).
    #[error("authentication failed")]
    AuthFailed,
    /// The access token is unknown, expired or bound to another account.
    #[error("invalid access token")]
    InvalidToken,
    /// The access token, checked alone (the admin endpoints take no `account_id` of the
    /// caller), is unknown or expired.
    #[error("invalid access token")]
    UnknownToken,
    /// The caller may not do this.
    #[error("refused: {0:?}")]
    Refused(Refusal),
    /// Another account has this username or email address.
    #[error("that {} is taken by another account", match .0 { Unique::Username => "username", Unique::Email => "email address" })]
    Taken(Unique),
    /// An upload of zero bytes (documented: "Filesize received was zero.").
    #[error("empty upload")]
    EmptyUpload,
    /// A package limit refused the request.
    #[error("limit exceeded: {0:?}")]
    LimitExceeded(Limit),
    /// The request conflicts with the current state (a folder cycle, a duplicate name).
    #[error("conflict: {0}")]
    Conflict(String),
    /// Too many attempts; retry after this many seconds.
    #[error("rate limited")]
    RateLimited(u64),
    /// A fault of ours or of a backend; the chain goes to the log, never to the client.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The domain's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps any backend error as an internal fault.
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Error::Internal(err.into())
    }
}
