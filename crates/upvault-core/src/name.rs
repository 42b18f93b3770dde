//! File and folder names: what is kept, what is replaced, and what is derived from them.
//!
//! SPEC.md §4: names keep what the user typed (any UTF-8, `<`, quotes, emoji) except that `/` and
//! `\` become `_` and control characters are dropped. Escaping is the job of whoever shows a name.

/// The longest name we store, in characters.
pub const MAX_NAME_CHARS: usize = 255;

/// Replaces path separators and drops control characters (NUL, CR, LF, DEL, C1 controls): the
/// characters that break paths and headers. Everything else is ordinary text that every page
/// escapes where it is shown.
pub fn clean(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .map(|c| if c == '/' || c == '\\' { '_' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Bidirectional embedding, override and isolate characters: they let `gpj.exe` show as
/// `exe.jpg`, so names never keep them (right-to-left text itself is kept).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// A name a user chose for an existing object: refused when empty or too long.
pub fn validate(raw: &str) -> Result<String, &'static str> {
    let name = clean(raw);
    if name.is_empty() {
        Err(messages::EMPTY_NAME)
    } else if name.chars().count() > MAX_NAME_CHARS {
        Err(messages::NAME_TOO_LONG)
    } else {
        Ok(name)
    }
}

/// The name of an uploaded or imported file: never refused, so a long or empty name from a
/// browser or URL does not lose the upload; it is shortened keeping its extension.
///
/// A name that carries a path keeps its last component (`reports/2024/x.csv` and
/// `C:\Users\me\x.csv` are `x.csv`), as PHP hands file names to the real YetiShare server:
/// clients that send the path of an open file rely on it. Renames keep [`validate`]'s rule.
pub fn for_upload(raw: &str) -> String {
    let last = raw
        .rsplit(['/', '\\'])
        .find(|part| !clean(part).is_empty())
        .unwrap_or_default();
    let name = clean(last);
    let name = if name.is_empty() || name == "." || name == ".." {
        "file".to_owned()
    } else {
        name
    };
    if name.chars().count() <= MAX_NAME_CHARS {
        return name;
    }
    let ext = extension(&name);
    let keep = MAX_NAME_CHARS
        - if ext.is_empty() {
            0
        } else {
            ext.chars().count() + 1
        };
    let stem: String = name.chars().take(keep).collect();
    if ext.is_empty() || ext.chars().count() + 1 >= MAX_NAME_CHARS {
        name.chars().take(MAX_NAME_CHARS).collect()
    } else {
        format!("{stem}.{ext}")
    }
}

/// The extension without the dot, lower case; empty when there is none.
pub fn extension(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() && ext.chars().count() <= 16 => {
            ext.to_lowercase()
        }
        _ => String::new(),
    }
}

/// The MIME type of a file: from its extension, else what the client declared, else
/// `application/octet-stream`.
pub fn mime_type(name: &str, declared: Option<&str>) -> String {
    if let Some(guess) = mime_guess::from_path(name).first() {
        return guess.essence_str().to_owned();
    }
    match declared.map(str::trim) {
        Some(d) if !d.is_empty() && d.len() <= 255 && d.is_ascii() && !d.contains(['\r', '\n']) => {
            d.to_owned()
        }
        _ => "application/octet-stream".to_owned(),
    }
}

/// The last path segment of a URL, percent-decoded, as the name of an imported file.
pub fn from_url(url: &url::Url) -> String {
    let segment = url
        .path_segments()
        .and_then(|mut segments| segments.next_back())
        .unwrap_or_default();
    let decoded = percent_decode(segment);
    for_upload(&decoded)
}

fn percent_decode(raw: &str) -> String {
    fn hex_value(byte: u8) -> Option<u8> {
        (byte as char).to_digit(16).map(|v| v as u8)
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(high), Some(low)) = (hex_value(bytes[i + 1]), hex_value(bytes[i + 2])) {
                out.push(high << 4 | low);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Messages of name refusals.
pub mod messages {
    /// The name is empty once cleaned.
    pub const EMPTY_NAME: &str = "The name is empty once control characters are removed.";
    /// The name is too long.
    pub const NAME_TOO_LONG: &str = "The name is longer than 255 characters.";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_become_underscores_and_controls_go() {
        assert_eq!(clean("../etc/passwd"), ".._etc_passwd");
        assert_eq!(clean("a\\b"), "a_b");
        assert_eq!(
            clean("evil\r\nSet-Cookie: x\0.txt"),
            "evilSet-Cookie: x.txt"
        );
    }

    #[test]
    fn user_text_is_kept() {
        assert_eq!(clean("<script>\"'🦀 ملف.txt"), "<script>\"'🦀 ملف.txt");
        assert_eq!(clean("photo\u{202e}gpj.exe"), "photogpj.exe");
    }

    #[test]
    fn upload_names_are_never_empty_and_keep_their_extension_when_shortened() {
        assert_eq!(for_upload("\0\r\n"), "file");
        let long = format!("{}.jpeg", "é".repeat(400));
        let short = for_upload(&long);
        assert_eq!(short.chars().count(), MAX_NAME_CHARS);
        assert!(short.ends_with(".jpeg"));
    }

    #[test]
    fn upload_names_keep_the_last_component_of_a_path() {
        assert_eq!(for_upload("reports/2024/x.csv"), "x.csv");
        assert_eq!(for_upload("C:\\Users\\me\\x.csv"), "x.csv");
        assert_eq!(for_upload("/abs/dir/"), "dir");
        assert_eq!(for_upload("../../etc/passwd"), "passwd");
        assert_eq!(for_upload("//"), "file");
        assert_eq!(for_upload("🦀 ملف.txt"), "🦀 ملف.txt");
    }

    #[test]
    fn validate_refuses_empty_and_long() {
        assert!(validate(" \n ").is_err());
        assert!(validate(&"x".repeat(256)).is_err());
        assert_eq!(validate(" ok.txt ").unwrap(), "ok.txt");
    }

    #[test]
    fn extensions_and_types() {
        assert_eq!(extension("Photo.JPG"), "jpg");
        assert_eq!(extension(".bashrc"), "");
        assert_eq!(extension("noext"), "");
        assert_eq!(mime_type("a.png", None), "image/png");
        assert_eq!(
            mime_type("a.unknownext", Some("text/x-custom")),
            "text/x-custom"
        );
        assert_eq!(
            mime_type("a", Some("bad\r\nheader")),
            "application/octet-stream"
        );
    }

    #[test]
    fn url_names_are_decoded() {
        let url = url::Url::parse("http://h/x/caf%C3%A9%20menu.pdf?x=1").unwrap();
        assert_eq!(from_url(&url), "café menu.pdf");
        let url = url::Url::parse("http://h/").unwrap();
        assert_eq!(from_url(&url), "file");
    }
}
