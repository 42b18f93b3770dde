//! The public side of the file host (SPEC.md §5): file, folder, owner and stats pages, and the
//! downloads people start from them under their package's limits.
//!
//! Who may see what:
//! - a file in the root is public through its unguessable short URL (as YetiShare does);
//! - a file or folder below a private folder (at any depth) does not exist publicly;
//! - a folder with an access password (or below one) is shown only to a visitor holding a grant
//!   for it, a signed token bound to the folder and its current password;
//! - trashed files and folders do not exist publicly.
//!
//! Downloads from pages run under the visitor's package (guests: the guest package): the page
//! hands out a signed ticket that is valid from `now + wait_between_downloads`, and the download
//! checks the ticket, `max_download_filesize_allowed`, `concurrent_downloads` and the 24-hour
//! count and volume (logged in the database, so instances share them). This module knows
//! nothing of HTTP: cookies, forms and status codes are the web crate's.

use super::account::GUEST_PACKAGE;
use super::auth::{verify_under_lockout, LoginAttempt};
use super::upload::{account_holder, acquire_slot, SlotGuard};
use super::Deps;
use crate::error::{Entity, Error, Limit, Result};
use crate::ids::{AccountId, FileId, FolderId};
use crate::model::{
    limit, ByteRange, DayDownloads, DownloadRefusal, File, Folder, FolderView, LoggedDownload,
    NewDownloadLog, Package, Status, TransferKind, Visibility,
};
use crate::ports::{ByteStream, PublicRepo};
use crate::secret;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;
use tracing::{instrument, warn};

/// Raster types shown as an image preview; anything else (SVG, HTML, XML, ...) could run
/// script or restyle the page, so it is never shown inline.
pub const RASTER_PREVIEW_TYPES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];

/// How deep a folder chain is followed before it is taken as broken.
const MAX_DEPTH: usize = 256;

/// Tunables of the public pages.
#[derive(Debug, Clone)]
pub struct PublicConfig {
    /// How long a download ticket stays valid after it becomes usable.
    pub ticket_ttl: Duration,
    /// How long a folder-password grant lasts.
    pub grant_ttl: Duration,
    /// How long a page login lasts.
    pub session_ttl: Duration,
    /// Largest image shown as a preview (previews are not counted as downloads).
    pub preview_max_bytes: u64,
    /// Bytes read for a text preview.
    pub text_preview_bytes: u64,
    /// Lines shown in a text preview.
    pub text_preview_lines: usize,
    /// Failed password guesses per address and folder allowed in `guess_window` (page logins
    /// fall under the API's lockout policy instead).
    pub guess_limit: u64,
    /// The sliding window of `guess_limit`.
    pub guess_window: Duration,
}

impl Default for PublicConfig {
    fn default() -> Self {
        Self {
            ticket_ttl: Duration::from_secs(3600),
            grant_ttl: Duration::from_secs(24 * 3600),
            session_ttl: Duration::from_secs(7 * 24 * 3600),
            preview_max_bytes: 8 * 1024 * 1024,
            text_preview_bytes: 4096,
            text_preview_lines: 20,
            guess_limit: 5,
            guess_window: Duration::from_secs(15 * 60),
        }
    }
}

/// Who is looking: a guest (by address) or a signed-in account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visitor {
    /// An anonymous visitor at this address.
    Guest(String),
    /// A signed-in account.
    Account(AccountId),
}

impl Visitor {
    /// The key limits are counted under: `ip:{address}` or `acct:{id}`.
    pub fn key(&self) -> String {
        match self {
            Visitor::Guest(ip) => format!("ip:{ip}"),
            Visitor::Account(id) => account_holder(*id),
        }
    }
}

/// The folder-password grants a visitor presents (raw tokens by folder).
#[derive(Debug, Clone, Default)]
pub struct Grants(HashMap<FolderId, String>);

