//! One askama template per page (auto-escaped HTML), and the formatting they share.

use askama::Template;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use http::StatusCode;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use upvault_core::model::{DayDownloads, File, Folder};

/// What may stay unescaped in a path segment of our own links.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The frame of every page.
pub(crate) struct Layout {
    pub(crate) site: String,
    pub(crate) title: String,
    pub(crate) user: Option<String>,
}

/// Renders a page with a status; a template fault is a 500 (and a log line).
pub(crate) fn page(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => {
            tracing::error!(%err, "a page template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal server error.").into_response()
        }
    }
}

/// `1.5 MB`-style sizes (powers of 1024, as file managers show them).
pub(crate) fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KB", "MB", "GB", "TB", "PB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `2024-05-01 13:45 UTC`.
pub(crate) fn date(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `in 3 hours 5 minutes`-style delay.
pub(crate) fn delay(secs: i64) -> String {
    let secs = secs.max(1);
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s} second{}", plural(s)),
        (0, _) => format!("{m} minute{} {s} second{}", plural(m), plural(s)),
        _ => format!("{h} hour{} {m} minute{}", plural(h), plural(m)),
    }
}

fn plural(n: i64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// A path segment of one of our links.
pub(crate) fn segment(raw: &str) -> String {
    utf8_percent_encode(raw, SEGMENT).to_string()
}

/// `/folder/{id}/{Folder_Name}`, as the API's `url_folder` spells it.
pub(crate) fn folder_href(folder: &Folder) -> String {
    let slug: String = folder
        .name
        .chars()
        .map(|c| if c.is_whitespace() { '_' } else { c })
        .collect();
    format!("/folder/{}/{}", folder.id, segment(&slug))
}

/// A file as the pages list it.
pub(crate) struct FileRow {
    pub(crate) href: String,
    pub(crate) name: String,
    pub(crate) size: String,
    pub(crate) mime: String,
    pub(crate) uploaded: String,
}

impl FileRow {
    pub(crate) fn new(file: &File) -> Self {
        Self {
            href: format!("/{}/{}", file.short_url, segment(&file.filename)),
            name: file.filename.clone(),
            size: human_size(file.size_bytes),
            mime: file.mime_type.clone(),
            uploaded: date(file.uploaded_at),
        }
    }
}

/// A link.
pub(crate) struct Link {
    pub(crate) href: String,
    pub(crate) label: String,
}

/// The file page.
#[derive(Template)]
#[template(path = "file.html")]
pub(crate) struct FileTemplate {
    pub(crate) layout: Layout,
    pub(crate) file: FileRow,
    pub(crate) short_url: String,
    pub(crate) folder: Option<Link>,
    /// `image`, `text` or `icon`.
    pub(crate) preview: &'static str,
    pub(crate) preview_text: String,
    pub(crate) icon_label: String,
    pub(crate) ticket: String,
    pub(crate) wait_left: i64,
    pub(crate) wait_text: String,
    pub(crate) blocked: Option<String>,
    pub(crate) speed: Option<String>,
    pub(crate) package: String,
}

/// A password-protected folder stands in the way.
#[derive(Template)]
#[template(path = "locked.html")]
pub(crate) struct LockedTemplate {
    pub(crate) layout: Layout,
    pub(crate) folder_name: String,
    pub(crate) action: String,
    pub(crate) next: String,
    pub(crate) error: Option<String>,
}

/// The folder page.
#[derive(Template)]
#[template(path = "folder.html")]
pub(crate) struct FolderTemplate {
    pub(crate) layout: Layout,
    pub(crate) name: String,
    pub(crate) path: Vec<Link>,
    pub(crate) folders: Vec<Link>,
    pub(crate) files: Vec<FileRow>,
}

/// The owner's info page.
#[derive(Template)]
#[template(path = "info.html")]
pub(crate) struct InfoTemplate {
    pub(crate) layout: Layout,
    pub(crate) file: FileRow,
    pub(crate) downloads: u64,
    pub(crate) file_url: String,
    pub(crate) stats_url: String,
    pub(crate) delete_url: String,
}

/// The delete confirmation, and its outcome.
#[derive(Template)]
#[template(path = "delete.html")]
pub(crate) struct DeleteTemplate {
    pub(crate) layout: Layout,
    pub(crate) file: FileRow,
    pub(crate) action: String,
    pub(crate) done: bool,
}

/// The public stats page.
#[derive(Template)]
#[template(path = "stats.html")]
pub(crate) struct StatsTemplate {
    pub(crate) layout: Layout,
    pub(crate) file: FileRow,
    pub(crate) total: u64,
    pub(crate) chart: Chart,
}

/// A refused download: which limit, and when it lifts.
#[derive(Template)]
#[template(path = "refused.html")]
pub(crate) struct RefusedTemplate {
    pub(crate) layout: Layout,
    pub(crate) message: String,
    pub(crate) limit: Option<String>,
    pub(crate) lifts: Option<String>,
    /// Retry by itself after this many seconds (meta refresh; works without JavaScript).
    pub(crate) retry_secs: Option<i64>,
    pub(crate) retry_url: String,
    pub(crate) back: String,
}

/// Not found, gone, rate limited, or a fault.
#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct MessageTemplate {
    pub(crate) layout: Layout,
    pub(crate) heading: String,
    pub(crate) message: String,
}

