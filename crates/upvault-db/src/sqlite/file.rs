//! File records, the blob reference counts they hold, and download counters.
//!
//! A blob row's `ref_count` is the number of file records (active or trashed) naming it. Bytes
//! are promoted into the store and removed from it only inside the write transaction that takes
//! the first reference or forgets the row, so rows and bytes cannot disagree after a commit.

use super::{corrupt, day, int, opt_time, secs, time, uint, SqliteStore};
use crate::error::DbResultExt;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{SqliteConnection, SqliteExecutor, SqlitePool};
use upvault_core::error::{Entity, Limit};
use upvault_core::ids::{AccountId, BlobKey, FileId, FolderId};
use upvault_core::model::{File, NewFile, Status, UploadSource};
use upvault_core::ports::{FileRepo, StorageAction};
use upvault_core::{secret, Error, Result};

/// Fresh short URLs tried before giving up (62^8 codes: a second try is already rare).
const SHORT_URL_ATTEMPTS: usize = 5;

/// The `files` columns in [`FileRow`] order (a macro, so that whole statements are literals).
macro_rules! file_columns {
    () => {
        "id, account_id, folder_id, short_url, filename, mime_type, extension, size_bytes, \
         blob_key, md5, delete_hash, unique_hash, status, downloads, keywords, uploaded_at, \
         updated_at, trashed_at, upload_source, uploaded_ip, last_accessed_at"
    };
}
const FILE_COLUMNS: &str = file_columns!();

/// `SELECT <every column> FROM files WHERE <filter>`, as a literal.
macro_rules! select_files {
    ($filter:literal) => {
        concat!("SELECT ", file_columns!(), " FROM files WHERE ", $filter)
    };
}

/// One `files` row; also read from a JSON array of its columns in `FILE_COLUMNS` order.
#[derive(sqlx::FromRow, serde::Deserialize)]
struct FileRow {
    id: i64,
    account_id: i64,
    folder_id: Option<i64>,
    short_url: String,
    filename: String,
    mime_type: String,
    extension: String,
    size_bytes: i64,
    blob_key: String,
    md5: String,
    delete_hash: String,
    unique_hash: String,
    status: String,
    downloads: i64,
    keywords: String,
    uploaded_at: i64,
    updated_at: Option<i64>,
    trashed_at: Option<i64>,
    upload_source: String,
    uploaded_ip: String,
    last_accessed_at: Option<i64>,
}

impl FileRow {
    /// The row of an inline read, columns in `FILE_COLUMNS` order.
    fn from_inline(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            account_id: row.get(1)?,
            folder_id: row.get(2)?,
            short_url: row.get(3)?,
            filename: row.get(4)?,
            mime_type: row.get(5)?,
            extension: row.get(6)?,
            size_bytes: row.get(7)?,
            blob_key: row.get(8)?,
            md5: row.get(9)?,
            delete_hash: row.get(10)?,
            unique_hash: row.get(11)?,
            status: row.get(12)?,
            downloads: row.get(13)?,
            keywords: row.get(14)?,
            uploaded_at: row.get(15)?,
            updated_at: row.get(16)?,
            trashed_at: row.get(17)?,
            upload_source: row.get(18)?,
            uploaded_ip: row.get(19)?,
            last_accessed_at: row.get(20)?,
        })
    }
}

impl TryFrom<FileRow> for File {
    type Error = Error;

    fn try_from(row: FileRow) -> Result<Self> {
        Ok(File {
            id: FileId(row.id),
            account_id: AccountId(row.account_id),
            folder_id: row.folder_id.map(FolderId),
            blob_key: BlobKey::from_string(row.blob_key)
                .map_err(|raw| corrupt("blob key", &raw))?,
            status: Status::parse(&row.status)
                .ok_or_else(|| corrupt("file status", &row.status))?,
            short_url: row.short_url,
            filename: row.filename,
            mime_type: row.mime_type,
            extension: row.extension,
            size_bytes: uint(row.size_bytes),
            md5: row.md5,
            delete_hash: row.delete_hash,
            unique_hash: row.unique_hash,
            downloads: uint(row.downloads),
            keywords: row.keywords,
            uploaded_at: time(row.uploaded_at)?,
            updated_at: opt_time(row.updated_at)?,
            trashed_at: opt_time(row.trashed_at)?,
            upload_source: UploadSource::parse(&row.upload_source)
                .ok_or_else(|| corrupt("upload source", &row.upload_source))?,
            uploaded_ip: row.uploaded_ip,
            last_accessed_at: opt_time(row.last_accessed_at)?,
        })
    }
}

