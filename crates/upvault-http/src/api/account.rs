//! `/account/info` and `/account/package`.

use super::{authenticate, success};
use crate::error::ApiResult;
use crate::params::Params;
use crate::AppState;
use axum::extract::State;
use axum::response::Response;

/// The caller's account.
pub(super) async fn info(State(state): State<AppState>, params: Params) -> ApiResult<Response> {
    let account = authenticate(&state, &params).await?;
    let account = state.services.accounts.account(account).await?;
    Ok(success(None, Some(state.present.account(&account))))
}

/// The caller's package and its limits.
pub(super) async fn package(State(state): State<AppState>, params: Params) -> ApiResult<Response> {
    let account = authenticate(&state, &params).await?;
    let package = state.services.accounts.package_of(account).await?;
    Ok(success(None, Some(state.present.package(&package))))
}
