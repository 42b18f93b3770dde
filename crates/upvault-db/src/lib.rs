//! upvault's SQL storage: the repository ports of `upvault-core` on a database.
//!
//! [`SqliteStore`] implements every repository trait of [`upvault_core::ports`] (accounts,
//! tokens, files, folders, the URL-import queue and transfer slots) on one SQLite file; a
//! PostgreSQL backend will sit beside it in `postgres/` with its own `migrations/postgres/`.
//! This crate holds no business rules: limits arrive as parameters, and what must be atomic is
//! one method in one write transaction. It never touches blob bytes itself; storage actions are
//! handed in by the services and run inside the transaction that changes the rows.

mod error;
mod sqlite;

pub use sqlite::{DayDownloads, SqliteStore};
