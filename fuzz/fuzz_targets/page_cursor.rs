//! Page cursors as `?after=` brings them back: never a panic, and a cursor that is accepted is
//! the one its token was made from (one cursor, one token).
#![no_main]

use libfuzzer_sys::fuzz_target;
use upvault_core::listing::{FileCursor, FileOrder};

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    for order in [FileOrder::Name, FileOrder::Date, FileOrder::Size] {
        if let Some(cursor) = FileCursor::from_token(token, order) {
            assert_eq!(cursor.to_token(order), token);
        }
    }
});