/// Downloads of one file on one UTC day (defined in core, where the stats port needs it).
pub use upvault_core::model::DayDownloads;

/// Bytes of the account's active files.
pub(crate) async fn active_bytes(db: impl SqliteExecutor<'_>, account: AccountId) -> Result<u64> {
    let used: i64 = sqlx::query_scalar(
        "SELECT COALESCE(SUM(size_bytes), 0) FROM files WHERE account_id = ? AND status = 'active'",
    )
    .bind(account.0)
    .fetch_one(db)
    .await
    .db()?;
    Ok(uint(used))
}

/// Refuses `adding` more bytes when they would take the account past `limit`.
async fn check_storage(
    conn: &mut SqliteConnection,
    account: AccountId,
    adding: u64,
    limit: Option<u64>,
) -> Result<()> {
    let Some(limit) = limit else { return Ok(()) };
    let used = active_bytes(&mut *conn, account).await?;
    if used.saturating_add(adding) > limit {
        return Err(Error::LimitExceeded(Limit::Storage(limit)));
    }
    Ok(())
}

/// Inserts a file record under a fresh short URL, retrying on the (rare) collision.
async fn insert_file(conn: &mut SqliteConnection, new: &NewFile) -> Result<File> {
    let sql = format!(
        "INSERT INTO files (account_id, folder_id, short_url, filename, mime_type, extension, \
         size_bytes, blob_key, md5, delete_hash, unique_hash, keywords, uploaded_at, \
         upload_source, uploaded_ip) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (short_url) DO NOTHING RETURNING {FILE_COLUMNS}"
    );
    for _ in 0..SHORT_URL_ATTEMPTS {
        let row: Option<FileRow> = sqlx::query_as(&sql)
            .bind(new.account_id.0)
            .bind(new.folder_id.map(|id| id.0))
            .bind(secret::new_short_url())
            .bind(&new.filename)
            .bind(&new.mime_type)
            .bind(&new.extension)
            .bind(int(new.size_bytes))
            .bind(new.blob_key.as_str())
            .bind(&new.md5)
            .bind(&new.delete_hash)
            .bind(&new.unique_hash)
            .bind(&new.keywords)
            .bind(secs(new.uploaded_at))
            .bind(new.upload_source.as_str())
            .bind(&new.uploaded_ip)
            .fetch_optional(&mut *conn)
            .await
            .db()?;
        if let Some(row) = row {
            return row.try_into();
        }
    }
    Err(Error::internal(anyhow::anyhow!(
        "no free short URL after {SHORT_URL_ATTEMPTS} attempts"
    )))
}

/// Downloads of `file` by day, oldest first.
pub(crate) async fn download_stats(pool: &SqlitePool, file: FileId) -> Result<Vec<DayDownloads>> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT day, downloads FROM download_stats WHERE file_id = ? ORDER BY day")
            .bind(file.0)
            .fetch_all(pool)
            .await
            .db()?;
    rows.into_iter()
        .map(|(raw, downloads)| {
            Ok(DayDownloads {
                day: day(&raw)?,
                downloads: uint(downloads),
            })
        })
        .collect()
}

impl SqliteStore {
    /// One file by a unique key, read inline (the lookup of nearly every request).
    fn inline_file(&self, sql: &str, params: impl rusqlite::Params) -> Result<Option<File>> {
        self.inline
            .optional(sql, params, FileRow::from_inline)?
            .map(File::try_from)
            .transpose()
    }
}

#[async_trait]
impl FileRepo for SqliteStore {
    async fn commit_upload(
        &self,
        new: NewFile,
        storage_limit: Option<u64>,
        promote: StorageAction,
    ) -> Result<File> {
        let mut tx = self.write().await?;
        check_storage(&mut tx, new.account_id, new.size_bytes, storage_limit).await?;
        // The first reference to a key (a new row, or a row left at 0 awaiting collection)
        // promotes the bytes; re-promoting identical content over a 0-ref blob is harmless and
        // heals a collection that removed the bytes but crashed before its commit.
        let refs: i64 = sqlx::query_scalar(
            "INSERT INTO blobs (key, size_bytes, ref_count, created_at) VALUES (?, ?, 1, ?) \
             ON CONFLICT (key) DO UPDATE SET ref_count = blobs.ref_count + 1 \
             RETURNING ref_count",
        )
        .bind(new.blob_key.as_str())
        .bind(int(new.size_bytes))
        .bind(secs(new.uploaded_at))
        .fetch_one(&mut *tx)
        .await
        .db()?;
        let file = insert_file(&mut tx, &new).await?;
        if refs <= 1 {
            // Inside the transaction: if the bytes cannot be stored, no row refers to them.
            promote.await?;
        } else {
            drop(promote);
        }
        tx.commit().await.db()?;
        Ok(file)
    }

