//! Pages of an account's files: sorted by name, date or size, filtered by a part of the name,
//! in one folder or across all of them (search), and paged by keyset: a page starts after the
//! last row of the one before (its [`FileCursor`]), so page 500 costs what page 1 costs.
//!
//! Names compare case-insensitively for ASCII letters and by bytes otherwise, the same on every
//! backend ([`name_key`]), so a cursor means the same place wherever it is read.

use crate::ids::{FileId, FolderId};
use crate::model::File;

/// The most files one page may hold.
pub const MAX_PAGE: u32 = 1000;

/// What a page of files is sorted by; equal keys go by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FileOrder {
    /// By [`name_key`].
    #[default]
    Name,
    /// By upload time.
    Date,
    /// By size in bytes.
    Size,
}

impl FileOrder {
    /// The name in URLs (`?sort=`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Date => "date",
            Self::Size => "size",
        }
    }

    /// The order a `?sort=` value names.
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Name, Self::Date, Self::Size]
            .into_iter()
            .find(|order| order.as_str() == raw)
    }

    /// The cursor's tag for this order.
    fn tag(self) -> char {
        match self {
            Self::Name => 'n',
            Self::Date => 'd',
            Self::Size => 's',
        }
    }
}

/// Which files a page is drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileScope {
    /// The active files directly in a folder (`None`: the root).
    Folder(Option<FolderId>),
    /// Every active file of the account, in any folder (search).
    Everywhere,
}

/// One page asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileQuery {
    /// What the files are sorted by.
    pub order: FileOrder,
    /// Largest first (names: from z to a).
    pub descending: bool,
    /// Only files whose name contains this, compared as [`name_key`] compares (empty: all).
    pub name_contains: String,
    /// Start after this row (the previous page's [`FilePage::next`]); `None`: the first page.
    pub after: Option<FileCursor>,
    /// Files per page, 1 to [`MAX_PAGE`] (other values are brought into that range).
    pub limit: u32,
}

impl Default for FileQuery {
    fn default() -> Self {
        Self {
            order: FileOrder::Name,
            descending: false,
            name_contains: String::new(),
            after: None,
            limit: 100,
        }
    }
}

impl FileQuery {
    /// Files per page, within 1 to [`MAX_PAGE`].
    pub fn page_size(&self) -> u32 {
        self.limit.clamp(1, MAX_PAGE)
    }
}

/// The place of a row in an order: its sort key and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCursor {
    /// The row's sort key.
    pub key: CursorKey,
    /// The row's id, which orders rows of equal keys.
    pub id: FileId,
}

/// A sort key as a cursor holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorKey {
    /// A [`name_key`].
    Name(String),
    /// Upload time in unix seconds, or size in bytes.
    Number(i64),
}

impl FileCursor {
    /// The place of `file` in `order`.
    pub fn of(file: &File, order: FileOrder) -> Self {
        let key = match order {
            FileOrder::Name => CursorKey::Name(name_key(&file.filename)),
            FileOrder::Date => CursorKey::Number(file.uploaded_at.timestamp()),
            FileOrder::Size => {
                CursorKey::Number(i64::try_from(file.size_bytes).unwrap_or(i64::MAX))
            }
        };
        Self { key, id: file.id }
    }

    /// The cursor as URL-safe text (`?after=`): the order's tag, the key (a name in lowercase
    /// hex), `-`, the id.
    pub fn to_token(&self, order: FileOrder) -> String {
        let key = match &self.key {
            CursorKey::Name(name) => name.bytes().map(|b| format!("{b:02x}")).collect(),
            CursorKey::Number(n) => n.to_string(),
        };
        format!("{}{key}-{}", order.tag(), self.id.0)
    }

    /// A cursor of `order` read back from [`FileCursor::to_token`]; `None` for anything else
    /// (a cursor of another order included), which callers treat as the first page.
    pub fn from_token(token: &str, order: FileOrder) -> Option<Self> {
        let rest = token.strip_prefix(order.tag())?;
        let (key, id) = rest.rsplit_once('-')?;
        let id = FileId(canonical_number(id)?);
        let key = match order {
            FileOrder::Name => CursorKey::Name(from_hex(key)?),
            FileOrder::Date | FileOrder::Size => CursorKey::Number(canonical_number(key)?),
        };
        Some(Self { key, id })
    }
}

