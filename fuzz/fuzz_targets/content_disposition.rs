//! `Content-Disposition` for any stored name: always a valid header value, and `filename*`
//! decodes back to the exact name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use upvault_http::download::content_disposition;

fuzz_target!(|name: &str| {
    let value = content_disposition(name);
    assert!(
        http::HeaderValue::from_str(&value).is_ok(),
        "not a header value: {value:?}"
    );
    // The last one: a name may spell `filename*=UTF-8''` itself inside the quoted fallback.
    let encoded = value
        .rsplit_once("filename*=UTF-8''")
        .map(|(_, encoded)| encoded)
        .expect("an RFC 8187 parameter");
    let decoded = percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .expect("UTF-8");
    assert_eq!(decoded, name);
    let fallback = value
        .strip_prefix("attachment; filename=\"")
        .and_then(|rest| rest.split_once("\"; filename*="))
        .map(|(fallback, _)| fallback)
        .expect("an ASCII fallback");
    assert!(!fallback.contains(['"', '\\']));
});
