//! The statement of a keyset page of files ([`FileRepo::page_of_files`]): one range scan of a
//! `files_page_*` (in a folder) or `files_search_*` (across the account) index of migration
//! 0008, starting after the cursor's row and stopping after one row more than the page holds.
//!
//! [`FileRepo::page_of_files`]: upvault_core::ports::FileRepo::page_of_files

use super::super::rows::Arg;
use upvault_core::ids::AccountId;
use upvault_core::listing::{name_key, CursorKey, FileCursor, FileOrder, FileQuery, FileScope};

/// The sort key of names, as [`name_key`] folds them: SQLite's `lower` folds ASCII letters
/// only, and so does PostgreSQL's on the `filename` column, which is `COLLATE "C"` (so the key
/// also compares by bytes there, as in SQLite).
const NAME_KEY: &str = "lower(filename)";

/// The `LIKE` pattern of the query's name filter, if it has one: the folded text with `%`, `_`
/// and `\` escaped, between two `%`.
pub(super) fn like_pattern(query: &FileQuery) -> Option<String> {
    if query.name_contains.is_empty() {
        return None;
    }
    let mut pattern = String::from("%");
    for c in name_key(&query.name_contains).chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    Some(pattern)
}

/// The statement and its parameters; `pattern` is [`like_pattern`]'s, made by the caller so
/// that the parameters can borrow it.
pub(super) fn statement<'a>(
    account: AccountId,
    scope: FileScope,
    query: &'a FileQuery,
    pattern: Option<&'a str>,
) -> (String, Vec<Arg<'a>>) {
    let key = match query.order {
        FileOrder::Name => NAME_KEY,
        FileOrder::Date => "uploaded_at",
        FileOrder::Size => "size_bytes",
    };
    let mut sql = String::from(select_files!("account_id = $1 AND status = 'active'"));
    let mut args: Vec<Arg<'a>> = vec![account.0.into()];
    // Binds `arg` as the next parameter and names it.
    let mut param = |arg| {
        args.push(arg);
        format!("${}", args.len())
    };
    match scope {
        FileScope::Folder(Some(folder)) => {
            sql += &format!(" AND folder_id = {}", param(folder.0.into()));
        }
        FileScope::Folder(None) => sql += " AND folder_id IS NULL",
        FileScope::Everywhere => {}
    }
    if let Some(pattern) = pattern {
        sql += &format!(" AND {NAME_KEY} LIKE {} ESCAPE '\\'", param(pattern.into()));
    }
    let (past, direction) = if query.descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some(FileCursor { key: after, id }) = &query.after {
        let after = param(match after {
            CursorKey::Name(name) => name.into(),
            CursorKey::Number(n) => (*n).into(),
        });
        let id = param(id.0.into());
        // Spelled out rather than as a row value `(key, id) > (…)`: SQLite seeks an index on
        // an expression (the name key) only for a comparison with the expression itself.
        sql += &format!(" AND {key} {past}= {after} AND ({key} {past} {after} OR id {past} {id})");
    }
    // In a folder, the folder leads the order too: it changes nothing (there is one), but
    // PostgreSQL matches an index's order past `folder_id IS NULL` only so.
    let folder = match scope {
        FileScope::Folder(_) => format!("folder_id {direction}, "),
        FileScope::Everywhere => String::new(),
    };
    sql += &format!(
        " ORDER BY {folder}{key} {direction}, id {direction} LIMIT {}",
        query.page_size() + 1
    );
    (sql, args)
}

#[cfg(test)]
mod tests {
    use super::super::super::rows::bound;
    use super::*;
    use crate::{Dialect, SqlStore};
    use sqlx::{Connection as _, Row as _};
    use upvault_core::ids::{FileId, FolderId};

    /// Every shape of statement: scope × order × direction × first or later page × filter.
    fn queries() -> Vec<(FileScope, FileQuery)> {
        let mut all = Vec::new();
        for scope in [
            FileScope::Folder(None),
            FileScope::Folder(Some(FolderId(3))),
            FileScope::Everywhere,
        ] {
            for order in [FileOrder::Name, FileOrder::Date, FileOrder::Size] {
                let key = match order {
                    FileOrder::Name => CursorKey::Name("m".into()),
                    _ => CursorKey::Number(1000),
                };
                for descending in [false, true] {
                    for after in [
                        None,
                        Some(FileCursor {
                            key: key.clone(),
                            id: FileId(9),
                        }),
                    ] {
                        for name_contains in ["", "a%_b"] {
                            all.push((
                                scope,
                                FileQuery {
                                    order,
                                    descending,
                                    name_contains: name_contains.into(),
                                    after: after.clone(),
                                    limit: 50,
                                },
                            ));
                        }
                    }
                }
            }
        }
        all
    }

