//! File records, the blob reference counts they hold, and download counters.
//!
//! A blob row's `ref_count` is the number of file records (active or trashed) naming it. Bytes
//! are promoted into the store and removed from it only inside the transaction that takes the
//! first reference or forgets the row, so rows and bytes cannot disagree after a commit.
//!
//! Across instances, the blob row's lock orders an upload and a collection of the same key:
//!
//! - collection first: its `DELETE … WHERE ref_count <= 0` holds the row while the bytes are
//!   removed; the upload's `INSERT … ON CONFLICT (key) DO UPDATE` waits on that row, and once the
//!   deletion commits it inserts a fresh row (count 1) and promotes the bytes again;
//! - upload first: its upsert holds the row (count >= 1) until it commits; the collection's
//!   `DELETE` waits, re-reads the committed count and deletes nothing, so `remove` never runs.

use super::{serialise, PostgresStore, Serial};
use crate::convert::{corrupt, day, day_key, int, opt_time, secs, time, uint};
use crate::error::DbResultExt;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgArguments;
use sqlx::{PgConnection, PgExecutor, PgPool, Postgres};
use upvault_core::error::{Entity, Limit};
use upvault_core::ids::{AccountId, BlobKey, FileId, FolderId};
use upvault_core::model::{DayDownloads, File, NewFile, Status, UploadSource};
use upvault_core::ports::{FileRepo, StorageAction};
use upvault_core::{secret, Error, Result};

/// Fresh short URLs tried before giving up (62^8 codes: a second try is already rare).
const SHORT_URL_ATTEMPTS: usize = 5;

const FILE_COLUMNS: &str = "id, account_id, folder_id, short_url, filename, mime_type, \
     extension, size_bytes, blob_key, md5, delete_hash, unique_hash, status, downloads, keywords, \
     uploaded_at, updated_at, trashed_at, upload_source, uploaded_ip, last_accessed_at";

#[derive(sqlx::FromRow)]
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

/// Bytes of the account's active files (`SUM` of BIGINT is NUMERIC in PostgreSQL: cast back).
pub(super) async fn active_bytes(db: impl PgExecutor<'_>, account: AccountId) -> Result<u64> {
    let used: i64 = sqlx::query_scalar(
        "SELECT COALESCE(SUM(size_bytes), 0)::BIGINT FROM files \
         WHERE account_id = $1 AND status = 'active'",
    )
    .bind(account.0)
    .fetch_one(db)
    .await
    .db()?;
    Ok(uint(used))
}

/// Refuses `adding` more bytes when they would take the account past `limit`.
///
/// Under the account's [`Serial::Storage`] lock, so the sum includes every upload or copy that
/// passed this check before: two instances cannot both fit into the last free bytes. Without a
/// limit there is nothing to check and no lock to take.
async fn check_storage(
    conn: &mut PgConnection,
    account: AccountId,
    adding: u64,
    limit: Option<u64>,
) -> Result<()> {
    let Some(limit) = limit else { return Ok(()) };
    serialise(&mut *conn, Serial::Storage(account)).await?;
    let used = active_bytes(&mut *conn, account).await?;
    if used.saturating_add(adding) > limit {
        return Err(Error::LimitExceeded(Limit::Storage(limit)));
    }
    Ok(())
}

