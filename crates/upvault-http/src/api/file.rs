//! `/file/*` except `/file/upload` (which streams, see `crate::upload`).

use super::{success, Authed};
use crate::error::ApiResult;
use crate::AppState;
use axum::extract::State;
use axum::response::Response;
use std::borrow::Cow;
use upvault_core::model::File;
use upvault_core::service::{FileEdit, FileRef};
use upvault_core::{FileId, FolderId, JobId};
use upvault_proto::objects::{CopyAnswer, DownloadData, FileObject, ScheduledData, WrappedFile};
use upvault_proto::requests::*;
use upvault_proto::{envelope, messages, FolderRef};

/// The domain's folder for a wire folder parameter (`None` for the root).
fn folder(folder: FolderRef) -> Option<FolderId> {
    folder.folder().map(FolderId)
}

/// A download URL for a file, by `file_id` or `short_url` (SPEC.md §4).
pub(super) async fn download(
    State(state): State<AppState>,
    Authed { account, request }: Authed<FileDownloadRequest>,
) -> ApiResult<Response> {
    let target = match (request.file_id, request.short_url) {
        (Some(id), _) => FileRef::Id(FileId(id)),
        (None, Some(code)) => FileRef::ShortUrl(code),
        // `FromParams` refuses a request with neither.
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
    Authed { account, request }: Authed<UrlUploadAddRequest>,
) -> ApiResult<Response> {
    let job = state
        .services
        .imports
        .schedule(
            account,
            &request.file_url_base64,
            request.folder_id.and_then(folder),
        )
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
    Authed { account, request }: Authed<UrlUploadStatusRequest>,
) -> ApiResult<Response> {
    let id = JobId(request.scheduled_item_id);
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

/// A file as the API shows it to its owner, with whether its link is public.
async fn presented(state: &AppState, file: File) -> ApiResult<FileObject> {
    let public = state.services.files.is_public(&file).await?;
    Ok(state.present.file(file, public))
}

/// One file.
pub(super) async fn info(
    State(state): State<AppState>,
    Authed { account, request }: Authed<FileInfoRequest>,
) -> ApiResult<Response> {
    let file = state
        .services
        .files
        .info(account, FileId(request.file_id))
        .await?;
    Ok(success(None, Some(presented(&state, file).await?)))
}

/// Renames, retypes or moves a file; blank parameters keep what is there.
pub(super) async fn edit(
    State(state): State<AppState>,
    Authed { account, request }: Authed<FileEditRequest>,
) -> ApiResult<Response> {
    let edit = FileEdit {
        filename: request.filename,
        mime_type: request.file_type,
        folder: request.folder_id.map(folder),
    };
    let file = state
        .services
        .files
        .edit(account, FileId(request.file_id), edit)
        .await?;
    Ok(success(
        Some(messages::FILE_UPDATED),
        Some(presented(&state, file).await?),
    ))
}

/// Moves a file to the trash.
pub(super) async fn delete(
    State(state): State<AppState>,
    Authed { account, request }: Authed<FileDeleteRequest>,
) -> ApiResult<Response> {
    let file = state
        .services
        .files
        .delete(account, FileId(request.file_id))
        .await?;
    Ok(success(
        Some(messages::FILE_DELETED),
        Some(presented(&state, file).await?),
    ))
}

/// Moves a file to another folder (`0` = root).
pub(super) async fn move_file(
    State(state): State<AppState>,
    Authed { account, request }: Authed<FileMoveRequest>,
) -> ApiResult<Response> {
    let file = state
        .services
        .files
        .move_to(
            account,
            FileId(request.file_id),
            folder(request.new_parent_folder_id),
        )
        .await?;
    Ok(success(
        Some(messages::FILE_MOVED),
        Some(presented(&state, file).await?),
    ))
}

/// Copies a file into a folder; the answer has its own shape (SPEC.md §1).
pub(super) async fn copy(
    State(state): State<AppState>,
    Authed { account, request }: Authed<FileCopyRequest>,
) -> ApiResult<Response> {
    let (original, copy) = state
        .services
        .files
        .copy(
            account,
            FileId(request.file_id),
            folder(request.copy_to_folder_id),
        )
        .await?;
    Ok(super::json(&CopyAnswer {
        response: Cow::Borrowed(messages::FILE_COPIED),
        original_file: WrappedFile {
            data: presented(&state, original).await?,
        },
        new_file: WrappedFile {
            data: presented(&state, copy).await?,
        },
        status: Cow::Borrowed(envelope::STATUS_SUCCESS),
        datetime: crate::present::now_string(),
    }))
}
