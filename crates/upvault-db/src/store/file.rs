//! File records, the blob reference counts they hold, and download counters.
//!
//! A blob row's `ref_count` is the number of file records (active or trashed) naming it. Bytes
//! are promoted into the store and removed from it only inside the transaction that takes the
//! first reference or forgets the row, so rows and bytes cannot disagree after a commit.
//!
//! Across PostgreSQL instances, the blob row's lock orders an upload and a collection of the
//! same key (on SQLite the write lock orders them):
//!
//! - collection first: its `DELETE … WHERE ref_count <= 0` holds the row while the bytes are
//!   removed; the upload's `INSERT … ON CONFLICT (key) DO UPDATE` waits on that row, and once the
//!   deletion commits it inserts a fresh row (count 1) and promotes the bytes again;
//! - upload first: its upsert holds the row (count >= 1) until it commits; the collection's
//!   `DELETE` waits, re-reads the committed count and deletes nothing, so `remove` never runs.

use super::rows::{bound, execute, Arg, Columns, FromColumns};
use super::{Dialect, Serial, SqlStore};
use crate::convert::{corrupt, day, day_key, int, opt_time, secs, time, uint};
use crate::error::DbResultExt;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Any, AnyConnection, AnyPool, Executor};
use upvault_core::error::{Entity, Limit};
use upvault_core::ids::{AccountId, BlobKey, FileId, FolderId};
use upvault_core::listing::{FileQuery, FileScope};
use upvault_core::model::{DayDownloads, File, NewFile, Status, UploadSource};
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

/// `SELECT <every column> FROM files WHERE <filter>`, as a literal.
macro_rules! select_files {
    ($filter:literal) => {
        concat!("SELECT ", file_columns!(), " FROM files WHERE ", $filter)
    };
}

mod pages;

/// One `files` row; also read from a JSON array of its columns (SQLite's listings).
#[derive(serde::Deserialize)]
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

impl FromColumns for File {
    fn decode(row: &impl Columns) -> Result<Self> {
        FileRow {
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
        }
        .try_into()
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

/// Bytes of the account's active files (`SUM` of BIGINT is NUMERIC in PostgreSQL: cast back).
pub(super) async fn active_bytes(
    db: impl Executor<'_, Database = Any>,
    account: AccountId,
) -> Result<u64> {
    let used: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT) FROM files \
         WHERE account_id = $1 AND status = 'active'",
    )
    .bind(account.0)
    .fetch_one(db)
    .await
    .db()?;
    Ok(uint(used))
}

impl SqlStore {
    /// Refuses `adding` more bytes when they would take the account past `limit`.
    ///
    /// Under the account's [`Serial::Storage`] lock, so the sum includes every upload or copy
    /// that passed this check before: two instances cannot both fit into the last free bytes.
    /// Without a limit there is nothing to check and no lock to take.
    async fn check_storage(
        &self,
        conn: &mut AnyConnection,
        account: AccountId,
        adding: u64,
        limit: Option<u64>,
    ) -> Result<()> {
        let Some(limit) = limit else { return Ok(()) };
        self.serialise(&mut *conn, Serial::Storage(account)).await?;
        let used = active_bytes(&mut *conn, account).await?;
        if used.saturating_add(adding) > limit {
            return Err(Error::LimitExceeded(Limit::Storage(limit)));
        }
        Ok(())
    }
}

/// Inserts a file record under a fresh short URL, retrying on the (rare) collision. A collision
/// with an uncommitted insert waits for it and then counts as a collision only if it committed.
async fn insert_file(conn: &mut AnyConnection, new: &NewFile) -> Result<File> {
    let sql = concat!(
        "INSERT INTO files (account_id, folder_id, short_url, filename, mime_type, extension, \
         size_bytes, blob_key, md5, delete_hash, unique_hash, keywords, uploaded_at, \
         upload_source, uploaded_ip) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         ON CONFLICT (short_url) DO NOTHING RETURNING ",
        file_columns!()
    );
    for _ in 0..SHORT_URL_ATTEMPTS {
        let row = sqlx::query(sql)
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
            return File::decode(&row);
        }
    }
    Err(Error::internal(anyhow::anyhow!(
        "no free short URL after {SHORT_URL_ATTEMPTS} attempts"
    )))
}

