//! What only SQLite has: the point reads of the request path on rusqlite connections of their
//! own, and the keeper of their read lock.

pub(crate) mod inline;
mod keeper;