/// A number written as [`i64::to_string`] writes it (so one cursor has one token).
fn canonical_number(raw: &str) -> Option<i64> {
    raw.parse::<i64>().ok().filter(|n| n.to_string() == raw)
}

/// Lowercase hex of UTF-8 back to its text.
fn from_hex(raw: &str) -> Option<String> {
    if !raw.len().is_multiple_of(2) || !raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    let bytes = (0..raw.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&raw[i..i + 2], 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

/// The key names sort and match by: ASCII letters folded to lowercase, every other character
/// kept, compared by bytes. Both backends fold the same way (SQLite's `lower` folds only ASCII,
/// so PostgreSQL's is asked to under the "C" collation).
pub fn name_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// One page of files and where the next one starts.
#[derive(Debug, Clone)]
pub struct FilePage {
    /// The files, in the query's order.
    pub files: Vec<File>,
    /// `None` on the last page.
    pub next: Option<FileCursor>,
}

impl FilePage {
    /// The page of `rows`, read with one more row than the page holds: that row's presence says
    /// a next page exists.
    pub fn from_rows(mut rows: Vec<File>, query: &FileQuery) -> Self {
        let size = usize::try_from(query.page_size()).unwrap_or(usize::MAX);
        let more = rows.len() > size;
        rows.truncate(size);
        let next = more
            .then(|| rows.last().map(|last| FileCursor::of(last, query.order)))
            .flatten();
        Self { files: rows, next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(key: CursorKey, id: i64) -> FileCursor {
        FileCursor {
            key,
            id: FileId(id),
        }
    }

    #[test]
    fn cursors_read_back_as_written_in_their_own_order_only() {
        let cases = [
            (
                FileOrder::Name,
                cursor(CursorKey::Name("report 🦀 ä-1.pdf".into()), 7),
            ),
            (FileOrder::Name, cursor(CursorKey::Name(String::new()), 1)),
            (
                FileOrder::Date,
                cursor(CursorKey::Number(1_700_000_000), 42),
            ),
            (FileOrder::Size, cursor(CursorKey::Number(0), i64::MAX)),
        ];
        for (order, cursor) in cases {
            let token = cursor.to_token(order);
            assert!(
                token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-'),
                "{token}"
            );
            assert_eq!(FileCursor::from_token(&token, order), Some(cursor.clone()));
            let other = if order == FileOrder::Size {
                FileOrder::Date
            } else {
                FileOrder::Size
            };
            assert_eq!(FileCursor::from_token(&token, other), None);
        }
    }

    #[test]
    fn malformed_cursors_are_refused() {
        for token in [
            "",
            "n",
            "nzz-1",
            "n6-1",
            "n41-",
            "n41-x",
            "n41-01",
            "d-1",
            "d1",
            "d01-2",
            "d+1-2",
            "nC3-1",
            "nff-1",
            "n41-1-",
            "s1-99999999999999999999",
        ] {
            let order = FileOrder::parse(match token.chars().next() {
                Some('d') => "date",
                Some('s') => "size",
                _ => "name",
            })
            .unwrap();
            assert_eq!(FileCursor::from_token(token, order), None, "{token:?}");
        }
    }

    #[test]
    fn names_fold_ascii_letters_only() {
        assert_eq!(name_key("ReadMe.TXT"), "readme.txt");
        assert_eq!(name_key("Ärger É"), "Ärger É");
    }

    #[test]
    fn the_page_size_is_bounded() {
        let query = |limit| FileQuery {
            limit,
            ..FileQuery::default()
        };
        assert_eq!(query(0).page_size(), 1);
        assert_eq!(query(50).page_size(), 50);
        assert_eq!(query(u32::MAX).page_size(), MAX_PAGE);
    }
}
