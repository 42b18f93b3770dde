//! One log line per request: method, matched route (never the raw URI, whose query may carry
//! `access_token` or `download_token`), status and latency.

use axum::extract::MatchedPath;
use http::Request;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::{info_span, Level, Span};

type MakeSpan = fn(&Request<axum::body::Body>) -> Span;

pub(crate) fn layer() -> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, MakeSpan> {
    TraceLayer::new_for_http()
        .make_span_with(span as MakeSpan)
        .on_response(
            DefaultOnResponse::new()
                .level(Level::INFO)
                .latency_unit(tower_http::LatencyUnit::Micros),
        )
}

fn span(request: &Request<axum::body::Body>) -> Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("<unmatched>", MatchedPath::as_str);
    info_span!("request", method = %request.method(), route = %route)
}
