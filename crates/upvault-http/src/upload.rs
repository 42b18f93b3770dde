//! `/file/upload`: multipart parts streamed straight into temporary blobs (SPEC.md §4).
//!
//! Parts may come in any order, as PHP clients never had to care: when `access_token` and
//! `account_id` precede a file, the package's limits cut the stream as soon as it passes them;
//! a file that precedes the credentials is received under the operator's cap and checked once
//! they arrive. Nothing becomes visible before the whole request is read and each file's record
//! is committed; every temporary object is removed whatever happens.

use crate::api::{authenticate, success};
use crate::client_ip::ClientIp;
use crate::error::{ApiError, ApiResult};
use crate::params::{body_error, multipart_boundary, too_many_parts, Params};
use crate::AppState;
use axum::extract::{FromRequest, Request, State};
use axum::response::Response;
use futures::TryStreamExt;
use upvault_core::model::UploadSource;
use upvault_core::ports::{ByteStream, TempBlob};
use upvault_core::service::{Arrival, SlotGuard, UploadPolicy};
use upvault_core::{AccountId, Error};
use upvault_proto::messages;
use upvault_proto::objects::UploadedFile;

/// Largest text field of an upload request.
const MAX_TEXT_FIELD_BYTES: usize = 64 * 1024;

/// A file received into a temporary blob, not yet committed.
struct Received {
    filename: String,
    declared_type: Option<String>,
    temp: TempBlob,
    _slot: SlotGuard,
}

/// What happened to each file part, in order.
enum Part {
    Received(Received),
    Refused { filename: String, error: ApiError },
}

/// Credentials, once known, and the limits they bring.
struct Uploader {
    account: AccountId,
    policy: UploadPolicy,
}

pub(crate) async fn upload(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    request: Request,
) -> ApiResult<Response> {
    let Some(boundary) = multipart_boundary(&request) else {
        // Not multipart: no file can be here. Check credentials first (documented order).
        let params = Params::from_request(request, &state).await?;
        authenticate(&state, &params).await?;
        return Err(ApiError::bad_param(messages::NO_UPLOADED_FILE));
    };
    let mut params = Params::from_query(request.uri().query());
    let mut multipart = multer::Multipart::new(request.into_body().into_data_stream(), boundary);
    let mut uploader: Option<Uploader> = None;
    let mut parts: Vec<Part> = Vec::new();
    let mut count = 0;
    let outcome: ApiResult<()> = async {
        while let Some(mut field) = multipart.next_field().await.map_err(body_error)? {
            count += 1;
            if count > state.config.max_multipart_parts {
                return Err(too_many_parts(state.config.max_multipart_parts));
            }
            let name = field.name().unwrap_or_default().to_owned();
            let Some(filename) = field.file_name().map(str::to_owned) else {
                let value = read_text_field(&mut field).await?;
                params.insert(&name, &value);
                continue;
            };
            if uploader.is_none()
                && params.get("access_token").is_some()
                && params.get("account_id").is_some()
            {
                uploader = Some(sign_in(&state, &params).await?);
            }
            let declared_type = field.content_type().map(|m| m.essence_str().to_owned());
            let slot = match &uploader {
                Some(u) => match state.services.uploads.begin(u.account, &u.policy).await {
                    Ok(slot) => slot,
                    Err(err) => {
                        parts.push(Part::Refused {
                            filename,
                            error: err.into(),
                        });
                        continue;
                    }
                },
                None => SlotGuard::none(),
            };
            let body: ByteStream = Box::pin(field.map_err(std::io::Error::other));
            match state
                .services
                .uploads
                .receive(body, uploader.as_ref().map(|u| &u.policy))
                .await
            {
                Ok(temp) => parts.push(Part::Received(Received {
                    filename,
                    declared_type,
                    temp,
                    _slot: slot,
                })),
                Err(err @ Error::LimitExceeded(_)) => {
                    // Stop reading here: the rest of this body is not worth receiving.
                    parts.push(Part::Refused {
                        filename,
                        error: err.into(),
                    });
                    break;
                }
                Err(err) => return Err(err.into()),
            }
        }
        Ok(())
    }
    .await;

    let result = match outcome {
        Ok(()) => finish(&state, &params, uploader, &mut parts, &ip.to_string()).await,
        Err(err) => Err(err),
    };
    // Whatever happened, no temporary object outlives the request.
    for part in parts {
        if let Part::Received(received) = part {
            let _ = state
                .services
                .deps
                .blobs
                .discard(&received.temp.temp_id)
                .await;
        }
    }
    result
}

/// Authenticates and loads the account's upload limits.
async fn sign_in(state: &AppState, params: &Params) -> ApiResult<Uploader> {
    let account = authenticate(state, params).await?;
    let policy = state.services.uploads.policy(account).await?;
    Ok(Uploader { account, policy })
}

/// Commits every received file once the whole request has been read.
async fn finish(
    state: &AppState,
    params: &Params,
    uploader: Option<Uploader>,
    parts: &mut Vec<Part>,
    ip: &str,
) -> ApiResult<Response> {
    let uploader = match uploader {
        Some(uploader) => uploader,
        None => sign_in(state, params).await?,
    };
    if parts.is_empty() {
        return Err(ApiError::bad_param(messages::NO_UPLOADED_FILE));
    }
    let folder = params.optional_folder("folder_id")?;
    let mut items: Vec<UploadedFile> = Vec::with_capacity(parts.len());
    let mut first_error: Option<ApiError> = None;
    let mut fault: Option<ApiError> = None;
    for part in std::mem::take(parts) {
        let (filename, error) = match part {
            Part::Refused { filename, error } => (filename, error),
            Part::Received(received) if fault.is_some() => {
                let _ = state
                    .services
                    .deps
                    .blobs
                    .discard(&received.temp.temp_id)
                    .await;
                continue;
            }
            Part::Received(received) => {
                let committed = state
                    .services
                    .uploads
                    .commit(
                        uploader.account,
                        &uploader.policy,
                        folder,
                        &Arrival {
                            filename: &received.filename,
                            declared_type: received.declared_type.as_deref(),
                            source: UploadSource::Api,
                            ip,
                        },
                        received.temp,
                    )
                    .await;
                match committed {
                    Ok(file) => {
                        items.push(state.present.uploaded(&file));
                        continue;
                    }
                    Err(err @ Error::Internal(_)) => {
                        fault = Some(err.into());
                        continue;
                    }
                    Err(err) => (received.filename, ApiError::from(err)),
                }
            }
        };
        items.push(state.present.upload_refused(&filename, error.message()));
        first_error.get_or_insert(error);
    }
    if let Some(fault) = fault {
        return Err(fault);
    }
    match first_error {
        // A single refused file, or all of them: the error envelope integrations check.
        Some(error) if items.iter().all(|item| item.error.is_some()) => Err(error),
        _ => Ok(success(Some(messages::FILE_UPLOADED), Some(items))),
    }
}

async fn read_text_field(field: &mut multer::Field<'static>) -> ApiResult<String> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(body_error)? {
        if buf.len() + chunk.len() > MAX_TEXT_FIELD_BYTES {
            return Err(ApiError::bad_param(format!(
                "A form field of the upload is larger than {MAX_TEXT_FIELD_BYTES} bytes."
            )));
        }
        buf.extend_from_slice(&chunk);
    }
    String::from_utf8(buf).map_err(|_| ApiError::bad_param(messages::BAD_REQUEST_BODY))
}
