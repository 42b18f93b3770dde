//! Wire types of the File Upload API v2 (SPEC.md §1, §3).
//!
//! Everything a client sees on the wire lives here: the success and error envelopes, the
//! `Y-m-d H:i:s` date format, the File/Folder/Account/Package objects with their exact field
//! spellings, and the documented messages. Nothing here knows about HTTP or storage.
#![warn(missing_docs)]

pub mod date;
pub mod envelope;
pub mod messages;
pub mod objects;

pub use date::format_datetime;
pub use envelope::{ErrorEnvelope, Success};
