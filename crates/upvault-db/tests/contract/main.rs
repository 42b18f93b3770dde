//! The repository ports against real databases: every test body runs on SQLite (a temp file)
//! always, and on PostgreSQL when `UPVAULT_TEST_DATABASE_URL` names a database (each test in a
//! schema of its own, dropped when it passes, so tests stay independent and parallel).
//!
//! With `CI=true` and no `UPVAULT_TEST_DATABASE_URL` the PostgreSQL tests fail instead of
//! skipping, so CI cannot lose them silently. `scripts/ci-postgres.sh` starts a throwaway server.

// `allow-unwrap-in-tests` covers `#[test]` functions only, not this crate's helpers.
#![allow(clippy::unwrap_used)]

mod instances;
mod pages;
mod suite;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPool, PgPoolOptions};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tempfile::TempDir;
use upvault_core::ids::{AccountId, BlobKey, FolderId, PackageId};
use upvault_core::model::*;
use upvault_core::ports::*;
use upvault_core::Error;
use upvault_db::SqlStore;

/// The environment variable naming the PostgreSQL database the tests may use.
const DATABASE_URL_VAR: &str = "UPVAULT_TEST_DATABASE_URL";

/// Every port a store implements, as one object the suite can hold.
pub(crate) trait Store:
    AccountRepo
    + TokenRepo
    + FileRepo
    + FolderRepo
    + JobQueue
    + TransferSlots
    + PublicRepo
    + LoginThrottle
{
}

impl<T> Store for T where
    T: AccountRepo
        + TokenRepo
        + FileRepo
        + FolderRepo
        + JobQueue
        + TransferSlots
        + PublicRepo
        + LoginThrottle
{
}

/// One backend's database, fresh for one test.
pub(crate) struct Db {
    /// The store under test (one "instance").
    pub(crate) store: Arc<dyn Store>,
    backend: Backend,
}

enum Backend {
    Sqlite {
        store: SqlStore,
        url: String,
        _dir: TempDir,
    },
    Postgres {
        store: SqlStore,
        /// The test database with `search_path` set to this test's schema.
        url: String,
        /// Direct access to the schema, for what no port exposes.
        raw: PgPool,
        /// A connection outside the schema, to drop it.
        admin: PgPool,
        schema: String,
    },
}

impl Db {
    async fn sqlite() -> Db {
        let dir = TempDir::new().unwrap();
        // A sub-directory that does not exist yet: `connect` creates it.
        let url = format!("sqlite://{}/data/upvault.db", dir.path().display());
        let store = SqlStore::connect(&url).await.unwrap();
        Db {
            store: Arc::new(store.clone()),
            backend: Backend::Sqlite {
                store,
                url,
                _dir: dir,
            },
        }
    }

    /// A fresh schema in the test database, or `None` (with a note) when none is configured
    /// outside CI.
    async fn postgres() -> Option<Db> {
        let base = postgres_url()?;
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(&base)
            .await
            .unwrap_or_else(|err| panic!("cannot connect to {DATABASE_URL_VAR}: {err}"));
        let schema = unique_schema();
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&admin)
            .await
            .unwrap();
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options[search_path]={schema}");
        let store = SqlStore::connect(&url).await.unwrap();
        let raw = PgPoolOptions::new()
            .max_connections(2)
            .connect(&url)
            .await
            .unwrap();
        Some(Db {
            store: Arc::new(store.clone()),
            backend: Backend::Postgres {
                store,
                url,
                raw,
                admin,
                schema,
            },
        })
    }

    /// Another instance on the same database: its own pool, as a second server process has.
    pub(crate) async fn instance(&self) -> Arc<dyn Store> {
        match &self.backend {
            Backend::Sqlite { url, .. } => Arc::new(SqlStore::connect(url).await.unwrap()),
            Backend::Postgres { url, .. } => Arc::new(SqlStore::connect(url).await.unwrap()),
        }
    }

    /// Closes the store under test.
    pub(crate) async fn close(&self) {
        match &self.backend {
            Backend::Sqlite { store, .. } => store.close().await,
            Backend::Postgres { store, .. } => store.close().await,
        }
    }

    /// Opens the same database again (migrations already applied).
    pub(crate) async fn reopen(&self) -> Arc<dyn Store> {
        self.instance().await
    }

    /// Closes everything and drops the PostgreSQL schema; a failed test skips this and leaves
    /// its schema for inspection.
    async fn finish(self) {
        self.close().await;
        if let Backend::Postgres {
            raw, admin, schema, ..
        } = self.backend
        {
            raw.close().await;
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(&admin)
                .await
                .unwrap();
            admin.close().await;
        }
    }

    /// Reads the blob table directly, which no port exposes.
    pub(crate) async fn ref_count(&self, key: &BlobKey) -> Option<i64> {
        match &self.backend {
            Backend::Sqlite { url, .. } => {
                let pool = sqlx::SqlitePool::connect(url).await.unwrap();
                let refs = sqlx::query_scalar("SELECT ref_count FROM blobs WHERE key = ?")
                    .bind(key.as_str())
                    .fetch_optional(&pool)
                    .await
                    .unwrap();
                pool.close().await;
                refs
            }
            Backend::Postgres { raw, .. } => {
                sqlx::query_scalar("SELECT ref_count FROM blobs WHERE key = $1")
                    .bind(key.as_str())
                    .fetch_optional(raw)
                    .await
                    .unwrap()
            }
        }
    }

    pub(crate) async fn account(&self, name: &str) -> AccountId {
        self.store
            .create_account(NewAccount {
                username: name.to_owned(),
                email: format!("{name}@example.com"),
                password_hash: Some("$argon2id$fake".to_owned()),
                package_id: PackageId(2),
                created_at: t(0),
                role: upvault_core::model::Role::User,
                status: upvault_core::model::AccountStatus::Active,
                title: String::new(),
                first_name: String::new(),
                last_name: String::new(),
                paid_expiry_at: None,
            })
            .await
            .unwrap()
            .id
    }

    pub(crate) async fn folder(
        &self,
        account: AccountId,
        parent: Option<FolderId>,
        name: &str,
    ) -> FolderId {
        self.store
            .create_folder(NewFolder {
                account_id: account,
                parent_id: parent,
                name: name.to_owned(),
                visibility: Visibility::Private,
                access_password_md5: None,
                created_at: t(1),
            })
            .await
            .unwrap()
            .id
    }

    /// Uploads `size` bytes of content number `content`; returns the file.
    pub(crate) async fn upload(
        &self,
        account: AccountId,
        folder: Option<FolderId>,
        name: &str,
        content: u32,
        size: u64,
    ) -> File {
        self.store
            .commit_upload(
                new_file(account, folder, name, content, size),
                None,
                Counter::default().action(),
            )
            .await
            .unwrap()
    }
}

