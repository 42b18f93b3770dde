//! Every message the API sends, as `const`s.
//!
//! The first block is the documentation's, to the letter ("copyied" included, SPEC.md §1).
//! The second block is ours, for refusals the documentation does not cover: short sentences
//! that name the parameter or limit and why.

/// `/authorize` failure with username and password, whatever was wrong (SPEC.md §2: never say
/// which half).
pub const AUTH_FAILED: &str = "Could not authenticate user. The username and password may be invalid or your account may be locked from too many failed logins.";
/// `/authorize` failure with a key pair (the real server's, SPEC.md §7).
pub const AUTH_FAILED_KEYS: &str = "Could not authenticate user. The key pair may be invalid or your account may be locked from too many failed logins.";
/// `key1` missing or not 64 characters (the real server's).
pub const KEY1_LENGTH: &str = "Please provide key1. It must be 64 characters in length.";
/// `key2` missing or not 64 characters (the real server's).
pub const KEY2_LENGTH: &str = "Please provide key2. It must be 64 characters in length.";
/// `username` without a `password` (the real server's).
pub const MISSING_PASSWORD: &str = "Please provide a password.";
/// `/folder/move` onto the folder itself (the real server's).
pub const FOLDER_MOVE_ONTO_ITSELF: &str = "Param folder_id can not match new_parent_folder_id.";
/// A bad or expired token on an admin endpoint, which takes no `account_id` of the caller
/// (the real server's).
pub const INVALID_TOKEN_ALONE: &str =
    "Could not validate access_token, please reauthenticate or try again.";
/// An admin endpoint called with a token of an account that is not an administrator (the
/// real server's).
pub const ADMIN_ONLY: &str = "API user must be an admin user for this endpoint.";
/// `/account/create` success (the real server's).
pub const USER_CREATED: &str = "User successfully created.";
/// `/account/edit` success (the real server's).
pub const USER_UPDATED: &str = "User successfully updated.";
/// `/account/delete` success (the real server's).
pub const USER_DELETED: &str = "User successfully deleted.";
/// `/account/edit` without `account_id` (the real server's).
pub const MISSING_EDIT_ACCOUNT_ID: &str =
    "Please provide the account_id param of the account to edit.";
/// `/account/delete` without `account_id` (the real server's).
pub const MISSING_DELETE_ACCOUNT_ID: &str =
    "Please provide the account_id param of the account to delete.";
/// An `account_id` naming no account, on the admin endpoints (the real server's).
pub const TARGET_ACCOUNT_NOT_FOUND: &str =
    "Failed loading a user account with the supplied account_id.";
/// `/account/edit` of an administrator (the real server's).
pub const EDIT_ADMIN: &str = "You can not edit admin accounts via the API.";
/// `/account/delete` of an administrator (the real server's).
pub const DELETE_ADMIN: &str = "You can not delete admin accounts via the API.";
/// An email address another account has (the real server's shipped translation).
pub const EMAIL_TAKEN: &str = "Email address already exists";
/// A username another account has (the real server's).
pub const USERNAME_TAKEN: &str = "Username already exists on another account";
/// An unknown action of a known group (the real server's).
pub fn no_method(group: &str, action: &str) -> String {
    format!("No method found within endpoint ({group}): {action}")
}
/// `/disable_access_token` success.
pub const TOKEN_REMOVED: &str = "Token removed or no longer available.";
/// Missing `access_token`.
pub const MISSING_ACCESS_TOKEN: &str = "Please provide the access_token param.";
/// Missing `account_id`.
pub const MISSING_ACCOUNT_ID: &str = "Please provide the account_id param.";
/// Bad, expired or foreign token.
pub const INVALID_TOKEN: &str =
    "Could not validate access_token and account_id, please reauthenticate or try again.";
/// `/file/upload` without a file part.
pub const NO_UPLOADED_FILE: &str = "Did not receive uploaded file.";
/// `/file/upload` with an empty file.
pub const ZERO_FILESIZE: &str = "Filesize received was zero.";
/// `/file/upload` success.
pub const FILE_UPLOADED: &str = "File uploaded";
/// Missing `file_id`.
pub const MISSING_FILE_ID: &str = "Please provide the file_id param.";
/// Unknown, foreign or trashed file.
pub const FILE_NOT_FOUND: &str = "Could not find file based on file_id.";
/// `/file/download` could not make a token.
pub const DOWNLOAD_URL_FAILED: &str = "Could not generate download url.";
/// `/file/url_upload_add` success.
pub const URL_UPLOAD_SCHEDULED: &str = "File download from URL scheduled";
/// Missing `file_url_base64`.
pub const MISSING_FILE_URL: &str = "Please provide the file_url_base64 param.";
/// `file_url_base64` is not base64.
pub const BAD_FILE_URL_BASE64: &str =
    "Could not parse the file_url_base64 parameter. Ensure it's base64 encoded.";