impl Grants {
    /// Grants from `(folder, token)` pairs.
    pub fn new(grants: impl IntoIterator<Item = (FolderId, String)>) -> Self {
        Self(grants.into_iter().collect())
    }
}

/// Either the thing asked for, or the password-protected folder that must be unlocked first.
#[derive(Debug, Clone)]
pub enum Gate<T> {
    /// Visible.
    Open(T),
    /// Behind this folder's access password.
    Locked(Folder),
}

/// What a file page shows in place of the content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Preview {
    /// A raster image, served by the preview route.
    Image,
    /// The first lines of a text file (to be escaped by the page).
    Text(String),
    /// An icon.
    None,
}

/// The download a file page offers.
#[derive(Debug, Clone)]
pub struct DownloadOffer {
    /// The signed ticket the download button carries.
    pub ticket: String,
    /// When the ticket becomes usable.
    pub ready_at: DateTime<Utc>,
    /// `wait_between_downloads` in seconds (0: none).
    pub wait_secs: u64,
    /// A refusal known before any click (the file is too large for the package).
    pub blocked: Option<DownloadRefusal>,
    /// `download_speed` in bytes/s (None: unthrottled).
    pub bytes_per_sec: Option<u64>,
    /// The package's name.
    pub package: String,
}

/// A file page.
#[derive(Debug, Clone)]
pub struct FilePage {
    /// The file.
    pub file: File,
    /// Its preview.
    pub preview: Preview,
    /// The download on offer.
    pub offer: DownloadOffer,
}

/// A folder page.
#[derive(Debug, Clone)]
pub struct FolderListing {
    /// The folder.
    pub folder: Folder,
    /// Its public ancestors, root first (a private ancestor would have hidden the folder).
    pub path: Vec<Folder>,
    /// Sub-folders that are not private.
    pub folders: Vec<FolderView>,
    /// Files.
    pub files: Vec<File>,
}

/// A public stats page.
#[derive(Debug, Clone)]
pub struct FileStats {
    /// The file (its `downloads` is the total).
    pub file: File,
    /// Downloads by day, oldest first.
    pub days: Vec<DayDownloads>,
}

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

/// The public pages' rules.
#[derive(Clone)]
pub struct PublicService {
    deps: Deps,
    repo: Arc<dyn PublicRepo>,
    config: PublicConfig,
    key: Arc<OnceCell<Vec<u8>>>,
}

impl PublicService {
    /// Builds the service over the shared ports and the public pages' own.
    pub fn new(deps: Deps, repo: Arc<dyn PublicRepo>, config: PublicConfig) -> Self {
        Self {
            deps,
            repo,
            config,
            key: Arc::new(OnceCell::new()),
        }
    }

    /// Now, by the clock every rule of this service reads.
    pub fn now(&self) -> DateTime<Utc> {
        self.deps.clock.now()
    }

    /// The file page of `short_url`.
    #[instrument(skip_all)]
    pub async fn file_page(
        &self,
        short_url: &str,
        visitor: &Visitor,
        grants: &Grants,
    ) -> Result<Gate<FilePage>> {
        let file = match self.visible_file(short_url, grants).await? {
            Gate::Open(file) => file,
            Gate::Locked(folder) => return Ok(Gate::Locked(folder)),
        };
        let package = self.package_of(visitor).await?;
        let now = self.deps.clock.now();
        let wait_secs = package.limits.wait_between_downloads;
        let ready_at = now + secs(wait_secs);
        let expires = ready_at + chrono_duration(self.config.ticket_ttl);
        let ticket = self
            .sign_ticket(file.id, ready_at, expires, visitor)
            .await?;
        let blocked = too_large(&file, &package);
        let preview = self.preview_of(&file).await;
        Ok(Gate::Open(FilePage {
            offer: DownloadOffer {
                ticket,
                ready_at,
                wait_secs,
                blocked,
                bytes_per_sec: limit(package.limits.download_speed),
                package: package.label,
            },
            preview,
            file,
        }))
    }

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

