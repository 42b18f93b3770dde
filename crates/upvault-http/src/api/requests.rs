//! [`FromParams`] for every endpoint's request type: which parameters it reads, in the order
//! its documented errors come (after the credentials, which [`super::Authed`] checks first).
//!
//! Blank counts as absent everywhere; ids are positive whole numbers (text that is not digits
//! gets the parameter's not-found message, as on the real server; digits no id can be are out
//! of range); folder parameters take `0` or `null` for the root.

use crate::error::ApiError;
use crate::params::{FromParams, Params};
use upvault_core::{FileId, FolderId, JobId};
use upvault_proto::messages;
use upvault_proto::requests::*;

/// A positive id as the wire carries it.
fn file_id(raw: &str) -> Option<i64> {
    FileId::parse(raw).map(|id| id.0)
}

fn folder_id(raw: &str) -> Option<i64> {
    FolderId::parse(raw).map(|id| id.0)
}

impl FromParams for AuthorizeRequest {
    fn from_params(params: &Params) -> Result<Self, ApiError> {
        Ok(Self {
            key1: params.owned("key1"),
            key2: params.owned("key2"),
            username: params.owned("username"),
            // A password is taken as sent: its blanks are part of it.
            password: params.raw("password").map(str::to_owned),
        })
    }
}

macro_rules! no_parameters {
    ($($request:ident),*) => {$(
        impl FromParams for $request {
            fn from_params(_: &Params) -> Result<Self, ApiError> {
                Ok(Self {})
            }
        }
    )*};
}

no_parameters!(
    DisableAccessTokenRequest,
    AccountInfoRequest,
    AccountPackageRequest,
    PackageListingRequest
);

impl FromParams for FileUploadRequest {
    fn from_params(params: &Params) -> Result<Self, ApiError> {
        Ok(Self {
            folder_id: params.folder_ref("folder_id")?,
        })
    }
}

impl FromParams for FileDownloadRequest {
    fn from_params(params: &Params) -> Result<Self, ApiError> {
        let file_id = params.optional_id("file_id", file_id)?;
        // `short_url` only counts without a `file_id`.
        let short_url = match file_id {
            Some(_) => None,
            None => params.owned("short_url"),
        };
        if file_id.is_none() && short_url.is_none() {
            return Err(ApiError::missing("file_id"));
        }
        Ok(Self { file_id, short_url })
    }
}

impl FromParams for UrlUploadAddRequest {
    fn from_params(params: &Params) -> Result<Self, ApiError> {
        Ok(Self {
            file_url_base64: params.require("file_url_base64")?.to_owned(),
            folder_id: params.folder_ref("folder_id")?,
        })
    }
}

impl FromParams for UrlUploadStatusRequest {
    fn from_params(params: &Params) -> Result<Self, ApiError> {
        Ok(Self {
            scheduled_item_id: params
                .require_id("scheduled_item_id", |raw| JobId::parse(raw).map(|id| id.0))?,
        })
    }
}

impl FromParams for FileInfoRequest {
    fn from_params(params: &Params) -> Result<Self, ApiError> {
        Ok(Self {
            file_id: params.require_id("file_id", file_id)?,
        })
    }
}

impl FromParams for FileEditRequest {
    fn from_params(params: &Params) -> Result<Self, ApiError> {
        Ok(Self {
            file_id: params.require_id("file_id", file_id)?,
            filename: params.owned("filename"),
            file_type: params.owned("fileType"),
            folder_id: params.folder_ref("folder_id")?,
        })
    }
}

impl FromParams for FileDeleteRequest {
    fn from_params(params: &Params) -> Result<Self, ApiError> {
        Ok(Self {
            file_id: params.require_id("file_id", file_id)?,
        })
    }
}

impl FromParams for FileMoveRequest {
    fn from_params(params: &Params) -> Result<Self, ApiError> {
        Ok(Self {
            file_id: params.require_id("file_id", file_id)?,
            new_parent_folder_id: params.require_folder_ref("new_parent_folder_id")?,
        })
    }
}

impl FromParams for FileCopyRequest {
    fn from_params(params: &Params) -> Result<Self, ApiError> {
        Ok(Self {
            file_id: params.require_id("file_id", file_id)?,
            copy_to_folder_id: params.require_folder_ref("copy_to_folder_id")?,
        })
    }
}

impl FromParams for FolderCreateRequest {
    fn from_params(params: &Params) -> Result<Self, ApiError> {
        Ok(Self {
            folder_name: params.require("folder_name")?.to_owned(),
            parent_id: params.folder_ref("parent_id")?,
            is_public: params.visibility("is_public")?,
            access_password: password_param(params),
        })
    }
}

impl FromParams for FolderListingRequest {
    fn from_params(params: &Params) -> Result<Self, ApiError> {
        Ok(Self {
            parent_folder_id: params.folder_ref("parent_folder_id")?,
        })
    }
}

