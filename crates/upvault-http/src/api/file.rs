//! `/file/*` except `/file/upload` (which streams, see `crate::upload`).

use super::{authenticate, success};
use crate::error::ApiResult;
use crate::params::Params;
use crate::AppState;
use axum::extract::State;
use axum::response::Response;
use upvault_core::service::{FileEdit, FileRef};
use upvault_core::{FileId, JobId};
use upvault_proto::objects::{CopyAnswer, DataWrapper, DownloadData, ScheduledData};
use upvault_proto::{envelope, messages};

/// A download URL for a file, by `file_id` or `short_url` (SPEC.md §4).
pub(super) async fn download(State(state): State<AppState>, params: Params) -> ApiResult<Response> {
    let account = authenticate(&state, &params).await?;
    let target = match (params.get("file_id"), params.get("short_url")) {
        (Some(_), _) => FileRef::Id(params.require_id("file_id", FileId::parse)?),
        (None, Some(code)) => FileRef::ShortUrl(code.to_owned()),
        (None, None) => return Err(crate::ApiError::missing("file_id")),
    };
    let (file, token) = state.services.files.download_token(account, target).await?;
    Ok(success(
        None,
        Some(DownloadData {
            file_id: file.id.to_string(),
            filename: file.filename.clone(),
            download_url: state.present.download_url(&file, &token),
        }),
    ))
}

/// Schedules a background import of `file_url_base64`.
pub(super) async fn url_upload_add(
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<Response> {
    let account = authenticate(&state, &params).await?;
    let encoded = params.require("file_url_base64")?;
    let folder = params.optional_folder("folder_id")?;
    let job = state
        .services
        .imports
        .schedule(account, encoded, folder)
        .await?;
    Ok(success(
        Some(messages::URL_UPLOAD_SCHEDULED),
        Some(ScheduledData {
            scheduled_item_id: job.id.0,
            url: job.url,
        }),
    ))
}

/// The state of a scheduled import.
pub(super) async fn url_upload_status(
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<Response> {
    let account = authenticate(&state, &params).await?;
    let id = params.require_id("scheduled_item_id", JobId::parse)?;
    let job = state.services.imports.status(account, id).await?;
    let file = match job.file_id {
        Some(file_id) => state.services.files.info(account, file_id).await.ok(),
        None => None,
    };
    Ok(success(
        Some(messages::SCHEDULED_ITEM_FOUND),
        Some(state.present.scheduled(&job, file.as_ref())),
    ))
}

/// One file.
pub(super) async fn info(State(state): State<AppState>, params: Params) -> ApiResult<Response> {
    let account = authenticate(&state, &params).await?;
    let id = params.require_id("file_id", FileId::parse)?;
    let file = state.services.files.info(account, id).await?;
    Ok(success(None, Some(state.present.file(file))))
}

/// Renames, retypes or moves a file; blank parameters keep what is there.
pub(super) async fn edit(State(state): State<AppState>, params: Params) -> ApiResult<Response> {
    let account = authenticate(&state, &params).await?;
    let id = params.require_id("file_id", FileId::parse)?;
    let edit = FileEdit {
        filename: params.get("filename").map(str::to_owned),
        mime_type: params.get("fileType").map(str::to_owned),
        folder: params.folder_change("folder_id")?,
    };
    let file = state.services.files.edit(account, id, edit).await?;
    Ok(success(
        Some(messages::FILE_UPDATED),
        Some(state.present.file(file)),
    ))
}

/// Moves a file to the trash.
pub(super) async fn delete(State(state): State<AppState>, params: Params) -> ApiResult<Response> {
    let account = authenticate(&state, &params).await?;
    let id = params.require_id("file_id", FileId::parse)?;
    let file = state.services.files.delete(account, id).await?;
    Ok(success(
        Some(messages::FILE_DELETED),
        Some(state.present.file(file)),
    ))
}

/// Moves a file to another folder (`0` = root).
pub(super) async fn move_file(
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<Response> {
    let account = authenticate(&state, &params).await?;
    let id = params.require_id("file_id", FileId::parse)?;
    let folder = params.require_folder("new_parent_folder_id")?;
    let file = state.services.files.move_to(account, id, folder).await?;
    Ok(success(
        Some(messages::FILE_MOVED),
        Some(state.present.file(file)),
    ))
}

/// Copies a file into a folder; the answer has its own shape (SPEC.md §1).
pub(super) async fn copy(State(state): State<AppState>, params: Params) -> ApiResult<Response> {
    let account = authenticate(&state, &params).await?;
    let id = params.require_id("file_id", FileId::parse)?;
    let folder = params.require_folder("copy_to_folder_id")?;
    let (original, copy) = state.services.files.copy(account, id, folder).await?;
    Ok(super::json(&CopyAnswer {
        response: messages::FILE_COPIED,
        original_file: DataWrapper {
            data: state.present.file(original),
        },
        new_file: DataWrapper {
            data: state.present.file(copy),
        },
        status: envelope::STATUS_SUCCESS,
        datetime: crate::present::now_string(),
    }))
}
