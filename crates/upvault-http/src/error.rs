//! `ApiError`: the only error that becomes a response, written as SPEC.md §1's envelope.
//!
//! The error puts its class in the response extensions; [`settle_status`], which holds the
//! config, turns the class into the status (200 for documented errors, or 400/401/404 with
//! `[api] http_error_codes = true`) and logs server faults with their chain.

use crate::serve::BodyWatch;
use crate::AppState;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, HeaderValue, StatusCode};
use std::borrow::Cow;
use tracing::{error, warn};
use upvault_core::{Entity, Error, Refusal, Unique};
use upvault_proto::{messages, ErrorEnvelope};

/// What kind of refusal an error is; decides the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// A missing or unusable parameter (documented: 200, or 400).
    BadParam,
    /// Bad credentials or token (documented: 200, or 401).
    Unauthorized,
    /// An object that does not exist for the caller (documented: 200, or 404).
    NotFound,
    /// A package limit (documented as "upload restrictions": 200, or 403).
    Limit,
    /// A call the caller's role does not allow (200, or 403).
    Forbidden,
    /// An unknown endpoint: always 404.
    UnknownEndpoint,
    /// A method other than GET/POST: always 405.
    MethodNotAllowed,
    /// Too many requests: always 429 with `Retry-After`.
    RateLimited,
    /// The client stopped sending its request body: always 408, and the connection closes.
    BodyStalled,
    /// A fault of ours: always 500.
    Internal,
}

/// An API refusal: a class and the message to send.
#[derive(Debug)]
pub struct ApiError {
    class: ErrorClass,
    message: Cow<'static, str>,
    retry_after_secs: Option<u64>,
    /// The internal error chain, for the log only.
    cause: Option<String>,
}

impl ApiError {
    /// An error of `class` with `message`.
    pub fn new(class: ErrorClass, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            class,
            message: message.into(),
            retry_after_secs: None,
            cause: None,
        }
    }

    /// "Please provide the {param} param."
    pub fn missing(param: &str) -> Self {
        Self::new(
            ErrorClass::BadParam,
            format!("Please provide the {param} param."),
        )
    }

    /// A bad parameter with its message.
    pub fn bad_param(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorClass::BadParam, message)
    }

    /// The class of this error.
    pub fn class(&self) -> ErrorClass {
        self.class
    }

    /// The message sent to the client.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        use ErrorClass::*;
        match err {
            Error::NotFound(entity) => {
                let message = match entity {
                    Entity::File => messages::FILE_NOT_FOUND,
                    Entity::Folder => messages::FOLDER_NOT_FOUND,
                    Entity::MoveDestination => messages::MOVE_DESTINATION_NOT_FOUND,
                    Entity::CopyDestination => messages::COPY_DESTINATION_NOT_FOUND,
                    Entity::UploadFolder => messages::UPLOAD_FOLDER_NOT_FOUND,
                    Entity::ParentFolder => messages::PARENT_FOLDER_NOT_FOUND,
                    Entity::ScheduledItem => messages::SCHEDULED_ITEM_NOT_FOUND,
                    Entity::Account => return ApiError::new(Unauthorized, messages::INVALID_TOKEN),
                    Entity::TargetAccount => messages::TARGET_ACCOUNT_NOT_FOUND,
                    Entity::TargetPackage => messages::PACKAGE_NOT_FOUND,
                    Entity::FoundAccount => messages::FOUND_NO_ACCOUNT,
                    Entity::Package => {
                        return ApiError::internal(anyhow::anyhow!(
                            "an account's package is missing"
                        ))
                    }
                };
                ApiError::new(NotFound, message)
            }
            Error::MissingParam(param) => ApiError::missing(param),
            Error::InvalidParam(message) => ApiError::new(BadParam, message),
            Error::AuthFailed => ApiError::new(Unauthorized, messages::AUTH_FAILED),
            Error::InvalidToken => ApiError::new(Unauthorized, messages::INVALID_TOKEN),
            Error::UnknownToken => ApiError::new(Unauthorized, messages::INVALID_TOKEN_ALONE),
            Error::Refused(refusal) => {
                let (class, message) = match refusal {
                    Refusal::NotAdmin => (Forbidden, messages::ADMIN_ONLY),
                    Refusal::EditAdmin => (Forbidden, messages::EDIT_ADMIN),
                    Refusal::DeleteAdmin => (Forbidden, messages::DELETE_ADMIN),
                    Refusal::GuestPackage => (BadParam, messages::GUEST_PACKAGE),
                };
                ApiError::new(class, message)
            }
            Error::Taken(Unique::Username) => ApiError::new(BadParam, messages::USERNAME_TAKEN),
            Error::Taken(Unique::Email) => ApiError::new(BadParam, messages::EMAIL_TAKEN),
            Error::EmptyUpload => ApiError::new(BadParam, messages::ZERO_FILESIZE),
            Error::LimitExceeded(limit) => ApiError::new(Limit, limit.message()),
            Error::Conflict(message) => ApiError::new(BadParam, message),
            Error::RateLimited(secs) => ApiError {
                retry_after_secs: Some(secs.max(1)),
                ..ApiError::new(RateLimited, messages::RATE_LIMITED)
            },
            Error::Internal(cause) => ApiError::internal(cause),
        }
    }
}