    async fn file(&self, account: AccountId, id: FileId) -> Result<Option<File>> {
        self.inline_file(
            select_files!("id = ? AND account_id = ? AND status = 'active'"),
            (id.0, account.0),
        )
    }

    async fn file_by_id(&self, id: FileId) -> Result<Option<File>> {
        self.inline_file(select_files!("id = ?"), [id.0])
    }

    async fn file_by_short_url(&self, short_url: &str) -> Result<Option<File>> {
        self.inline_file(select_files!("short_url = ?"), [short_url])
    }

    async fn files_in_folder(
        &self,
        account: AccountId,
        folder: Option<FolderId>,
    ) -> Result<Vec<File>> {
        // Row by row, every row is a hand-off from SQLite's worker thread to the runtime (most
        // of the time of a 10 000-file listing); SQLite packs them into one JSON array instead.
        // `folder_id IS ?` matches NULL for the root and still uses `files_listing`.
        let sql = concat!(
            "SELECT json_group_array(json_array(",
            file_columns!(),
            ")) FROM (",
            select_files!(
                "account_id = ? AND folder_id IS ? AND status = 'active' ORDER BY filename, id"
            ),
            ")"
        );
        let packed: String = sqlx::query_scalar(sql)
            .bind(account.0)
            .bind(folder.map(|id| id.0))
            .fetch_one(self.pool())
            .await
            .db()?;
        let rows: Vec<FileRow> =
            serde_json::from_str(&packed).map_err(|err| corrupt("file listing", &err))?;
        let mut files = rows
            .into_iter()
            .map(File::try_from)
            .collect::<Result<Vec<_>>>()?;
        // The aggregate keeps the subquery's order in practice; SQL does not promise it. BINARY
        // collation is byte order, as `str`'s, so this is a no-op pass over sorted input.
        files.sort_by(|a, b| a.filename.cmp(&b.filename).then(a.id.0.cmp(&b.id.0)));
        Ok(files)
    }

    async fn update_file(&self, file: &File) -> Result<()> {
        sqlx::query(
            "UPDATE files SET filename = ?, mime_type = ?, extension = ?, folder_id = ?, \
             keywords = ?, updated_at = ? WHERE id = ? AND account_id = ?",
        )
        .bind(&file.filename)
        .bind(&file.mime_type)
        .bind(&file.extension)
        .bind(file.folder_id.map(|id| id.0))
        .bind(&file.keywords)
        .bind(file.updated_at.map(secs))
        .bind(file.id.0)
        .bind(file.account_id.0)
        .execute(self.pool())
        .await
        .db()?;
        Ok(())
    }

