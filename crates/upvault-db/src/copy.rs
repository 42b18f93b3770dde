//! Copying a whole installation's rows from one database to another (`upvault migrate`), on any
//! pair of backends.
//!
//! The copier knows which tables to copy and in which order ([`TABLES`], parents before
//! children), but not their columns: it reads each table's columns from the source, checks the
//! destination has them, and moves values as integers, reals, text, bytes or NULL. A table a
//! later migration adds must be listed in [`TABLES`] or [`SKIPPED`]; the copier refuses a source
//! with a table it does not know rather than leave it behind.
//!
//! Rows go in batches, each one statement (so each batch lands whole or not at all), as
//! `INSERT … ON CONFLICT (primary key) DO NOTHING`: a second run after an interruption skips
//! what is there and finishes the job. Seeded or generated rows the destination made itself
//! (the default packages, the signing secrets) are overwritten with the source's instead.
//! After each table, the destination's id sequence is moved past every id the source ever
//! handed out, so no id (they appear in URLs) is handed out twice.

use crate::{Dialect, SqlStore};
use anyhow::{bail, ensure, Context as _};
use futures::stream::BoxStream;
use futures::{StreamExt as _, TryStreamExt as _};
use sqlx::any::{AnyRow, AnyTypeInfoKind};
use sqlx::{AnyPool, Row as _, TypeInfo as _, ValueRef as _};
use std::collections::HashMap;

/// What happens to a source row whose primary key the destination already holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnExisting {
    /// Keep the destination's row (it is the one an earlier, interrupted run copied).
    Keep,
    /// Overwrite it with the source's: rows the destination creates by itself, such as the
    /// default packages its migrations seed.
    Overwrite,
}

/// A table the copier copies.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    /// The table's name (the same on every backend).
    pub name: &'static str,
    /// Rows the destination already holds.
    pub on_existing: OnExisting,
    /// A column referring to the same table's primary key (a folder's parent): rows are copied
    /// parents first.
    pub parent: Option<&'static str>,
}

const fn table(name: &'static str) -> Table {
    Table {
        name,
        on_existing: OnExisting::Keep,
        parent: None,
    }
}

/// Every table that is copied, in an order where each row's references are copied before it.
pub const TABLES: &[Table] = &[
    Table {
        on_existing: OnExisting::Overwrite,
        ..table("packages")
    },
    table("accounts"),
    table("api_keys"),
    table("access_tokens"),
    Table {
        parent: Some("parent_id"),
        ..table("folders")
    },
    table("blobs"),
    table("files"),
    table("download_tokens"),
    table("import_jobs"),
    table("download_stats"),
    table("download_log"),
    table("login_failures"),
    Table {
        on_existing: OnExisting::Overwrite,
        ..table("site_secrets")
    },
];

/// Tables that are deliberately not copied, with the reason.
pub const SKIPPED: &[(&str, &str)] = &[
    (
        "instances",
        "heartbeats of the source's servers; the destination's servers write their own",
    ),
    (
        "transfer_slots",
        "leases of transfers in progress, which lapse within minutes; the source's instances \
         are stopped, so none of them is live",
    ),
    (
        "rate_windows",
        "request-rate counters of one-minute windows, which stop mattering within two minutes",
    ),
    (
        "guess_failures",
        "a short sliding window of failed folder-password guesses; it has no primary key, so a \
         rerun could not tell copied rows from new ones",
    ),
];

/// Limits of one run.
#[derive(Debug, Clone, Copy, Default)]
pub struct CopyOptions {
    /// Stop after reading this many source rows in all (tests use it to interrupt a run).
    pub max_rows: Option<u64>,
}

/// What happened to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableReport {
    /// The table.
    pub table: &'static str,
    /// Rows in the source.
    pub source_rows: u64,
    /// Rows read from the source in this run.
    pub read: u64,
    /// Rows this run inserted (or overwrote) in the destination; the rest were there already.
    pub written: u64,
    /// Rows in the destination afterwards.
    pub destination_rows: u64,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// The tables, in copy order (those reached before a row limit stopped the run).
    pub tables: Vec<TableReport>,
    /// Every row of every table was read (no row limit stopped the run).
    pub complete: bool,
}

/// Progress of a copy, for a progress bar.
pub trait CopyProgress: Send {
    /// A table's copy begins; it has `rows` rows in the source.
    fn table_started(&mut self, table: &str, rows: u64) {
        let _ = (table, rows);
    }
    /// `rows` more rows are in the destination.
    fn rows_copied(&mut self, table: &str, rows: u64) {
        let _ = (table, rows);
    }
    /// A table is done.
    fn table_finished(&mut self, report: &TableReport) {
        let _ = report;
    }
}

