//! `/authorize` and `/disable_access_token` (SPEC.md §2).

use super::{success, ApiParams};
use crate::client_ip::ClientIp;
use crate::error::{ApiError, ApiResult, ErrorClass};
use crate::AppState;
use axum::extract::State;
use axum::response::Response;
use upvault_core::Error;
use upvault_proto::messages;
use upvault_proto::objects::AuthorizeData;
use upvault_proto::requests::{AuthorizeRequest, DisableAccessTokenRequest};

/// `key1` + `key2`, or `username` + `password`. A login that fails says only that (never which
/// half); the shape checks before it are the real server's (SPEC.md §7): keys of 64
/// characters, a password with a username. Without a username the key pair is asked for, as
/// the real server's default (`API Keys`) does.
pub(super) async fn authorize(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiParams { request, .. }: ApiParams<AuthorizeRequest>,
) -> ApiResult<Response> {
    let ip = ip.to_string();
    let auth = &state.services.auth;
    let with_keys = request.key1.is_some() || request.key2.is_some() || request.username.is_none();
    let issued = if with_keys {
        let key1 = full_key(request.key1.as_deref(), messages::KEY1_LENGTH)?;
        let key2 = full_key(request.key2.as_deref(), messages::KEY2_LENGTH)?;
        auth.authorize_with_key(key1, key2, &ip)
            .await
            .map_err(|err| match err {
                Error::AuthFailed => {
                    ApiError::new(ErrorClass::Unauthorized, messages::AUTH_FAILED_KEYS)
                }
                err => err.into(),
            })
    } else {
        let username = request.username.as_deref().unwrap_or_default();
        let password = request
            .password
            .as_deref()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| ApiError::bad_param(messages::MISSING_PASSWORD))?;
        auth.authorize_with_password(username, password, &ip)
            .await
            .map_err(ApiError::from)
    };
    let (token, account) = issued?;
    Ok(success(
        None,
        Some(AuthorizeData {
            access_token: token,
            account_id: account.to_string(),
        }),
    ))
}

/// A key of the 64 characters every key pair has, or `message`.
fn full_key<'a>(key: Option<&'a str>, message: &'static str) -> Result<&'a str, ApiError> {
    key.filter(|k| k.chars().count() == 64)
        .ok_or_else(|| ApiError::bad_param(message))
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
