//! Folders: a tree per account through `parent_id`, walked with recursive CTEs.
//!
//! Moves and subtree trashing take the account's [`Serial::Folders`] lock: two instances moving
//! folders at once could otherwise each pass the cycle check against the other's old tree and
//! make a loop together, and a move into a subtree being trashed could leave an active folder
//! under a trashed one.

use super::rows::{execute, Arg};
use super::{Serial, SqlStore};
use crate::convert::{corrupt, opt_time, secs, time, uint};
use crate::error::DbResultExt;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use upvault_core::error::Entity;
use upvault_core::ids::{AccountId, FolderId};
use upvault_core::model::{Folder, FolderStats, FolderView, NewFolder, Status, Visibility};
use upvault_core::ports::FolderRepo;
use upvault_core::{Error, Result};

/// The `folders` columns, unqualified: SQLite's `RETURNING` takes no table alias, and in the
/// `SELECT`s they can only mean the outer `folders d`.
const FOLDER_COLUMNS: &str = "id, account_id, parent_id, name, visibility, access_password_md5, \
     status, created_at, updated_at";

/// The aggregates of folder `d`'s direct, active content, computed in the listing's own query
/// (each sub-select is an index range on `files_listing` / `folders_listing`). `SUM` of BIGINT
/// is NUMERIC in PostgreSQL, hence the casts.
const STATS_COLUMNS: &str = "\
    (SELECT CAST(COALESCE(SUM(f.size_bytes), 0) AS BIGINT) FROM files f \
      WHERE f.account_id = d.account_id AND f.folder_id = d.id AND f.status = 'active') \
      AS total_size, \
    (SELECT CAST(COALESCE(SUM(f.downloads), 0) AS BIGINT) FROM files f \
      WHERE f.account_id = d.account_id AND f.folder_id = d.id AND f.status = 'active') \
      AS total_downloads, \
    (SELECT COUNT(*) FROM folders c \
      WHERE c.account_id = d.account_id AND c.parent_id = d.id AND c.status = 'active') \
      AS child_folder_count, \
    (SELECT COUNT(*) FROM files f \
      WHERE f.account_id = d.account_id AND f.folder_id = d.id AND f.status = 'active') \
      AS file_count";

/// Folder `$1` of account `$2` if active, and every active folder below it.
const ACTIVE_TREE: &str = "WITH RECURSIVE tree (id) AS ( \
        SELECT id FROM folders WHERE id = $1 AND account_id = $2 AND status = 'active' \
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
impl FolderRepo for SqlStore {
    async fn create_folder(&self, new: NewFolder) -> Result<Folder> {
        sqlx::query_as::<_, FolderRow>(&format!(
            "INSERT INTO folders (account_id, parent_id, name, visibility, \
             access_password_md5, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
             RETURNING {FOLDER_COLUMNS}"
        ))
        .bind(new.account_id.0)
        .bind(new.parent_id.map(|id| id.0))
        .bind(&new.name)
        .bind(i64::from(new.visibility.as_code()))
        .bind(&new.access_password_md5)
        .bind(secs(new.created_at))
        .fetch_one(self.pool())
        .await
        .db()?
        .try_into()
    }

