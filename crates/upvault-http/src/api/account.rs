//! `/account/info` and `/account/package`.

use super::{success, Authed};
use crate::error::ApiResult;
use crate::AppState;
use axum::extract::State;
use axum::response::Response;
use upvault_proto::requests::{AccountInfoRequest, AccountPackageRequest};

/// The caller's account.
pub(super) async fn info(
    State(state): State<AppState>,
    call: Authed<AccountInfoRequest>,
) -> ApiResult<Response> {
    let account = state.services.accounts.account(call.account).await?;
    Ok(success(None, Some(state.present.account(&account))))
}

/// The caller's package and its limits.
pub(super) async fn package(
    State(state): State<AppState>,
    call: Authed<AccountPackageRequest>,
) -> ApiResult<Response> {
    let package = state.services.accounts.package_of(call.account).await?;
    Ok(success(None, Some(state.present.package(&package))))
}
