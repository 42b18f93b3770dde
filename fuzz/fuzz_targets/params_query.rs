//! Query strings (and urlencoded bodies: the same parser) into `Params`, and every accessor the
//! handlers use on them: never a panic; present values are trimmed and not blank; the pairs are
//! the ones `form_urlencoded` reads, the last value of a name winning.
#![no_main]

use libfuzzer_sys::fuzz_target;
use upvault_http::params::Params;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let params = Params::from_query(Some(query));
    let expected: std::collections::HashMap<String, String> = form_urlencoded::parse(data)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    for (name, value) in &expected {
        assert_eq!(params.raw(name), Some(value.as_str()));
    }
    let mut names = params.names();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), expected.len());
    for name in names {
        if let Some(value) = params.get(name) {
            assert!(!value.is_empty() && value.trim() == value);
        }
        if let Some(value) = params.given(name) {
            assert_eq!(params.get(name), Some(value));
            assert!(value != "None" && value != "undefined");
        }
        let _ = params.require_id(name, upvault_core::FileId::parse);
        let _ = params.optional_folder(name);
        let _ = params.folder_change(name);
        let _ = params.require_folder(name);
    }
    let _ = params.credentials();
});
