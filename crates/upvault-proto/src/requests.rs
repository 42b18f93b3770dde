//! One request type per API v2 endpoint (SPEC.md §2-§4), with [`Endpoint`] naming its path and
//! the body of its success.
//!
//! A request type holds the endpoint's own parameters; every endpoint but `/authorize` also
//! takes [`Credentials`], sent beside them ([`WithCredentials`] is the two together, as a client
//! sends them). Parameters travel as a GET query string or a POST body (urlencoded, multipart
//! or JSON), so every field serialises to a flat `name=value` pair: ids are numbers, folder
//! references are [`FolderRef`]s (`0` is the root), `is_public` is a [`Visibility`] digit.
//! Optional parameters are left out when `None`: the server reads an absent or blank parameter
//! alike. The doc comments are the OpenAPI document's descriptions.

use crate::envelope::Success;
use crate::messages;
use crate::objects::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An API v2 endpoint: its request type, its path and what a success answers.
pub trait Endpoint: Serialize + DeserializeOwned + ToSchema {
    /// The path, e.g. `/api/v2/file/info`.
    const PATH: &'static str;
    /// A one-line summary.
    const SUMMARY: &'static str;
    /// Which credentials go along.
    const CREDENTIALS: Credentialed = Credentialed::Account;
    /// The `response` message of a success, where the documentation shows one.
    const MESSAGE: Option<&'static str>;
    /// The body of a success: a [`Success`] of the endpoint's data, or `/file/copy`'s own shape.
    type Response: Serialize + DeserializeOwned;
}

/// The credentials an endpoint takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentialed {
    /// None (`/authorize`).
    None,
    /// [`Credentials`]: `access_token` and the `account_id` it was issued with.
    Account,
    /// [`AdminCredentials`]: an administrator's `access_token` alone; `account_id`, where
    /// the endpoint takes one, names the account acted on.
    Admin,
}

/// The `access_token` of an administrator, which the admin endpoints need: checked first
/// ("Please provide the access_token param.", then "Could not validate access_token, please
/// reauthenticate or try again."), then the role ("API user must be an admin user for this
/// endpoint.").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AdminCredentials {
    /// The access token of an account with the `admin` role.
    pub access_token: String,
}

/// `access_token` and `account_id`, which every endpoint but `/authorize` needs. They are
/// checked first, in this order: "Please provide the access_token param.", "Please provide the
/// account_id param.", then "Could not validate access_token and account_id, please
/// reauthenticate or try again." for a token that is unknown, expired, revoked or issued to
/// another account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Credentials {
    /// The access token returned by `/authorize` (128 characters of `[A-Za-z0-9]`).
    pub access_token: String,
    /// The account id returned by `/authorize` with the token.
    pub account_id: String,
}

/// An endpoint's request with the credentials beside its parameters, as one flat set of
/// parameters on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithCredentials<T> {
    /// `access_token` and `account_id`.
    #[serde(flatten)]
    pub credentials: Credentials,
    /// The endpoint's own parameters.
    #[serde(flatten)]
    pub request: T,
}

/// A folder parameter: `0` (or the literal `null`, as the real server reads it) is the root
/// folder, any other number a folder id of the account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FolderRef(pub i64);

impl FolderRef {
    /// The root folder, `0` on the wire.
    pub const ROOT: FolderRef = FolderRef(0);

    /// The folder id; `None` for the root.
    pub fn folder(self) -> Option<i64> {
        (self.0 != 0).then_some(self.0)
    }
}

/// Who may see a folder: `0` private, `1` unlisted, `2` public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum Visibility {
    /// `0`: only the owner, through the API.
    Private,
    /// `1`: anyone with the link to the folder page.
    Unlisted,
    /// `2`: anyone, and listed in site search.
    Public,
}

impl Visibility {
    /// The wire digit.
    pub fn code(self) -> u8 {
        match self {
            Visibility::Private => 0,
            Visibility::Unlisted => 1,
            Visibility::Public => 2,
        }
    }

