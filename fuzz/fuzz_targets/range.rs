//! `Range` headers against a file size: never a panic, and a partial answer always lies inside
//! the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use upvault_http::download::{parse_range, RangeRequest};

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let (size, header) = data.split_at(8);
    let size = u64::from_le_bytes(size.try_into().expect("eight bytes")) >> (data[0] % 64);
    let Ok(header) = std::str::from_utf8(header) else {
        return;
    };
    match parse_range(Some(header), size) {
        RangeRequest::Partial(range) => {
            assert!(range.start <= range.end, "{header:?} on {size}: {range:?}");
            assert!(range.end < size, "{header:?} on {size}: {range:?}");
            assert_eq!(range.len(), range.end - range.start + 1);
        }
        RangeRequest::Full | RangeRequest::Unsatisfiable => {}
    }
});
