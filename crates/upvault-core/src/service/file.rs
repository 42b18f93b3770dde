//! Files: `/file/info`, `/file/edit`, `/file/delete`, `/file/move`, `/file/copy`,
//! `/file/download` and the download tokens behind `download_url` (SPEC.md §3, §4).

use super::Deps;
use crate::error::{Entity, Error, Result};
use crate::ids::{AccountId, FileId, FolderId};
use crate::listing::{FilePage, FileQuery, FileScope};
use crate::model::{limit, ByteRange, File, Status};
use crate::name;
use crate::ports::ByteStream;
use crate::secret;

/// Changes `/file/edit` asks for; `None` keeps what is there.
#[derive(Debug, Clone, Default)]
pub struct FileEdit {
    /// New name.
    pub filename: Option<String>,
    /// New MIME type.
    pub mime_type: Option<String>,
    /// New folder (`Some(None)` = root).
    pub folder: Option<Option<FolderId>>,
}

/// How `/file/download` names the file.
#[derive(Debug, Clone)]
pub enum FileRef {
    /// `file_id`.
    Id(FileId),
    /// `short_url`.
    ShortUrl(String),
}

/// File operations, always within one account.
#[derive(Clone)]
pub struct FileService {
    deps: Deps,
}

impl FileService {
    pub(super) fn new(deps: Deps) -> Self {
        Self { deps }
    }

    /// An active file of the account.
    pub async fn info(&self, account: AccountId, id: FileId) -> Result<File> {
        self.deps
            .files
            .file(account, id)
            .await?
            .ok_or(Error::NotFound(Entity::File))
    }

    /// Renames, retypes or moves a file.
    pub async fn edit(&self, account: AccountId, id: FileId, edit: FileEdit) -> Result<File> {
        let mut file = self.info(account, id).await?;
        if let Some(raw) = edit.filename {
            file.filename = name::validate(&raw).map_err(|m| Error::InvalidParam(m.to_owned()))?;
            file.extension = name::extension(&file.filename);
        }
        if let Some(raw) = edit.mime_type {
            file.mime_type = validated_mime(&raw)?;
        }
        if let Some(folder) = edit.folder {
            if let Some(folder) = folder {
                self.require_folder(account, folder, Entity::UploadFolder)
                    .await?;
            }
            file.folder_id = folder;
        }
        file.updated_at = Some(self.deps.clock.now());
        self.deps.files.update_file(&file).await?;
        Ok(file)
    }

    /// Moves a file to the trash (SPEC.md §4: delete means trash).
    pub async fn delete(&self, account: AccountId, id: FileId) -> Result<File> {
        let mut file = self.info(account, id).await?;
        let now = self.deps.clock.now();
        if !self.deps.files.trash_file(account, id, now).await? {
            return Err(Error::NotFound(Entity::File));
        }
        file.status = Status::Trash;
        file.trashed_at = Some(now);
        Ok(file)
    }

    /// Moves a file into `folder` (`None` = root).
    pub async fn move_to(
        &self,
        account: AccountId,
        id: FileId,
        folder: Option<FolderId>,
    ) -> Result<File> {
        let mut file = self.info(account, id).await?;
        if let Some(folder) = folder {
            self.require_folder(account, folder, Entity::MoveDestination)
                .await?;
        }
        file.folder_id = folder;
        file.updated_at = Some(self.deps.clock.now());
        self.deps.files.update_file(&file).await?;
        Ok(file)
    }

    /// Copies a file into `folder`: a new record (id, short URL, delete hash) sharing the bytes.
    pub async fn copy(
        &self,
        account: AccountId,
        id: FileId,
        folder: Option<FolderId>,
    ) -> Result<(File, File)> {
        let source = self.info(account, id).await?;
        if let Some(folder) = folder {
            self.require_folder(account, folder, Entity::CopyDestination)
                .await?;
        }
        let package = self.package_limits(account).await?;
        let copy = self
            .deps
            .files
            .copy_file(
                &source,
                folder,
                &secret::random_hex(16),
                &secret::random_hex(32),
                self.deps.clock.now(),
                package,
            )
            .await?;
        Ok((source, copy))
    }

