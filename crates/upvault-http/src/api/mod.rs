//! `/api/v2/*`: the route table, in the documentation's order, the extractors of typed
//! requests, and shared handler helpers.

mod account;
mod auth;
mod file;
mod folder;
mod openapi;
mod requests;

use crate::error::{ApiError, ApiResult, ErrorClass};
use crate::params::{FromParams, Params};
use crate::AppState;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, MethodRouter};
use axum::Router;
use serde::Serialize;
use upvault_core::service::Admin;
use upvault_core::AccountId;
use upvault_proto::{messages, Success};

/// GET and POST answer the same; any other method is 405 in the envelope (SPEC.md §1).
fn endpoint<H, T>(handler: H) -> MethodRouter<AppState>
where
    H: axum::handler::Handler<T, AppState> + Clone,
    T: 'static,
{
    get(handler.clone()).post(handler)
}

/// Every `/api/v2` path, unknown ones included.
pub(crate) fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v2/authorize", endpoint(auth::authorize))
        .route(
            "/api/v2/disable_access_token",
            endpoint(auth::disable_access_token),
        )
        .route("/api/v2/account/info", endpoint(account::info))
        .route("/api/v2/account/package", endpoint(account::package))
        .route("/api/v2/account/create", endpoint(account::create))
        .route("/api/v2/account/edit", endpoint(account::edit))
        .route("/api/v2/account/delete", endpoint(account::delete))
        .route("/api/v2/account/find", endpoint(account::find))
        .route("/api/v2/package/listing", endpoint(account::packages))
        .route("/api/v2/file/upload", endpoint(crate::upload::upload))
        .route("/api/v2/file/download", endpoint(file::download))
        .route(
            "/api/v2/file/url_upload_add",
            endpoint(file::url_upload_add),
        )
        .route(
            "/api/v2/file/url_upload_status",
            endpoint(file::url_upload_status),
        )
        .route("/api/v2/file/info", endpoint(file::info))
        .route("/api/v2/file/edit", endpoint(file::edit))
        .route("/api/v2/file/delete", endpoint(file::delete))
        .route("/api/v2/file/move", endpoint(file::move_file))
        .route("/api/v2/file/copy", endpoint(file::copy))
        .route("/api/v2/folder/create", endpoint(folder::create))
        .route("/api/v2/folder/listing", endpoint(folder::listing))
        .route("/api/v2/folder/info", endpoint(folder::info))
        .route("/api/v2/folder/edit", endpoint(folder::edit))
        .route("/api/v2/folder/delete", endpoint(folder::delete))
        .route("/api/v2/folder/move", endpoint(folder::move_folder))
        .route("/api/v2/openapi.json", get(openapi::document))
        // Full paths rather than a nest: a nest routes every request twice.
        .route("/api/v2", any(unknown_endpoint))
        .route("/api/v2/", any(unknown_endpoint))
        .route("/api/v2/{*unknown}", any(unknown_endpoint))
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// An unknown path: inside a known group (`/api/v2/file/xyz`, `/api/v2/file`) the real
/// server's "No method found within endpoint (file): xyz", else ours.
async fn unknown_endpoint(uri: axum::http::Uri) -> ApiError {
    let rest = uri.path().trim_start_matches("/api/v2").trim_matches('/');
    let (group, action) = rest.split_once('/').unwrap_or((rest, ""));
    let group = group.to_ascii_lowercase();
    if [
        "account",
        "package",
        "file",
        "folder",
        "authorize",
        "disable_access_token",
    ]
    .contains(&group.as_str())
    {
        let action = match action.to_ascii_lowercase() {
            action if action.is_empty() => "index".to_owned(),
            action => action,
        };
        return ApiError::new(
            ErrorClass::UnknownEndpoint,
            messages::no_method(&group, &action),
        );
    }
    ApiError::new(ErrorClass::UnknownEndpoint, messages::UNKNOWN_ENDPOINT)
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorClass::MethodNotAllowed, messages::METHOD_NOT_ALLOWED)
}