    /// The visibility of a wire digit, if it is one.
    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            0 => Some(Visibility::Private),
            1 => Some(Visibility::Unlisted),
            2 => Some(Visibility::Public),
            _ => None,
        }
    }
}

impl From<Visibility> for u8 {
    fn from(visibility: Visibility) -> u8 {
        visibility.code()
    }
}

impl TryFrom<u8> for Visibility {
    type Error = String;

    fn try_from(code: u8) -> Result<Self, String> {
        Visibility::from_code(code.into())
            .ok_or_else(|| format!("is_public must be 0, 1 or 2, not {code}"))
    }
}

/// Serialises `true` as `1` (what the server reads) and leaves `false` out.
mod flag {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(value: &bool, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(u8::from(*value))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<bool, D::Error> {
        Ok(u8::deserialize(deserializer)? == 1)
    }

    pub(super) fn is_false(value: &bool) -> bool {
        !*value
    }
}

macro_rules! endpoint {
    ($request:ty, $path:literal, $summary:literal, $response:ty, $message:expr $(, credentials = $auth:ident)?) => {
        impl Endpoint for $request {
            const PATH: &'static str = $path;
            const SUMMARY: &'static str = $summary;
            const MESSAGE: Option<&'static str> = $message;
            $(const CREDENTIALS: Credentialed = Credentialed::$auth;)?
            type Response = $response;
        }
    };
}

/// Issues an access token for an API key pair (`key1` + `key2`) or a user name and password.
/// The key pair wins when both are sent. Any failure, whatever half was wrong, answers "Could
/// not authenticate user. The username and password may be invalid or your account may be
/// locked from too many failed logins."; repeated failures lock the account and address for a
/// while. Several tokens of one account may be live at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuthorizeRequest {
    /// The public half of an API key pair, 64 characters (with `key2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key1: Option<String>,
    /// The secret half of an API key pair, 64 characters (with `key1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key2: Option<String>,
    /// The user name (with `password`), used when no key pair is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The account's password (with `username`), taken as sent, blanks included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}
endpoint!(
    AuthorizeRequest,
    "/api/v2/authorize",
    "Get an access token",
    Success<AuthorizeData>,
    None,
    credentials = None
);

/// Revokes the access token sent; answers "Token removed or no longer available." also for a
/// token that had already expired.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DisableAccessTokenRequest {}
endpoint!(
    DisableAccessTokenRequest,
    "/api/v2/disable_access_token",
    "Revoke an access token",
    Success<()>,
    Some(messages::TOKEN_REMOVED)
);

/// The caller's account; an administrator's token may name any account by `account_id`
/// (an unknown one: "Failed loading a user account with the supplied account_id.").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountInfoRequest {}
endpoint!(
    AccountInfoRequest,
    "/api/v2/account/info",
    "Account details",
    Success<AccountObject>,
    None
);

/// The limits of the caller's package; an administrator's token may name any account by
/// `account_id`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountPackageRequest {}
endpoint!(
    AccountPackageRequest,
    "/api/v2/account/package",
    "Account package and limits",
    Success<PackageObject>,
    None
);

/// Uploads one file per `upload_file` part of a `multipart/form-data` body, streamed to
/// storage. The package's `can_upload`, `max_upload_size`, `max_storage_bytes` (or the
/// account's `storageLimitOverride`) and `concurrent_uploads` apply. The answer has one item
/// per file; a refused file carries its `error`, and when every file was refused the answer is
/// the error envelope with the first refusal ("Did not receive uploaded file.", "Filesize
/// received was zero.", or the limit that refused it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FileUploadRequest {
    /// The folder to store the files in; absent, blank or `0` is the root folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    pub folder_id: Option<FolderRef>,
}
endpoint!(
    FileUploadRequest,
    "/api/v2/file/upload",
    "Upload files",
    Success<Vec<UploadedFile>>,
    Some(messages::FILE_UPLOADED)
);

