//! The one place where this crate's io errors become domain errors.

use std::io;
use std::path::Path;
use upvault_core::Error;

/// Turns an io failure into [`Error::Internal`], naming what was being done and to which path.
pub(crate) trait IoContext<T> {
    /// `what` is a gerund phrase ("opening blob"); the path is appended.
    fn or_internal(self, what: &str, path: &Path) -> Result<T, Error>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn or_internal(self, what: &str, path: &Path) -> Result<T, Error> {
        self.map_err(|err| internal(err, what, path))
    }
}

/// See [`IoContext`].
pub(crate) fn internal(err: io::Error, what: &str, path: &Path) -> Error {
    Error::Internal(anyhow::Error::new(err).context(format!("{what} {}", path.display())))
}

/// Whether an io error only says the thing is not there.
pub(crate) fn is_not_found(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::NotFound
}