    /// The bytes of a raster image preview (not counted as a download; capped in size).
    pub async fn preview(&self, short_url: &str, grants: &Grants) -> Result<(File, ByteStream)> {
        let Gate::Open(file) = self.visible_file(short_url, grants).await? else {
            return Err(Error::NotFound(Entity::File));
        };
        if !self.is_image_preview(&file) {
            return Err(Error::NotFound(Entity::File));
        }
        let stream = self.deps.blobs.read(&file.blob_key, None).await?;
        Ok((file, stream))
    }

    /// The public stats of a file.
    pub async fn stats(&self, short_url: &str, grants: &Grants) -> Result<Gate<FileStats>> {
        let file = match self.visible_file(short_url, grants).await? {
            Gate::Open(file) => file,
            Gate::Locked(folder) => return Ok(Gate::Locked(folder)),
        };
        let days = self.repo.download_stats(file.id).await?;
        Ok(Gate::Open(FileStats { file, days }))
    }

    /// The owner's view of a file, opened by its delete hash (compared in constant time). The
    /// hash is the owner's key, so this works whatever the folder's visibility.
    pub async fn owner_file(&self, short_url: &str, delete_hash: &str) -> Result<File> {
        self.deps
            .files
            .file_by_short_url(short_url)
            .await?
            .filter(|f| {
                f.status == Status::Active && secret::constant_time_eq(&f.delete_hash, delete_hash)
            })
            .ok_or(Error::NotFound(Entity::File))
    }

    /// Moves a file to the trash with its delete hash (SPEC.md §4: delete means trash); a
    /// wrong hash changes nothing.
    #[instrument(skip_all)]
    pub async fn delete_with_hash(&self, short_url: &str, delete_hash: &str) -> Result<File> {
        let mut file = self.owner_file(short_url, delete_hash).await?;
        let now = self.deps.clock.now();
        if !self
            .deps
            .files
            .trash_file(file.account_id, file.id, now)
            .await?
        {
            return Err(Error::NotFound(Entity::File));
        }
        file.status = Status::Trash;
        file.trashed_at = Some(now);
        Ok(file)
    }

    /// The folder page of `id`.
    pub async fn folder_page(&self, id: FolderId, grants: &Grants) -> Result<Gate<FolderListing>> {
        let mut chain = self
            .public_chain(Some(id))
            .await?
            .ok_or(Error::NotFound(Entity::Folder))?;
        if let Some(folder) = self.first_locked(&chain, grants).await? {
            return Ok(Gate::Locked(folder));
        }
        let folder = chain.pop().ok_or(Error::NotFound(Entity::Folder))?;
        let folders = self
            .deps
            .folders
            .child_folders(folder.account_id, Some(folder.id))
            .await?
            .into_iter()
            .filter(|view| view.folder.visibility != Visibility::Private)
            .collect();
        let files = self
            .deps
            .files
            .files_in_folder(folder.account_id, Some(folder.id))
            .await?;
        Ok(Gate::Open(FolderListing {
            folder,
            path: chain,
            folders,
            files,
        }))
    }

    /// Checks a folder's access password (the API stores its MD5); returns a grant token for
    /// the visitor to keep. Failed guesses are counted per `address` and folder, in the
    /// database: past `guess_limit` in the window the answer is `Error::RateLimited`.
    #[instrument(skip_all, fields(folder = %id))]
    pub async fn unlock_folder(
        &self,
        id: FolderId,
        password: &str,
        address: &str,
    ) -> Result<String> {
        let chain = self
            .public_chain(Some(id))
            .await?
            .ok_or(Error::NotFound(Entity::Folder))?;
        let folder = chain.last().ok_or(Error::NotFound(Entity::Folder))?;
        let Some(expected) = folder.access_password_md5.as_deref() else {
            return Err(Error::NotFound(Entity::Folder));
        };
        let key = format!("folder/{address}/{id}");
        self.check_guesses(&key).await?;
        let given = hex::encode(Md5::digest(password.as_bytes()));
        if !secret::constant_time_eq(&given, &expected.to_ascii_lowercase()) {
            warn!("wrong folder password");
            self.repo.record_guess(&key, self.deps.clock.now()).await?;
            return Err(Error::AuthFailed);
        }
        let expires = self.deps.clock.now() + chrono_duration(self.config.grant_ttl);
        let mac = self
            .mac(&format!("grant|{id}|{}|{expected}", expires.timestamp()))
            .await?;
        Ok(format!("{}.{mac}", expires.timestamp()))
    }