/// A download link for one of the caller's files, by `file_id` or `short_url`. Without
/// either: "Please provide the file_id param."; a file that is not the caller's, or in the
/// trash: "Could not find file based on file_id."
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FileDownloadRequest {
    /// The file id; wins over `short_url` when both are sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<i64>,
    /// The file's short URL code (`shortUrl`), used when `file_id` is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_url: Option<String>,
}
endpoint!(
    FileDownloadRequest,
    "/api/v2/file/download",
    "Get a download link",
    Success<DownloadData>,
    None
);

/// Schedules a background import of a file from an http(s) URL; its progress is read with
/// `/file/url_upload_status`. Private, loopback and link-local addresses are refused (also
/// after redirects) unless the operator allows them; at most the package's
/// `max_remote_download_urls` imports may be pending, and its size limit applies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UrlUploadAddRequest {
    /// The URL of the file, base64-encoded (standard alphabet); it must decode to an
    /// `http://` or `https://` URL. Missing: "Please provide the file_url_base64 param."; not
    /// base64: "Could not parse the file_url_base64 parameter. Ensure it's base64 encoded."
    pub file_url_base64: String,
    /// The folder to store the file in; absent, blank or `0` is the root folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    pub folder_id: Option<FolderRef>,
}
endpoint!(
    UrlUploadAddRequest,
    "/api/v2/file/url_upload_add",
    "Import a file from a URL",
    Success<ScheduledData>,
    Some(messages::URL_UPLOAD_SCHEDULED)
);

/// The state of a URL import scheduled by `/file/url_upload_add`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UrlUploadStatusRequest {
    /// The `scheduled_item_id` that `/file/url_upload_add` returned.
    pub scheduled_item_id: i64,
}
endpoint!(
    UrlUploadStatusRequest,
    "/api/v2/file/url_upload_status",
    "State of a URL import",
    Success<ScheduledStatusData>,
    Some(messages::SCHEDULED_ITEM_FOUND)
);

/// One of the caller's files. A file that is not the caller's, or in the trash: "Could not
/// find file based on file_id."
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FileInfoRequest {
    /// The file id.
    pub file_id: i64,
}
endpoint!(
    FileInfoRequest,
    "/api/v2/file/info",
    "File details",
    Success<FileObject>,
    None
);

/// Renames a file, changes its type or moves it; absent or blank parameters keep what is
/// there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FileEditRequest {
    /// The file id.
    pub file_id: i64,
    /// The new name (`/` and `\` become `_`); absent or blank keeps the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// The new MIME type, e.g. `application/octet-stream`; absent or blank keeps the type.
    #[serde(rename = "fileType", default, skip_serializing_if = "Option::is_none")]
    pub file_type: Option<String>,
    /// The folder to move the file to, `0` for the root; absent or blank keeps the folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    pub folder_id: Option<FolderRef>,
}
endpoint!(
    FileEditRequest,
    "/api/v2/file/edit",
    "Edit a file",
    Success<FileObject>,
    Some(messages::FILE_UPDATED)
);

/// Moves a file to the trash: its `status` becomes `trash`, and it vanishes from listings,
/// downloads and public pages until it is purged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FileDeleteRequest {
    /// The file id.
    pub file_id: i64,
}
endpoint!(
    FileDeleteRequest,
    "/api/v2/file/delete",
    "Delete a file",
    Success<FileObject>,
    Some(messages::FILE_DELETED)
);

/// Moves a file to another folder of the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FileMoveRequest {
    /// The file id.
    pub file_id: i64,
    /// The destination folder; `0` is the root folder. Required: absent or blank answers
    /// "Please provide the new_parent_folder_id param.", a folder that is not the caller's
    /// "Could not find the destination folder id defined by new_parent_folder_id."
    #[schema(value_type = i64)]
    pub new_parent_folder_id: FolderRef,
}
endpoint!(
    FileMoveRequest,
    "/api/v2/file/move",
    "Move a file",
    Success<FileObject>,
    Some(messages::FILE_MOVED)
);

