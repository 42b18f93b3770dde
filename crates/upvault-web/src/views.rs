//! One askama template per page (auto-escaped HTML), and the formatting they share.

use askama::Template;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use http::StatusCode;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use upvault_core::model::{DayDownloads, DownloadRefusal, File, Folder};

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
    /// The browser's form token: every form's hidden `csrf` field.
    pub(crate) csrf: String,
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

pub(crate) use upvault_core::units::human_size;

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

/// What a visitor reads about a refused download: a heading and a sentence in plain words (the
/// operator's key names stay in the page's `data-limit` attribute).
pub(crate) struct RefusalText {
    pub(crate) heading: &'static str,
    pub(crate) message: String,
}

impl RefusalText {
    pub(crate) fn new(refusal: &DownloadRefusal) -> Self {
        let (heading, message) = match refusal {
            DownloadRefusal::Wait { .. } => (
                "Your download is almost ready",
                "Visitors with your package wait a moment before each download.".to_owned(),
            ),
            DownloadRefusal::TicketInvalid => (
                "This download link has expired",
                "Download links from a file page last a limited time and work only for the \
                 visitor who opened the page. Open the file page again to get a new one."
                    .to_owned(),
            ),
            DownloadRefusal::FileTooLarge { max } => (
                "This file is too large for your package",
                format!(
                    "Your package lets you download files of up to {}.",
                    human_size(*max)
                ),
            ),
            DownloadRefusal::DailyCount { max, .. } => (
                "Daily download limit reached",
                format!(
                    "Your package allows {max} download{} in 24 hours, and you have used them.",
                    plural(i64::try_from(*max).unwrap_or(i64::MAX))
                ),
            ),
            DownloadRefusal::DailyBytes { max, .. } => (
                "Daily download volume reached",
                format!(
                    "This download would take you past the {} your package allows in 24 hours.",
                    human_size(*max)
                ),
            ),
            DownloadRefusal::Concurrent { max } => (
                "Too many downloads at once",
                format!(
                    "Your package allows {max} download{} at a time. Wait for one to finish.",
                    plural(i64::try_from(*max).unwrap_or(i64::MAX))
                ),
            ),
        };
        Self { heading, message }
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
    pub(crate) text: RefusalText,
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
    /// Where to go from here (e.g. the file page of an expired download link).
    pub(crate) link: Option<Link>,
}

impl MessageTemplate {
    pub(crate) fn new(layout: Layout, heading: &str, message: String) -> Self {
        Self {
            layout,
            heading: heading.to_owned(),
            message,
            link: None,
        }
    }
}

/// The login form.
#[derive(Template)]
#[template(path = "login.html")]
pub(crate) struct LoginTemplate {
    pub(crate) layout: Layout,
    pub(crate) next: String,
    pub(crate) error: Option<String>,
}

/// `GET /logout`: the button that signs out.
#[derive(Template)]
#[template(path = "logout.html")]
pub(crate) struct LogoutTemplate {
    pub(crate) layout: Layout,
    pub(crate) signed_in: bool,
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

/// A date under the bars. The chart scales with the page, text included, so the stylesheet
/// draws labels larger on narrow screens and hides the minor ones there; the layout leaves
/// room for both sizes (see [`LABEL_FONT`]).
pub(crate) struct Label {
    pub(crate) x: u32,
    pub(crate) y: u32,
    /// `start`, `middle` or `end`: the first and last labels hug the edges instead of being
    /// cut by them.
    pub(crate) anchor: &'static str,
    /// Shown on wide screens only.
    pub(crate) minor: bool,
    pub(crate) text: String,
}

/// The label font size in chart units on wide and on narrow screens (style.css, `.chart
/// .label`): keep them equal to the stylesheet's.
pub(crate) const LABEL_FONT: (u32, u32) = (11, 22);

/// Label text is at most this many characters (`%e %b`: `27 Mar`).
const LABEL_CHARS: u32 = 6;

/// How wide a label may be drawn at `font` (system sans-serif digits and letters stay under
/// 0.62 em).
pub(crate) fn label_width(font: u32) -> u32 {
    (LABEL_CHARS * font * 62).div_ceil(100)
}

impl Chart {
    /// The last `days` days up to `today`, missing days as zero.
    pub(crate) fn new(stats: &[DayDownloads], today: NaiveDate, days: i64) -> Self {
        let (width, height, top, bottom) = (600u32, 220u32, 10u32, 34u32);
        let plot = height - top - bottom;
        let series: Vec<(NaiveDate, u64)> = (0..days.max(1))
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
        let count = u32::try_from(series.len()).unwrap_or(1);
        let max = series.iter().map(|(_, c)| *c).max().unwrap_or(0).max(1);
        let slot = (width / count).max(1);
        // Labels every `step` days counted back from today (today is always labelled), with a
        // label's width of space between neighbours; every other one is minor.
        let gap = |font: u32| 2 * label_width(font);
        let minor_step = gap(LABEL_FONT.0).div_ceil(slot).max(1);
        let major_step = gap(LABEL_FONT.1).div_ceil(slot).max(1).div_ceil(minor_step) * minor_step;
        let mut bars = Vec::new();
        let mut labels = Vec::new();
        for (i, (day, downloads)) in series.iter().enumerate() {
            let i = u32::try_from(i).unwrap_or(0);
            let bar_height = u32::try_from(u64::from(plot) * downloads / max).unwrap_or(plot);
            bars.push(Bar {
                x: i * slot + 1,
                y: top + plot - bar_height,
                width: slot.saturating_sub(2).max(1),
                height: bar_height,
                title: format!("{day}: {downloads}"),
            });
            let back = count - 1 - i;
            if back % minor_step != 0 {
                continue;
            }
            let centre = i * slot + slot / 2;
            let half = label_width(LABEL_FONT.1).div_ceil(2);
            let (x, anchor) = if centre < half {
                (i * slot, "start")
            } else if centre + half > width {
                ((i + 1) * slot, "end")
            } else {
                (centre, "middle")
            };
            labels.push(Label {
                x,
                y: height - 8,
                anchor,
                minor: back % major_step != 0,
                text: day.format("%-d %b").to_string(),
            });
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
        assert_eq!(chart.bars[27].height, 176);
        assert_eq!(chart.bars[29].height, 88);
        assert_eq!(chart.bars[0].height, 0);
        assert_eq!(chart.rows[0], ("2024-03-30".to_owned(), 2));
        assert_eq!(chart.labels.last().unwrap().text, "30 Mar");
    }

    /// The extent a label is drawn over at `font`.
    fn extent(label: &Label, font: u32) -> (u32, u32) {
        let w = label_width(font);
        match label.anchor {
            "start" => (label.x, label.x + w),
            "end" => (label.x - w, label.x),
            _ => (label.x - w / 2, label.x + w.div_ceil(2)),
        }
    }

    #[test]
    fn labels_stay_inside_the_chart_and_apart_at_any_range_and_size() {
        let today = NaiveDate::from_ymd_opt(2024, 1, 3).unwrap();
        for days in [1, 2, 7, 14, 30, 31, 60, 90, 365] {
            let chart = Chart::new(&[], today, days);
            for (font, narrow) in [(LABEL_FONT.0, false), (LABEL_FONT.1, true)] {
                let shown: Vec<_> = chart
                    .labels
                    .iter()
                    .filter(|l| !(narrow && l.minor))
                    .map(|l| extent(l, font))
                    .collect();
                assert!(!shown.is_empty(), "{days} days");
                for (start, end) in &shown {
                    assert!(*end <= chart.width, "{days} days: {start}..{end}");
                }
                for pair in shown.windows(2) {
                    assert!(pair[0].1 < pair[1].0, "{days} days, font {font}: {pair:?}");
                }
            }
        }
    }
}