/// A [`CopyProgress`] that reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl CopyProgress for NoProgress {}

/// Copies every row of every table in [`TABLES`] from `source` to `destination`.
///
/// The destination must be empty or hold an earlier, interrupted copy of this source (its
/// accounts are checked against the source's). Run it while no server uses the source.
pub async fn copy_rows(
    source: &SqlStore,
    destination: &SqlStore,
    options: CopyOptions,
    progress: &mut dyn CopyProgress,
) -> anyhow::Result<CopyReport> {
    let source = Side::of(source);
    let destination = Side::of(destination);
    let source_tables = source.tables().await?;
    for name in &source_tables {
        ensure!(
            TABLES.iter().any(|t| t.name == name) || SKIPPED.iter().any(|(t, _)| t == name),
            "the source has a table {name:?} that this version of upvault migrate does not know \
             how to copy"
        );
    }
    check_destination(&source, &destination).await?;
    let mut budget = options.max_rows;
    let mut tables = Vec::new();
    for table in TABLES {
        ensure!(
            source_tables.iter().any(|t| t == table.name),
            "the source has no table {:?}",
            table.name
        );
        let report = copy_table(&source, &destination, table, &mut budget, progress)
            .await
            .with_context(|| format!("cannot copy the table {}", table.name))?;
        progress.table_finished(&report);
        let done = report.read == report.source_rows;
        tables.push(report);
        if !done {
            return Ok(CopyReport {
                tables,
                complete: false,
            });
        }
    }
    Ok(CopyReport {
        tables,
        complete: true,
    })
}

/// Refuses a destination that holds another installation: every account it has must be the
/// source's account of the same id (so it is empty, or an earlier run's partial copy).
async fn check_destination(source: &Side<'_>, destination: &Side<'_>) -> anyhow::Result<()> {
    const SQL: &str = r#"SELECT "id", "username", "created_at" FROM "accounts""#;
    let theirs: Vec<Vec<Value>> = destination.rows(SQL).try_collect().await?;
    if theirs.is_empty() {
        return Ok(());
    }
    let ours: HashMap<Value, Vec<Value>> = source
        .rows(SQL)
        .map_ok(|row| (row[0].clone(), row))
        .try_collect()
        .await?;
    for row in theirs {
        if ours.get(&row[0]) != Some(&row) {
            bail!(
                "the destination already holds an account the source does not have \
                 (id {}, username {}): migrate into a fresh database and storage, or rerun \
                 with the source an earlier run copied from",
                row[0],
                row[1]
            );
        }
    }
    Ok(())
}

async fn copy_table(
    source: &Side<'_>,
    destination: &Side<'_>,
    table: &Table,
    budget: &mut Option<u64>,
    progress: &mut dyn CopyProgress,
) -> anyhow::Result<TableReport> {
    let name = table.name;
    let columns = source.columns(name).await?;
    let key = source.primary_key(name).await?;
    ensure!(!key.is_empty(), "the source's table has no primary key");
    let their_columns = destination.columns(name).await?;
    let kinds: Vec<Kind> = columns
        .iter()
        .map(|column| {
            their_columns
                .iter()
                .find(|c| c.name == column.name)
                .map(|c| c.kind)
                .with_context(|| format!("the destination has no column {name}.{}", column.name))
        })
        .collect::<anyhow::Result<_>>()?;
    let their_key = destination.primary_key(name).await?;
    ensure!(
        their_key == key,
        "the primary keys differ: {key:?} in the source, {their_key:?} in the destination"
    );
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let select = select_sql(table, &names, &key)?;
    let source_rows = source.count(name).await?;
    progress.table_started(name, source_rows);

    // Big enough to make round trips rare, small enough for SQLite's and PostgreSQL's limits
    // on bound parameters.
    let batch_size = (20_000 / names.len().max(1)).clamp(1, 500);
    let mut rows = source.rows(&select);
    let mut batch = Vec::with_capacity(batch_size);
    let (mut read, mut written) = (0, 0);
    loop {
        let row = if *budget == Some(0) {
            None
        } else {
            rows.try_next().await?
        };
        let last = row.is_none();
        if let Some(row) = row {
            batch.push(row);
            read += 1;
            if let Some(left) = budget.as_mut() {
                *left -= 1;
            }
        }
        if batch.len() == batch_size || (last && !batch.is_empty()) {
            let count = batch.len() as u64;
            written += destination
                .insert(table, &names, &kinds, &key, std::mem::take(&mut batch))
                .await?;
            progress.rows_copied(name, count);
        }
        if last {
            break;
        }
    }
    drop(rows);

    if let [id] = key.as_slice() {
        if columns.iter().any(|c| &c.name == id && c.kind == Kind::Int) {
            let high = [
                source.high_water(name, id).await?,
                source.max(name, id).await?,
                destination.max(name, id).await?,
            ]
            .into_iter()
            .flatten()
            .max();
            if let Some(high) = high {
                destination.advance_sequence(name, id, high).await?;
            }
        }
    }
    Ok(TableReport {
        table: name,
        source_rows,
        read,
        written,
        destination_rows: destination.count(name).await?,
    })
}