/// Copies a file into a folder: a new file record (new id and short URL) sharing the stored
/// bytes. The answer has its own shape: both files, each wrapped in `data`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FileCopyRequest {
    /// The file id.
    pub file_id: i64,
    /// The destination folder; `0` is the root folder. Required: absent or blank answers
    /// "Please provide the copy_to_folder_id param.", a folder that is not the caller's "Could
    /// not find the destination folder id defined by copy_to_folder_id."
    #[schema(value_type = i64)]
    pub copy_to_folder_id: FolderRef,
}
endpoint!(
    FileCopyRequest,
    "/api/v2/file/copy",
    "Copy a file",
    CopyAnswer,
    Some(messages::FILE_COPIED)
);

/// Creates a folder, private unless `is_public` says otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FolderCreateRequest {
    /// The new folder's name (`/` and `\` become `_`).
    pub folder_name: String,
    /// The parent folder; absent, blank or `0` is the root folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    pub parent_id: Option<FolderRef>,
    /// `0` private (the default when absent or blank), `1` unlisted, `2` public in site search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u8>, minimum = 0, maximum = 2)]
    pub is_public: Option<Visibility>,
    /// The MD5 hex (32 characters) of a password that visitors of the folder page must give;
    /// absent or blank: no password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_password: Option<String>,
}
endpoint!(
    FolderCreateRequest,
    "/api/v2/folder/create",
    "Create a folder",
    Success<FolderObject>,
    Some(messages::FOLDER_CREATED)
);

/// The active sub-folders and files directly inside a folder of the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FolderListingRequest {
    /// The folder to list; absent, blank or `0` is the root folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    pub parent_folder_id: Option<FolderRef>,
}
endpoint!(
    FolderListingRequest,
    "/api/v2/folder/listing",
    "List a folder",
    Success<ListingData>,
    None
);

/// One of the caller's folders, by `folder_id` (or `parent_folder_id`, as the documentation's
/// parameter list names it). Without either: "Please provide the folder_id param."
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FolderInfoRequest {
    /// The folder id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder_id: Option<i64>,
    /// The folder id, read when `folder_id` is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_folder_id: Option<i64>,
}
endpoint!(
    FolderInfoRequest,
    "/api/v2/folder/info",
    "Folder details",
    Success<FolderObject>,
    None
);

/// Renames a folder, moves it, changes who may see it or its password; absent or blank
/// parameters keep what is there. A folder never moves into itself or its own sub-folders.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FolderEditRequest {
    /// The folder id.
    pub folder_id: i64,
    /// The new name; absent or blank keeps the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder_name: Option<String>,
    /// The new parent folder, `0` for the root; absent or blank keeps the parent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    pub parent_id: Option<FolderRef>,
    /// `0` private, `1` unlisted, `2` public in site search; absent or blank keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u8>, minimum = 0, maximum = 2)]
    pub is_public: Option<Visibility>,
    /// The MD5 hex (32 characters) of a new access password; absent or blank keeps the
    /// current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_password: Option<String>,
    /// `1` removes the access password (and `access_password` is then ignored); absent or any
    /// other value keeps it.
    #[serde(
        default,
        skip_serializing_if = "flag::is_false",
        serialize_with = "flag::serialize",
        deserialize_with = "flag::deserialize"
    )]
    #[schema(value_type = Option<u8>)]
    pub remove_access_password: bool,
}
endpoint!(
    FolderEditRequest,
    "/api/v2/folder/edit",
    "Edit a folder",
    Success<FolderObject>,
    Some(messages::FOLDER_UPDATED)
);

/// Moves a folder and everything under it to the trash.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FolderDeleteRequest {
    /// The folder id.
    pub folder_id: i64,
}
endpoint!(
    FolderDeleteRequest,
    "/api/v2/folder/delete",
    "Delete a folder",
    Success<()>,
    Some(messages::FOLDER_DELETED)
);

/// Moves a folder under another folder of the caller; never into itself or its own
/// sub-folders.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FolderMoveRequest {
    /// The folder id.
    pub folder_id: i64,
    /// The new parent folder; `0` is the root folder. Required: absent or blank answers
    /// "Please provide the new_parent_folder_id param."
    #[schema(value_type = i64)]
    pub new_parent_folder_id: FolderRef,
}
endpoint!(
    FolderMoveRequest,
    "/api/v2/folder/move",
    "Move a folder",
    Success<FolderObject>,
    Some(messages::FOLDER_MOVED)
);

