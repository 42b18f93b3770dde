//! Folders: `/folder/*` (SPEC.md §3, §4).

use super::Deps;
use crate::error::{Entity, Error, Result};
use crate::ids::{AccountId, FolderId};
use crate::model::{File, Folder, FolderView, NewFolder, Visibility};
use crate::name;
use crate::secret;

/// Changes `/folder/edit` asks for; `None` keeps what is there.
#[derive(Debug, Clone, Default)]
pub struct FolderEdit {
    /// New name.
    pub name: Option<String>,
    /// New parent (`Some(None)` = root).
    pub parent: Option<Option<FolderId>>,
    /// New visibility.
    pub visibility: Option<Visibility>,
    /// New access password MD5 (`Some(None)` removes it).
    pub access_password_md5: Option<Option<String>>,
}

/// Folder operations, always within one account.
#[derive(Clone)]
pub struct FolderService {
    deps: Deps,
}

impl FolderService {
    pub(super) fn new(deps: Deps) -> Self {
        Self { deps }
    }

    /// Creates a folder under `parent` (`None` = root).
    pub async fn create(
        &self,
        account: AccountId,
        folder_name: &str,
        parent: Option<FolderId>,
        visibility: Visibility,
        access_password_md5: Option<String>,
    ) -> Result<FolderView> {
        let name = name::validate(folder_name).map_err(|m| Error::InvalidParam(m.to_owned()))?;
        if let Some(parent) = parent {
            self.require(account, parent, Entity::ParentFolder).await?;
        }
        let password = access_password_md5.map(|p| validated_md5(&p)).transpose()?;
        let folder = self
            .deps
            .folders
            .create_folder(NewFolder {
                account_id: account,
                parent_id: parent,
                name,
                visibility,
                access_password_md5: password,
                created_at: self.deps.clock.now(),
            })
            .await?;
        self.view(folder).await
    }

    /// One folder with its aggregates.
    pub async fn info(&self, account: AccountId, id: FolderId) -> Result<FolderView> {
        let folder = self.require(account, id, Entity::Folder).await?;
        self.view(folder).await
    }

    /// The active sub-folders and files of `parent` (`None` = root).
    pub async fn listing(
        &self,
        account: AccountId,
        parent: Option<FolderId>,
    ) -> Result<(Vec<FolderView>, Vec<File>)> {
        if let Some(parent) = parent {
            self.require(account, parent, Entity::Folder).await?;
        }
        let folders = self.deps.folders.child_folders(account, parent).await?;
        let files = self.deps.files.files_in_folder(account, parent).await?;
        Ok((folders, files))
    }

    /// Applies an edit; a new parent goes through the same cycle check as a move.
    pub async fn edit(
        &self,
        account: AccountId,
        id: FolderId,
        edit: FolderEdit,
    ) -> Result<FolderView> {
        let mut folder = self.require(account, id, Entity::Folder).await?;
        let now = self.deps.clock.now();
        // Every check before the first write, so a refused edit changes nothing.
        let name = edit
            .name
            .map(|raw| name::validate(&raw).map_err(|m| Error::InvalidParam(m.to_owned())))
            .transpose()?;
        let password = edit
            .access_password_md5
            .map(|password| password.map(|p| validated_md5(&p)).transpose())
            .transpose()?;
        if let Some(new_parent) = edit.parent {
            if let Some(parent) = new_parent {
                self.require(account, parent, Entity::ParentFolder).await?;
            }
            if new_parent != folder.parent_id {
                self.deps
                    .folders
                    .move_folder(account, id, new_parent, now)
                    .await?;
                folder.parent_id = new_parent;
            }
        }
        if let Some(name) = name {
            folder.name = name;
        }
        if let Some(visibility) = edit.visibility {
            folder.visibility = visibility;
        }
        if let Some(password) = password {
            folder.access_password_md5 = password;
        }
        folder.updated_at = Some(now);
        self.deps.folders.update_folder(&folder).await?;
        self.view(folder).await
    }

    /// Trashes the folder and everything under it (SPEC.md §4).
    pub async fn delete(&self, account: AccountId, id: FolderId) -> Result<()> {
        self.require(account, id, Entity::Folder).await?;
        self.deps
            .folders
            .trash_folder_tree(account, id, self.deps.clock.now())
            .await
    }

    /// Moves a folder; refuses to move it into itself or its own subtree.
    pub async fn move_to(
        &self,
        account: AccountId,
        id: FolderId,
        new_parent: Option<FolderId>,
    ) -> Result<FolderView> {
        self.require(account, id, Entity::Folder).await?;
        if let Some(parent) = new_parent {
            self.require(account, parent, Entity::MoveDestination)
                .await?;
        }
        self.deps
            .folders
            .move_folder(account, id, new_parent, self.deps.clock.now())
            .await?;
        self.info(account, id).await
    }

    /// An active folder of the account, or `NotFound(entity)`.
    pub async fn require(
        &self,
        account: AccountId,
        id: FolderId,
        entity: Entity,
    ) -> Result<Folder> {
        self.deps
            .folders
            .folder(account, id)
            .await?
            .ok_or(Error::NotFound(entity))
    }

    async fn view(&self, folder: Folder) -> Result<FolderView> {
        let stats = self.deps.folders.folder_stats(folder.id).await?;
        Ok(FolderView { folder, stats })
    }
}

fn validated_md5(raw: &str) -> Result<String> {
    let raw = raw.trim();
    if secret::is_md5_hex(raw) {
        Ok(raw.to_ascii_lowercase())
    } else {
        Err(Error::InvalidParam(
            "The access_password param must be an MD5 hash of 32 hexadecimal characters.".into(),
        ))
    }
}
