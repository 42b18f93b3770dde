//! Wire types of the File Upload API v2 (SPEC.md §1, §3).
//!
//! Everything a client sees on the wire lives here: the success and error envelopes, the
//! `Y-m-d H:i:s` date format, one request type per endpoint, the File/Folder/Account/Package
//! objects with their exact field spellings, the documented messages, and the OpenAPI 3.1
//! document made from these types. Nothing here knows about HTTP handling or storage.
#![warn(missing_docs)]

pub mod date;
pub mod envelope;
pub mod messages;
pub mod objects;
pub mod openapi;
pub mod requests;

pub use date::format_datetime;
pub use envelope::{Envelope, ErrorEnvelope, Success};
pub use requests::{
    AdminCredentials, Credentialed, Credentials, Endpoint, FolderRef, Visibility, WithCredentials,
};
