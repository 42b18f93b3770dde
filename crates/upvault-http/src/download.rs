//! Serving a file's bytes: `/{short_url}?download_token=…` (SPEC.md §4, §5).
//!
//! Streaming with `Range` (single ranges, suffix ranges included), `HEAD`, `ETag`,
//! `Last-Modified` and conditional requests, and an RFC 6266 `Content-Disposition` for any UTF-8
//! name. Downloads are always attachments with `nosniff` and a sandboxing CSP, so content from
//! users is never rendered on the site's origin. A download counts once: when a response that
//! starts at byte 0 has been streamed to its end (resumed ranges of it do not count again).

use crate::AppState;
use axum::body::Body;
use axum::extract::{RawQuery, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, UNIX_EPOCH};
use tower::ServiceExt;
use tracing::warn;
use upvault_core::model::{ByteRange, File};
use upvault_core::ports::ByteStream;
use upvault_core::Error;

/// RFC 5987 `attr-char`: what may stay unescaped in `filename*`.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// The download route. The same URLs without a token are the public file pages: when the
/// composition installs them as a [`FilePages`] request extension, such requests go there;
/// without it they are a plain 404.
pub fn routes() -> Router<AppState> {
    Router::new().route("/{short_url}", get(download))
}

/// The service that answers `GET /{short_url}` without a `download_token` (the public file
/// pages), handed to the download route as a request extension so that this crate needs no
/// dependency on the pages.
#[derive(Clone)]
pub struct FilePages(pub Router);

/// Marks a request handed to the [`FilePages`] because its `download_token` is unknown or
/// expired: the pages answer with the styled "link expired" page.
#[derive(Debug, Clone, Copy)]
pub struct ExpiredDownloadLink;

#[derive(Debug, Default, Deserialize)]
struct DownloadQuery {
    download_token: Option<String>,
}

async fn download(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    request: Request,
) -> Response {
    // From the URI, lossily: a path that is not UTF-8 names no file, and the pages say so.
    let short_url =
        percent_encoding::percent_decode_str(request.uri().path().trim_start_matches('/'))
            .decode_utf8_lossy()
            .into_owned();
    // Lenient: the page URLs carry bare delete hashes (`~d?{hash}`) as their query.
    let query: DownloadQuery = raw
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let Some(token) = query.download_token.filter(|t| !t.is_empty()) else {
        return to_pages(request, "Not found.").await;
    };
    let (method, headers) = (request.method().clone(), request.headers().clone());
    match state
        .services
        .files
        .resolve_download(&short_url, &token)
        .await
    {
        Ok(file) => {
            let files = state.services.files.clone();
            let on_complete = move |file: &File| {
                let id = file.id;
                tokio::spawn(async move {
                    if let Err(err) = files.record_download(id).await {
                        warn!(%err, "could not count a download");
                    }
                });
            };
            serve_file(&state, &file, &method, &headers, on_complete).await
        }
        Err(Error::NotFound(_)) => {
            let mut request = request;
            request.extensions_mut().insert(ExpiredDownloadLink);
            to_pages(
                request,
                "This download link is invalid or has expired. Ask for a new one.",
            )
            .await
        }
        Err(err) => {
            warn!(%err, "download failed");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error.")
        }
    }
}

/// Hands a request to the [`FilePages`], or answers a plain 404 with `text` without them.
async fn to_pages(request: Request, text: &'static str) -> Response {
    match request.extensions().get::<FilePages>().cloned() {
        Some(FilePages(pages)) => match pages.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        },
        None => plain(StatusCode::NOT_FOUND, text),
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

/// What a `Range` header asks for, against a file of a given size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    /// No (usable) range: the whole file.
    Full,
    /// One satisfiable range.
    Partial(ByteRange),
    /// A range that lies outside the file: 416.
    Unsatisfiable,
}

/// Parses `Range: bytes=a-b | a- | -n`. Several ranges are answered with the whole file
/// (allowed by RFC 9110 §14.2); anything malformed is ignored, as the RFC asks.
pub fn parse_range(value: Option<&str>, size: u64) -> RangeRequest {
    let Some(spec) = value.and_then(|v| v.trim().strip_prefix("bytes=")) else {
        return RangeRequest::Full;
    };
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((start, end)) = spec.trim().split_once('-') else {
        return RangeRequest::Full;
    };
    let (start, end) = (start.trim(), end.trim());
    let parse = |s: &str| s.parse::<u64>().ok();
    let range = match (start.is_empty(), end.is_empty()) {
        (true, false) => {
            let Some(suffix) = parse(end) else {
                return RangeRequest::Full;
            };
            if suffix == 0 || size == 0 {
                return RangeRequest::Unsatisfiable;
            }
            ByteRange {
                start: size.saturating_sub(suffix),
                end: size - 1,
            }
        }
        (false, _) => {
            let Some(first) = parse(start) else {
                return RangeRequest::Full;
            };
            let last = if end.is_empty() {
                size.saturating_sub(1)
            } else {
                let Some(last) = parse(end) else {
                    return RangeRequest::Full;
                };
                if last < first {
                    return RangeRequest::Full;
                }
                last.min(size.saturating_sub(1))
            };
            if first >= size {
                return RangeRequest::Unsatisfiable;
            }
            ByteRange {
                start: first,
                end: last,
            }
        }
        (true, true) => return RangeRequest::Full,
    };
    RangeRequest::Partial(range)
}