/// The login form.
#[derive(Template)]
#[template(path = "login.html")]
pub(crate) struct LoginTemplate {
    pub(crate) layout: Layout,
    pub(crate) next: String,
    pub(crate) error: Option<String>,
}

/// The home page.
#[derive(Template)]
#[template(path = "home.html")]
pub(crate) struct HomeTemplate {
    pub(crate) layout: Layout,
}

/// Downloads per day as SVG bars, laid out on the server (no script, no inline style).
pub(crate) struct Chart {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) bars: Vec<Bar>,
    pub(crate) labels: Vec<Label>,
    pub(crate) max: u64,
    pub(crate) rows: Vec<(String, u64)>,
}

/// One day's bar.
pub(crate) struct Bar {
    pub(crate) x: u32,
    pub(crate) y: u32,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) title: String,
}

/// An axis label.
pub(crate) struct Label {
    pub(crate) x: u32,
    pub(crate) y: u32,
    pub(crate) text: String,
}

impl Chart {
    /// The last `days` days up to `today`, missing days as zero.
    pub(crate) fn new(stats: &[DayDownloads], today: NaiveDate, days: i64) -> Self {
        let (width, height, top, bottom) = (600u32, 220u32, 10u32, 30u32);
        let plot = height - top - bottom;
        let series: Vec<(NaiveDate, u64)> = (0..days)
            .rev()
            .map(|back| {
                let day = today - Duration::days(back);
                let count = stats
                    .iter()
                    .find(|s| s.day == day)
                    .map_or(0, |s| s.downloads);
                (day, count)
            })
            .collect();
        let max = series.iter().map(|(_, c)| *c).max().unwrap_or(0).max(1);
        let slot = width / u32::try_from(days.max(1)).unwrap_or(1);
        let mut bars = Vec::new();
        let mut labels = Vec::new();
        for (i, (day, count)) in series.iter().enumerate() {
            let i = u32::try_from(i).unwrap_or(0);
            let bar_height = u32::try_from(u64::from(plot) * count / max).unwrap_or(plot);
            bars.push(Bar {
                x: i * slot + 1,
                y: top + plot - bar_height,
                width: slot.saturating_sub(2).max(1),
                height: bar_height,
                title: format!("{day}: {count}"),
            });
            if i % 7 == 0 || i + 1 == u32::try_from(series.len()).unwrap_or(0) {
                labels.push(Label {
                    x: i * slot + slot / 2,
                    y: height - 10,
                    text: day.format("%m-%d").to_string(),
                });
            }
        }
        let rows = stats
            .iter()
            .rev()
            .map(|s| (s.day.to_string(), s.downloads))
            .collect();
        Self {
            width,
            height,
            bars,
            labels,
            max,
            rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_a_file_manager() {
        assert_eq!(human_size(0), "0 bytes");
        assert_eq!(human_size(1023), "1023 bytes");
        assert_eq!(human_size(1536), "1.5 KB");
        assert_eq!(human_size(600_000), "585.9 KB");
        assert_eq!(human_size(3 * 1024 * 1024 * 1024), "3.0 GB");
    }

    #[test]
    fn the_chart_fills_missing_days_and_scales_to_the_busiest() {
        let today = NaiveDate::from_ymd_opt(2024, 3, 30).unwrap();
        let stats = [
            DayDownloads {
                day: today - Duration::days(2),
                downloads: 4,
            },
            DayDownloads {
                day: today,
                downloads: 2,
            },
        ];
        let chart = Chart::new(&stats, today, 30);
        assert_eq!(chart.bars.len(), 30);
        assert_eq!(chart.max, 4);
        assert_eq!(chart.bars[27].height, 180);
        assert_eq!(chart.bars[29].height, 90);
        assert_eq!(chart.bars[0].height, 0);
        assert_eq!(chart.rows[0], ("2024-03-30".to_owned(), 2));
    }
}