/// The PostgreSQL test database, if any; fails under CI when there is none.
fn postgres_url() -> Option<String> {
    match std::env::var(DATABASE_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|ci| ci == "true") => panic!(
            "CI=true but {DATABASE_URL_VAR} is not set: the PostgreSQL contract tests must run \
             in CI (`eval \"$(scripts/ci-postgres.sh)\"` starts a throwaway server)"
        ),
        _ => {
            eprintln!("skipped: set {DATABASE_URL_VAR} to run this test on PostgreSQL");
            None
        }
    }
}

/// A schema name no other test (of this or an earlier run) uses.
fn unique_schema() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "t_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, SeqCst)
    )
}

pub(crate) fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
}

pub(crate) fn key(content: u32) -> BlobKey {
    BlobKey::parse(&format!("{content:064x}")).unwrap()
}

pub(crate) fn new_file(
    account: AccountId,
    folder: Option<FolderId>,
    name: &str,
    content: u32,
    size: u64,
) -> NewFile {
    NewFile {
        account_id: account,
        folder_id: folder,
        filename: name.to_owned(),
        mime_type: "text/plain".to_owned(),
        extension: "txt".to_owned(),
        size_bytes: size,
        blob_key: key(content),
        md5: format!("{content:032x}"),
        delete_hash: "d".repeat(32),
        unique_hash: "u".repeat(64),
        keywords: String::new(),
        uploaded_at: t(10),
        upload_source: upvault_core::model::UploadSource::Api,
        uploaded_ip: "192.0.2.7".to_owned(),
    }
}

/// Counts how often a storage action ran.
#[derive(Clone, Default)]
pub(crate) struct Counter(Arc<AtomicUsize>);

impl Counter {
    pub(crate) fn action(&self) -> StorageAction {
        let counter = self.0.clone();
        Box::pin(async move {
            counter.fetch_add(1, SeqCst);
            Ok(())
        })
    }

    pub(crate) fn failing(&self) -> StorageAction {
        let counter = self.0.clone();
        Box::pin(async move {
            counter.fetch_add(1, SeqCst);
            Err(Error::internal(anyhow::anyhow!("disk full")))
        })
    }

    pub(crate) fn runs(&self) -> usize {
        self.0.load(SeqCst)
    }
}

/// Declares each test once per backend: `sqlite::name` and `postgres::name`, running
/// `suite::name` or `instances::name` on a fresh database.
macro_rules! on_every_backend {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = crate::Db::sqlite().await;
                    crate::$module::$name(&db).await;
                    db.finish().await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(db) = crate::Db::postgres().await else { return };
                    crate::$module::$name(&db).await;
                    db.finish().await;
                }
            )*
        }
    };
}

on_every_backend!(
    suite::accounts_api_keys_and_packages,
    suite::deleting_an_account_takes_everything_it_holds,
    suite::tokens_expire_and_belong_to_their_account,
    suite::upload_promotes_a_new_blob_once_and_shares_it_after,
    suite::refused_or_failed_uploads_leave_nothing,
    suite::concurrent_uploads_respect_the_limit_without_busy_errors,
    suite::copy_shares_the_blob,
    suite::copies_need_an_active_source_and_a_live_blob,
    suite::orphans_are_removed_only_when_unknown,
    suite::trash_then_purge_drops_references_and_collects_blobs,
    suite::reuploading_an_unreferenced_blob_promotes_it_again,
    suite::folder_moves_refuse_cycles,
    suite::trashing_a_folder_trashes_everything_under_it,
    suite::listings_are_ordered_and_carry_stats,
    pages::file_pages_follow_every_order_filter_and_scope,
    suite::file_and_folder_edits_are_saved,
    suite::import_queue_limits_leases_and_ownership,
    suite::an_import_that_keeps_crashing_is_given_up,
    suite::transfer_slots_are_capped_and_lapse,
    suite::reopening_keeps_the_data_and_skips_applied_migrations,
    suite::public_pages_log_guesses_and_secrets,
    instances::two_instances_claim_each_job_once,
    instances::two_instances_never_exceed_the_slot_limit,
    instances::two_instances_never_exceed_the_storage_limit,
    instances::two_instances_respect_the_pending_import_cap,
    instances::collection_first_makes_a_concurrent_upload_store_the_bytes_anew,
    instances::upload_first_makes_a_concurrent_collection_keep_the_bytes,
    instances::an_orphan_sweep_waits_for_an_upload_promoting_the_same_key,
    instances::concurrent_purges_drop_each_reference_once,
    instances::concurrent_moves_cannot_make_a_cycle,
    instances::two_instances_admit_the_last_downloads_once,
);
