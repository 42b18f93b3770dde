//! upvault's public pages (SPEC.md §5): what a person gets when opening the URLs the API hands
//! out.
//!
//! - `/{short_url}` (and `/{short_url}/{anything}`): the file page, with a download button that
//!   works without JavaScript;
//! - `/{short_url}~i?{delete_hash}`, `~d?{delete_hash}`: the owner's info and delete pages;
//! - `/{short_url}~s`: public download statistics with a server-rendered SVG chart;
//! - `/{short_url}~p`: the preview of a raster image (sandboxed, never HTML/SVG);
//! - `/{short_url}~g?t={ticket}`: the download itself, under the visitor's package limits;
//! - `/folder/{id}/{name}`: the folder page, behind its access password if it has one;
//! - `/login`, `/logout`: a page session, so downloads follow the account's package.
//!
//! Handlers are thin: they read the request (visitor, grants, form), make one call to
//! [`PublicService`], and render an askama template (auto-escaped). Every page is sent with a
//! strict CSP and no inline script or style. This crate holds no rule of its own.

mod context;
mod csrf;
mod pages;
mod views;

use axum::extract::{FromRef, FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{any, get, post};
use axum::Router;
use http::{header, HeaderValue};
use std::sync::Arc;
use upvault_core::service::PublicService;
use upvault_http::{AppState, ClientIp};

pub use csrf::protect_forms;

/// The pages' Content-Security-Policy: nothing but our own stylesheet, images and one script
/// (the optional countdown); no inline script or style, no framing, forms only to us.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                            img-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                            base-uri 'none'";

/// Settings of the pages.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Shown in every page's header and title.
    pub site_name: String,
    /// Base of absolute links (owner page), without a trailing slash.
    pub public_url: String,
    /// Mark cookies `Secure` (on when `public_url` is https).
    pub secure_cookies: bool,
    /// Max-Age of a folder-password grant cookie (the grant itself expires inside).
    pub grant_cookie_secs: i64,
    /// Max-Age of the page session cookie.
    pub session_cookie_secs: i64,
}

/// What the page handlers reach.
#[derive(Clone)]
pub struct WebState {
    /// The API's state (services, and what `serve_file` needs).
    pub api: AppState,
    /// The public pages' rules (one reference: the state is cloned for every request).
    pub public: Arc<PublicService>,
    /// Settings.
    pub config: Arc<WebConfig>,
    /// The API router alone: `/api/...` paths that match no API route would otherwise match
    /// `/{short_url}/{name}`; they are handed back to it for its unknown-endpoint answer.
    pub api_router: Option<Router>,
}

impl WebState {
    /// Builds the pages' state.
    pub fn new(api: AppState, public: PublicService, config: WebConfig) -> Self {
        Self {
            api,
            public: Arc::new(public),
            config: Arc::new(config),
            api_router: None,
        }
    }

    /// Hands unknown `/api/...` paths to `api` (see [`WebState::api_router`]).
    pub fn with_api_router(mut self, api: Router) -> Self {
        self.api_router = Some(api);
        self
    }
}

impl FromRef<WebState> for AppState {
    fn from_ref(state: &WebState) -> AppState {
        state.api.clone()
    }
}

/// Counts page requests per client address (`[rate_limit] pages_per_ip_per_minute`): every
/// path but the API's (counted by the API) and the stylesheet and script (a page load is one
/// request). Direct download URLs count once each, however long the transfer. Over the limit
/// the answer is a small 429 page with `Retry-After`.
pub async fn limit_pages(
    State(state): State<WebState>,
    ip: ClientIp,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if path.starts_with("/api/") || path.starts_with("/static/") {
        return next.run(request).await;
    }
    let limit = state.api.config.rate_limit.pages_per_ip;
    match upvault_http::rate::check(&state.api, "page-ip", || ip.counter_key(), limit).await {
        Ok(()) => next.run(request).await,
        Err(upvault_core::Error::RateLimited(secs)) => {
            tracing::warn!("page request rate limited");
            let mut response = pages::rate_limited(&state, secs);
            security_headers(&mut response);
            response
        }
        Err(_) => next.run(request).await,
    }
}

/// Every page route except `GET /{short_url}`, which the API's download route shares and
/// hands over (see [`file_pages`]); merge this with the API router.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/{short_url}", post(pages::post_code))
        .route("/{short_url}/{*name}", any(pages::get_named))
        .route(
            "/folder/{id}",
            get(pages::folder_page).post(pages::folder_unlock),
        )
        .route(
            "/folder/{id}/{*name}",
            get(pages::folder_page_named).post(pages::folder_unlock_named),
        )
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", get(pages::logout_form).post(pages::logout))
        .route("/static/{name}", get(pages::static_file))
        .layer(axum::middleware::from_fn(page_headers))
        .with_state(state)
}

/// `GET /{short_url}` without a download token: the file page and its `~` variants. The
/// composition installs it as [`upvault_http::download::FilePages`].
pub fn file_pages(state: WebState) -> Router {
    Router::new()
        .route("/{short_url}", get(pages::get_code))
        .layer(axum::middleware::from_fn(page_headers))
        .with_state(state)
}

/// Every error of a page route as a styled page: a wrong method, a path or form that does not
/// parse, or no route at all would otherwise answer a bare status or plain text. Downloads
/// (their own answers, e.g. 416) and the API's envelope pass untouched; so does an answer that
/// is already a page.
pub async fn styled_errors(
    State(state): State<WebState>,
    request: Request,
    next: Next,
) -> Response {
    if not_a_page(request.uri()) || is_download(request.uri()) {
        return next.run(request).await;
    }
    // Who asked is read only when the page has to be replaced (it costs a session lookup).
    let (parts, body) = request.into_parts();
    let mut asked = http::Request::new(());
    *asked.uri_mut() = parts.uri.clone();
    *asked.headers_mut() = parts.headers.clone();
    *asked.extensions_mut() = parts.extensions.clone();
    let response = next.run(Request::from_parts(parts, body)).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_html(&response) {
        return response;
    }
    let (mut asked, ()) = asked.into_parts();
    let Ok(ctx) = context::PageContext::from_request_parts(&mut asked, &state).await;
    let mut page = pages::error_page(&state, &ctx, status);
    // Keep what the status promises a client (`Allow` of a 405, `Retry-After`).
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = response.headers().get(&name) {
            page.headers_mut().insert(name, value.clone());
        }
    }
    security_headers(&mut page);
    page
}

/// The API's paths and the built-in assets: never a page of ours.
fn not_a_page(uri: &http::Uri) -> bool {
    let path = uri.path();
    path.starts_with("/api/") || path.starts_with("/static/")
}

/// A download (`~g`, `?download_token=`): bytes, unless it is refused.
fn is_download(uri: &http::Uri) -> bool {
    uri.path().contains("~g") || uri.query().unwrap_or_default().contains("download_token=")
}

/// Whether an answer is an HTML page.
fn is_html(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

/// Security headers of every page; responses that set their own CSP (downloads, previews)
/// keep it.
async fn page_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    security_headers(&mut response);
    response
}

fn security_headers(response: &mut Response) {
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_CSP),
        );
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Owner pages carry the delete hash in their URL: never send it on as a referrer.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}