impl FromParams for FolderInfoRequest {
    fn from_params(params: &Params) -> Result<Self, ApiError> {
        // `parent_folder_id` (the documentation's name) only counts without a `folder_id`.
        let folder = params.optional_id("folder_id", folder_id)?;
        let parent_folder = match folder {
            Some(_) => None,
            None => params.optional_id("parent_folder_id", folder_id)?,
        };
        if folder.is_none() && parent_folder.is_none() {
            return Err(ApiError::missing("folder_id"));
        }
        Ok(Self {
            folder_id: folder,
            parent_folder_id: parent_folder,
        })
    }
}

impl FromParams for FolderEditRequest {
    fn from_params(params: &Params) -> Result<Self, ApiError> {
        let folder_id = params.require_id("folder_id", folder_id)?;
        // `access_password=null` clears it as `remove_access_password=1` does (the real server).
        let remove_access_password = params.get("remove_access_password") == Some("1")
            || params
                .given("access_password")
                .is_some_and(|p| p.eq_ignore_ascii_case("null"));
        Ok(Self {
            folder_id,
            folder_name: params.owned("folder_name"),
            parent_id: params.folder_ref("parent_id")?,
            is_public: params.visibility("is_public")?,
            access_password: password_param(params),
            remove_access_password,
        })
    }
}

impl FromParams for FolderDeleteRequest {
    fn from_params(params: &Params) -> Result<Self, ApiError> {
        Ok(Self {
            folder_id: params.require_id("folder_id", folder_id)?,
        })
    }
}

impl FromParams for FolderMoveRequest {
    fn from_params(params: &Params) -> Result<Self, ApiError> {
        let folder = params.require("folder_id")?;
        let destination = params.require("new_parent_folder_id")?;
        // Compared as sent, before either is looked up (the real server's order).
        if folder == destination {
            return Err(ApiError::bad_param(messages::FOLDER_MOVE_ONTO_ITSELF));
        }
        Ok(Self {
            folder_id: params.require_id("folder_id", folder_id)?,
            new_parent_folder_id: params.require_folder_ref("new_parent_folder_id")?,
        })
    }
}

/// `access_password` as sent; the literal `null` is none, and a client's text for "unset"
/// (`None`, `undefined`) is absent.
fn password_param(params: &Params) -> Option<String> {
    params
        .given("access_password")
        .filter(|p| !p.eq_ignore_ascii_case("null"))
        .map(str::to_owned)
}

/// A password as sent (its blanks are part of it); blank counts as absent.
fn password(params: &Params) -> Option<String> {
    params
        .raw("password")
        .filter(|raw| !raw.trim().is_empty())
        .map(str::to_owned)
}

fn package_id(raw: &str) -> Option<i64> {
    upvault_core::PackageId::parse(raw).map(|id| id.0)
}

/// The account an admin endpoint acts on, with that endpoint's own "Please provide …".
fn target_account(params: &Params, missing: &'static str) -> Result<i64, ApiError> {
    if params.get("account_id").is_none() {
        return Err(ApiError::bad_param(missing));
    }
    params.require_id("account_id", |raw| {
        upvault_core::AccountId::parse(raw).map(|id| id.0)
    })
}

impl FromParams for AccountCreateRequest {
    fn from_params(params: &Params) -> Result<Self, ApiError> {
        Ok(Self {
            username: params.require("username")?.to_owned(),
            password: password(params).ok_or_else(|| ApiError::missing("password"))?,
            email: params.require("email")?.to_owned(),
            package_id: params.optional_id("package_id", package_id)?,
            status: params.owned("status"),
            title: params.owned("title"),
            firstname: params.owned("firstname"),
            lastname: params.owned("lastname"),
            paid_expiry_date: params.owned("paid_expiry_date"),
        })
    }
}

impl FromParams for AccountEditRequest {
    fn from_params(params: &Params) -> Result<Self, ApiError> {
        Ok(Self {
            account_id: target_account(params, messages::MISSING_EDIT_ACCOUNT_ID)?,
            password: password(params),
            email: params.owned("email"),
            package_id: params.optional_id("package_id", package_id)?,
            status: params.owned("status"),
            title: params.owned("title"),
            firstname: params.owned("firstname"),
            lastname: params.owned("lastname"),
            paid_expiry_date: params.owned("paid_expiry_date"),
        })
    }
}

impl FromParams for AccountDeleteRequest {
    fn from_params(params: &Params) -> Result<Self, ApiError> {
        Ok(Self {
            account_id: target_account(params, messages::MISSING_DELETE_ACCOUNT_ID)?,
        })
    }
}

impl FromParams for AccountFindRequest {
    fn from_params(params: &Params) -> Result<Self, ApiError> {
        let (username, email) = (params.owned("username"), params.owned("email"));
        if username.is_none() && email.is_none() {
            return Err(ApiError::bad_param(messages::MISSING_FIND_TERMS));
        }
        Ok(Self { username, email })
    }
}
