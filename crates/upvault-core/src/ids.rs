//! Newtype ids, so a file id is never passed where a folder id belongs.

use std::fmt;

macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub i64);

        impl $name {
            /// Parses a wire id: a positive whole number, surrounding blanks ignored.
            pub fn parse(raw: &str) -> Option<Self> {
                raw.trim().parse::<i64>().ok().filter(|id| *id > 0).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

numeric_id!(
    /// An account (user) id.
    AccountId
);
numeric_id!(
    /// A file record id.
    FileId
);
numeric_id!(
    /// A folder id; the root has none.
    FolderId
);
numeric_id!(
    /// A package (account level) id.
    PackageId
);
numeric_id!(
    /// A URL-import job id (`scheduled_item_id`).
    JobId
);

/// The key of a stored blob: the lower-case hex SHA-256 of its content (SPEC.md §4).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobKey(String);

impl BlobKey {
    /// Accepts exactly 64 lower-case hex characters, so a key can never name a path.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::is_key(raw).then(|| Self(raw.to_owned()))
    }

    /// [`BlobKey::parse`] of an owned string, kept rather than copied; the string back if it
    /// is not a key.
    pub fn from_string(raw: String) -> Result<Self, String> {
        if Self::is_key(&raw) {
            Ok(Self(raw))
        } else {
            Err(raw)
        }
    }

    fn is_key(raw: &str) -> bool {
        // A fold without an early exit checks the 64 bytes a vector at a time: every file row
        // read goes through here.
        raw.len() == 64
            && raw.bytes().fold(true, |valid, b| {
                valid & (b.is_ascii_digit() | (b'a'..=b'f').contains(&b))
            })
    }

    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_positive_whole_numbers() {
        assert_eq!(FileId::parse(" 12 "), Some(FileId(12)));
        assert_eq!(FileId::parse("0"), None);
        assert_eq!(FileId::parse("-3"), None);
        assert_eq!(FileId::parse("1e3"), None);
        assert_eq!(FileId::parse(""), None);
    }

    #[test]
    fn blob_keys_cannot_name_paths() {
        assert!(BlobKey::parse(&"a".repeat(64)).is_some());
        assert!(BlobKey::parse(&format!("../{}", "a".repeat(61))).is_none());
        assert!(BlobKey::parse(&"A".repeat(64)).is_none());
    }

    #[test]
    fn a_key_is_64_lower_case_hex_digits_whichever_way_it_is_parsed() {
        let key = "0123456789abcdef".repeat(4);
        assert_eq!(BlobKey::parse(&key).unwrap().as_str(), key);
        assert_eq!(BlobKey::from_string(key.clone()).unwrap().as_str(), key);
        let mut wrong = vec![key[..63].to_owned(), format!("{key}0"), String::new()];
        // One byte out of place anywhere, including where a vector check would split.
        for at in [0, 15, 16, 31, 32, 47, 48, 63] {
            for bad in ["g", "A", "/", ":", "`", "\0", " "] {
                let mut text = key.clone();
                text.replace_range(at..at + 1, bad);
                wrong.push(text);
            }
        }
        wrong.push(format!("{}é", &key[..62]));
        for text in wrong {
            assert_eq!(BlobKey::parse(&text), None, "{text:?}");
            assert_eq!(BlobKey::from_string(text.clone()), Err(text));
        }
    }
}
