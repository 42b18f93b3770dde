//! The API's one date format: `Y-m-d H:i:s` (SPEC.md §1).

use chrono::{DateTime, Datelike, Timelike, Utc};

/// The `strftime` pattern of every date on the wire.
pub const DATETIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Formats a timestamp as the API does: `2025-03-04 21:14:03`.
pub fn format_datetime(at: DateTime<Utc>) -> String {
    // Digits written straight into a buffer: every answer carries at least one date (its
    // `_datetime`) and listings two per row, and the `format!` machinery cost a small API call
    // about 3 % of its CPU. Years beyond four digits (chrono allows them) take the slow path.
    let (date, time) = (at.date_naive(), at.time());
    let Ok(year @ 0..=9999) = u32::try_from(date.year()) else {
        return format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            date.year(),
            date.month(),
            date.day(),
            time.hour(),
            time.minute(),
            time.second()
        );
    };
    let mut out = *b"0000-00-00 00:00:00";
    fill_digits(
        &mut out,
        [
            (0..4, year.into()),
            (5..7, date.month().into()),
            (8..10, date.day().into()),
            (11..13, time.hour().into()),
            (14..16, time.minute().into()),
            (17..19, time.second().into()),
        ],
    );
    // One copy of the ASCII buffer (collecting it char by char cost more than the digits).
    String::from_utf8(out.to_vec()).expect("digits and punctuation are ASCII")
}

/// Writes each value's decimal digits, zero-padded, into its range of `out` (a value too
/// large for its range keeps only its last digits): dates and timestamps without `format!`.
pub fn fill_digits<const N: usize>(out: &mut [u8], fields: [(std::ops::Range<usize>, u64); N]) {
    for (range, mut value) in fields {
        for digit in out[range].iter_mut().rev() {
            // `value % 10` is below 10.
            *digit = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
}

/// Formats an optional timestamp; `None` stays `None` so it serialises as `null`.
pub fn format_optional(at: Option<DateTime<Utc>>) -> Option<String> {
    at.map(format_datetime)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn formats_like_the_documentation() {
        let at = Utc.with_ymd_and_hms(2025, 3, 4, 21, 14, 3).unwrap();
        assert_eq!(format_datetime(at), "2025-03-04 21:14:03");
        assert_eq!(
            format_datetime(at),
            at.format(DATETIME_FORMAT).to_string(),
            "the pattern and the fast path agree"
        );
        let late = Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap();
        assert_eq!(
            format_datetime(late),
            late.format(DATETIME_FORMAT).to_string()
        );
    }

    #[test]
    fn the_fast_path_agrees_with_chrono_across_the_calendar() {
        // A prime step walks through every month, day, hour, minute and second in turn, from
        // year 0 to year 9999. (Beyond, chrono's `%Y` writes a `+`; ours never did.)
        let mut secs = Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap().timestamp();
        let end = Utc
            .with_ymd_and_hms(10_000, 1, 1, 0, 0, 0)
            .unwrap()
            .timestamp();
        while secs < end {
            let at = DateTime::from_timestamp(secs, 0).unwrap();
            assert_eq!(format_datetime(at), at.format(DATETIME_FORMAT).to_string());
            secs += 3_155_693; // about 36.5 days and odd hours, minutes and seconds
        }
        let far = Utc.with_ymd_and_hms(12_345, 6, 7, 8, 9, 10).unwrap();
        assert_eq!(format_datetime(far), "12345-06-07 08:09:10");
    }
}