/// The source's rows of `table`, referenced rows first.
fn select_sql(table: &Table, columns: &[&str], key: &[String]) -> anyhow::Result<String> {
    let list = |prefix: &str| {
        columns
            .iter()
            .map(|c| format!("{prefix}{}", quote(c)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let name = quote(table.name);
    let Some(parent) = table.parent else {
        let order = key.iter().map(|k| quote(k)).collect::<Vec<_>>().join(", ");
        return Ok(format!("SELECT {} FROM {name} ORDER BY {order}", list("")));
    };
    let [id] = key else {
        bail!("a table with a parent column needs a one-column primary key");
    };
    let (id, parent) = (quote(id), quote(parent));
    // Depth-first levels from the roots: a parent's level is always below its children's,
    // whatever their ids (a folder can be moved under a newer one).
    Ok(format!(
        "WITH RECURSIVE tree (node, depth) AS ( \
             SELECT {id}, 0 FROM {name} \
             WHERE {parent} IS NULL OR {parent} NOT IN (SELECT {id} FROM {name}) \
             UNION ALL \
             SELECT c.{id}, tree.depth + 1 FROM {name} c JOIN tree ON c.{parent} = tree.node) \
         SELECT {} FROM {name} t JOIN tree ON t.{id} = tree.node ORDER BY tree.depth, t.{id}",
        list("t.")
    ))
}

/// A quoted identifier (our names never hold quotes; refuse any that would).
fn quote(name: &str) -> String {
    debug_assert!(!name.contains('"'));
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A stored value, whatever the backend.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

// Only the account check hashes values (ids, names, times): reals compare by their bits.
impl Eq for Value {}

impl std::hash::Hash for Value {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            Value::Null => {}
            Value::Int(v) => v.hash(state),
            Value::Real(v) => v.to_bits().hash(state),
            Value::Text(v) => v.hash(state),
            Value::Blob(v) => v.hash(state),
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Int(v) => write!(f, "{v}"),
            Value::Real(v) => write!(f, "{v}"),
            Value::Text(v) => write!(f, "{v:?}"),
            Value::Blob(v) => write!(f, "<{} bytes>", v.len()),
        }
    }
}

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Real,
    Text,
    Blob,
}

#[derive(Debug)]
struct Column {
    name: String,
    kind: Kind,
}

/// One end of the copy.
#[derive(Clone, Copy)]
struct Side<'a> {
    pool: &'a AnyPool,
    dialect: Dialect,
}

impl<'a> Side<'a> {
    fn of(store: &'a SqlStore) -> Self {
        Self {
            pool: store.pool(),
            dialect: store.dialect(),
        }
    }