    /// What the planner says of each statement, whole.
    async fn plans(store: &SqlStore, explain: &str) -> Vec<(String, String)> {
        let mut conn = store.pool().acquire().await.unwrap();
        if store.dialect() == Dialect::Postgres {
            // On a few rows a scan and a sort are cheapest; forbid them to learn whether an
            // index can give the order at all.
            sqlx::query("SET enable_seqscan = off")
                .execute(&mut *conn)
                .await
                .unwrap();
            sqlx::query("SET enable_sort = off")
                .execute(&mut *conn)
                .await
                .unwrap();
        }
        let mut out = Vec::new();
        for (scope, query) in queries() {
            let pattern = like_pattern(&query);
            let (sql, args) = statement(AccountId(1), scope, &query, pattern.as_deref());
            let explained = format!("{explain} {sql}");
            let rows = bound(&explained, &args)
                .fetch_all(&mut *conn)
                .await
                .unwrap();
            let plan = rows
                .iter()
                .map(|row| row.try_get::<String, _>(row.len() - 1).unwrap())
                .collect::<Vec<_>>()
                .join("\n");
            out.push((sql, plan));
        }
        conn.close().await.unwrap();
        out
    }

    fn assert_range_scans(plans: &[(String, String)], sort_marker: &str) {
        for (sql, plan) in plans {
            let index = if sql.contains(" AND folder_id") {
                "files_page_"
            } else {
                "files_search_"
            };
            assert!(
                plan.contains(index) && !plan.contains(sort_marker),
                "{sql}\nis not one range scan of a {index} index:\n{plan}"
            );
            // A later page starts where the cursor is, rather than filtering its way there.
            if sql.contains(" OR id ") {
                let seeks = plan.lines().any(|line| {
                    (line.contains("USING INDEX") || line.contains("Index Cond"))
                        && (line.contains(">") || line.contains("<"))
                });
                assert!(seeks, "{sql}\ndoes not seek its cursor:\n{plan}");
            }
        }
    }

    #[tokio::test]
    async fn every_page_is_a_range_scan_of_an_index_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let store = SqlStore::connect(&url).await.unwrap();
        let plans = plans(&store, "EXPLAIN QUERY PLAN").await;
        assert_range_scans(&plans, "TEMP B-TREE");
        store.close().await;
    }

    #[tokio::test]
    async fn every_page_is_a_range_scan_of_an_index_on_postgres() {
        let Ok(base) = std::env::var("UPVAULT_TEST_DATABASE_URL") else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but UPVAULT_TEST_DATABASE_URL is not set"
            );
            eprintln!("skipped: set UPVAULT_TEST_DATABASE_URL to run this test on PostgreSQL");
            return;
        };
        let schema = format!("pages_{}", std::process::id());
        let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let separator = if base.contains('?') { '&' } else { '?' };
        let store = SqlStore::connect(&format!("{base}{separator}options[search_path]={schema}"))
            .await
            .unwrap();
        // The planner weighs indexes by the statistics of a populated table: 20 000 files of 5
        // accounts in 200 folders and the root (foreign keys off for the fill).
        sqlx::raw_sql(
            "SET session_replication_role = replica; \
             INSERT INTO files (account_id, folder_id, short_url, filename, mime_type, \
                 extension, size_bytes, blob_key, md5, delete_hash, unique_hash, uploaded_at) \
             SELECT 1 + i % 5, NULLIF(i % 201, 0), 'u' || i, 'name ' || i, 'text/plain', 'txt', i, \
                 'k', '', '', '', i FROM generate_series(1, 20000) i; \
             ANALYZE files",
        )
        .execute(store.pool())
        .await
        .unwrap();
        let plans = plans(&store, "EXPLAIN").await;
        store.close().await;
        sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&mut admin)
            .await
            .unwrap();
        assert_range_scans(&plans, "Sort");
    }
}
