//! Folders: a tree per account through `parent_id`, walked with recursive CTEs.

use super::{corrupt, opt_time, secs, time, uint, SqliteStore};
use crate::error::DbResultExt;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use upvault_core::error::Entity;
use upvault_core::ids::{AccountId, FolderId};
use upvault_core::model::{Folder, FolderStats, FolderView, NewFolder, Status, Visibility};
use upvault_core::ports::FolderRepo;
use upvault_core::{Error, Result};

const FOLDER_COLUMNS: &str = "d.id, d.account_id, d.parent_id, d.name, d.visibility, \
     d.access_password_md5, d.status, d.created_at, d.updated_at";

/// The aggregates of folder `d`'s direct, active content, computed in the listing's own query
/// (each sub-select is an index range on `files_listing` / `folders_listing`).
const STATS_COLUMNS: &str = "\
    (SELECT COALESCE(SUM(f.size_bytes), 0) FROM files f \
      WHERE f.account_id = d.account_id AND f.folder_id = d.id AND f.status = 'active') \
      AS total_size, \
    (SELECT COALESCE(SUM(f.downloads), 0) FROM files f \
      WHERE f.account_id = d.account_id AND f.folder_id = d.id AND f.status = 'active') \
      AS total_downloads, \
    (SELECT COUNT(*) FROM folders c \
      WHERE c.account_id = d.account_id AND c.parent_id = d.id AND c.status = 'active') \
      AS child_folder_count, \
    (SELECT COUNT(*) FROM files f \
      WHERE f.account_id = d.account_id AND f.folder_id = d.id AND f.status = 'active') \
      AS file_count";

/// Folder `?1` of account `?2` if active, and every active folder below it.
const ACTIVE_TREE: &str = "WITH RECURSIVE tree (id) AS ( \
        SELECT id FROM folders WHERE id = ?1 AND account_id = ?2 AND status = 'active' \
        UNION \
        SELECT c.id FROM folders c JOIN tree ON c.parent_id = tree.id WHERE c.status = 'active')";

#[derive(sqlx::FromRow)]
struct FolderRow {
    id: i64,
    account_id: i64,
    parent_id: Option<i64>,
    name: String,
    visibility: i64,
    access_password_md5: Option<String>,
    status: String,
    created_at: i64,
    updated_at: Option<i64>,
}

impl TryFrom<FolderRow> for Folder {
    type Error = Error;

