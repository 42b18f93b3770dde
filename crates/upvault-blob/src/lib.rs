//! upvault's blob stores: the implementations of [`upvault_core::ports::BlobStore`].
//!
//! [`LocalBlobStore`] keeps content-addressed blobs in a directory:
//!
//! ```text
//! root/blobs/ab/cd/abcd…   committed blobs, named by their SHA-256 (two levels of fan-out)
//! root/tmp/<32 hex>        uploads in progress, named by their temp id
//! ```
//!
//! An upload is streamed into `tmp/` while it is hashed ([`pipeline`]), then renamed into
//! `blobs/` when the database commits the file record that refers to it.
#![warn(missing_docs)]

mod error;
mod local;
mod pipeline;

pub use local::LocalBlobStore;
