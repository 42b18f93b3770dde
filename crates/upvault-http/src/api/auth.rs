//! `/authorize` and `/disable_access_token` (SPEC.md §2).

use super::{success, ApiParams};
use crate::client_ip::ClientIp;
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use axum::extract::State;
use axum::response::Response;
use upvault_core::Error;
use upvault_proto::messages;
use upvault_proto::objects::AuthorizeData;
use upvault_proto::requests::{AuthorizeRequest, DisableAccessTokenRequest};

/// `key1` + `key2`, or `username` + `password`; any failure is the one documented message.
pub(super) async fn authorize(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiParams { request, .. }: ApiParams<AuthorizeRequest>,
) -> ApiResult<Response> {
    let ip = ip.to_string();
    let auth = &state.services.auth;
    let issued = match (
        request.key1.as_deref(),
        request.key2.as_deref(),
        request.username.as_deref(),
        request.password.as_deref(),
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
    ApiParams { params, .. }: ApiParams<DisableAccessTokenRequest>,
) -> ApiResult<Response> {
    // The service answers missing and bad credentials itself: a token that is already gone
    // is still "removed".
    let (token, account) = params.credentials();
    if let Some(token) = token {
        crate::rate::check_token(&state, token).await?;
    }
    state.services.auth.disable(token, account).await?;
    Ok(success::<()>(Some(messages::TOKEN_REMOVED), None))
}
