//! `/folder/*`.

use super::{authenticate, success};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::AppState;
use axum::extract::State;
use axum::response::Response;
use upvault_core::model::Visibility;
use upvault_core::service::FolderEdit;
use upvault_core::FolderId;
use upvault_proto::messages;
use upvault_proto::objects::ListingData;

fn visibility(params: &Params) -> Result<Option<Visibility>, ApiError> {
    params
        .get("is_public")
        .map(|raw| {
            raw.parse::<i64>()
                .ok()
                .and_then(Visibility::from_code)
                .ok_or_else(|| ApiError::bad_param(messages::BAD_IS_PUBLIC))
        })
        .transpose()
}

/// Creates a folder (private unless `is_public` says otherwise).
pub(super) async fn create(State(state): State<AppState>, params: Params) -> ApiResult<Response> {
    let account = authenticate(&state, &params).await?;
    let name = params.require("folder_name")?;
    let parent = params.optional_folder("parent_id")?;
    let visibility = visibility(&params)?.unwrap_or(Visibility::Private);
    let password = params.get("access_password").map(str::to_owned);
    let view = state
        .services
        .folders
        .create(account, name, parent, visibility, password)
        .await?;
    Ok(success(
        Some(messages::FOLDER_CREATED),
        Some(state.present.folder(&view, true)),
    ))
}

/// Sub-folders and files of `parent_folder_id` (blank or `0` = root).
pub(super) async fn listing(State(state): State<AppState>, params: Params) -> ApiResult<Response> {
    let account = authenticate(&state, &params).await?;
    let parent = params.optional_folder("parent_folder_id")?;
    let (folders, files) = state.services.folders.listing(account, parent).await?;
    Ok(success(
        None,
        Some(ListingData {
            folders: folders
                .iter()
                .map(|f| state.present.folder(f, false))
                .collect(),
            files: files.into_iter().map(|f| state.present.file(f)).collect(),
        }),
    ))
}

/// One folder; takes `folder_id` (or `parent_folder_id`, as the documentation lists it).
pub(super) async fn info(State(state): State<AppState>, params: Params) -> ApiResult<Response> {
    let account = authenticate(&state, &params).await?;
    let name = if params.get("folder_id").is_some() {
        "folder_id"
    } else {
        "parent_folder_id"
    };
    let id = match params.get(name) {
        Some(_) => params.require_id(name, FolderId::parse)?,
        None => return Err(ApiError::missing("folder_id")),
    };
    let view = state.services.folders.info(account, id).await?;
    Ok(success(None, Some(state.present.folder(&view, true))))
}

/// Edits a folder. Blank parameters keep what is there; `parent_id=0` moves it to the root;
/// `remove_access_password=1` removes the password (blank `access_password` keeps it).
pub(super) async fn edit(State(state): State<AppState>, params: Params) -> ApiResult<Response> {
    let account = authenticate(&state, &params).await?;
    let id = params.require_id("folder_id", FolderId::parse)?;
    let access_password_md5 = if params.get("remove_access_password") == Some("1") {
        Some(None)
    } else {
        params.get("access_password").map(|p| Some(p.to_owned()))
    };
    let edit = FolderEdit {
        name: params.get("folder_name").map(str::to_owned),
        parent: params.folder_change("parent_id")?,
        visibility: visibility(&params)?,
        access_password_md5,
    };
    let view = state.services.folders.edit(account, id, edit).await?;
    Ok(success(
        Some(messages::FOLDER_UPDATED),
        Some(state.present.folder(&view, true)),
    ))
}

/// Trashes a folder and everything under it.
pub(super) async fn delete(State(state): State<AppState>, params: Params) -> ApiResult<Response> {
    let account = authenticate(&state, &params).await?;
    let id = params.require_id("folder_id", FolderId::parse)?;
    state.services.folders.delete(account, id).await?;
    Ok(success::<()>(Some(messages::FOLDER_DELETED), None))
}

/// Moves a folder under another (`0` = root); never into itself or its own subtree.
pub(super) async fn move_folder(
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<Response> {
    let account = authenticate(&state, &params).await?;
    let id = params.require_id("folder_id", FolderId::parse)?;
    let parent = params.require_folder("new_parent_folder_id")?;
    let view = state.services.folders.move_to(account, id, parent).await?;
    Ok(success(
        Some(messages::FOLDER_MOVED),
        Some(state.present.folder(&view, true)),
    ))
}