/// `attachment; filename="ascii"; filename*=UTF-8''percent-encoded` (RFC 6266 / RFC 8187).
pub fn content_disposition(filename: &str) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = utf8_percent_encode(filename, ATTR_CHAR);
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// The strong validator of a file's bytes.
pub fn etag(file: &File) -> String {
    format!("\"{}\"", file.blob_key)
}

/// Streams a file with ranges and validators; `on_complete` runs once a response that starts
/// at byte 0 has been sent to its end.
pub async fn serve_file(
    state: &AppState,
    file: &File,
    method: &Method,
    headers: &HeaderMap,
    on_complete: impl FnOnce(&File) + Send + 'static,
) -> Response {
    serve_file_with(
        state,
        file,
        method,
        headers,
        on_complete,
        ServeOptions::default(),
    )
    .await
}

/// How a download from a public page is served beyond [`serve_file`]'s defaults.
#[derive(Default)]
pub struct ServeOptions {
    /// `download_speed`: the body is paced to this many bytes per second.
    pub bytes_per_sec: Option<u64>,
    /// Held until the body is dropped (a `concurrent_downloads` slot).
    pub hold: Option<Box<dyn Send + Sync>>,
}

/// [`serve_file`] with throttling and something held for as long as the body streams.
pub async fn serve_file_with(
    state: &AppState,
    file: &File,
    method: &Method,
    headers: &HeaderMap,
    on_complete: impl FnOnce(&File) + Send + 'static,
    options: ServeOptions,
) -> Response {
    let etag = etag(file);
    let modified =
        UNIX_EPOCH + Duration::from_secs(u64::try_from(file.uploaded_at.timestamp()).unwrap_or(0));
    let last_modified = httpdate::fmt_http_date(modified);
    let header_str = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());

    let not_modified = match header_str(header::IF_NONE_MATCH) {
        Some(tags) => tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"),
        None => header_str(header::IF_MODIFIED_SINCE)
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .is_some_and(|since| since >= modified),
    };
    let mut response_headers = HeaderMap::new();
    let mut put = |name: header::HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            response_headers.insert(name, value);
        }
    };
    put(header::ETAG, &etag);
    put(header::LAST_MODIFIED, &last_modified);
    put(header::ACCEPT_RANGES, "bytes");
    put(header::CACHE_CONTROL, "private, max-age=0, must-revalidate");
    put(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    put(
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; sandbox",
    );
    put(
        header::CONTENT_DISPOSITION,
        &content_disposition(&file.filename),
    );
    let content_type = HeaderValue::from_str(&file.mime_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    response_headers.insert(header::CONTENT_TYPE, content_type);
    if not_modified {
        return (StatusCode::NOT_MODIFIED, response_headers).into_response();
    }

    let size = file.size_bytes;
    let if_range_ok = match header_str(header::IF_RANGE) {
        None => true,
        Some(v) => v.trim() == etag || v.trim() == last_modified,
    };
    let range = if if_range_ok {
        parse_range(header_str(header::RANGE), size)
    } else {
        RangeRequest::Full
    };
    let (status, range) = match range {
        RangeRequest::Full => (StatusCode::OK, None),
        RangeRequest::Partial(r) => (StatusCode::PARTIAL_CONTENT, Some(r)),
        RangeRequest::Unsatisfiable => {
            response_headers.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{size}"))
                    .unwrap_or(HeaderValue::from_static("bytes */0")),
            );
            return (StatusCode::RANGE_NOT_SATISFIABLE, response_headers).into_response();
        }
    };
    let length = range.map_or(size, |r| r.len());
    if let Some(r) = range {
        if let Ok(value) = HeaderValue::from_str(&format!("bytes {}-{}/{size}", r.start, r.end)) {
            response_headers.insert(header::CONTENT_RANGE, value);
        }
    }
    response_headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if method == Method::HEAD {
        return (status, response_headers).into_response();
    }
    let stream = match state.services.files.bytes(file, range).await {
        Ok(stream) => stream,
        Err(err) => {
            warn!(%err, file = %file.id, "could not open a file's bytes");
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error.");
        }
    };
    let counts = range.is_none_or(|r| r.start == 0);
    let file = file.clone();
    let hook: Option<Box<dyn FnOnce() + Send>> =
        counts.then(|| Box::new(move || on_complete(&file)) as Box<dyn FnOnce() + Send>);
    let stream = match options.bytes_per_sec {
        Some(rate) if rate > 0 => throttle(stream, rate),
        _ => stream,
    };
    let body = Body::from_stream(OnComplete {
        inner: stream,
        remaining: length,
        hook,
        _hold: options.hold,
    });
    (status, response_headers, body).into_response()
}