/// `/file/url_upload_status` success.
pub const SCHEDULED_ITEM_FOUND: &str = "Scheduled URL file download found";
/// Missing `scheduled_item_id`.
pub const MISSING_SCHEDULED_ITEM_ID: &str = "Please provide the scheduled_item_id param.";
/// `/file/edit` success.
pub const FILE_UPDATED: &str = "File successfully updated.";
/// `/file/delete` success.
pub const FILE_DELETED: &str = "File successfully set as deleted.";
/// `/file/move` success.
pub const FILE_MOVED: &str = "File successfully moved.";
/// Missing `new_parent_folder_id`.
pub const MISSING_NEW_PARENT_FOLDER_ID: &str = "Please provide the new_parent_folder_id param.";
/// Unknown destination of a move.
pub const MOVE_DESTINATION_NOT_FOUND: &str =
    "Could not find the destination folder id defined by new_parent_folder_id.";
/// `/file/copy` success (sic).
pub const FILE_COPIED: &str = "File successfully copyied.";
/// Missing `copy_to_folder_id`.
pub const MISSING_COPY_TO_FOLDER_ID: &str = "Please provide the copy_to_folder_id param.";
/// Unknown destination of a copy.
pub const COPY_DESTINATION_NOT_FOUND: &str =
    "Could not find the destination folder id defined by copy_to_folder_id.";
/// `/folder/create` success.
pub const FOLDER_CREATED: &str = "Folder successfully created.";
/// Missing `folder_name`.
pub const MISSING_FOLDER_NAME: &str = "Please provide the folder_name param.";
/// `/folder/edit` success.
pub const FOLDER_UPDATED: &str = "Folder successfully updated.";
/// Unknown, foreign or trashed folder.
pub const FOLDER_NOT_FOUND: &str = "Could not find folder based on folder_id.";
/// `/folder/delete` success.
pub const FOLDER_DELETED: &str = "Folder successfully set as deleted.";
/// `/folder/move` success.
pub const FOLDER_MOVED: &str = "Folder successfully moved.";
/// Missing `folder_id`.
pub const MISSING_FOLDER_ID: &str = "Please provide the folder_id param.";

// --- Messages the documentation lacks (SPEC.md §1: short, specific, naming the parameter). ---

/// `package_id` naming no package.
pub const PACKAGE_NOT_FOUND: &str = "Could not find a package based on package_id.";
/// `package_id` naming the guest package.
pub const GUEST_PACKAGE: &str =
    "The guest package is for visitors without an account; choose another package_id.";
/// `paid_expiry_date` not in the API's date form.
pub const BAD_PAID_EXPIRY_DATE: &str =
    "The paid_expiry_date param must be a date and time as YYYY-MM-DD HH:MM:SS.";
/// `/account/find` with neither parameter.
pub const MISSING_FIND_TERMS: &str = "Please provide the username or email param.";
/// `/account/find` without a match.
pub const FOUND_NO_ACCOUNT: &str = "Could not find an account based on username or email.";
/// Unknown `scheduled_item_id`.
pub const SCHEDULED_ITEM_NOT_FOUND: &str =
    "Could not find scheduled item based on scheduled_item_id.";
/// `folder_id` of an upload or import names no folder of the account.
pub const UPLOAD_FOLDER_NOT_FOUND: &str = "Could not find the folder defined by folder_id.";
/// `parent_id` names no folder of the account.
pub const PARENT_FOLDER_NOT_FOUND: &str = "Could not find the parent folder defined by parent_id.";
/// A folder move or edit would create a cycle.
pub const FOLDER_CYCLE: &str =
    "A folder cannot be moved into itself or one of its own sub-folders.";
/// `access_password` is not 32 hex characters.
pub const BAD_ACCESS_PASSWORD: &str =
    "The access_password param must be an MD5 hash of 32 hexadecimal characters.";
/// `is_public` outside 0, 1, 2.
pub const BAD_IS_PUBLIC: &str =
    "The is_public param must be 0 (private), 1 (unlisted) or 2 (public).";
/// An id param that is not a whole number, where no not-found message fits.
pub fn bad_id(param: &str) -> String {
    format!("The {param} param must be a whole number.")
}
/// An id param of digits that no id can be (0 where the root is not meant, negative, or past
/// the largest id).
pub fn id_out_of_range(param: &str) -> String {
    format!(
        "The {param} param is out of range: ids go from 1 to {}.",
        i64::MAX
    )
}
/// `file_url_base64` decodes to something that is not an http(s) URL.
pub const BAD_FILE_URL_SCHEME: &str =
    "The file_url_base64 param must decode to an http:// or https:// URL.";
/// The package refuses uploads.
pub const UPLOAD_NOT_ALLOWED: &str = "Your account's package does not allow uploads (can_upload).";
/// Rate limited (SPEC.md §1: 429 with Retry-After).
pub const RATE_LIMITED: &str = "Too many requests. Please wait before trying again.";
/// Unknown endpoint.
pub const UNKNOWN_ENDPOINT: &str = "Unknown API endpoint.";
/// A method other than GET or POST.
pub const METHOD_NOT_ALLOWED: &str = "Request method not expected. Use GET or POST.";
/// A server fault; the detail goes to the log, not the client.
pub const INTERNAL_ERROR: &str = "Internal server error. Please try again later.";
/// A request body that could not be parsed.
pub const BAD_REQUEST_BODY: &str = "Could not parse the request body.";
