//! The File Upload API v2 over HTTP.
//!
//! Thin axum handlers: each parses its parameters, calls one service of `upvault-core` and
//! presents the result as the wire objects of `upvault-proto`. Errors become the documented
//! envelope in one place ([`error`]); no handler holds a business rule, SQL or a blob call.

mod api;
pub mod client_ip;
pub mod download;
pub mod error;
mod middleware;
pub mod params;
pub mod present;
pub mod rate;
pub mod serve;
mod upload;

use axum::Router;
use std::sync::Arc;
use upvault_core::ports::RateLimiter;
use upvault_core::service::Services;

pub use client_ip::{ClientIp, TrustedProxies};
pub use error::ApiError;
pub use present::Presenter;
pub use rate::{MemoryRateLimiter, RateLimitConfig};

/// HTTP-level settings.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The public base URL, without a trailing slash (`https://files.example.com`).
    pub public_url: String,
    /// The site name shown in `url_html` and pages.
    pub site_name: String,
    /// SPEC.md §1: send documented errors with 400/401/404 instead of 200.
    pub http_error_codes: bool,
    /// Largest non-upload request body, in bytes.
    pub max_form_bytes: usize,
    /// Most multipart parts in one request.
    pub max_multipart_parts: usize,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// Requests per minute per client and per token.
    pub rate_limit: RateLimitConfig,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            site_name: "upvault".into(),
            http_error_codes: false,
            max_form_bytes: 1024 * 1024,
            max_multipart_parts: 64,
            trusted_proxies: TrustedProxies::default(),
            rate_limit: RateLimitConfig::default(),
        }
    }
}

/// What every handler can reach: one reference, since axum clones the state several times for
/// every request (each middleware, each extractor that needs it).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// The contents of [`AppState`].
pub struct Shared {
    /// The domain services.
    pub services: Services,
    /// HTTP settings.
    pub config: HttpConfig,
    /// Turns domain objects into wire objects.
    pub present: Presenter,
    /// Request-rate counters.
    pub limiter: Arc<dyn RateLimiter>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// Builds the state from the services and the HTTP settings, counting requests with
    /// `limiter` ([`MemoryRateLimiter`], or the shared database's for several instances).
    pub fn new(services: Services, config: HttpConfig, limiter: Arc<dyn RateLimiter>) -> Self {
        let present = Presenter::new(&config.public_url, &config.site_name);
        Self(Arc::new(Shared {
            services,
            config,
            present,
            limiter,
        }))
    }
}

/// The whole HTTP surface of the API: [`api_router`] and [`download_router`].
pub fn router(state: AppState) -> Router {
    api_router(state.clone()).merge(download_router(state))
}

/// `/api/v2/*`, each request counted per client address, its error status settled and logged
/// ([`middleware::RequestLayer`]).
pub fn api_router(state: AppState) -> Router {
    api::routes(state.clone())
        .layer(middleware::RequestLayer::api(state.clone()))
        .with_state(state)
}

/// The download URLs, their error status settled and logged. The composition adds the pages'
/// rate limit and [`download::FilePages`]; keeping them off the API's routes spares every API
/// request two middlewares.
pub fn download_router(state: AppState) -> Router {
    download::routes()
        .layer(middleware::RequestLayer::download(state.clone()))
        .with_state(state)
}
