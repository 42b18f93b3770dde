//! Who is asking: address, page session and folder grants, read from the connection and the
//! cookies; and the cookies the pages set.

use crate::WebState;
use axum::extract::FromRequestParts;
use http::request::Parts;
use http::{header, HeaderMap};
use upvault_core::service::{Grants, Visitor};
use upvault_core::FolderId;
use upvault_http::ClientIp;

/// The page session cookie.
pub(crate) const SESSION_COOKIE: &str = "uv_session";
/// Folder grants are `uv_folder_{id}`: one cookie per folder, so each is scoped to its folder.
pub(crate) const GRANT_COOKIE_PREFIX: &str = "uv_folder_";

/// The visitor of a page request.
pub(crate) struct PageContext {
    /// The client's address (limits and guess counters of guests are kept per address).
    pub(crate) address: String,
    /// Guest or signed-in account.
    pub(crate) visitor: Visitor,
    /// Folder-password grants presented.
    pub(crate) grants: Grants,
    /// The signed-in account's name.
    pub(crate) user: Option<String>,
    /// The browser's form token, for the hidden field of every form.
    pub(crate) form_token: String,
}

impl FromRequestParts<WebState> for PageContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        // The client as the API sees it: the peer, or what a trusted proxy says; never a header
        // any client can set, which would let a guest pick a fresh identity for every download.
        let Ok(ClientIp(ip)) = ClientIp::from_request_parts(parts, state).await;
        let address = ip.to_string();
        let session = cookie(&parts.headers, SESSION_COOKIE);
        let visitor = match state
            .api
            .services
            .auth
            .page_visitor(session.as_deref(), &address)
            .await
        {
            Ok(visitor) => visitor,
            Err(err) => {
                tracing::warn!(%err, "could not read a page session");
                Visitor::Guest(address.clone())
            }
        };
        let user = state
            .api
            .services
            .auth
            .visitor_name(&visitor)
            .await
            .unwrap_or(None);
        let grants = Grants::new(cookies(&parts.headers).filter_map(|(name, value)| {
            let id = FolderId::parse(name.strip_prefix(GRANT_COOKIE_PREFIX)?)?;
            Some((id, value))
        }));
        let form_token = parts
            .extensions
            .get::<crate::csrf::FormToken>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        Ok(Self {
            address,
            visitor,
            grants,
            user,
            form_token,
        })
    }
}

/// Every `name=value` of the `Cookie` headers.
fn cookies(headers: &HeaderMap) -> impl Iterator<Item = (String, String)> + '_ {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            Some((name.trim().to_owned(), value.trim().to_owned()))
        })
}

pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    cookies(headers).find(|(n, _)| n == name).map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, whole site, `Secure` over https.
pub(crate) fn set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}")
}
