//! Rows decoded once for every way they are read: from the pool (sqlx's `Any` rows, either
//! backend) and from SQLite's inline reads (rusqlite rows).

use super::SqlStore;
use crate::error::DbResultExt;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Executor, Row as _};
use upvault_core::{Error, Result};

/// A stored value both drivers decode: integers, text, and their `NULL`able forms.
pub(crate) trait Value:
    rusqlite::types::FromSql + for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any>
{
}

impl<T> Value for T where
    T: rusqlite::types::FromSql + for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any>
{
}

/// A column position or name both drivers understand.
pub(crate) trait Index: rusqlite::RowIndex + sqlx::ColumnIndex<AnyRow> {}

impl<I> Index for I where I: rusqlite::RowIndex + sqlx::ColumnIndex<AnyRow> {}

/// One row of a result, whichever driver read it.
pub(crate) trait Columns {
    fn get<T: Value>(&self, index: impl Index) -> Result<T>;
}

impl Columns for AnyRow {
    fn get<T: Value>(&self, index: impl Index) -> Result<T> {
        self.try_get(index).db()
    }
}

impl Columns for rusqlite::Row<'_> {
    fn get<T: Value>(&self, index: impl Index) -> Result<T> {
        rusqlite::Row::get(self, index).map_err(Error::internal)
    }
}

/// What one row decodes into.
pub(crate) trait FromColumns: Sized {
    fn decode(row: &impl Columns) -> Result<Self>;
}

/// A statement parameter, for either driver.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arg<'a> {
    Int(Option<i64>),
    Text(Option<&'a str>),
}

impl<'a> Arg<'a> {
    fn bind(self, query: Query<'a, Any, AnyArguments<'a>>) -> Query<'a, Any, AnyArguments<'a>> {
        match self {
            Arg::Int(value) => query.bind(value),
            Arg::Text(value) => query.bind(value),
        }
    }
}

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Arg::Int(value) => value.to_sql(),
            Arg::Text(value) => value.to_sql(),
        }
    }
}

impl From<i64> for Arg<'_> {
    fn from(value: i64) -> Self {
        Arg::Int(Some(value))
    }
}

impl From<Option<i64>> for Arg<'_> {
    fn from(value: Option<i64>) -> Self {
        Arg::Int(value)
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(value: &'a str) -> Self {
        Arg::Text(Some(value))
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(value: &'a String) -> Self {
        Arg::Text(Some(value))
    }
}

impl<'a> From<&'a Option<String>> for Arg<'a> {
    fn from(value: &'a Option<String>) -> Self {
        Arg::Text(value.as_deref())
    }
}

/// `sql` with `args` bound.
pub(crate) fn bound<'q>(sql: &'q str, args: &[Arg<'q>]) -> Query<'q, Any, AnyArguments<'q>> {
    args.iter()
        .fold(sqlx::query(sql), |query, arg| arg.bind(query))
}

/// Runs one statement; how many rows it changed.
pub(crate) async fn execute<'c>(
    db: impl Executor<'c, Database = Any>,
    sql: &str,
    args: &[Arg<'_>],
) -> Result<u64> {
    Ok(bound(sql, args).execute(db).await.db()?.rows_affected())
}

impl SqlStore {
    /// At most one row of `sql`: inline on SQLite (the point reads of nearly every request),
    /// from the pool on PostgreSQL.
    pub(crate) async fn read_one<T: FromColumns>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
    ) -> Result<Option<T>> {
        if let Some(inline) = &self.inline {
            let params = rusqlite::params_from_iter(args);
            return inline
                .optional(sql, params, |row| Ok(T::decode(row)))?
                .transpose();
        }
        bound(sql, args)
            .fetch_optional(self.pool())
            .await
            .db()?
            .map(|row| T::decode(&row))
            .transpose()
    }

    /// Every row of `sql`, read as [`SqlStore::read_one`] reads one: for the few small tables
    /// that nearly every request reads (packages).
    pub(crate) async fn read_all<T: FromColumns>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
    ) -> Result<Vec<T>> {
        if let Some(inline) = &self.inline {
            let params = rusqlite::params_from_iter(args);
            return inline
                .all(sql, params, |row| Ok(T::decode(row)))?
                .into_iter()
                .collect();
        }
        decode_all(bound(sql, args).fetch_all(self.pool()).await.db()?)
    }
}

/// Decodes the rows of a pool read.
pub(crate) fn decode_all<T: FromColumns>(rows: Vec<AnyRow>) -> Result<Vec<T>> {
    rows.iter().map(T::decode).collect()
}
