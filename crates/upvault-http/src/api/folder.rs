//! `/folder/*`.

use super::{success, Authed};
use crate::error::ApiResult;
use crate::AppState;
use axum::extract::State;
use axum::response::Response;
use upvault_core::model::Visibility;
use upvault_core::service::FolderEdit;
use upvault_core::FolderId;
use upvault_proto::messages;
use upvault_proto::objects::ListingData;
use upvault_proto::requests::*;
use upvault_proto::FolderRef;

/// The domain's folder for a wire folder parameter (`None` for the root).
fn folder(folder: FolderRef) -> Option<FolderId> {
    folder.folder().map(FolderId)
}

/// The domain's visibility for the wire's.
fn visibility(visibility: upvault_proto::Visibility) -> Visibility {
    match visibility {
        upvault_proto::Visibility::Private => Visibility::Private,
        upvault_proto::Visibility::Unlisted => Visibility::Unlisted,
        upvault_proto::Visibility::Public => Visibility::Public,
    }
}

/// Creates a folder (private unless `is_public` says otherwise).
pub(super) async fn create(
    State(state): State<AppState>,
    Authed { account, request }: Authed<FolderCreateRequest>,
) -> ApiResult<Response> {
    let view = state
        .services
        .folders
        .create(
            account,
            &request.folder_name,
            request.parent_id.and_then(folder),
            request.is_public.map_or(Visibility::Private, visibility),
            request.access_password,
        )
        .await?;
    Ok(success(
        Some(messages::FOLDER_CREATED),
        Some(state.present.folder(&view, true)),
    ))
}

/// Sub-folders and files of `parent_folder_id` (blank or `0` = root).
pub(super) async fn listing(
    State(state): State<AppState>,
    Authed { account, request }: Authed<FolderListingRequest>,
) -> ApiResult<Response> {
    let parent = request.parent_folder_id.and_then(folder);
    let (folders, files) = state.services.folders.listing(account, parent).await?;
    // Every file listed is active and in `parent`: one answer for all.
    let public = state.services.files.public_in(parent).await?;
    Ok(success(
        None,
        Some(ListingData {
            folders: folders
                .iter()
                .map(|f| state.present.folder(f, false))
                .collect(),
            files: files
                .into_iter()
                .map(|f| state.present.file(f, public))
                .collect(),
        }),
    ))
}

/// One folder; takes `folder_id` (or `parent_folder_id`, as the documentation lists it).
pub(super) async fn info(
    State(state): State<AppState>,
    Authed { account, request }: Authed<FolderInfoRequest>,
) -> ApiResult<Response> {
    // `FromParams` refuses a request with neither.
    let id = request
        .folder_id
        .or(request.parent_folder_id)
        .ok_or_else(|| crate::ApiError::missing("folder_id"))?;
    let view = state.services.folders.info(account, FolderId(id)).await?;
    Ok(success(None, Some(state.present.folder(&view, true))))
}

/// Edits a folder. Blank parameters keep what is there; `parent_id=0` moves it to the root;
/// `remove_access_password=1` removes the password (blank `access_password` keeps it).
pub(super) async fn edit(
    State(state): State<AppState>,
    Authed { account, request }: Authed<FolderEditRequest>,
) -> ApiResult<Response> {
    let access_password_md5 = if request.remove_access_password {
        Some(None)
    } else {
        request.access_password.map(Some)
    };
    let edit = FolderEdit {
        name: request.folder_name,
        parent: request.parent_id.map(folder),
        visibility: request.is_public.map(visibility),
        access_password_md5,
    };
    let view = state
        .services
        .folders
        .edit(account, FolderId(request.folder_id), edit)
        .await?;
    Ok(success(
        Some(messages::FOLDER_UPDATED),
        Some(state.present.folder(&view, true)),
    ))
}

/// Trashes a folder and everything under it.
pub(super) async fn delete(
    State(state): State<AppState>,
    Authed { account, request }: Authed<FolderDeleteRequest>,
) -> ApiResult<Response> {
    state
        .services
        .folders
        .delete(account, FolderId(request.folder_id))
        .await?;
    Ok(success::<()>(Some(messages::FOLDER_DELETED), None))
}

/// Moves a folder under another (`0` = root); never into itself or its own subtree.
pub(super) async fn move_folder(
    State(state): State<AppState>,
    Authed { account, request }: Authed<FolderMoveRequest>,
) -> ApiResult<Response> {
    let view = state
        .services
        .folders
        .move_to(
            account,
            FolderId(request.folder_id),
            folder(request.new_parent_folder_id),
        )
        .await?;
    Ok(success(
        Some(messages::FOLDER_MOVED),
        Some(state.present.folder(&view, true)),
    ))
}
