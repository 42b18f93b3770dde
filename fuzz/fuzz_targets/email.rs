//! Email addresses as the admin endpoints check them: never a panic, and an accepted address
//! has one local part and a dotted domain without blanks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use upvault_core::service::plausible_email;

fuzz_target!(|data: &[u8]| {
    let Ok(email) = std::str::from_utf8(data) else {
        return;
    };
    if plausible_email(email) {
        let (local, domain) = email.rsplit_once('@').expect("an accepted address has an @");
        assert!(!local.is_empty() && domain.contains('.'), "{email:?}");
        assert!(!domain.chars().any(char::is_whitespace), "{email:?}");
    }
});
