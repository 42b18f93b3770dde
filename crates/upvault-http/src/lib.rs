//! The File Upload API v2 over HTTP.
//!
//! Thin axum handlers: each parses its parameters, calls one service of `upvault-core` and
//! presents the result as the wire objects of `upvault-proto`. Errors become the documented
//! envelope in one place ([`error`]); no handler holds a business rule, SQL or a blob call.

mod api;
pub mod download;
pub mod error;
pub mod params;
pub mod present;
mod trace;
mod upload;

use axum::Router;
use std::sync::Arc;
use upvault_core::service::Services;

pub use error::ApiError;
pub use present::Presenter;

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
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            site_name: "upvault".into(),
            http_error_codes: false,
            max_form_bytes: 1024 * 1024,
            max_multipart_parts: 64,
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The domain services.
    pub services: Services,
    /// HTTP settings.
    pub config: Arc<HttpConfig>,
    /// Turns domain objects into wire objects.
    pub present: Arc<Presenter>,
}

impl AppState {
    /// Builds the state from the services and the HTTP settings.
    pub fn new(services: Services, config: HttpConfig) -> Self {
        let present = Arc::new(Presenter::new(&config.public_url, &config.site_name));
        Self {
            services,
            config: Arc::new(config),
            present,
        }
    }
}

/// The whole HTTP surface of the API: `/api/v2/*` and the download URLs, with request logging
/// and the error-status middleware.
pub fn router(state: AppState) -> Router {
    Router::new()
        .nest("/api/v2", api::routes(state.clone()))
        .merge(download::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            error::set_error_status,
        ))
        .layer(trace::layer())
        .with_state(state)
}
