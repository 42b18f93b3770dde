//! `/account/*` and `/package/listing`: the caller's account and package, and what
//! administrators do to every account.

use super::{success, Authed, Reader};
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, NaiveDateTime, Utc};
use upvault_core::model::AccountStatus;
use upvault_core::service::{AccountChanges, AccountDraft, Admin};
use upvault_core::{AccountId, PackageId};
use upvault_proto::messages;
use upvault_proto::objects::PackageListing;
use upvault_proto::requests::*;

/// The caller's account (an administrator's: any account).
pub(super) async fn info(
    State(state): State<AppState>,
    call: Authed<AccountInfoRequest, Reader>,
) -> ApiResult<Response> {
    let account = state.services.accounts.account(call.account.0).await?;
    Ok(success(None, Some(state.present.account(&account))))
}

/// The caller's package and its limits (an administrator's: any account's).
pub(super) async fn package(
    State(state): State<AppState>,
    call: Authed<AccountPackageRequest, Reader>,
) -> ApiResult<Response> {
    let package = state.services.accounts.package_of(call.account.0).await?;
    Ok(success(None, Some(state.present.package(&package))))
}

/// A new user account.
pub(super) async fn create(
    State(state): State<AppState>,
    Authed { account, request }: Authed<AccountCreateRequest, Admin>,
) -> ApiResult<Response> {
    let draft = AccountDraft {
        username: request.username,
        password: request.password,
        email: request.email,
        package: request.package_id.map(PackageId),
        status: request
            .status
            .as_deref()
            .map_or(AccountStatus::Active, status),
        title: request.title.as_deref().map(title).unwrap_or_default(),
        first_name: request.firstname.unwrap_or_default(),
        last_name: request.lastname.unwrap_or_default(),
        paid_expiry_at: expiry(request.paid_expiry_date.as_deref())?,
    };
    let created = state.services.admin.create_account(account, draft).await?;
    Ok(success(
        Some(messages::USER_CREATED),
        Some(state.present.account(&created)),
    ))
}

/// Changes to a user account; blank parameters keep what is there.
pub(super) async fn edit(
    State(state): State<AppState>,
    Authed { account, request }: Authed<AccountEditRequest, Admin>,
) -> ApiResult<Response> {
    let changes = AccountChanges {
        password: request.password,
        email: request.email,
        package: request.package_id.map(PackageId),
        status: request.status.as_deref().map(status),
        title: request.title.as_deref().map(title),
        first_name: request.firstname,
        last_name: request.lastname,
        paid_expiry_at: expiry(request.paid_expiry_date.as_deref())?,
    };
    let edited = state
        .services
        .admin
        .edit_account(account, AccountId(request.account_id), changes)
        .await?;
    Ok(success(
        Some(messages::USER_UPDATED),
        Some(state.present.account(&edited)),
    ))
}

/// Deletes a user account and everything it holds.
pub(super) async fn delete(
    State(state): State<AppState>,
    Authed { account, request }: Authed<AccountDeleteRequest, Admin>,
) -> ApiResult<Response> {
    state
        .services
        .admin
        .delete_account(account, AccountId(request.account_id))
        .await?;
    Ok(success::<()>(Some(messages::USER_DELETED), None))
}

/// The account with a username or email address.
pub(super) async fn find(
    State(state): State<AppState>,
    Authed { account, request }: Authed<AccountFindRequest, Admin>,
) -> ApiResult<Response> {
    let found = state
        .services
        .admin
        .find_account(
            account,
            request.username.as_deref(),
            request.email.as_deref(),
        )
        .await?;
    Ok(success(None, Some(state.present.account(&found))))
}

/// Every package.
pub(super) async fn packages(
    State(state): State<AppState>,
    Authed { account, .. }: Authed<PackageListingRequest, Admin>,
) -> ApiResult<Response> {
    let packages = state.services.admin.packages(account).await?;
    let listing = PackageListing {
        packages: packages.iter().map(|p| state.present.package(p)).collect(),
    };
    Ok(success(None, Some(listing)))
}

/// A sent status; an unknown one is `active`, as on the real server.
fn status(raw: &str) -> AccountStatus {
    AccountStatus::parse(raw).unwrap_or(AccountStatus::Active)
}

/// A sent title: one of the real server's, or else empty.
fn title(raw: &str) -> String {
    match raw {
        "Mr" | "Ms" | "Mrs" | "Miss" | "Dr" => raw.to_owned(),
        _ => String::new(),
    }
}

/// `paid_expiry_date` as `Y-m-d H:i:s` (UTC).
fn expiry(raw: Option<&str>) -> ApiResult<Option<DateTime<Utc>>> {
    raw.map(|raw| {
        NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S")
            .map(|at| at.and_utc())
            .map_err(|_| ApiError::bad_param(messages::BAD_PAID_EXPIRY_DATE))
    })
    .transpose()
}
