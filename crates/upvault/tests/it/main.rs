//! The integration suite: the real server on an ephemeral port, driven over HTTP.
//! One binary with a module per area (each file in tests/ would relink the server).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod auth;
mod cli;
mod compat;
mod crash;
mod download;
mod file;
mod folder;
mod hardening;
mod import;
mod interop;
mod load;
mod scale;
mod upload;
mod web;
mod web_browser;
mod wire;

use md5::{Digest, Md5};
use sha2::Sha256;

/// A table row of an error test: endpoint, parameters, expected message.
pub type ErrorCase<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);

/// Skips a test whose outside program is missing; under CI, where scripts/test.sh installs it,
/// a missing one fails instead.
pub fn skip_without(what: &str, how: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
    assert!(!ci, "CI=true but {what} is missing: {how}");
    eprintln!("SKIPPED: {what} is missing ({how})");
}

/// Lower-case hex MD5.
pub fn md5_hex(data: &[u8]) -> String {
    hex::encode(Md5::digest(data))
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

mod migrate;