/// Creates a user account (administrators only; administrator accounts are made with the
/// operator's CLI). Checked in this order: "Please provide the username param.", "Please
/// provide the password param.", "Please provide the email param.", the username and
/// password rules, "The email address you entered appears to be invalid.", "Email address
/// already exists", "Username already exists on another account", then the package. Answers
/// the new account as `/account/info` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountCreateRequest {
    /// The login name: 1 to 64 printable characters, unique.
    pub username: String,
    /// The password: at least 8 characters.
    pub password: String,
    /// The email address, unique among accounts (compared without case, stored lower-cased).
    pub email: String,
    /// The package (`level_id`); absent or blank is the free package. The guest package and
    /// unknown ids are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_id: Option<i64>,
    /// `active`, `pending`, `disabled` or `suspended`; anything else is `active`, as on the
    /// real server. Only an active account may sign in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// `Mr`, `Ms`, `Mrs`, `Miss` or `Dr`; anything else is stored empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The first name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firstname: Option<String>,
    /// The last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lastname: Option<String>,
    /// When paid membership expires, `Y-m-d H:i:s` (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_expiry_date: Option<String>,
}
endpoint!(
    AccountCreateRequest,
    "/api/v2/account/create",
    "Create an account (administrators)",
    Success<AccountObject>,
    Some(messages::USER_CREATED),
    credentials = Admin
);

/// Changes a user account (administrators only; an administrator's account: "You can not
/// edit admin accounts via the API."). Absent or blank parameters keep what is there. A new
/// password, or a status other than `active`, ends the account's access tokens. Answers the
/// account as `/account/info` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountEditRequest {
    /// The account to change. Missing: "Please provide the account_id param of the account
    /// to edit."; unknown: "Failed loading a user account with the supplied account_id."
    pub account_id: i64,
    /// A new password: at least 8 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// A new email address, unique among the other accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Another package (not the guest package).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_id: Option<i64>,
    /// `active`, `pending`, `disabled` or `suspended`; anything else is `active`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// `Mr`, `Ms`, `Mrs`, `Miss` or `Dr`; anything else is stored empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A new first name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firstname: Option<String>,
    /// A new last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lastname: Option<String>,
    /// When paid membership expires, `Y-m-d H:i:s` (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_expiry_date: Option<String>,
}
endpoint!(
    AccountEditRequest,
    "/api/v2/account/edit",
    "Change an account (administrators)",
    Success<AccountObject>,
    Some(messages::USER_UPDATED),
    credentials = Admin
);

/// Deletes a user account with its files, folders, URL imports, API keys and access tokens
/// (administrators only; an administrator's account: "You can not delete admin accounts via
/// the API."). Stored bytes no other file shares are removed by the next blob sweep.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountDeleteRequest {
    /// The account to delete. Missing: "Please provide the account_id param of the account
    /// to delete."; unknown: "Failed loading a user account with the supplied account_id."
    pub account_id: i64,
}
endpoint!(
    AccountDeleteRequest,
    "/api/v2/account/delete",
    "Delete an account (administrators)",
    Success<()>,
    Some(messages::USER_DELETED),
    credentials = Admin
);

/// Finds an account by its username (exactly) or else its email address (without case), for
/// integrations that keep accounts in step with another site (administrators only). Neither
/// sent: "Please provide the username or email param."; no match: "Could not find an account
/// based on username or email."
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountFindRequest {
    /// The login name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}
endpoint!(
    AccountFindRequest,
    "/api/v2/account/find",
    "Find an account (administrators)",
    Success<AccountObject>,
    None,
    credentials = Admin
);

/// Every package with its limits, the guest package included (administrators only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PackageListingRequest {}
endpoint!(
    PackageListingRequest,
    "/api/v2/package/listing",
    "List the packages (administrators)",
    Success<PackageListing>,
    None,
    credentials = Admin
);
