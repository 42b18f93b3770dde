//! `/authorize` and `/disable_access_token` (SPEC.md §2).

use super::success;
use crate::client_ip::ClientIp;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::AppState;
use axum::extract::State;
use axum::response::Response;
use upvault_core::Error;
use upvault_proto::messages;
use upvault_proto::objects::AuthorizeData;

/// `key1` + `key2`, or `username` + `password`; any failure is the one documented message.
pub(super) async fn authorize(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    params: Params,
) -> ApiResult<Response> {
    let ip = ip.to_string();
    let auth = &state.services.auth;
    let issued = match (
        params.get("key1"),
        params.get("key2"),
        params.get("username"),
        params.raw("password"),
    ) {
        (Some(key1), Some(key2), _, _) => auth.authorize_with_key(key1, key2, &ip).await,
        (_, _, Some(username), Some(password)) if !password.is_empty() => {
            auth.authorize_with_password(username, password, &ip).await
        }
        _ => Err(Error::AuthFailed),
    };
    let (token, account) = issued.map_err(ApiError::from)?;
    Ok(success(
        None,
        Some(AuthorizeData {
            access_token: token,
            account_id: account.to_string(),
        }),
    ))
}

/// Revokes the token given.
pub(super) async fn disable_access_token(
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<Response> {
    let (token, account) = params.credentials();
    if let Some(token) = token {
        crate::rate::check_token(&state, token).await?;
    }
    state.services.auth.disable(token, account).await?;
    Ok(success::<()>(Some(messages::TOKEN_REMOVED), None))
}
