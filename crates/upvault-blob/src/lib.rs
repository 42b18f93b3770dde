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
//!
//! [`S3BlobStore`] keeps the same layout as keys in an S3-compatible bucket
//! (`{prefix}blobs/ab/cd/abcd…`, `{prefix}tmp/<32 hex>`): uploads go up as multipart uploads
//! while they are hashed, and are promoted by a server-side copy.
//!
//! [`copy::copy_blobs`] copies every blob of one store into another (`upvault migrate`).
#![warn(missing_docs)]

mod buffer;
pub mod copy;
mod error;
mod local;
mod pipeline;
mod s3;

pub use local::LocalBlobStore;
pub use s3::{S3BlobStore, S3Config, DEFAULT_PART_SIZE, MIN_PART_SIZE, TEMP_MAX_AGE};