    /// The tables of the schema (migration bookkeeping left out).
    async fn tables(&self) -> anyhow::Result<Vec<String>> {
        let sql = match self.dialect {
            Dialect::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> '_sqlx_migrations' \
                 ORDER BY name"
            }
            Dialect::Postgres => {
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
                 AND table_name <> '_sqlx_migrations' ORDER BY table_name"
            }
        };
        Ok(sqlx::query_scalar(sql).fetch_all(self.pool).await?)
    }

    /// A table's columns in their order.
    async fn columns(&self, table: &str) -> anyhow::Result<Vec<Column>> {
        let sql = match self.dialect {
            Dialect::Sqlite => "SELECT name, type FROM pragma_table_info($1) ORDER BY cid",
            Dialect::Postgres => {
                "SELECT column_name::text, data_type::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 \
                 ORDER BY ordinal_position"
            }
        };
        let raw: Vec<(String, String)> =
            sqlx::query_as(sql).bind(table).fetch_all(self.pool).await?;
        ensure!(!raw.is_empty(), "there is no table {table:?}");
        raw.into_iter()
            .map(|(name, declared)| {
                let kind = match self.dialect {
                    Dialect::Sqlite => sqlite_affinity(&declared),
                    Dialect::Postgres => postgres_kind(&declared)
                        .with_context(|| format!("{table}.{name} has the type {declared}"))?,
                };
                Ok(Column { name, kind })
            })
            .collect()
    }

    /// The primary key's columns, in key order.
    async fn primary_key(&self, table: &str) -> anyhow::Result<Vec<String>> {
        let (sql, table) = match self.dialect {
            Dialect::Sqlite => (
                "SELECT name FROM pragma_table_info($1) WHERE pk > 0 ORDER BY pk",
                table.to_owned(),
            ),
            Dialect::Postgres => (
                "SELECT a.attname::text FROM pg_index i \
                 JOIN pg_attribute a ON a.attrelid = i.indrelid \
                                    AND a.attnum = ANY (i.indkey::int2[]) \
                 WHERE i.indrelid = $1::regclass AND i.indisprimary \
                 ORDER BY array_position(i.indkey::int2[], a.attnum)",
                quote(table),
            ),
        };
        Ok(sqlx::query_scalar(sql)
            .bind(table)
            .fetch_all(self.pool)
            .await?)
    }

    async fn count(&self, table: &str) -> anyhow::Result<u64> {
        let sql = format!("SELECT COUNT(*) FROM {}", quote(table));
        let count: i64 = sqlx::query_scalar(&sql).fetch_one(self.pool).await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn max(&self, table: &str, column: &str) -> anyhow::Result<Option<i64>> {
        let sql = format!("SELECT MAX({}) FROM {}", quote(column), quote(table));
        Ok(sqlx::query_scalar(&sql).fetch_one(self.pool).await?)
    }

    /// The last id the table's sequence handed out, if it has one (purged rows included).
    async fn high_water(&self, table: &str, column: &str) -> anyhow::Result<Option<i64>> {
        match self.dialect {
            Dialect::Sqlite => {
                let has_sequence: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_sequence'",
                )
                .fetch_one(self.pool)
                .await?;
                if has_sequence == 0 {
                    return Ok(None);
                }
                Ok(
                    sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = $1")
                        .bind(table)
                        .fetch_optional(self.pool)
                        .await?,
                )
            }
            Dialect::Postgres => Ok(sqlx::query_scalar(
                "SELECT pg_sequence_last_value(pg_get_serial_sequence($1, $2)::regclass)",
            )
            .bind(quote(table))
            .bind(column)
            .fetch_one(self.pool)
            .await?),
        }
    }

    /// Makes the table's sequence hand out ids above `high` from now on (never moving it back).
    async fn advance_sequence(&self, table: &str, column: &str, high: i64) -> anyhow::Result<()> {
        if high < 1 {
            return Ok(());
        }
        match self.dialect {
            Dialect::Sqlite => {
                // Only AUTOINCREMENT tables have (and honour) a sqlite_sequence row.
                let sql: Option<String> = sqlx::query_scalar(
                    "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = $1",
                )
                .bind(table)
                .fetch_optional(self.pool)
                .await?;
                if !sql.is_some_and(|sql| sql.to_ascii_uppercase().contains("AUTOINCREMENT")) {
                    return Ok(());
                }
                let mut tx = self.pool.begin().await?;
                sqlx::query("UPDATE sqlite_sequence SET seq = $2 WHERE name = $1 AND seq < $2")
                    .bind(table)
                    .bind(high)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO sqlite_sequence (name, seq) SELECT $1, $2 \
                     WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = $1)",
                )
                .bind(table)
                .bind(high)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
            }
            Dialect::Postgres => {
                sqlx::query(
                    "SELECT setval(s, GREATEST($3, COALESCE(pg_sequence_last_value(s), 0))) \
                     FROM (SELECT pg_get_serial_sequence($1, $2)::regclass AS s) seq \
                     WHERE s IS NOT NULL",
                )
                .bind(quote(table))
                .bind(column)
                .bind(high)
                .execute(self.pool)
                .await?;
            }
        }
        Ok(())
    }

    /// The rows of a `SELECT`, as values.
    fn rows<'q>(&self, sql: &'q str) -> BoxStream<'q, anyhow::Result<Vec<Value>>>
    where
        'a: 'q,
    {
        sqlx::query(sql)
            .fetch(self.pool)
            .map(|row| values(&row?))
            .boxed()
    }

    /// Inserts `rows` in one statement; how many were inserted or overwritten.
    async fn insert(
        &self,
        table: &Table,
        columns: &[&str],
        kinds: &[Kind],
        key: &[String],
        rows: Vec<Vec<Value>>,
    ) -> anyhow::Result<u64> {
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES ",
            quote(table.name),
            columns
                .iter()
                .map(|c| quote(c))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut n = 0;
        for (i, _) in rows.iter().enumerate() {
            sql.push_str(if i == 0 { "(" } else { ", (" });
            for j in 0..columns.len() {
                n += 1;
                if j > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("${n}"));
            }
            sql.push(')');
        }
        let keys = key.iter().map(|k| quote(k)).collect::<Vec<_>>().join(", ");
        let updates: Vec<String> = columns
            .iter()
            .filter(|c| !key.iter().any(|k| k == *c))
            .map(|c| format!("{0} = excluded.{0}", quote(c)))
            .collect();
        if table.on_existing == OnExisting::Overwrite && !updates.is_empty() {
            // Only rows that differ, so that a rerun reports (and writes) nothing.
            let differs: Vec<String> = columns
                .iter()
                .filter(|c| !key.iter().any(|k| k == *c))
                .map(|c| {
                    format!(
                        "{}.{1} IS DISTINCT FROM excluded.{1}",
                        quote(table.name),
                        quote(c)
                    )
                })
                .collect();
            sql.push_str(&format!(
                " ON CONFLICT ({keys}) DO UPDATE SET {} WHERE {}",
                updates.join(", "),
                differs.join(" OR ")
            ));
        } else {
            sql.push_str(&format!(" ON CONFLICT ({keys}) DO NOTHING"));
        }
        let mut query = sqlx::query(&sql);
        for row in rows {
            for ((value, kind), column) in row.into_iter().zip(kinds).zip(columns) {
                // PostgreSQL types every parameter: bind as the destination column's type.
                query = match (kind, value) {
                    (Kind::Int, Value::Null) => query.bind(None::<i64>),
                    (Kind::Real, Value::Null) => query.bind(None::<f64>),
                    (Kind::Text, Value::Null) => query.bind(None::<String>),
                    (Kind::Blob, Value::Null) => query.bind(None::<Vec<u8>>),
                    (Kind::Int, Value::Int(v)) => query.bind(v),
                    (Kind::Real, Value::Real(v)) => query.bind(v),
                    #[allow(clippy::cast_precision_loss)] // as SQLite's REAL affinity
                    (Kind::Real, Value::Int(v)) => query.bind(v as f64),
                    (Kind::Text, Value::Text(v)) => query.bind(v),
                    (Kind::Blob, Value::Blob(v)) => query.bind(v),
                    (kind, value) => bail!(
                        "{}.{column} holds {value}, which does not fit the destination's \
                         {kind:?} column",
                        table.name
                    ),
                };
            }
        }
        Ok(query.execute(self.pool).await?.rows_affected())
    }
}

