//! The one place where database errors become domain errors (STYLE.md §3).

use upvault_core::Error;

/// Converts backend results at the trait boundary.
pub(crate) trait DbResultExt<T> {
    /// Any database error is an internal fault.
    fn db(self) -> Result<T, Error>;

    /// A unique-constraint hit becomes `conflict()`; anything else is an internal fault.
    fn on_unique(self, conflict: impl FnOnce() -> Error) -> Result<T, Error>;
}

impl<T> DbResultExt<T> for Result<T, sqlx::Error> {
    fn db(self) -> Result<T, Error> {
        self.map_err(Error::internal)
    }

    fn on_unique(self, conflict: impl FnOnce() -> Error) -> Result<T, Error> {
        self.map_err(|err| match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => conflict(),
            _ => Error::internal(err),
        })
    }
}
