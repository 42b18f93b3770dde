//! The one middleware of each router: the API's counts a request per client address, both
//! settle the error status and write one log line per request: method, matched route (never the
//! raw URI, whose query may carry `access_token` or `download_token`), status and latency.
//!
//! The log line is a plain event rather than tower-http's `TraceLayer`: its span per request
//! (allocated, formatted, entered on every poll) cost about a seventh of the throughput of a
//! small API call. The middleware is a tower layer rather than `axum::middleware::from_fn`,
//! which clones and boxes the service under it and boxes its future again, on every request.

use crate::client_ip::ClientIp;
use crate::error::{settle_status, watch_of, ApiError};
use crate::AppState;
use axum::extract::{MatchedPath, Request};
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::Instant;
use tower::{Layer, Service};
use tracing::info;

/// The middleware of a router.
#[derive(Clone)]
pub(crate) struct RequestLayer {
    state: AppState,
    /// API requests are counted per client address; downloads are limited by the pages' layer.
    count_per_address: bool,
}

impl RequestLayer {
    /// Every API request: counted per client address, its error status settled
    /// ([`settle_status`]), and logged.
    pub(crate) fn api(state: AppState) -> Self {
        Self {
            state,
            count_per_address: true,
        }
    }

    /// A download URL: its error status settled and logged.
    pub(crate) fn download(state: AppState) -> Self {
        Self {
            state,
            count_per_address: false,
        }
    }
}

impl<S> Layer<S> for RequestLayer {
    type Service = RequestService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestService {
            inner,
            layer: self.clone(),
        }
    }
}

/// [`RequestLayer`] around one route.
#[derive(Clone)]
pub(crate) struct RequestService<S> {
    inner: S,
    layer: RequestLayer,
}

impl<S> Service<Request> for RequestService<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let state = self.layer.state.clone();
        let line = RequestLine::start(&request);
        let watch = watch_of(&request);
        let (mut parts, body) = request.into_parts();
        let client = self
            .layer
            .count_per_address
            .then(|| ClientIp::resolve(&mut parts.extensions, &parts.headers, &state));
        let request = Request::from_parts(parts, body);
        // Nothing of the handler runs until its future is polled, which only happens once the
        // request has been counted.
        let handler = self.inner.call(request);
        Box::pin(async move {
            let counted = match client {
                Some(ip) => {
                    let limit = state.config.rate_limit.api_per_ip;
                    crate::rate::check(&state, "api-ip", || ip.counter_key(), limit).await
                }
                None => Ok(()),
            };
            let response = match counted {
                Ok(()) => match handler.await {
                    Ok(response) => response,
                    Err(never) => match never {},
                },
                Err(err) => ApiError::from(err).into_response(),
            };
            Ok(line.finish(settle_status(&state, watch, response)))
        })
    }
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