/// The affinity of a declared SQLite type (https://sqlite.org/datatype3.html §3.1).
fn sqlite_affinity(declared: &str) -> Kind {
    let declared = declared.to_ascii_uppercase();
    if declared.contains("INT") {
        Kind::Int
    } else if ["CHAR", "CLOB", "TEXT"]
        .iter()
        .any(|t| declared.contains(t))
    {
        Kind::Text
    } else if declared.is_empty() || declared.contains("BLOB") {
        Kind::Blob
    } else if ["REAL", "FLOA", "DOUB"]
        .iter()
        .any(|t| declared.contains(t))
    {
        Kind::Real
    } else {
        Kind::Int
    }
}

/// The kind of a PostgreSQL column type (`information_schema.columns.data_type`).
fn postgres_kind(data_type: &str) -> anyhow::Result<Kind> {
    Ok(match data_type {
        "bigint" | "integer" | "smallint" => Kind::Int,
        "double precision" | "real" => Kind::Real,
        "text" | "character varying" | "character" => Kind::Text,
        "bytea" => Kind::Blob,
        other => bail!("the copier cannot move values of type {other}"),
    })
}

/// A row's values, by each value's own type (on SQLite, its storage class).
fn values(row: &AnyRow) -> anyhow::Result<Vec<Value>> {
    (0..row.len())
        .map(|i| {
            let raw = row.try_get_raw(i)?;
            if raw.is_null() {
                return Ok(Value::Null);
            }
            let kind = raw.type_info().kind();
            Ok(match kind {
                AnyTypeInfoKind::Bool => Value::Int(row.try_get::<bool, _>(i)?.into()),
                kind if kind.is_integer() => Value::Int(row.try_get(i)?),
                AnyTypeInfoKind::Real | AnyTypeInfoKind::Double => Value::Real(row.try_get(i)?),
                AnyTypeInfoKind::Text => Value::Text(row.try_get(i)?),
                AnyTypeInfoKind::Blob => Value::Blob(row.try_get(i)?),
                _ => bail!("a stored value of type {}", raw.type_info().name()),
            })
        })
        .collect()
}