    async fn folder(&self, account: AccountId, id: FolderId) -> Result<Option<Folder>> {
        sqlx::query_as::<_, FolderRow>(&select_folders(
            "d.id = $1 AND d.account_id = $2 AND d.status = 'active'",
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
        sqlx::query_as::<_, FolderRow>(&select_folders("d.id = $1 AND d.status = 'active'"))
            .bind(id.0)
            .fetch_optional(self.pool())
            .await
            .db()?
            .map(Folder::try_from)
            .transpose()
    }

    async fn folder_stats(&self, id: FolderId) -> Result<FolderStats> {
        let row: Option<StatsRow> = sqlx::query_as(&format!(
            "SELECT {STATS_COLUMNS} FROM folders d WHERE d.id = $1"
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
        // Two spellings rather than `IS NOT DISTINCT FROM`, which no index serves.
        let under = match parent {
            Some(_) => "d.parent_id = $2",
            None => "d.parent_id IS NULL",
        };
        let sql = format!(
            "SELECT {FOLDER_COLUMNS}, {STATS_COLUMNS} FROM folders d \
             WHERE d.account_id = $1 AND {under} AND d.status = 'active' \
             ORDER BY d.name, d.id"
        );
        let query = sqlx::query_as::<_, FolderViewRow>(&sql).bind(account.0);
        let query = match parent {
            Some(id) => query.bind(id.0),
            None => query,
        };
        let rows = query.fetch_all(self.pool()).await.db()?;
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
        execute(
            self.pool(),
            "UPDATE folders SET name = $1, visibility = $2, access_password_md5 = $3, \
             updated_at = $4 WHERE id = $5 AND account_id = $6",
            &[
                Arg::from(&folder.name),
                i64::from(folder.visibility.as_code()).into(),
                Arg::from(&folder.access_password_md5),
                folder.updated_at.map(secs).into(),
                folder.id.0.into(),
                folder.account_id.0.into(),
            ],
        )
        .await?;
        Ok(())
    }

    async fn move_folder(
        &self,
        account: AccountId,
        id: FolderId,
        new_parent: Option<FolderId>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        self.serialise(&mut tx, Serial::Folders(account)).await?;
        // Counts rather than `EXISTS`: SQLite's booleans are integers.
        let active = "SELECT COUNT(*) FROM folders \
                      WHERE id = $1 AND account_id = $2 AND status = 'active'";
        let found: i64 = sqlx::query_scalar(active)
            .bind(id.0)
            .bind(account.0)
            .fetch_one(&mut *tx)
            .await
            .db()?;
        if found == 0 {
            return Err(Error::NotFound(Entity::Folder));
        }
        if let Some(parent) = new_parent {
            let found: i64 = sqlx::query_scalar(active)
                .bind(parent.0)
                .bind(account.0)
                .fetch_one(&mut *tx)
                .await
                .db()?;
            if found == 0 {
                return Err(Error::NotFound(Entity::MoveDestination));
            }
            // Walk up from the destination; meeting the folder means a cycle. UNION (not ALL)
            // stops the walk even on a tree that is somehow cyclic already.
            let cycle: i64 = sqlx::query_scalar(
                "WITH RECURSIVE up (id) AS ( \
                     SELECT CAST($1 AS BIGINT) \
                     UNION \
                     SELECT f.parent_id FROM folders f JOIN up ON f.id = up.id \
                     WHERE f.parent_id IS NOT NULL) \
                 SELECT COUNT(*) FROM up WHERE id = $2",
            )
            .bind(parent.0)
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await
            .db()?;
            if cycle > 0 {
                return Err(Error::Conflict(
                    "A folder cannot be moved into itself or one of its own sub-folders.".into(),
                ));
            }
        }
        execute(
            &mut *tx,
            "UPDATE folders SET parent_id = $1, updated_at = $2 WHERE id = $3",
            &[
                new_parent.map(|id| id.0).into(),
                secs(at).into(),
                id.0.into(),
            ],
        )
        .await?;
        tx.commit().await.db()?;
        Ok(())
    }

    async fn trash_folder_tree(
        &self,
        account: AccountId,
        id: FolderId,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        self.serialise(&mut tx, Serial::Folders(account)).await?;
        // Files first: the tree is walked over active folders, which the second statement ends.
        execute(
            &mut *tx,
            &format!(
                "{ACTIVE_TREE} UPDATE files SET status = 'trash', trashed_at = $3 \
             WHERE status = 'active' AND folder_id IN (SELECT id FROM tree)"
            ),
            &[id.0.into(), account.0.into(), secs(at).into()],
        )
        .await?;
        let folders = execute(
            &mut *tx,
            &format!(
                "{ACTIVE_TREE} UPDATE folders SET status = 'trash', trashed_at = $3 \
             WHERE id IN (SELECT id FROM tree)"
            ),
            &[id.0.into(), account.0.into(), secs(at).into()],
        )
        .await?;
        if folders == 0 {
            return Err(Error::NotFound(Entity::Folder));
        }
        tx.commit().await.db()?;
        Ok(())
    }
}