    /// Issues a download token for an active file of the account; returns the file and the
    /// token to put in `download_url`.
    pub async fn download_token(
        &self,
        account: AccountId,
        file: FileRef,
    ) -> Result<(File, String)> {
        let file = match file {
            FileRef::Id(id) => self.info(account, id).await?,
            FileRef::ShortUrl(code) => self
                .deps
                .files
                .file_by_short_url(&code)
                .await?
                .filter(|f| f.account_id == account && f.status == Status::Active)
                .ok_or(Error::NotFound(Entity::File))?,
        };
        let token = secret::random_hex(32);
        let expires_at = self.deps.now_plus(self.deps.config.download_token_ttl);
        self.deps
            .tokens
            .insert_download_token(&secret::token_digest(&token), file.id, expires_at)
            .await?;
        Ok((file, token))
    }

    /// The active file a download token opens, if the token is live and bound to `short_url`.
    pub async fn resolve_download(&self, short_url: &str, token: &str) -> Result<File> {
        let file_id = self
            .deps
            .tokens
            .download_token_file(&secret::token_digest(token), self.deps.clock.now())
            .await?
            .ok_or(Error::NotFound(Entity::File))?;
        self.deps
            .files
            .file_by_id(file_id)
            .await?
            .filter(|f| {
                f.status == Status::Active && secret::constant_time_eq(&f.short_url, short_url)
            })
            .ok_or(Error::NotFound(Entity::File))
    }

    /// An active file by its public short URL.
    pub async fn by_short_url(&self, short_url: &str) -> Result<File> {
        self.deps
            .files
            .file_by_short_url(short_url)
            .await?
            .filter(|f| f.status == Status::Active)
            .ok_or(Error::NotFound(Entity::File))
    }

    /// Whether files in `folder` (`None`: the root) are public through their link: no folder
    /// above them is private or trashed (the real server's per-file `isPublic`).
    pub async fn public_in(&self, folder: Option<FolderId>) -> Result<bool> {
        Ok(super::public::public_chain(&self.deps, folder)
            .await?
            .is_some())
    }

    /// Whether `file` is public through its link: active, in a folder [`Self::public_in`].
    pub async fn is_public(&self, file: &File) -> Result<bool> {
        Ok(file.status == Status::Active && self.public_in(file.folder_id).await?)
    }

    /// A page of the account's files: in a folder of its own (else `NotFound(Folder)`) or, with
    /// [`FileScope::Everywhere`], across all of them (search by `query.name_contains`).
    pub async fn page(
        &self,
        account: AccountId,
        scope: FileScope,
        query: &FileQuery,
    ) -> Result<FilePage> {
        if let FileScope::Folder(Some(folder)) = scope {
            self.require_folder(account, folder, Entity::Folder).await?;
        }
        let rows = self.deps.files.page_of_files(account, scope, query).await?;
        Ok(FilePage::from_rows(rows, query))
    }

    /// The bytes of `file`, or of `range` of them (a download the caller has admitted).
    pub async fn bytes(&self, file: &File, range: Option<ByteRange>) -> Result<ByteStream> {
        self.deps.blobs.read(&file.blob_key, range).await
    }

    /// Counts a completed download.
    pub async fn record_download(&self, id: FileId) -> Result<()> {
        self.deps
            .files
            .record_download(id, self.deps.clock.now())
            .await
    }

    async fn require_folder(&self, account: AccountId, id: FolderId, entity: Entity) -> Result<()> {
        self.deps
            .folders
            .folder(account, id)
            .await?
            .map(|_| ())
            .ok_or(Error::NotFound(entity))
    }

    /// The storage limit of the account: the override, else the package's (None = unlimited).
    async fn package_limits(&self, account: AccountId) -> Result<Option<u64>> {
        super::upload::storage_limit(&self.deps, account).await
    }
}

/// A MIME type given by a client: a short `type/subtype` with no characters that could break a
/// header.
fn validated_mime(raw: &str) -> Result<String> {
    let raw = raw.trim();
    let valid = raw.len() <= 255
        && raw
            .split_once('/')
            .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
        && raw.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        && !raw.contains([',', '"', '\\']);
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(Error::InvalidParam(
            "The fileType param must be a MIME type such as application/octet-stream.".into(),
        ))
    }
}

/// Is the file allowed to be downloaded under `max_download_filesize_allowed`?
pub fn within_download_size(file: &File, max_download_filesize_allowed: u64) -> bool {
    limit(max_download_filesize_allowed).is_none_or(|max| file.size_bytes <= max)
}
