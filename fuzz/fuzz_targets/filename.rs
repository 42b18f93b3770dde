//! File names (SPEC.md §4): `clean`, `validate`, `for_upload`, `extension` never panic, and
//! what they keep has no separator, control or bidi-override character and fits the limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use upvault_core::name::{clean, extension, for_upload, validate, MAX_NAME_CHARS};

fn tidy(name: &str) -> bool {
    !name.contains(['/', '\\'])
        && !name.chars().any(|c| {
            c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })
}

fuzz_target!(|raw: &str| {
    let cleaned = clean(raw);
    assert!(tidy(&cleaned), "{cleaned:?}");
    assert_eq!(clean(&cleaned), cleaned, "clean is idempotent");

    if let Ok(name) = validate(raw) {
        assert!(!name.is_empty() && name.chars().count() <= MAX_NAME_CHARS);
        assert!(tidy(&name));
    }

    let upload = for_upload(raw);
    assert!(!upload.is_empty(), "{raw:?}");
    assert!(upload.chars().count() <= MAX_NAME_CHARS, "{raw:?}");
    assert!(tidy(&upload), "{upload:?}");
    assert!(upload != "." && upload != "..");

    let ext = extension(raw);
    assert!(!ext.contains('.') && ext.chars().count() <= 16, "{ext:?}");
    let single_component = !raw.contains(['/', '\\']);
    if single_component && !ext.is_empty() && cleaned.chars().count() > MAX_NAME_CHARS {
        // A shortened upload name keeps a short extension (a path keeps its last component,
        // whose extension may differ from the whole string's).
        let kept = extension(&upload);
        if ext.chars().count() + 1 < MAX_NAME_CHARS && ext == extension(&cleaned) {
            assert_eq!(kept, ext, "{raw:?} -> {upload:?}");
        }
    }
});
