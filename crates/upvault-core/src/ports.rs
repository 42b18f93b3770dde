//! The ports: what the domain needs from storage, one trait per concern.
//!
//! `upvault-db` implements the repository traits (one implementation per database), and
//! `upvault-blob` implements [`BlobStore`] (one per object store). Services hold them as
//! `Arc<dyn Trait>` so the backend is chosen at start-up without touching the domain.

use crate::error::Result;
use crate::ids::{AccountId, BlobKey, FileId, FolderId, JobId, PackageId};
use crate::listing::{FileQuery, FileScope};
use crate::model::*;
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::Stream;
use std::pin::Pin;

/// A stream of body bytes, read from a client, a remote URL or a blob.
pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// A storage action a repository runs inside its transaction, so that the rows and the bytes
/// change together (e.g. the promotion of a new blob, the removal of an unreferenced one).
pub type StorageAction = BoxFuture<'static, Result<()>>;

/// Accounts, API keys and packages.
#[async_trait]
pub trait AccountRepo: Send + Sync {
    /// Creates an account; a taken username is `Error::Conflict`.
    async fn create_account(&self, new: NewAccount) -> Result<Account>;
    /// An account by id.
    async fn account(&self, id: AccountId) -> Result<Option<Account>>;
    /// An account by username (exact match).
    async fn account_by_username(&self, username: &str) -> Result<Option<Account>>;
    /// How many accounts exist (first-start bootstrap).
    async fn count_accounts(&self) -> Result<u64>;
    /// An account by email address, compared without case; the oldest when several share one.
    async fn account_by_email(&self, email: &str) -> Result<Option<Account>>;
    /// Writes what an account's holder or an administrator may change (email, password hash,
    /// package, status, role, title, names, paid expiry); with `end_tokens`, its access tokens
    /// end in the same transaction (a new password, a status that refuses login). False when
    /// the account does not exist.
    async fn save_account(&self, account: &Account, end_tokens: bool) -> Result<bool>;
    /// In one transaction: deletes the account with its files (dropping their blob references;
    /// the blobs go with the next blob sweep), folders, URL imports, API keys and access
    /// tokens. False when there was none.
    async fn delete_account(&self, id: AccountId) -> Result<bool>;
    /// Records a successful login.
    async fn record_login(&self, id: AccountId, at: DateTime<Utc>, ip: &str) -> Result<()>;
    /// Stores an API key pair (key2 already hashed).
    async fn insert_api_key(
        &self,
        account: AccountId,
        key1: &str,
        key2_hash: &str,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// Looks up an API key by its public half.
    async fn api_key(&self, key1: &str) -> Result<Option<ApiKeyRecord>>;
    /// All packages, by id.
    async fn packages(&self) -> Result<Vec<Package>>;
    /// One package.
    async fn package(&self, id: PackageId) -> Result<Option<Package>>;
    /// Saves a package's label, level type and limits.
    async fn update_package(&self, package: &Package) -> Result<()>;
    /// Bytes of the account's active files.
    async fn storage_used_bytes(&self, account: AccountId) -> Result<u64>;
}

/// Access tokens and download tokens, stored as digests.
#[async_trait]
pub trait TokenRepo: Send + Sync {
    /// Stores a new access token.
    async fn insert_access_token(
        &self,
        digest: &str,
        account: AccountId,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;
    /// A token's record, if it exists (expired ones included; the service decides).
    async fn access_token(&self, digest: &str) -> Result<Option<AccessTokenRecord>>;
    /// Pushes a token's expiry forward (sliding expiry).
    async fn refresh_access_token(&self, digest: &str, expires_at: DateTime<Utc>) -> Result<()>;
    /// Removes a token if it belongs to `account`; `true` if one was removed.
    async fn delete_access_token(&self, digest: &str, account: AccountId) -> Result<bool>;
    /// Stores a download token bound to one file.
    async fn insert_download_token(
        &self,
        digest: &str,
        file: FileId,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;
    /// The file a live download token is bound to.
    async fn download_token_file(&self, digest: &str, now: DateTime<Utc>)
        -> Result<Option<FileId>>;
    /// Deletes expired access and download tokens; how many went.
    async fn purge_expired_tokens(&self, now: DateTime<Utc>) -> Result<u64>;
}

/// File records and the blob reference counts they hold.
#[async_trait]
pub trait FileRepo: Send + Sync {
    /// In one transaction: checks the storage limit (active bytes + new size <= limit), takes a
    /// reference on the blob (running `promote` only if the blob is new), inserts the record with
    /// a fresh unique short URL. Over the limit: `Error::LimitExceeded(Limit::Storage)`.
    async fn commit_upload(
        &self,
        new: NewFile,
        storage_limit: Option<u64>,
        promote: StorageAction,
    ) -> Result<File>;
    /// An active file of the account.
    async fn file(&self, account: AccountId, id: FileId) -> Result<Option<File>>;
    /// Any file by id, whatever its owner or status (download tokens, public pages).
    async fn file_by_id(&self, id: FileId) -> Result<Option<File>>;
    /// A file by short URL, whatever its status.
    async fn file_by_short_url(&self, short_url: &str) -> Result<Option<File>>;
    /// Active files of a folder (`None` = root), by name.
    async fn files_in_folder(
        &self,
        account: AccountId,
        folder: Option<FolderId>,
    ) -> Result<Vec<File>>;
    /// Active files of the account in `scope` that match `query`, in its order and after its
    /// cursor: up to `query.page_size() + 1` of them, the one more telling that a next page
    /// exists. Served by indexes, so a page costs the same wherever it starts.
    async fn page_of_files(
        &self,
        account: AccountId,
        scope: FileScope,
        query: &FileQuery,
    ) -> Result<Vec<File>>;
    /// Saves name, type, extension, folder, keywords and `updated_at`.
    async fn update_file(&self, file: &File) -> Result<()>;
    /// Moves an active file to the trash; `false` if there was none.
    async fn trash_file(&self, account: AccountId, id: FileId, at: DateTime<Utc>) -> Result<bool>;
    /// In one transaction: checks that `source` is still an active file whose blob is
    /// referenced (else `Error::NotFound(Entity::File)`: it was trashed or purged meanwhile),
    /// checks the storage limit, adds a reference to the blob and inserts a new record for it
    /// (new id and short URL) in `folder`.
    async fn copy_file(
        &self,
        source: &File,
        folder: Option<FolderId>,
        delete_hash: &str,
        unique_hash: &str,
        at: DateTime<Utc>,
        storage_limit: Option<u64>,
    ) -> Result<File>;
    /// Counts one completed download.
    async fn record_download(&self, id: FileId, at: DateTime<Utc>) -> Result<()>;
    /// Deletes trashed records older than `before` and drops their blob references; returns
    /// how many records went.
    async fn purge_trash(&self, before: DateTime<Utc>) -> Result<u64>;
    /// Blobs that no record refers to any more.
    async fn unreferenced_blobs(&self, limit: u32) -> Result<Vec<BlobKey>>;
    /// In one transaction: forgets `key` if still unreferenced and runs `remove` (the bytes'
    /// removal), so a concurrent upload of the same content waits and then stores it anew.
    async fn remove_blob_if_unreferenced(
        &self,
        key: &BlobKey,
        remove: StorageAction,
    ) -> Result<bool>;
    /// Whether any blob record has this key (orphan sweep).
    async fn blob_is_known(&self, key: &BlobKey) -> Result<bool>;
    /// In one transaction: if no blob record has `key`, holds the key (so an upload of the same
    /// content committing at this moment waits) and runs `remove`; `false` if the key is known.
    /// The orphan sweep goes through this, so it cannot remove bytes that an upload promoted
    /// inside its not yet committed transaction (on another instance, say).
    async fn remove_blob_if_unknown(&self, key: &BlobKey, remove: StorageAction) -> Result<bool>;
}

/// Folders.
#[async_trait]
pub trait FolderRepo: Send + Sync {
    /// Creates a folder.
    async fn create_folder(&self, new: NewFolder) -> Result<Folder>;
    /// An active folder of the account.
    async fn folder(&self, account: AccountId, id: FolderId) -> Result<Option<Folder>>;
    /// An active folder of any account (public pages).
    async fn folder_by_id(&self, id: FolderId) -> Result<Option<Folder>>;
    /// Aggregates of one folder.
    async fn folder_stats(&self, id: FolderId) -> Result<FolderStats>;
    /// Active sub-folders of `parent` (`None` = root) with aggregates, by name.
    async fn child_folders(
        &self,
        account: AccountId,
        parent: Option<FolderId>,
    ) -> Result<Vec<FolderView>>;
    /// Saves name, visibility, password and `updated_at`.
    async fn update_folder(&self, folder: &Folder) -> Result<()>;
    /// In one transaction: refuses (`Error::Conflict`) if `new_parent` is the folder or inside
    /// it, else re-parents it.
    async fn move_folder(
        &self,
        account: AccountId,
        id: FolderId,
        new_parent: Option<FolderId>,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// In one transaction: trashes the folder, its sub-folders and every file inside them.
    async fn trash_folder_tree(
        &self,
        account: AccountId,
        id: FolderId,
        at: DateTime<Utc>,
    ) -> Result<()>;
}

/// Persistent URL-import jobs with leases, so a job survives restarts and crashes.
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Schedules an import unless the account already has `max_pending` unfinished ones
    /// (`Error::LimitExceeded(Limit::RemoteDownloadUrls)`); `None` = no cap.
    async fn push_import(&self, new: NewImportJob, max_pending: Option<u64>) -> Result<ImportJob>;
    /// A job of the account.
    async fn import_job(&self, account: AccountId, id: JobId) -> Result<Option<ImportJob>>;
    /// Claims the oldest pending job, or one whose worker's lease lapsed, for `worker` until
    /// `lease_until`; marks it downloading and counts the attempt.
    async fn claim_import(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<ImportJob>>;
    /// Extends the lease and records progress; `false` if the job is no longer this worker's.
    async fn heartbeat_import(
        &self,
        id: JobId,
        worker: &str,
        lease_until: DateTime<Utc>,
        received_bytes: u64,
    ) -> Result<bool>;
    /// Ends a job held by `worker`.
    async fn finish_import(
        &self,
        id: JobId,
        worker: &str,
        outcome: JobOutcome,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// Returns a worker's jobs to pending (graceful shutdown).
    async fn release_imports(&self, worker: &str) -> Result<u64>;
}

/// Concurrency slots counted in the shared database (`concurrent_uploads`/`_downloads`).
#[async_trait]
pub trait TransferSlots: Send + Sync {
    /// Takes a slot if `holder` (`acct:{id}` for accounts, `ip:{address}` for guests) holds
    /// fewer than `limit` live ones; the slot lapses at
    /// `lease_until` unless renewed (a crashed instance's slots free themselves).
    async fn acquire_slot(
        &self,
        holder: &str,
        kind: TransferKind,
        limit: u64,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<i64>>;
    /// Extends a slot's lease.
    async fn renew_slot(&self, slot: i64, lease_until: DateTime<Utc>) -> Result<()>;
    /// Frees a slot.
    async fn release_slot(&self, slot: i64) -> Result<()>;
}

/// Failed logins, counted in the shared database so every instance sees the same lockouts.
#[async_trait]
pub trait LoginThrottle: Send + Sync {
    /// Records one failed attempt under each key.
    async fn record_login_failure(&self, keys: &[String], at: DateTime<Utc>) -> Result<()>;
    /// Failed attempts under `key` since `since`.
    async fn login_failures_since(&self, key: &str, since: DateTime<Utc>) -> Result<u64>;
    /// Forgets the failures under `key` (after a successful login).
    async fn clear_login_failures(&self, key: &str) -> Result<()>;
    /// Forgets failures older than `before`; how many went.
    async fn purge_login_failures(&self, before: DateTime<Utc>) -> Result<u64>;
}

/// A request rate: `per_minute` sustained, with up to `burst` requests at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimit {
    /// Requests admitted per minute, sustained.
    pub per_minute: u32,
    /// Requests admitted at once after a quiet spell (at least 1).
    pub burst: u32,
}

/// Request-rate counters (SPEC.md §1: too many requests answer 429 with `Retry-After`).
///
/// Kept in process on a single instance and in the shared database when several instances
/// serve one site, so that a client cannot multiply its allowance by the number of instances.
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one request under `key` (`api-ip:…`, `api-token:…`, `page-ip:…`) at `now`; over
    /// `limit` it is `Error::RateLimited(seconds until a request would be admitted)`.
    async fn check(&self, key: &str, limit: RateLimit, now: DateTime<Utc>) -> Result<()>;
    /// Forgets counters that can no longer refuse anything at `now`; how many went.
    async fn purge_rate_counters(&self, now: DateTime<Utc>) -> Result<u64>;
}

/// The rule a download must pass against the visitor's last 24 hours of downloads; the
/// repository runs it inside the transaction that logs the download, so two instances cannot
/// both admit the last allowed one.
pub type DownloadAdmission =
    Box<dyn FnOnce(&[LoggedDownload]) -> std::result::Result<(), DownloadRefusal> + Send>;

/// What the public pages keep beyond files and folders: per-day statistics, the download log
/// behind the 24-hour limits, failed folder-password guesses and the server's signing secret.
#[async_trait]
pub trait PublicRepo: Send + Sync {
    /// Completed downloads of a file by UTC day, oldest first.
    async fn download_stats(&self, file: FileId) -> Result<Vec<DayDownloads>>;
    /// In one transaction: reads the visitor's log entries since `since` (oldest first), runs
    /// `admit` on them and, if it passes, appends `new`. Entries older than `since` may be
    /// dropped on the way.
    async fn log_download(
        &self,
        new: NewDownloadLog,
        since: DateTime<Utc>,
        admit: DownloadAdmission,
    ) -> Result<std::result::Result<(), DownloadRefusal>>;
    /// Records a failed guess under `key` (a folder password from one address).
    async fn record_guess(&self, key: &str, at: DateTime<Utc>) -> Result<()>;
    /// Times of the failed guesses under `key` since `since`, oldest first.
    async fn guesses_since(&self, key: &str, since: DateTime<Utc>) -> Result<Vec<DateTime<Utc>>>;
    /// The persisted secret called `name`; stores `candidate` first if there is none yet (so
    /// every instance ends up with the same one).
    async fn secret(&self, name: &str, candidate: &str) -> Result<String>;
}

/// A blob that has been written in full under a temporary name, with its digests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TempBlob {
    /// The store's name for the temporary object.
    pub temp_id: String,
    /// Bytes received.
    pub size_bytes: u64,
    /// MD5, hex.
    pub md5: String,
    /// SHA-256, the content address.
    pub key: BlobKey,
}

/// Content-addressed byte storage (local directory, S3, ...).
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Streams `body` into a temporary object, hashing as it goes, durably (the bytes are on
    /// stable storage when this returns). Stops and removes the temporary object as soon as more
    /// than `max_bytes` arrive (`Error::LimitExceeded(Limit::MaxUploadSize)`), or when the
    /// stream fails.
    async fn write_temp(&self, body: ByteStream, max_bytes: Option<u64>) -> Result<TempBlob>;
    /// Makes a temporary object the blob `key`, atomically.
    async fn promote(&self, temp_id: &str, key: &BlobKey) -> Result<()>;
    /// Removes a temporary object; no error if it is gone already.
    async fn discard(&self, temp_id: &str) -> Result<()>;
    /// Streams a blob, or a range of it.
    async fn read(&self, key: &BlobKey, range: Option<ByteRange>) -> Result<ByteStream>;
    /// Removes a blob; no error if it is gone already.
    async fn remove(&self, key: &BlobKey) -> Result<()>;
    /// Every blob in the store with when it was written (orphan sweep).
    async fn list(&self) -> Result<Vec<(BlobKey, DateTime<Utc>)>>;
    /// Removes temporary objects not written to for `older_than` (a crash's leftovers; zero
    /// takes them all); how many went.
    async fn clean_temp(&self, older_than: std::time::Duration) -> Result<u64>;
}