    async fn trash_file(&self, account: AccountId, id: FileId, at: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE files SET status = 'trash', trashed_at = ? \
             WHERE id = ? AND account_id = ? AND status = 'active'",
        )
        .bind(secs(at))
        .bind(id.0)
        .bind(account.0)
        .execute(self.pool())
        .await
        .db()?;
        Ok(done.rows_affected() > 0)
    }

    async fn copy_file(
        &self,
        source: &File,
        folder: Option<FolderId>,
        delete_hash: &str,
        unique_hash: &str,
        at: DateTime<Utc>,
        storage_limit: Option<u64>,
    ) -> Result<File> {
        let mut tx = self.write().await?;
        check_storage(&mut tx, source.account_id, source.size_bytes, storage_limit).await?;
        // Only while the source is active and its blob referenced: a row at 0 awaits collection
        // (its bytes may be gone already), and a trashed source is no longer the caller's to copy.
        let done = sqlx::query(
            "UPDATE blobs SET ref_count = ref_count + 1 WHERE key = ? AND ref_count > 0 \
             AND EXISTS (SELECT 1 FROM files WHERE id = ? AND blob_key = blobs.key \
                         AND status = 'active')",
        )
        .bind(source.blob_key.as_str())
        .bind(source.id.0)
        .execute(&mut *tx)
        .await
        .db()?;
        if done.rows_affected() == 0 {
            // The source was trashed or purged (and its blob collected) meanwhile.
            return Err(Error::NotFound(Entity::File));
        }
        let new = NewFile {
            account_id: source.account_id,
            folder_id: folder,
            filename: source.filename.clone(),
            mime_type: source.mime_type.clone(),
            extension: source.extension.clone(),
            size_bytes: source.size_bytes,
            blob_key: source.blob_key.clone(),
            md5: source.md5.clone(),
            delete_hash: delete_hash.to_owned(),
            unique_hash: unique_hash.to_owned(),
            keywords: source.keywords.clone(),
            uploaded_at: at,
            upload_source: source.upload_source,
            uploaded_ip: source.uploaded_ip.clone(),
        };
        let file = insert_file(&mut tx, &new).await?;
        tx.commit().await.db()?;
        Ok(file)
    }

    async fn record_download(&self, id: FileId, at: DateTime<Utc>) -> Result<()> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE files SET downloads = downloads + 1, last_accessed_at = ? WHERE id = ?",
        )
        .bind(secs(at))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .db()?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(Entity::File));
        }
        sqlx::query(
            "INSERT INTO download_stats (file_id, day, downloads) VALUES (?, ?, 1) \
             ON CONFLICT (file_id, day) DO UPDATE SET downloads = download_stats.downloads + 1",
        )
        .bind(id.0)
        .bind(at.format("%Y-%m-%d").to_string())
        .execute(&mut *tx)
        .await
        .db()?;
        tx.commit().await.db()?;
        Ok(())
    }

    async fn purge_trash(&self, before: DateTime<Utc>) -> Result<u64> {
        let before = secs(before);
        let mut tx = self.write().await?;
        let files = delete_files(&mut tx, "status = 'trash' AND trashed_at < ?1", before).await?;
        sqlx::query("DELETE FROM folders WHERE status = 'trash' AND trashed_at < ?")
            .bind(before)
            .execute(&mut *tx)
            .await
            .db()?;
        tx.commit().await.db()?;
        Ok(files)
    }

    async fn unreferenced_blobs(&self, limit: u32) -> Result<Vec<BlobKey>> {
        let keys: Vec<String> =
            sqlx::query_scalar("SELECT key FROM blobs WHERE ref_count <= 0 ORDER BY key LIMIT ?")
                .bind(i64::from(limit))
                .fetch_all(self.pool())
                .await
                .db()?;
        keys.into_iter()
            .map(|key| BlobKey::parse(&key).ok_or_else(|| corrupt("blob key", &key)))
            .collect()
    }

    async fn remove_blob_if_unreferenced(
        &self,
        key: &BlobKey,
        remove: StorageAction,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        let done = sqlx::query("DELETE FROM blobs WHERE key = ? AND ref_count <= 0")
            .bind(key.as_str())
            .execute(&mut *tx)
            .await
            .db()?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        // Holding the write lock: an upload of the same content waits, then stores it anew.
        remove.await?;
        tx.commit().await.db()?;
        Ok(true)
    }

    async fn blob_is_known(&self, key: &BlobKey) -> Result<bool> {
        let known: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM blobs WHERE key = ?)")
            .bind(key.as_str())
            .fetch_one(self.pool())
            .await
            .db()?;
        Ok(known)
    }

    async fn remove_blob_if_unknown(&self, key: &BlobKey, remove: StorageAction) -> Result<bool> {
        // The write lock orders this with every upload's commit: one that promoted the key has
        // committed its row before we look, and one that comes later waits and stores it anew.
        let mut tx = self.write().await?;
        let known: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM blobs WHERE key = ?)")
            .bind(key.as_str())
            .fetch_one(&mut *tx)
            .await
            .db()?;
        if known {
            return Ok(false);
        }
        remove.await?;
        tx.commit().await.db()?;
        Ok(true)
    }
}

/// Deletes the file records matching `condition` (SQL over `files` with `?1` bound to
/// `value`) and drops the blob references they held, inside the caller's write transaction;
/// how many went.
async fn delete_files(tx: &mut sqlx::SqliteConnection, condition: &str, value: i64) -> Result<u64> {
    sqlx::query(&format!(
        "UPDATE blobs SET ref_count = ref_count - ( \
             SELECT COUNT(*) FROM files WHERE files.blob_key = blobs.key AND {condition}) \
         WHERE key IN (SELECT blob_key FROM files WHERE {condition})"
    ))
    .bind(value)
    .execute(&mut *tx)
    .await
    .db()?;
    let gone = sqlx::query(&format!("DELETE FROM files WHERE {condition}"))
        .bind(value)
        .execute(&mut *tx)
        .await
        .db()?;
    Ok(gone.rows_affected())
}

/// Deletes every file record of the account, trashed ones included, and drops their blob
/// references, inside the caller's write transaction.
pub(super) async fn release_account_files(
    tx: &mut sqlx::SqliteConnection,
    account: AccountId,
) -> Result<u64> {
    delete_files(tx, "account_id = ?1", account.0).await
}