/// A success envelope with an optional `response` and `data`.
pub(crate) fn success<T: Serialize>(response: Option<&'static str>, data: Option<T>) -> Response {
    json(&Success::new(response, data, crate::present::now_string()))
}

/// `value` as an `application/json` answer, written into one buffer sized for a file object
/// (axum's `Json` starts at 128 bytes and grows three times on the way).
pub(crate) fn json(value: &impl Serialize) -> Response {
    let mut body = Vec::with_capacity(1024);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => (
            [(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        Err(err) => ApiError::internal(err.into()).into_response(),
    }
}

/// An endpoint's typed request, for the endpoints that check credentials themselves
/// (`/authorize`, `/disable_access_token`); `params` keeps what was sent.
pub(crate) struct ApiParams<T> {
    pub(crate) request: T,
    pub(crate) params: Params,
}

impl<T: FromParams> FromRequest<AppState> for ApiParams<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let params = Params::from_request(request, state).await?;
        let request = T::from_params(&params)?;
        Ok(Self { request, params })
    }
}

/// How a call's credentials are checked before its parameters are read.
pub(crate) trait Check: Sized + Send {
    /// Checks the credentials in `params` (after counting the token against its rate limit).
    fn check(
        state: &AppState,
        params: &Params,
    ) -> impl std::future::Future<Output = ApiResult<Self>> + Send;
}

/// `access_token` and `account_id` as every endpoint but `/authorize` checks them
/// (SPEC.md §2): the account the token was issued to.
impl Check for AccountId {
    async fn check(state: &AppState, params: &Params) -> ApiResult<Self> {
        authenticate(state, params).await
    }
}

/// The account an `account/info` or `account/package` call reads: the caller's own, or for
/// an administrator any account `account_id` names.
pub(crate) struct Reader(pub(crate) AccountId);

impl Check for Reader {
    async fn check(state: &AppState, params: &Params) -> ApiResult<Self> {
        let (token, account) = rate_checked(state, params).await?;
        let id = state
            .services
            .auth
            .authenticate_reader(token, account)
            .await?;
        Ok(Reader(id))
    }
}

/// An administrator's token, alone, as the real server's admin endpoints check it.
impl Check for Admin {
    async fn check(state: &AppState, params: &Params) -> ApiResult<Self> {
        let (token, _) = rate_checked(state, params).await?;
        Ok(state.services.auth.authenticate_admin(token).await?)
    }
}

/// An authenticated call: the credentials are checked first, in the documented order
/// (SPEC.md §2), and only then the endpoint's own parameters, read into its typed request.
/// `C` is who the credentials stand for: the caller's account (the default), a [`Reader`]
/// or an [`Admin`].
pub(crate) struct Authed<T, C = AccountId> {
    pub(crate) account: C,
    pub(crate) request: T,
}

impl<T: FromParams, C: Check> FromRequest<AppState> for Authed<T, C> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let params = Params::from_request(request, state).await?;
        let account = C::check(state, &params).await?;
        let request = T::from_params(&params)?;
        Ok(Self { account, request })
    }
}

/// The credentials as sent, after counting the token against its rate limit.
async fn rate_checked<'a>(
    state: &AppState,
    params: &'a Params,
) -> ApiResult<(Option<&'a str>, Option<&'a str>)> {
    let (token, account) = params.credentials();
    if let Some(token) = token {
        crate::rate::check_token(state, token).await?;
    }
    Ok((token, account))
}

/// Checks `access_token` and `account_id` as every endpoint but `/authorize` does, after
/// counting the request against the token's rate limit.
pub(crate) async fn authenticate(state: &AppState, params: &Params) -> ApiResult<AccountId> {
    let (token, account) = rate_checked(state, params).await?;
    Ok(state.services.auth.authenticate(token, account).await?)
}