impl ApiError {
    /// A server fault: the client gets a generic message, the log gets the chain.
    pub fn internal(cause: anyhow::Error) -> Self {
        ApiError {
            cause: Some(format!("{cause:#}")),
            ..ApiError::new(ErrorClass::Internal, messages::INTERNAL_ERROR)
        }
    }
}

/// What the middleware needs to know about an error response.
#[derive(Debug, Clone)]
struct ErrorInfo {
    class: ErrorClass,
    cause: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let envelope = ErrorEnvelope::new(self.message, crate::present::now_string());
        let status = match self.class {
            ErrorClass::UnknownEndpoint => StatusCode::NOT_FOUND,
            ErrorClass::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorClass::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorClass::BodyStalled => StatusCode::REQUEST_TIMEOUT,
            ErrorClass::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::OK,
        };
        let mut response = (status, Json(envelope)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response.extensions_mut().insert(ErrorInfo {
            class: self.class,
            cause: self.cause,
        });
        response
    }
}

/// The body watch of a request, to hand to [`settle_status`] with its response.
pub(crate) fn watch_of(request: &Request) -> Option<BodyWatch> {
    request.extensions().get::<BodyWatch>().cloned()
}

/// The status logged for a request whose client went away mid-body (nginx's convention):
/// nobody reads the answer.
const CLIENT_CLOSED_REQUEST: u16 = 499;

/// Sets the status of documented errors from the config and logs server faults; a request
/// whose body stalled is answered 408 whatever its handler made of it, and one whose client
/// broke off its body is logged as the client's doing (499), not as our fault.
pub(crate) fn settle_status(
    state: &AppState,
    watch: Option<BodyWatch>,
    mut response: Response,
) -> Response {
    if watch.as_ref().is_some_and(BodyWatch::aborted) {
        response.extensions_mut().remove::<ErrorInfo>();
        *response.status_mut() =
            StatusCode::from_u16(CLIENT_CLOSED_REQUEST).expect("499 is a valid status code");
        return response;
    }
    if let Some(stall) = watch.filter(BodyWatch::stalled) {
        // Whatever the handler made of its failed body (a stream error is a fault in most
        // places), the cause is the client's silence: say so, and do not blame ourselves.
        warn!(
            idle_secs = stall.timeout.as_secs(),
            "request body stalled; closing the connection"
        );
        let message = format!(
            "The request body stalled: nothing arrived for {} seconds.",
            stall.timeout.as_secs()
        );
        let mut response = ApiError::new(ErrorClass::BodyStalled, message).into_response();
        response.extensions_mut().remove::<ErrorInfo>();
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    }
    let Some(info) = response.extensions_mut().remove::<ErrorInfo>() else {
        return response;
    };
    match info.class {
        ErrorClass::Internal => error!(
            cause = info.cause.as_deref().unwrap_or(""),
            "request failed"
        ),
        ErrorClass::RateLimited => warn!("request rate limited"),
        _ => {}
    }
    if state.config.http_error_codes {
        let status = match info.class {
            ErrorClass::BadParam => Some(StatusCode::BAD_REQUEST),
            ErrorClass::Unauthorized => Some(StatusCode::UNAUTHORIZED),
            ErrorClass::NotFound => Some(StatusCode::NOT_FOUND),
            ErrorClass::Limit | ErrorClass::Forbidden => Some(StatusCode::FORBIDDEN),
            _ => None,
        };
        if let Some(status) = status {
            *response.status_mut() = status;
        }
    }
    response
}

/// The result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
