//! The API's one date format: `Y-m-d H:i:s` (SPEC.md §1).

use chrono::{DateTime, Datelike, Timelike, Utc};

/// The `strftime` pattern of every date on the wire.
pub const DATETIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Formats a timestamp as the API does: `2025-03-04 21:14:03`.
pub fn format_datetime(at: DateTime<Utc>) -> String {
    // Written out rather than through `format(DATETIME_FORMAT)`, which interprets the pattern
    // on every call: listings format two dates per row.
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
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
}
