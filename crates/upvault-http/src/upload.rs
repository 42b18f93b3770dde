//! `/file/upload`: multipart parts streamed straight into temporary blobs (SPEC.md §4), through
//! the core's [`UploadBatch`].
//!
//! Parts may come in any order, as PHP clients never had to care: when `access_token` and
//! `account_id` precede a file, the package's limits cut the stream as soon as it passes them;
//! a file that precedes the credentials is received under the operator's cap and checked once
//! they arrive. Nothing becomes visible before the whole request is read and each file's record
//! is committed; the batch removes every temporary object whatever happens.

use crate::api::{authenticate, success};
use crate::client_ip::ClientIp;
use crate::error::{ApiError, ApiResult};
use crate::params::{body_error, multipart_boundary, too_many_parts, Params};
use crate::AppState;
use axum::extract::{FromRequest, Request, State};
use axum::response::Response;
use futures::TryStreamExt;
use upvault_core::model::UploadSource;
use upvault_core::ports::ByteStream;
use upvault_core::service::{FileOutcome, ReadOn, UploadBatch};
use upvault_proto::messages;
use upvault_proto::objects::UploadedFile;

/// Largest text field of an upload request.
const MAX_TEXT_FIELD_BYTES: usize = 64 * 1024;

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
    let mut batch = state
        .services
        .uploads
        .batch(UploadSource::Api, &ip.to_string());
    let read: ApiResult<_> = async {
        let mut count = 0;
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
            if batch.account().is_none()
                && params.get("access_token").is_some()
                && params.get("account_id").is_some()
            {
                sign_in(&state, &params, &mut batch).await?;
            }
            let declared_type = field.content_type().map(|m| m.essence_str().to_owned());
            let body: ByteStream = Box::pin(field.map_err(std::io::Error::other));
            if batch.receive(filename, declared_type, body).await? == ReadOn::No {
                // The rest of this body is not worth receiving.
                break;
            }
        }
        if batch.account().is_none() {
            sign_in(&state, &params, &mut batch).await?;
        }
        if batch.is_empty() {
            return Err(ApiError::bad_param(messages::NO_UPLOADED_FILE));
        }
        params.optional_folder("folder_id")
    }
    .await;
    match read {
        Ok(folder) => answer(&state, batch.commit(folder).await?),
        Err(err) => {
            // Removed before the answer, so a client that looks next finds nothing left.
            batch.discard().await;
            Err(err)
        }
    }
}

/// Authenticates the request's credentials for the batch.
async fn sign_in(state: &AppState, params: &Params, batch: &mut UploadBatch) -> ApiResult<()> {
    let account = authenticate(state, params).await?;
    Ok(batch.sign_in(account).await?)
}

/// One item per file; a single refused file, or all of them, answer the error envelope that
/// integrations check.
fn answer(state: &AppState, outcomes: Vec<FileOutcome>) -> ApiResult<Response> {
    let mut items: Vec<UploadedFile> = Vec::with_capacity(outcomes.len());
    let mut first_error: Option<ApiError> = None;
    for FileOutcome { filename, result } in outcomes {
        match result {
            Ok(file) => items.push(state.present.uploaded(&file)),
            Err(err) => {
                let error = ApiError::from(err);
                items.push(state.present.upload_refused(&filename, error.message()));
                first_error.get_or_insert(error);
            }
        }
    }
    match first_error {
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
