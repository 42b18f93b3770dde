//! The one middleware of each router: the API's counts a request per client address, both
//! settle the error status and write one log line per request: method, matched route (never the
//! raw URI, whose query may carry `access_token` or `download_token`), status and latency. Both
//! run the handler in read scopes ([`snapshot::scoped`]): the reads of one poll, such as a
//! token and then its file, share one database snapshot.
//!
//! The log line is a plain event rather than tower-http's `TraceLayer`: its span per request
//! (allocated, formatted, entered on every poll) cost about a seventh of the throughput of a
//! small API call.

use crate::client_ip::ClientIp;
use crate::error::{settle_status, stall_of, ApiError};
use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;
use tracing::info;
use upvault_core::snapshot;

/// Every API request: counted per client address, its error status settled
/// ([`settle_status`]), and logged. One middleware rather than three: each layer costs every
/// request a boxed future and a clone of the service under it.
pub(crate) async fn api_request(
    State(state): State<AppState>,
    ip: ClientIp,
    request: Request,
    next: Next,
) -> Response {
    let line = RequestLine::start(&request);
    let stall = stall_of(&request);
    let limit = state.config.rate_limit.api_per_ip;
    let counted = crate::rate::check(&state, "api-ip", || ip.counter_key(), limit).await;
    let response = match counted {
        Ok(()) => snapshot::scoped(next.run(request)).await,
        Err(err) => ApiError::from(err).into_response(),
    };
    line.finish(settle_status(&state, stall, response))
}

/// A download URL: its error status settled and logged (the pages' rate limit is the
/// composition's).
pub(crate) async fn download_request(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let line = RequestLine::start(&request);
    let stall = stall_of(&request);
    let response = snapshot::scoped(next.run(request)).await;
    line.finish(settle_status(&state, stall, response))
}

/// What the log line says of the request, taken before it is handed on.
struct RequestLine {
    started: Instant,
    method: http::Method,
    route: Option<MatchedPath>,
}

impl RequestLine {
    fn start(request: &Request) -> Self {
        Self {
            started: Instant::now(),
            method: request.method().clone(),
            route: request.extensions().get::<MatchedPath>().cloned(),
        }
    }

    fn finish(self, response: Response) -> Response {
        info!(
            method = %self.method,
            route = %self.route.as_ref().map_or("<unmatched>", MatchedPath::as_str),
            status = response.status().as_u16(),
            latency_us = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX),
            "request"
        );
        response
    }
}