/// Inserts a file record under a fresh short URL, retrying on the (rare) collision. A collision
/// with an uncommitted insert waits for it and then counts as a collision only if it committed.
async fn insert_file(conn: &mut PgConnection, new: &NewFile) -> Result<File> {
    let sql = format!(
        "INSERT INTO files (account_id, folder_id, short_url, filename, mime_type, extension, \
         size_bytes, blob_key, md5, delete_hash, unique_hash, keywords, uploaded_at, \
         upload_source, uploaded_ip) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
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
pub(super) async fn download_stats(pool: &PgPool, file: FileId) -> Result<Vec<DayDownloads>> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT day, downloads FROM download_stats WHERE file_id = $1 ORDER BY day")
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

type FileQuery<'q> = sqlx::query::QueryAs<'q, Postgres, FileRow, PgArguments>;

/// `SELECT <every column> FROM files WHERE {filter}`.
fn select_files(filter: &str) -> String {
    format!("SELECT {FILE_COLUMNS} FROM files WHERE {filter}")
}

async fn fetch_file(pool: &PgPool, query: FileQuery<'_>) -> Result<Option<File>> {
    query
        .fetch_optional(pool)
        .await
        .db()?
        .map(File::try_from)
        .transpose()
}

#[async_trait]
impl FileRepo for PostgresStore {
    async fn commit_upload(
        &self,
        new: NewFile,
        storage_limit: Option<u64>,
        promote: StorageAction,
    ) -> Result<File> {
        let mut tx = self.begin().await?;
        check_storage(&mut tx, new.account_id, new.size_bytes, storage_limit).await?;
        // The first reference to a key (a new row, or a row left at 0 awaiting collection)
        // promotes the bytes; re-promoting identical content over a 0-ref blob is harmless and
        // heals a collection that removed the bytes but crashed before its commit. The upsert
        // holds the blob row until commit (see the module documentation).
        let refs: i64 = sqlx::query_scalar(
            "INSERT INTO blobs (key, size_bytes, ref_count, created_at) VALUES ($1, $2, 1, $3) \
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
        let sql = select_files("id = $1 AND account_id = $2 AND status = 'active'");
        fetch_file(&self.pool, sqlx::query_as(&sql).bind(id.0).bind(account.0)).await
    }

    async fn file_by_id(&self, id: FileId) -> Result<Option<File>> {
        let sql = select_files("id = $1");
        fetch_file(&self.pool, sqlx::query_as(&sql).bind(id.0)).await
    }

    async fn file_by_short_url(&self, short_url: &str) -> Result<Option<File>> {
        let sql = select_files("short_url = $1");
        fetch_file(&self.pool, sqlx::query_as(&sql).bind(short_url)).await
    }

    async fn files_in_folder(
        &self,
        account: AccountId,
        folder: Option<FolderId>,
    ) -> Result<Vec<File>> {
        // Two spellings rather than `IS NOT DISTINCT FROM`, which no index serves.
        let in_folder = match folder {
            Some(_) => "folder_id = $2",
            None => "folder_id IS NULL",
        };
        let sql = select_files(&format!(
            "account_id = $1 AND {in_folder} AND status = 'active' ORDER BY filename, id"
        ));
        let query = sqlx::query_as::<_, FileRow>(&sql).bind(account.0);
        let query = match folder {
            Some(id) => query.bind(id.0),
            None => query,
        };
        query
            .fetch_all(&self.pool)
            .await
            .db()?
            .into_iter()
            .map(File::try_from)
            .collect()
    }

    async fn update_file(&self, file: &File) -> Result<()> {
        sqlx::query(
            "UPDATE files SET filename = $1, mime_type = $2, extension = $3, folder_id = $4, \
             keywords = $5, updated_at = $6 WHERE id = $7 AND account_id = $8",
        )
        .bind(&file.filename)
        .bind(&file.mime_type)
        .bind(&file.extension)
        .bind(file.folder_id.map(|id| id.0))
        .bind(&file.keywords)
        .bind(file.updated_at.map(secs))
        .bind(file.id.0)
        .bind(file.account_id.0)
        .execute(&self.pool)
        .await
        .db()?;
        Ok(())
    }

    async fn trash_file(&self, account: AccountId, id: FileId, at: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE files SET status = 'trash', trashed_at = $1 \
             WHERE id = $2 AND account_id = $3 AND status = 'active'",
        )
        .bind(secs(at))
        .bind(id.0)
        .bind(account.0)
        .execute(&self.pool)
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
        let mut tx = self.begin().await?;
        check_storage(&mut tx, source.account_id, source.size_bytes, storage_limit).await?;
        // Waits for a collection of the key in progress, then finds no row if it committed.
        // Only while the source is active and its blob referenced: a row at 0 awaits collection
        // (its bytes may be gone already), and a trashed source is no longer the caller's to copy.
        let done = sqlx::query(
            "UPDATE blobs SET ref_count = ref_count + 1 WHERE key = $1 AND ref_count > 0 \
             AND EXISTS (SELECT 1 FROM files WHERE id = $2 AND blob_key = blobs.key \
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
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE files SET downloads = downloads + 1, last_accessed_at = $1 WHERE id = $2",
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
            "INSERT INTO download_stats (file_id, day, downloads) VALUES ($1, $2, 1) \
             ON CONFLICT (file_id, day) DO UPDATE SET downloads = download_stats.downloads + 1",
        )
        .bind(id.0)
        .bind(day_key(at))
        .execute(&mut *tx)
        .await
        .db()?;
        tx.commit().await.db()?;
        Ok(())
    }

    async fn purge_trash(&self, before: DateTime<Utc>) -> Result<u64> {
        let before = secs(before);
        let mut tx = self.begin().await?;
        let files = delete_files(&mut tx, "status = 'trash' AND trashed_at < $1", before).await?;
        sqlx::query("DELETE FROM folders WHERE status = 'trash' AND trashed_at < $1")
            .bind(before)
            .execute(&mut *tx)
            .await
            .db()?;
        tx.commit().await.db()?;
        Ok(files)
    }

    async fn unreferenced_blobs(&self, limit: u32) -> Result<Vec<BlobKey>> {
        let keys: Vec<String> =
            sqlx::query_scalar("SELECT key FROM blobs WHERE ref_count <= 0 ORDER BY key LIMIT $1")
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
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
        let mut tx = self.begin().await?;
        // Waits for an upload holding the row; re-reads its committed count before deleting.
        let done = sqlx::query("DELETE FROM blobs WHERE key = $1 AND ref_count <= 0")
            .bind(key.as_str())
            .execute(&mut *tx)
            .await
            .db()?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        // Holding the row: an upload of the same content waits, then stores it anew.
        remove.await?;
        tx.commit().await.db()?;
        Ok(true)
    }

    async fn blob_is_known(&self, key: &BlobKey) -> Result<bool> {
        let known: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM blobs WHERE key = $1)")
            .bind(key.as_str())
            .fetch_one(&self.pool)
            .await
            .db()?;
        Ok(known)
    }

    async fn remove_blob_if_unknown(&self, key: &BlobKey, remove: StorageAction) -> Result<bool> {
        let mut tx = self.begin().await?;
        // A placeholder row holds the key: an upload that inserted it in a transaction not yet
        // committed makes this wait (and then conflict: the key is known); an upload that comes
        // later waits on the placeholder, which is gone when it proceeds, and promotes anew.
        let held = sqlx::query(
            "INSERT INTO blobs (key, size_bytes, ref_count, created_at) VALUES ($1, 0, 0, 0) \
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(key.as_str())
        .execute(&mut *tx)
        .await
        .db()?;
        if held.rows_affected() == 0 {
            return Ok(false);
        }
        remove.await?;
        sqlx::query("DELETE FROM blobs WHERE key = $1")
            .bind(key.as_str())
            .execute(&mut *tx)
            .await
            .db()?;
        tx.commit().await.db()?;
        Ok(true)
    }
}

/// Deletes the file records matching `condition` (SQL over `files` with `$1` bound to
/// `value`) and drops the blob references they held, inside the caller's transaction; how
/// many went.
///
/// Deletes first and counts what *this* statement deleted: a second instance doing the same
/// at the same time waits on these rows, finds them gone and counts nothing for them, so no
/// reference is dropped twice (counting files and then deleting them would let both
/// instances count the same rows).
async fn delete_files(tx: &mut PgConnection, condition: &str, value: i64) -> Result<u64> {
    let gone: Vec<(String, i64)> = sqlx::query_as(&format!(
        "WITH gone AS (DELETE FROM files WHERE {condition} RETURNING blob_key) \
         SELECT blob_key, COUNT(*) FROM gone GROUP BY blob_key ORDER BY blob_key"
    ))
    .bind(value)
    .fetch_all(&mut *tx)
    .await
    .db()?;
    let (keys, counts): (Vec<String>, Vec<i64>) = gone.into_iter().unzip();
    if !keys.is_empty() {
        // Blob rows in key order, so two purges sharing keys cannot deadlock. NO KEY: file
        // inserts referencing these blobs (key-share locks) need not wait.
        sqlx::query("SELECT 1 FROM blobs WHERE key = ANY($1) ORDER BY key FOR NO KEY UPDATE")
            .bind(&keys)
            .execute(&mut *tx)
            .await
            .db()?;
        sqlx::query(
            "UPDATE blobs SET ref_count = blobs.ref_count - gone.n \
             FROM UNNEST($1::TEXT[], $2::BIGINT[]) AS gone (key, n) \
             WHERE blobs.key = gone.key",
        )
        .bind(&keys)
        .bind(&counts)
        .execute(&mut *tx)
        .await
        .db()?;
    }
    Ok(counts.iter().map(|n| uint(*n)).sum())
}

/// Deletes every file record of the account, trashed ones included, and drops their blob
/// references, inside the caller's transaction.
pub(super) async fn release_account_files(
    tx: &mut PgConnection,
    account: AccountId,
) -> Result<u64> {
    delete_files(tx, "account_id = $1", account.0).await
}
