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
//!
//! Here: the pages and who may see them. Apart: what a package entitles a visitor to
//! (`entitlements`), previews (`preview`), signing in on the pages (`sessions`) and the signed
//! tokens (`signing`).

mod entitlements;
mod preview;
mod signing;

pub(crate) use signing::parse_time;

pub use entitlements::{admit_download, Charge, DownloadGrant, DownloadOutcome};
pub use preview::{Preview, RASTER_PREVIEW_TYPES};

pub use super::auth::Visitor;
use super::signer::Signer;
use super::Deps;
use crate::error::{Entity, Error, Result};
use crate::ids::FolderId;
use crate::model::{
    limit, DayDownloads, DownloadRefusal, File, Folder, FolderView, Status, Visibility,
};
use crate::ports::PublicRepo;
use crate::secret;
use chrono::{DateTime, Utc};
use entitlements::too_large;
use md5::{Digest, Md5};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tracing::{instrument, warn};

/// How deep a folder chain is followed before it is taken as broken.
const MAX_DEPTH: usize = 256;

/// Tunables of the public pages.
#[derive(Debug, Clone)]
pub struct PublicConfig {
    /// How long a download ticket stays valid after it becomes usable.
    pub ticket_ttl: Duration,
    /// How long a folder-password grant lasts.
    pub grant_ttl: Duration,
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
            preview_max_bytes: 8 * 1024 * 1024,
            text_preview_bytes: 4096,
            text_preview_lines: 20,
            guess_limit: 5,
            guess_window: Duration::from_secs(15 * 60),
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

/// The public pages' rules.
#[derive(Clone)]
pub struct PublicService {
    deps: Deps,
    repo: Arc<dyn PublicRepo>,
    config: PublicConfig,
    signer: Signer,
}

impl PublicService {
    /// Builds the service over the shared ports and the public pages' own.
    pub fn new(deps: Deps, config: PublicConfig) -> Self {
        let repo = deps.public.clone();
        Self {
            signer: Signer::new(repo.clone()),
            deps,
            repo,
            config,
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
        self.sign_grant(id, expected, expires).await
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
            let granted = match grants.0.get(&folder.id) {
                Some(grant) => self.grant_valid(grant, folder.id, password, now).await?,
                None => false,
            };
            if !granted {
                return Ok(Some(folder.clone()));
            }
        }
        Ok(None)
    }
}

pub(super) fn secs(value: u64) -> chrono::Duration {
    chrono::Duration::seconds(i64::try_from(value).unwrap_or(i64::MAX / 1000))
}

pub(super) fn chrono_duration(value: Duration) -> chrono::Duration {
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
