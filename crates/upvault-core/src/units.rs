//! Quantities as people read them.

/// A byte count for people: `0 bytes`, `1 byte`, `1023 bytes`, `1.5 KB`, `100 MB`. Units are
/// powers of 1024 with the names file managers show (a limit set as 100 MiB reads `100 MB`);
/// one decimal, dropped when it is zero.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KB", "MB", "GB", "TB", "PB", "EB"];
    if bytes < 1024 {
        let unit = if bytes == 1 { "byte" } else { "bytes" };
        return format!("{bytes} {unit}");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    // Rounded first, so 1023.96 KB reads `1 MB`, not `1024 KB`.
    while (value * 10.0).round() / 10.0 >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let shown = format!("{value:.1}");
    let shown = shown.strip_suffix(".0").unwrap_or(&shown);
    format!("{shown} {}", UNITS[unit])
}

/// `1 file`, `2 files`, `0 files`: a count with its noun (regular plurals only).
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::{count, human_size};

    #[test]
    fn counts_agree_with_their_noun() {
        assert_eq!(count(0, "file"), "0 files");
        assert_eq!(count(1, "file"), "1 file");
        assert_eq!(count(2, "blob"), "2 blobs");
    }

    #[test]
    fn sizes_read_like_a_file_manager() {
        assert_eq!(human_size(0), "0 bytes");
        assert_eq!(human_size(1), "1 byte");
        assert_eq!(human_size(1023), "1023 bytes");
        assert_eq!(human_size(1024), "1 KB");
        assert_eq!(human_size(1536), "1.5 KB");
        assert_eq!(human_size(600_000), "585.9 KB");
        assert_eq!(human_size(1_048_575), "1 MB");
        assert_eq!(human_size(1_258_291), "1.2 MB");
        assert_eq!(human_size(100 * 1024 * 1024), "100 MB");
        assert_eq!(human_size(3 * 1024 * 1024 * 1024), "3 GB");
        assert_eq!(human_size(u64::MAX), "16 EB");
    }
}
