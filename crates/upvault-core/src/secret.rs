//! Secrets: generation, hashing and comparison.
//!
//! Tokens are random and long, so a fast SHA-256 is a sufficient one-way store for them; passwords
//! and API key2s are low- or unknown-entropy and go through argon2 (SPEC.md §2).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::distributions::{Alphanumeric, DistString};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Length of an access token (SPEC.md §2).
pub const ACCESS_TOKEN_LEN: usize = 128;
/// Length of each half of an API key pair (SPEC.md §2).
pub const API_KEY_LEN: usize = 64;
/// Length of a short URL code.
pub const SHORT_URL_LEN: usize = 8;

/// `len` random characters of `[A-Za-z0-9]` from the OS generator.
pub fn random_alphanumeric(len: usize) -> String {
    Alphanumeric.sample_string(&mut OsRng, len)
}

/// `bytes` random bytes as lower-case hex (so twice as many characters).
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

/// A new access token, 128 characters of `[A-Za-z0-9]`.
pub fn new_access_token() -> String {
    random_alphanumeric(ACCESS_TOKEN_LEN)
}

/// A new short URL code (62^8 ≈ 2·10^14 codes, so they cannot be walked).
pub fn new_short_url() -> String {
    random_alphanumeric(SHORT_URL_LEN)
}

/// The one-way form in which tokens are stored and looked up.
pub fn token_digest(token: &str) -> String {
    // Through a fixed buffer: `hex::encode` goes char by char, and this runs on every request.
    let mut hex = [0u8; 64];
    hex::encode_to_slice(Sha256::digest(token.as_bytes()), &mut hex)
        .expect("a SHA-256 digest is 32 bytes, 64 hex digits");
    String::from_utf8_lossy(&hex).into_owned()
}

/// An argon2id PHC string for a password or key2.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| anyhow::anyhow!("argon2 hashing failed: {err}"))
}

/// Checks a password against a PHC string; a malformed stored hash never verifies.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A fixed hash to verify against when the user does not exist, so that a miss costs as much
/// time as a hit and usernames or key1s cannot be told apart by timing.
pub fn dummy_password_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("upvault-dummy-password").unwrap_or_default())
}

/// Compares two secrets in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Is `raw` 32 hex characters (an MD5 as the API sends it)?
pub fn is_md5_hex(raw: &str) -> bool {
    raw.len() == 32 && raw.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_the_documented_shape() {
        let token = new_access_token();
        assert_eq!(token.len(), 128);
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(token, new_access_token());
    }

    #[test]
    fn token_digest_is_the_lowercase_hex_sha256() {
        // FIPS 180-2's "abc" example; stored digests must not change with the encoding code.
        assert_eq!(
            token_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn passwords_verify_only_themselves() {
        let phc = hash_password("correct horse").unwrap();
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("correct horsf", &phc));
        assert!(!verify_password("x", "not a phc string"));
    }

    #[test]
    fn constant_time_eq_compares_exactly() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }
}