/// Runs a hook once the last of `remaining` bytes has been handed to the server (hyper stops
/// polling a body after `Content-Length` bytes, so the end of the stream is never seen), and
/// not at all when the client goes away before that.
struct OnComplete {
    inner: ByteStream,
    remaining: u64,
    hook: Option<Box<dyn FnOnce() + Send>>,
    _hold: Option<Box<dyn Send + Sync>>,
}

/// Paces a stream to `rate` bytes per second from its first byte: each piece is released when
/// the bytes sent so far are due. Large chunks are cut so the pace stays even.
fn throttle(inner: ByteStream, rate: u64) -> ByteStream {
    let piece = usize::try_from((rate / 8).max(1024)).unwrap_or(usize::MAX);
    let start = tokio::time::Instant::now();
    let state = (inner, 0u64, Bytes::new());
    Box::pin(futures::stream::unfold(
        state,
        move |(mut inner, sent, mut left)| async move {
            if left.is_empty() {
                match inner.next().await? {
                    Ok(chunk) => left = chunk,
                    Err(err) => return Some((Err(err), (inner, sent, left))),
                }
            }
            let chunk = left.split_to(piece.min(left.len()));
            let sent = sent + chunk.len() as u64;
            // Precision: nanoseconds of the whole transfer so far, never rounded per piece.
            let due = Duration::from_nanos(
                u64::try_from(u128::from(sent) * 1_000_000_000 / u128::from(rate))
                    .unwrap_or(u64::MAX),
            );
            tokio::time::sleep_until(start + due).await;
            Some((Ok(chunk), (inner, sent, left)))
        },
    ))
}

impl Stream for OnComplete {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.inner.as_mut().poll_next(cx);
        let finished = match &polled {
            Poll::Ready(Some(Ok(chunk))) => {
                self.remaining = self.remaining.saturating_sub(chunk.len() as u64);
                self.remaining == 0
            }
            Poll::Ready(None) => true,
            _ => false,
        };
        if finished {
            if let Some(hook) = self.hook.take() {
                hook();
            }
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(start: u64, end: u64) -> RangeRequest {
        RangeRequest::Partial(ByteRange { start, end })
    }

    #[test]
    fn ranges() {
        let cases = [
            (None, 100, RangeRequest::Full),
            (Some("bytes=0-0"), 100, r(0, 0)),
            (Some("bytes=10-19"), 100, r(10, 19)),
            (Some("bytes=90-"), 100, r(90, 99)),
            (Some("bytes=-10"), 100, r(90, 99)),
            (Some("bytes=-1000"), 100, r(0, 99)),
            (Some("bytes=50-5000"), 100, r(50, 99)),
            (Some("bytes=100-"), 100, RangeRequest::Unsatisfiable),
            (Some("bytes=-0"), 100, RangeRequest::Unsatisfiable),
            (Some("bytes=5-1"), 100, RangeRequest::Full),
            (Some("bytes=0-1,5-6"), 100, RangeRequest::Full),
            (Some("items=0-1"), 100, RangeRequest::Full),
            (Some("bytes=x-1"), 100, RangeRequest::Full),
        ];
        for (header, size, expected) in cases {
            assert_eq!(parse_range(header, size), expected, "{header:?}");
        }
    }

    #[test]
    fn dispositions_carry_any_utf8_name() {
        assert_eq!(
            content_disposition("a b.txt"),
            "attachment; filename=\"a b.txt\"; filename*=UTF-8''a%20b.txt"
        );
        let value = content_disposition("\"ملف\" 🦀;.txt");
        assert!(value.starts_with("attachment; filename=\"_____ _;.txt\"; filename*=UTF-8''"));
        assert!(value.contains("%F0%9F%A6%80"));
        assert!(HeaderValue::from_str(&value).is_ok());
    }

    /// Found by the `content_disposition` fuzz target: a name that spells the parameter itself
    /// must stay inside the quoted fallback, so the one real `filename*` is the last one.
    #[test]
    fn a_name_spelling_the_parameter_cannot_forge_it() {
        let name = "\u{7f}'!\0filename*=UTF-8''evil\\\".exe";
        let value = content_disposition(name);
        assert!(HeaderValue::from_str(&value).is_ok());
        assert_eq!(value.matches("; filename*=").count(), 1);
        let (_, encoded) = value.rsplit_once("filename*=UTF-8''").unwrap();
        assert!(!encoded.contains(['\'', '=', '*', '"', '\\']));
        let decoded = percent_encoding::percent_decode_str(encoded)
            .decode_utf8()
            .unwrap();
        assert_eq!(decoded, name);
    }
}