    /// Signs a visitor in on the pages with username and password; returns a session token.
    /// Failures fall under the API's lockout policy (per account and address, with a looser
    /// ceiling per address): past it the answer is `Error::RateLimited`.
    #[instrument(skip_all)]
    pub async fn login(&self, username: &str, password: &str, address: &str) -> Result<String> {
        let account = self.deps.accounts.account_by_username(username).await?;
        let subject = format!("user:{}", username.to_lowercase());
        let attempt = LoginAttempt {
            account: account.as_ref().map(|a| a.id),
            subject: &subject,
            ip: address,
        };
        let stored = account.as_ref().and_then(|a| a.password_hash.clone());
        verify_under_lockout(&self.deps, &attempt, password, stored).await?;
        let account = account
            .filter(|a| a.status.signs_in())
            .ok_or(Error::AuthFailed)?;
        let expires = self.deps.clock.now() + chrono_duration(self.config.session_ttl);
        let mac = self
            .mac(&session_message(
                account.id,
                expires,
                account.password_hash.as_deref(),
            ))
            .await?;
        Ok(format!("{}.{}.{mac}", account.id, expires.timestamp()))
    }

    /// The visitor a session token stands for (a guest at `address` without a valid one).
    pub async fn visitor(&self, session: Option<&str>, address: &str) -> Result<Visitor> {
        let guest = Visitor::Guest(address.to_owned());
        let Some((id, expires, mac)) = session.and_then(split3) else {
            return Ok(guest);
        };
        let (Some(id), Some(expires)) = (AccountId::parse(id), parse_time(expires)) else {
            return Ok(guest);
        };
        if expires <= self.deps.clock.now() {
            return Ok(guest);
        }
        let Some(account) = self.deps.accounts.account(id).await? else {
            return Ok(guest);
        };
        let expected = self
            .mac(&session_message(
                id,
                expires,
                account.password_hash.as_deref(),
            ))
            .await?;
        if account.status.signs_in() && secret::constant_time_eq(&expected, mac) {
            Ok(Visitor::Account(id))
        } else {
            Ok(guest)
        }
    }

    /// The name of a signed-in visitor (for the page header).
    pub async fn visitor_name(&self, visitor: &Visitor) -> Result<Option<String>> {
        match visitor {
            Visitor::Guest(_) => Ok(None),
            Visitor::Account(id) => Ok(self.deps.accounts.account(*id).await?.map(|a| a.username)),
        }
    }

    /// The file if the public may see it, or the folder that must be unlocked first.
    async fn visible_file(&self, short_url: &str, grants: &Grants) -> Result<Gate<File>> {
        let file = self
            .deps
            .files
            .file_by_short_url(short_url)
            .await?
            .filter(|f| f.status == Status::Active)
            .ok_or(Error::NotFound(Entity::File))?;
        let chain = self
            .public_chain(file.folder_id)
            .await?
            .ok_or(Error::NotFound(Entity::File))?;
        match self.first_locked(&chain, grants).await? {
            Some(folder) => Ok(Gate::Locked(folder)),
            None => Ok(Gate::Open(file)),
        }
    }

    /// The folders from the root down to `folder`, or `None` when one of them is missing,
    /// trashed or private (which hides everything below it).
    async fn public_chain(&self, folder: Option<FolderId>) -> Result<Option<Vec<Folder>>> {
        public_chain(&self.deps, folder).await
    }