    fn try_from(row: FolderRow) -> Result<Self> {
        Ok(Folder {
            id: FolderId(row.id),
            account_id: AccountId(row.account_id),
            parent_id: row.parent_id.map(FolderId),
            name: row.name,
            visibility: Visibility::from_code(row.visibility)
                .ok_or_else(|| corrupt("folder visibility", row.visibility))?,
            access_password_md5: row.access_password_md5,
            status: Status::parse(&row.status)
                .ok_or_else(|| corrupt("folder status", &row.status))?,
            created_at: time(row.created_at)?,
            updated_at: opt_time(row.updated_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct StatsRow {
    total_size: i64,
    total_downloads: i64,
    child_folder_count: i64,
    file_count: i64,
}

impl From<StatsRow> for FolderStats {
    fn from(row: StatsRow) -> Self {
        FolderStats {
            total_size: uint(row.total_size),
            total_downloads: uint(row.total_downloads),
            child_folder_count: uint(row.child_folder_count),
            file_count: uint(row.file_count),
        }
    }
}

#[derive(sqlx::FromRow)]
struct FolderViewRow {
    #[sqlx(flatten)]
    folder: FolderRow,
    #[sqlx(flatten)]
    stats: StatsRow,
}

/// `SELECT <every column> FROM folders d WHERE {filter}`.
fn select_folders(filter: &str) -> String {
    format!("SELECT {FOLDER_COLUMNS} FROM folders d WHERE {filter}")
}

#[async_trait]
impl FolderRepo for SqliteStore {
    async fn create_folder(&self, new: NewFolder) -> Result<Folder> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO folders (account_id, parent_id, name, visibility, access_password_md5, \
             created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(new.account_id.0)
        .bind(new.parent_id.map(|id| id.0))
        .bind(&new.name)
        .bind(i64::from(new.visibility.as_code()))
        .bind(&new.access_password_md5)
        .bind(secs(new.created_at))
        .fetch_one(self.pool())
        .await
        .db()?;
        sqlx::query_as::<_, FolderRow>(&select_folders("d.id = ?"))
            .bind(id)
            .fetch_one(self.pool())
            .await
            .db()?
            .try_into()
    }

    async fn folder(&self, account: AccountId, id: FolderId) -> Result<Option<Folder>> {
        sqlx::query_as::<_, FolderRow>(&select_folders(
            "d.id = ? AND d.account_id = ? AND d.status = 'active'",
        ))
        .bind(id.0)
        .bind(account.0)
        .fetch_optional(self.pool())
        .await
        .db()?
        .map(Folder::try_from)
        .transpose()
    }

    async fn folder_by_id(&self, id: FolderId) -> Result<Option<Folder>> {
        sqlx::query_as::<_, FolderRow>(&select_folders("d.id = ? AND d.status = 'active'"))
            .bind(id.0)
            .fetch_optional(self.pool())
            .await
            .db()?
            .map(Folder::try_from)
            .transpose()
    }

    async fn folder_stats(&self, id: FolderId) -> Result<FolderStats> {
        let row: Option<StatsRow> = sqlx::query_as(&format!(
            "SELECT {STATS_COLUMNS} FROM folders d WHERE d.id = ?"
        ))
        .bind(id.0)
        .fetch_optional(self.pool())
        .await
        .db()?;
        Ok(row.map(FolderStats::from).unwrap_or_default())
    }

    async fn child_folders(
        &self,
        account: AccountId,
        parent: Option<FolderId>,
    ) -> Result<Vec<FolderView>> {
        let rows: Vec<FolderViewRow> = sqlx::query_as(&format!(
            "SELECT {FOLDER_COLUMNS}, {STATS_COLUMNS} FROM folders d \
             WHERE d.account_id = ? AND d.parent_id IS ? AND d.status = 'active' \
             ORDER BY d.name, d.id"
        ))
        .bind(account.0)
        .bind(parent.map(|id| id.0))
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter()
            .map(|row| {
                Ok(FolderView {
                    folder: row.folder.try_into()?,
                    stats: row.stats.into(),
                })
            })
            .collect()
    }

    async fn update_folder(&self, folder: &Folder) -> Result<()> {
        sqlx::query(
            "UPDATE folders SET name = ?, visibility = ?, access_password_md5 = ?, \
             updated_at = ? WHERE id = ? AND account_id = ?",
        )
        .bind(&folder.name)
        .bind(i64::from(folder.visibility.as_code()))
        .bind(&folder.access_password_md5)
        .bind(folder.updated_at.map(secs))
        .bind(folder.id.0)
        .bind(folder.account_id.0)
        .execute(self.pool())
        .await
        .db()?;
        Ok(())
    }

    async fn move_folder(
        &self,
        account: AccountId,
        id: FolderId,
        new_parent: Option<FolderId>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        let active = "SELECT EXISTS (SELECT 1 FROM folders \
                      WHERE id = ? AND account_id = ? AND status = 'active')";
        let found: bool = sqlx::query_scalar(active)
            .bind(id.0)
            .bind(account.0)
            .fetch_one(&mut *tx)
            .await
            .db()?;
        if !found {
            return Err(Error::NotFound(Entity::Folder));
        }
        if let Some(parent) = new_parent {
            let found: bool = sqlx::query_scalar(active)
                .bind(parent.0)
                .bind(account.0)
                .fetch_one(&mut *tx)
                .await
                .db()?;
            if !found {
                return Err(Error::NotFound(Entity::MoveDestination));
            }
            // Walk up from the destination; meeting the folder means a cycle. UNION (not ALL)
            // stops the walk even on a tree that is somehow cyclic already.
            let cycle: bool = sqlx::query_scalar(
                "WITH RECURSIVE up (id) AS ( \
                     SELECT ?1 \
                     UNION \
                     SELECT f.parent_id FROM folders f JOIN up ON f.id = up.id \
                     WHERE f.parent_id IS NOT NULL) \
                 SELECT EXISTS (SELECT 1 FROM up WHERE id = ?2)",
            )
            .bind(parent.0)
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await
            .db()?;
            if cycle {
                return Err(Error::Conflict(
                    "A folder cannot be moved into itself or one of its own sub-folders.".into(),
                ));
            }
        }
        sqlx::query("UPDATE folders SET parent_id = ?, updated_at = ? WHERE id = ?")
            .bind(new_parent.map(|id| id.0))
            .bind(secs(at))
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .db()?;
        tx.commit().await.db()?;
        Ok(())
    }

    async fn trash_folder_tree(
        &self,
        account: AccountId,
        id: FolderId,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        // Files first: the tree is walked over active folders, which the second statement ends.
        sqlx::query(&format!(
            "{ACTIVE_TREE} UPDATE files SET status = 'trash', trashed_at = ?3 \
             WHERE status = 'active' AND folder_id IN (SELECT id FROM tree)"
        ))
        .bind(id.0)
        .bind(account.0)
        .bind(secs(at))
        .execute(&mut *tx)
        .await
        .db()?;
        let folders = sqlx::query(&format!(
            "{ACTIVE_TREE} UPDATE folders SET status = 'trash', trashed_at = ?3 \
             WHERE id IN (SELECT id FROM tree)"
        ))
        .bind(id.0)
        .bind(account.0)
        .bind(secs(at))
        .execute(&mut *tx)
        .await
        .db()?;
        if folders.rows_affected() == 0 {
            return Err(Error::NotFound(Entity::Folder));
        }
        tx.commit().await.db()?;
        Ok(())
    }
}
