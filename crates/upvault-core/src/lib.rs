//! upvault's domain layer.
//!
//! Accounts, packages and their limits, files, folders, tokens and URL-import jobs, and the
//! services that apply the rules of SPEC.md to them. Storage is reached only through the ports
//! in [`ports`]; this crate knows nothing of HTTP, SQL or object stores.
#![warn(missing_docs)]

pub mod clock;
pub mod error;
pub mod ids;
pub mod listing;
pub mod model;
pub mod name;
pub mod ports;
pub mod secret;
pub mod service;
pub mod units;

pub use clock::{Clock, SystemClock};
pub use error::{Entity, Error, Limit, Refusal, Result, Unique};
pub use ids::{AccountId, BlobKey, FileId, FolderId, JobId, PackageId};