/// Downloads of `file` by day, oldest first.
pub(super) async fn download_stats(pool: &AnyPool, file: FileId) -> Result<Vec<DayDownloads>> {
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

/// The statements of a folder's listing: plain, and packed into one JSON array of rows for
/// SQLite (see [`FileRepo::files_in_folder`]).
macro_rules! listing {
    ($filter:literal) => {
        (
            select_files!($filter),
            concat!(
                "SELECT json_group_array(json_array(",
                file_columns!(),
                ")) FROM (",
                select_files!($filter),
                ")"
            ),
        )
    };
}

// Two spellings rather than `IS NOT DISTINCT FROM` (or SQLite's `IS`), which no index of
// PostgreSQL serves.
const LISTING_IN_FOLDER: (&str, &str) =
    listing!("account_id = $1 AND folder_id = $2 AND status = 'active' ORDER BY filename, id");
const LISTING_IN_ROOT: (&str, &str) =
    listing!("account_id = $1 AND folder_id IS NULL AND status = 'active' ORDER BY filename, id");

#[async_trait]
impl FileRepo for SqlStore {
    async fn commit_upload(
        &self,
        new: NewFile,
        storage_limit: Option<u64>,
        promote: StorageAction,
    ) -> Result<File> {
        let mut tx = self.begin().await?;
        self.check_storage(&mut tx, new.account_id, new.size_bytes, storage_limit)
            .await?;
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
        let sql = select_files!("id = $1 AND account_id = $2 AND status = 'active'");
        self.read_one(sql, &[id.0.into(), account.0.into()]).await
    }

    async fn file_by_id(&self, id: FileId) -> Result<Option<File>> {
        self.read_one(select_files!("id = $1"), &[id.0.into()])
            .await
    }

    async fn file_by_short_url(&self, short_url: &str) -> Result<Option<File>> {
        self.read_one(select_files!("short_url = $1"), &[short_url.into()])
            .await
    }

    async fn files_in_folder(
        &self,
        account: AccountId,
        folder: Option<FolderId>,
    ) -> Result<Vec<File>> {
        let (plain, packed) = match folder {
            Some(_) => LISTING_IN_FOLDER,
            None => LISTING_IN_ROOT,
        };
        let query = |sql| {
            let query = sqlx::query(sql).bind(account.0);
            match folder {
                Some(id) => query.bind(id.0),
                None => query,
            }
        };
        if self.dialect == Dialect::Postgres {
            let rows = query(plain).fetch_all(self.pool()).await.db()?;
            return super::rows::decode_all(rows);
        }
        // Row by row, every row is a hand-off from SQLite's worker thread to the runtime (most
        // of the time of a 10 000-file listing); SQLite packs them into one JSON array instead.
        let row = query(packed).fetch_one(self.pool()).await.db()?;
        let packed: String = row.get(0)?;
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

    async fn page_of_files(
        &self,
        account: AccountId,
        scope: FileScope,
        query: &FileQuery,
    ) -> Result<Vec<File>> {
        let pattern = pages::like_pattern(query);
        let (sql, args) = pages::statement(account, scope, query, pattern.as_deref());
        let rows = bound(&sql, &args).fetch_all(self.pool()).await.db()?;
        super::rows::decode_all(rows)
    }

    async fn update_file(&self, file: &File) -> Result<()> {
        execute(
            self.pool(),
            "UPDATE files SET filename = $1, mime_type = $2, extension = $3, folder_id = $4, \
             keywords = $5, updated_at = $6 WHERE id = $7 AND account_id = $8",
            &[
                Arg::from(&file.filename),
                Arg::from(&file.mime_type),
                Arg::from(&file.extension),
                file.folder_id.map(|id| id.0).into(),
                Arg::from(&file.keywords),
                file.updated_at.map(secs).into(),
                file.id.0.into(),
                file.account_id.0.into(),
            ],
        )
        .await?;
        Ok(())
    }

    async fn trash_file(&self, account: AccountId, id: FileId, at: DateTime<Utc>) -> Result<bool> {
        let done = execute(
            self.pool(),
            "UPDATE files SET status = 'trash', trashed_at = $1 \
             WHERE id = $2 AND account_id = $3 AND status = 'active'",
            &[secs(at).into(), id.0.into(), account.0.into()],
        )
        .await?;
        Ok(done > 0)
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
        self.check_storage(&mut tx, source.account_id, source.size_bytes, storage_limit)
            .await?;
        // Waits for a collection of the key in progress, then finds no row if it committed.
        // Only while the source is active and its blob referenced: a row at 0 awaits collection
        // (its bytes may be gone already), and a trashed source is no longer the caller's to copy.
        let done = execute(
            &mut *tx,
            "UPDATE blobs SET ref_count = ref_count + 1 WHERE key = $1 AND ref_count > 0 \
             AND EXISTS (SELECT 1 FROM files WHERE id = $2 AND blob_key = blobs.key \
                         AND status = 'active')",
            &[source.blob_key.as_str().into(), source.id.0.into()],
        )
        .await?;
        if done == 0 {
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
        let done = execute(
            &mut *tx,
            "UPDATE files SET downloads = downloads + 1, last_accessed_at = $1 WHERE id = $2",
            &[secs(at).into(), id.0.into()],
        )
        .await?;
        if done == 0 {
            return Err(Error::NotFound(Entity::File));
        }
        execute(
            &mut *tx,
            "INSERT INTO download_stats (file_id, day, downloads) VALUES ($1, $2, 1) \
             ON CONFLICT (file_id, day) DO UPDATE SET downloads = download_stats.downloads + 1",
            &[id.0.into(), Arg::from(&day_key(at))],
        )
        .await?;
        tx.commit().await.db()?;
        Ok(())
    }

    async fn purge_trash(&self, before: DateTime<Utc>) -> Result<u64> {
        let before = secs(before);
        let mut tx = self.begin().await?;
        let files = delete_files(
            self.dialect,
            &mut tx,
            "status = 'trash' AND trashed_at < $1",
            before,
        )
        .await?;
        execute(
            &mut *tx,
            "DELETE FROM folders WHERE status = 'trash' AND trashed_at < $1",
            &[before.into()],
        )
        .await?;
        tx.commit().await.db()?;
        Ok(files)
    }

    async fn unreferenced_blobs(&self, limit: u32) -> Result<Vec<BlobKey>> {
        let keys: Vec<String> =
            sqlx::query_scalar("SELECT key FROM blobs WHERE ref_count <= 0 ORDER BY key LIMIT $1")
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
        let mut tx = self.begin().await?;
        // Waits for an upload holding the row; re-reads its committed count before deleting.
        let done = execute(
            &mut *tx,
            "DELETE FROM blobs WHERE key = $1 AND ref_count <= 0",
            &[key.as_str().into()],
        )
        .await?;
        if done == 0 {
            return Ok(false);
        }
        // Holding the row: an upload of the same content waits, then stores it anew.
        remove.await?;
        tx.commit().await.db()?;
        Ok(true)
    }

    async fn blob_is_known(&self, key: &BlobKey) -> Result<bool> {
        let known: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM blobs WHERE key = $1")
            .bind(key.as_str())
            .fetch_one(self.pool())
            .await
            .db()?;
        Ok(known > 0)
    }

    async fn remove_blob_if_unknown(&self, key: &BlobKey, remove: StorageAction) -> Result<bool> {
        let mut tx = self.begin().await?;
        // A placeholder row holds the key: an upload that inserted it in a transaction not yet
        // committed makes this wait (and then conflict: the key is known); an upload that comes
        // later waits on the placeholder, which is gone when it proceeds, and promotes anew.
        let held = execute(
            &mut *tx,
            "INSERT INTO blobs (key, size_bytes, ref_count, created_at) VALUES ($1, 0, 0, 0) \
             ON CONFLICT (key) DO NOTHING",
            &[key.as_str().into()],
        )
        .await?;
        if held == 0 {
            return Ok(false);
        }
        remove.await?;
        execute(
            &mut *tx,
            "DELETE FROM blobs WHERE key = $1",
            &[key.as_str().into()],
        )
        .await?;
        tx.commit().await.db()?;
        Ok(true)
    }
}

/// Deletes the file records matching `condition` (SQL over `files` with `$1` bound to
/// `value`) and drops the blob references they held, inside the caller's transaction; how
/// many went.
async fn delete_files(
    dialect: Dialect,
    tx: &mut AnyConnection,
    condition: &str,
    value: i64,
) -> Result<u64> {
    if dialect == Dialect::Sqlite {
        // Under the write lock, counting and then deleting is one step.
        execute(
            &mut *tx,
            &format!(
                "UPDATE blobs SET ref_count = ref_count - ( \
                 SELECT COUNT(*) FROM files WHERE files.blob_key = blobs.key AND {condition}) \
             WHERE key IN (SELECT blob_key FROM files WHERE {condition})"
            ),
            &[value.into()],
        )
        .await?;
        let gone = execute(
            &mut *tx,
            &format!("DELETE FROM files WHERE {condition}"),
            &[value.into()],
        )
        .await?;
        return Ok(gone);
    }
    // Deletes first and counts what *this* statement deleted: a second instance doing the same
    // at the same time waits on these rows, finds them gone and counts nothing for them, so no
    // reference is dropped twice (counting files and then deleting them would let both
    // instances count the same rows).
    let gone: Vec<(String, i64)> = sqlx::query_as(&format!(
        "WITH gone AS (DELETE FROM files WHERE {condition} RETURNING blob_key) \
         SELECT blob_key, COUNT(*) FROM gone GROUP BY blob_key ORDER BY blob_key"
    ))
    .bind(value)
    .fetch_all(&mut *tx)
    .await
    .db()?;
    if gone.is_empty() {
        return Ok(0);
    }
    // The keys and counts travel as space-separated lists (blob keys are hex): the `Any`
    // driver binds no arrays.
    let keys = gone
        .iter()
        .map(|(key, _)| key.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let counts = gone
        .iter()
        .map(|(_, n)| n.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    // Blob rows in key order, so two purges sharing keys cannot deadlock. NO KEY: file inserts
    // referencing these blobs (key-share locks) need not wait.
    execute(
        &mut *tx,
        "SELECT 1 FROM blobs WHERE key = ANY(string_to_array($1, ' ')) ORDER BY key \
         FOR NO KEY UPDATE",
        &[Arg::from(&keys)],
    )
    .await?;
    execute(
        &mut *tx,
        "UPDATE blobs SET ref_count = blobs.ref_count - gone.n \
         FROM UNNEST(string_to_array($1, ' '), string_to_array($2, ' ')::BIGINT[]) \
             AS gone (key, n) \
         WHERE blobs.key = gone.key",
        &[Arg::from(&keys), Arg::from(&counts)],
    )
    .await?;
    Ok(gone.iter().map(|(_, n)| uint(*n)).sum())
}

/// Deletes every file record of the account, trashed ones included, and drops their blob
/// references, inside the caller's transaction.
pub(super) async fn release_account_files(
    dialect: Dialect,
    tx: &mut AnyConnection,
    account: AccountId,
) -> Result<u64> {
    delete_files(dialect, tx, "account_id = $1", account.0).await
}
