//! Cross-site request forgery: every state-changing page form (log in, log out, delete, unlock
//! a folder, and whatever the web app adds) carries the browser's form token, which must match
//! its `uv_csrf` cookie (signed double submit). A page on another site can make a browser POST
//! here, with its cookies, but can neither read the cookie nor forge a signed token, so the
//! field never matches. One layer checks every POST of the page routes; handlers know nothing.

use crate::context::{cookie, set_cookie};
use crate::WebState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{header, HeaderValue, Method};

/// The cookie holding the browser's form token.
pub(crate) const CSRF_COOKIE: &str = "uv_csrf";
/// The hidden field every form sends it back in.
pub(crate) const CSRF_FIELD: &str = "csrf";
/// The largest page form read to find the token.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The form token of this request's browser, for the templates (an extension).
#[derive(Debug, Clone)]
pub(crate) struct FormToken(pub(crate) String);

/// Checks the token of every POST to a page route, and hands every page its browser's token,
/// issuing a cookie to a browser that has none (or a forged one). The API and the assets pass
/// untouched; downloads get no new token (they are bytes, and a browser that downloads from
/// a page holds its cookie already), so a cookieless download costs nothing here.
pub async fn protect_forms(
    State(state): State<WebState>,
    request: Request,
    next: Next,
) -> Response {
    if crate::not_a_page(request.uri()) {
        return next.run(request).await;
    }
    let download = crate::is_download(request.uri());
    let presented = cookie(request.headers(), CSRF_COOKIE);
    let valid = match &presented {
        Some(token) => state.public.form_token_valid(token).await.unwrap_or(false),
        None => false,
    };
    let (mut parts, body) = request.into_parts();
    let body = if parts.method == Method::POST {
        let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
            return crate::pages::form_refused(&state, http::StatusCode::PAYLOAD_TOO_LARGE);
        };
        let sent = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()
            .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == CSRF_FIELD))
            .map(|(_, v)| v);
        let matches = valid && sent.is_some() && sent == presented;
        if !matches {
            tracing::warn!("page form refused: missing or wrong form token");
            return crate::pages::form_refused(&state, http::StatusCode::FORBIDDEN);
        }
        Body::from(bytes)
    } else {
        body
    };
    let (token, issued) = match presented.filter(|_| valid) {
        Some(token) => (token, false),
        None if download => (String::new(), false),
        None => match state.public.new_form_token().await {
            Ok(token) => (token, true),
            Err(err) => {
                tracing::error!(%err, "could not issue a form token");
                (String::new(), false)
            }
        },
    };
    parts.extensions.insert(FormToken(token.clone()));
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if issued && crate::is_html(&response) {
        let value = set_cookie(
            CSRF_COOKIE,
            &token,
            state.config.session_cookie_secs,
            state.config.secure_cookies,
        );
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}