    /// The outermost folder of `chain` with a password the visitor holds no grant for.
    async fn first_locked(&self, chain: &[Folder], grants: &Grants) -> Result<Option<Folder>> {
        let now = self.deps.clock.now();
        for folder in chain {
            let Some(password) = folder.access_password_md5.as_deref() else {
                continue;
            };
            let granted = match grants.0.get(&folder.id).and_then(|t| t.split_once('.')) {
                Some((expires, mac)) => match parse_time(expires).filter(|e| *e > now) {
                    Some(expires) => {
                        let expected = self
                            .mac(&format!(
                                "grant|{}|{}|{password}",
                                folder.id,
                                expires.timestamp()
                            ))
                            .await?;
                        secret::constant_time_eq(&expected, mac)
                    }
                    None => false,
                },
                None => false,
            };
            if !granted {
                return Ok(Some(folder.clone()));
            }
        }
        Ok(None)
    }

    async fn check_guesses(&self, key: &str) -> Result<()> {
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

    async fn package_of(&self, visitor: &Visitor) -> Result<Package> {
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

    fn is_image_preview(&self, file: &File) -> bool {
        RASTER_PREVIEW_TYPES.contains(&file.mime_type.as_str())
            && file.size_bytes <= self.config.preview_max_bytes
    }

    async fn preview_of(&self, file: &File) -> Preview {
        if self.is_image_preview(file) {
            return Preview::Image;
        }
        if !is_text(&file.mime_type) || file.size_bytes == 0 {
            return Preview::None;
        }
        let end = file.size_bytes.min(self.config.text_preview_bytes.max(1)) - 1;
        let range = Some(ByteRange { start: 0, end });
        let read = async {
            let stream = self.deps.blobs.read(&file.blob_key, range).await?;
            let chunks: Vec<bytes::Bytes> = stream.try_collect().await.map_err(Error::internal)?;
            Ok::<_, Error>(chunks.concat())
        };
        match read.await {
            Ok(head) => {
                let text = String::from_utf8_lossy(&head);
                let lines: Vec<&str> = text.lines().take(self.config.text_preview_lines).collect();
                Preview::Text(lines.join("\n"))
            }
            Err(err) => {
                warn!(%err, file = %file.id, "could not read a text preview");
                Preview::None
            }
        }
    }

    async fn sign_ticket(
        &self,
        file: FileId,
        ready_at: DateTime<Utc>,
        expires: DateTime<Utc>,
        visitor: &Visitor,
    ) -> Result<String> {
        // Milliseconds: the wait is enforced to the millisecond, not rounded to a second.
        let (ready, expires) = (ready_at.timestamp_millis(), expires.timestamp_millis());
        let mac = self
            .mac(&format!(
                "ticket|{file}|{ready}|{expires}|{}",
                visitor.key()
            ))
            .await?;
        Ok(format!("{file}.{ready}.{expires}.{mac}"))
    }

    async fn check_ticket(
        &self,
        ticket: &str,
        file: FileId,
        visitor: &Visitor,
        now: DateTime<Utc>,
    ) -> Result<Result<(), DownloadRefusal>> {
        let mut parts = ticket.splitn(4, '.');
        let (Some(id), Some(ready), Some(expires), Some(mac)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Ok(Err(DownloadRefusal::TicketInvalid));
        };
        let (Some(id), Some(ready_at), Some(expires_at)) = (
            FileId::parse(id),
            parse_millis(ready),
            parse_millis(expires),
        ) else {
            return Ok(Err(DownloadRefusal::TicketInvalid));
        };
        let expected = self
            .mac(&format!(
                "ticket|{id}|{}|{}|{}",
                ready_at.timestamp_millis(),
                expires_at.timestamp_millis(),
                visitor.key()
            ))
            .await?;
        if id != file || !secret::constant_time_eq(&expected, mac) || expires_at <= now {
            return Ok(Err(DownloadRefusal::TicketInvalid));
        }
        if now < ready_at {
            return Ok(Err(DownloadRefusal::Wait { until: ready_at }));
        }
        Ok(Ok(()))
    }

    /// HMAC-SHA256 of `message` under the server's persisted secret, hex.
    /// A new token for the page forms of one browser (`{nonce}.{mac}`): signed, so only a
    /// token this site issued passes [`Self::form_token_valid`].
    pub async fn new_form_token(&self) -> Result<String> {
        let nonce = secret::random_hex(16);
        let mac = self.mac(&format!("form|{nonce}")).await?;
        Ok(format!("{nonce}.{mac}"))
    }

    /// Whether `token` is one [`Self::new_form_token`] issued.
    pub async fn form_token_valid(&self, token: &str) -> Result<bool> {
        let Some((nonce, mac)) = token.split_once('.') else {
            return Ok(false);
        };
        if nonce.len() != 32 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(false);
        }
        let expected = self.mac(&format!("form|{nonce}")).await?;
        Ok(secret::constant_time_eq(mac, &expected))
    }

    async fn mac(&self, message: &str) -> Result<String> {
        let key = self
            .key
            .get_or_try_init(|| async {
                let stored = self
                    .repo
                    .secret("public-pages-hmac", &secret::random_hex(32))
                    .await?;
                Ok::<_, Error>(stored.into_bytes())
            })
            .await?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).map_err(Error::internal)?;
        mac.update(message.as_bytes());
        Ok(hex::encode(mac.finalize().into_bytes()))
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

fn too_large(file: &File, package: &Package) -> Option<DownloadRefusal> {
    limit(package.limits.max_download_filesize_allowed)
        .filter(|max| file.size_bytes > *max)
        .map(|max| DownloadRefusal::FileTooLarge { max })
}

/// Types whose first lines are worth showing (escaped) on the page.
fn is_text(mime: &str) -> bool {
    mime.starts_with("text/")
        || matches!(
            mime,
            "application/json" | "application/xml" | "application/javascript" | "application/toml"
        )
}

fn session_message(id: AccountId, expires: DateTime<Utc>, password_hash: Option<&str>) -> String {
    // The password hash is part of the message: a new password ends every session.
    format!(
        "session|{id}|{}|{}",
        expires.timestamp(),
        password_hash.unwrap_or("")
    )
}

fn split3(raw: &str) -> Option<(&str, &str, &str)> {
    let mut parts = raw.splitn(3, '.');
    Some((parts.next()?, parts.next()?, parts.next()?))
}

fn parse_millis(raw: &str) -> Option<DateTime<Utc>> {
    raw.parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
}

fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    raw.parse::<i64>()
        .ok()
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
}

fn secs(value: u64) -> chrono::Duration {
    chrono::Duration::seconds(i64::try_from(value).unwrap_or(i64::MAX / 1000))
}

fn chrono_duration(value: Duration) -> chrono::Duration {
    chrono::Duration::from_std(value).unwrap_or(chrono::Duration::MAX)
}

/// The folders from the root down to `folder` if the public may see into it (every one active
/// and not private), `None` if not; `Some([])` for the root.
pub(super) async fn public_chain(
    deps: &Deps,
    folder: Option<FolderId>,
) -> Result<Option<Vec<Folder>>> {
    let mut chain = Vec::new();
    let mut next = folder;
    while let Some(id) = next {
        if chain.len() >= MAX_DEPTH {
            return Ok(None);
        }
        let Some(folder) = deps.folders.folder_by_id(id).await? else {
            return Ok(None);
        };
        if folder.status != Status::Active || folder.visibility == Visibility::Private {
            return Ok(None);
        }
        next = folder.parent_id;
        chain.push(folder);
    }
    chain.reverse();
    Ok(Some(chain))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

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
