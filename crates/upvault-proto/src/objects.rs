//! The objects of SPEC.md §3 with their documented spellings.
//!
//! Ids, sizes and counts are strings where the samples show strings and numbers where they show
//! numbers; absent values are `null`. Fields beyond the samples are extras and never replace one.
//! Every object reads back what it writes (`Deserialize`), so a client decodes the server's
//! answers with the same types; the doc comments are the OpenAPI document's descriptions.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use utoipa::ToSchema;

/// `/authorize` data: the token to send as `access_token` with `account_id` on every other call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuthorizeData {
    /// The access token: 128 characters of `[A-Za-z0-9]`. It expires after 1 hour without use
    /// (each call extends it) or at `/disable_access_token`.
    pub access_token: String,
    /// The id of the account the token was issued to, as a string.
    pub account_id: String,
}

/// A file, as `/file/info`, listings and the file endpoints that change one show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FileObject {
    /// The file id (a positive whole number), as a string.
    pub id: String,
    /// The name as the user gave it (`/` and `\` become `_`, control characters are dropped).
    pub filename: String,
    /// The short URL code of the file page: `{public_url}/{shortUrl}`.
    #[serde(rename = "shortUrl")]
    pub short_url: String,
    /// The MIME type, e.g. `image/png`.
    #[serde(rename = "fileType")]
    pub file_type: String,
    /// The extension without the dot, in lower case (empty when the name has none).
    pub extension: String,
    /// The size in bytes, as a string.
    #[serde(rename = "fileSize")]
    pub file_size: String,
    /// `active`, or `trash` once deleted.
    pub status: String,
    /// The same as `status`, under the real server's name.
    pub file_status: String,
    /// How many downloads completed, as a string.
    pub downloads: String,
    /// The id of the folder holding the file, as a string; `null` for the root folder.
    #[serde(rename = "folderId")]
    pub folder_id: Option<String>,
    /// Comma-separated keywords.
    pub keywords: String,
    /// The public file page.
    pub url_file: String,
    /// When the file was uploaded, `Y-m-d H:i:s`.
    #[serde(rename = "uploadedDate")]
    pub uploaded_date: String,
    /// Extra: the MD5 of the content, 32 lower-case hex characters.
    pub md5: String,
    /// `1` when anyone with the link may open the file's page (it is active and no folder
    /// above it is private or trashed), else `0` (the real server's per-file field).
    #[serde(rename = "isPublic")]
    pub is_public: String,
    /// How the file arrived: `api` (`/file/upload`) or `remote` (a URL import).
    #[serde(rename = "uploadSource")]
    pub upload_source: String,
    /// The address it was uploaded from (empty when unknown, e.g. for URL imports and files
    /// older than this field). Only its owner ever gets a file object.
    #[serde(rename = "uploadedIP")]
    pub uploaded_ip: String,
    /// Its last completed download, `Y-m-d H:i:s`; `null` before the first.
    #[serde(rename = "lastAccessed")]
    pub last_accessed: Option<String>,
    /// The owner's info page, `{url_file}~i?{delete_hash}` (the real server sends this field;
    /// upvault's info page needs the hash, so it is in the link).
    pub url_file_info: String,
    /// The public stats page, `{url_file}~s`.
    pub url_file_stats: String,
    /// The owner's delete page, `{url_file}~d?{delete_hash}`.
    pub url_file_delete: String,
}

/// A folder; `accessPassword` is left out of listings (SPEC.md §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FolderObject {
    /// The folder id (a positive whole number), as a string.
    pub id: String,
    /// The parent folder's id as a string; `null` for a folder at the root.
    #[serde(rename = "parentId")]
    pub parent_id: Option<String>,
    /// The folder name.
    #[serde(rename = "folderName")]
    pub folder_name: String,
    /// Bytes of the active files directly inside, as a string.
    #[serde(rename = "totalSize")]
    pub total_size: String,
    /// Who may see the folder, as a string: `"0"` private (the owner only, through the API),
    /// `"1"` unlisted (anyone with the link), `"2"` public (also listed in site search).
    #[serde(rename = "isPublic")]
    pub is_public: String,
    /// The MD5 hex of the folder's access password, or `null` without one. Absent (not
    /// `null`) in `/folder/listing`.
    #[serde(
        rename = "accessPassword",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    #[schema(value_type = Option<String>, required = false)]
    pub access_password: Option<Option<String>>,
    /// When the folder was created, `Y-m-d H:i:s`.
    pub date_added: Option<String>,
    /// When the folder last changed, `Y-m-d H:i:s`; `null` if it never did.
    pub date_updated: Option<String>,
    /// The public folder page, `{public_url}/folder/{id}/{Folder_Name}` (it answers only for
    /// unlisted and public folders).
    pub url_folder: String,
    /// The sum of the downloads of the files directly inside, a number.
    pub total_downloads: i64,
    /// How many active sub-folders are directly inside, a number.
    pub child_folder_count: i64,
    /// How many active files are directly inside, a number.
    pub file_count: i64,
}

/// Reads a field that is present, `null` included, as `Some(value)`: with `default`, an absent
/// field stays `None`, so `accessPassword: null` and no `accessPassword` stay apart.
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// `/account/info` data: every field of the documentation's sample, strings or `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[allow(non_snake_case)]
pub struct AccountObject {
    /// The account id, as a string.
    pub id: String,
    /// The user name, as used by `/authorize`.
    pub username: String,
    /// The id of the account's package (see `/account/package`), as a string.
    pub level_id: String,
    /// The e-mail address (may be empty).
    pub email: String,
    /// The last login, `Y-m-d H:i:s`; `null` if the account never logged in.
    pub lastlogindate: Option<String>,
    /// The IP address of the last login (empty if none).
    pub lastloginip: String,
    /// The account status, e.g. `active`.
    pub status: String,
    /// The title, e.g. `Mr` (may be empty).
    pub title: String,
    /// The first name (may be empty).
    pub firstname: String,
    /// The last name (may be empty).
    pub lastname: String,
    /// The language id; always `"1"`.
    pub languageId: String,
    /// When the account was created, `Y-m-d H:i:s`.
    pub datecreated: Option<String>,
    /// The last payment, `Y-m-d H:i:s`; `null` if none.
    pub lastPayment: Option<String>,
    /// When paid membership expires, `Y-m-d H:i:s`; `null` if it does not apply.
    pub paidExpiryDate: Option<String>,
    /// The account's own storage limit in bytes, as a string, replacing the package's
    /// `max_storage_bytes`; `null` when the package's applies.
    pub storageLimitOverride: Option<String>,
}

/// `/package/listing` data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PackageListing {
    /// Every package, by id.
    pub packages: Vec<PackageObject>,
}

/// `/account/package` data: the limits of the account's package, numbers in strings, where
/// `"0"` means unlimited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PackageObject {
    /// The package id (the account's `level_id`), as a string.
    pub id: String,
    /// The package name, e.g. `Premium Account`.
    pub label: String,
    /// The largest file an upload may be, in bytes (`"0"` unlimited).
    pub max_upload_size: String,
    /// `"1"` if the account may upload, `"0"` if not.
    pub can_upload: String,
    /// Seconds to wait between two downloads from the public pages (`"0"` none).
    pub wait_between_downloads: String,
    /// The download speed, in bytes per second (`"0"` unlimited).
    pub download_speed: String,
    /// The storage the account may use, in bytes (`"0"` unlimited).
    pub max_storage_bytes: String,
    /// `"1"` if the site shows adverts to the account.
    pub show_site_adverts: String,
    /// `"1"` if the site shows the upgrade screen to the account.
    pub show_upgrade_screen: String,
    /// Days after which inactive files are removed (`"0"` never).
    pub days_to_keep_inactive_files: String,
    /// How many uploads may run at once (`"0"` unlimited).
    pub concurrent_uploads: String,
    /// How many downloads may run at once (`"0"` unlimited).
    pub concurrent_downloads: String,
    /// Downloads allowed per 24 hours (`"0"` unlimited).
    pub downloads_per_24_hours: String,
    /// Bytes that may be downloaded per 24 hours (`"0"` unlimited).
    pub download_size_per_24_hours: String,
    /// The largest file that may be downloaded, in bytes (`"0"` unlimited).
    pub max_download_filesize_allowed: String,
    /// How many URL imports may be pending at once (`"0"` unlimited).
    pub max_remote_download_urls: String,
    /// The kind of package, e.g. `free user`, `paid user`.
    pub level_type: String,
    /// `"1"` if the package is offered on the upgrade page.
    pub on_upgrade_page: String,
}

/// One item of `/file/upload`'s `data` array, one per file part received. A refused file
/// carries its `error` and empty strings elsewhere.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UploadedFile {
    /// The file name as stored (only the last component of a name that carries a path).
    pub name: String,
    /// The size in bytes, as a string.
    pub size: String,
    /// The MIME type.
    #[serde(rename = "type")]
    pub file_type: String,
    /// Why this file was refused; `null` when it was stored.
    pub error: Option<String>,
    /// The public file page.
    pub url: String,
    /// The owner's delete page, `{url}~d?{delete_hash}`.
    pub delete_url: String,
    /// The owner's info page, `{url}~i?{delete_hash}`.
    pub info_url: String,
    /// Always `DELETE`.
    pub delete_type: String,
    /// The secret of the owner's pages, 32 hex characters.
    pub delete_hash: String,
    /// The MD5 of the content, 32 hex characters.
    pub hash: String,
    /// The public stats page, `{url}~s`.
    pub stats_url: String,
    /// The short URL code of the file page.
    pub short_url: String,
    /// The new file's id, as a string.
    pub file_id: String,
    /// A unique hash of the upload, 64 hex characters.
    pub unique_hash: String,
    /// An HTML link to the file page (escaped HTML).
    pub url_html: String,
    /// A BBCode link to the file page.
    pub url_bbcode: String,
    /// The real server's upload-result row: four HTML table cells (name, then the file page
    /// link), escaped, for clients that insert it into their own upload table. Empty for a
    /// refused file.
    pub success_result_html: String,
}

/// `/file/download` data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DownloadData {
    /// The file id, as a string.
    pub file_id: String,
    /// The file name.
    pub filename: String,
    /// `{public_url}/{short_url}?download_token={64 hex}`: a link bound to this file that may
    /// be used many times (ranges and resumes too) until it expires (6 hours by default).
    pub download_url: String,
}

/// `/file/url_upload_add` data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ScheduledData {
    /// The import's id, a number: `scheduled_item_id` of `/file/url_upload_status`.
    pub scheduled_item_id: i64,
    /// The decoded URL that will be fetched.
    pub url: String,
}

/// `/file/url_upload_status` data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ScheduledStatusData {
    /// The import's id, a number.
    pub scheduled_item_id: i64,
    /// `pending`, `downloading`, `complete` or `failed`.
    pub status: String,
    /// Extra: the URL being imported.
    pub url: String,
    /// When the import was scheduled, `Y-m-d H:i:s`.
    pub created: String,
    /// When a worker started it, `Y-m-d H:i:s`; `null` before.
    pub started: Option<String>,
    /// When it completed or failed, `Y-m-d H:i:s`; `null` before.
    pub finished: Option<String>,
    /// Bytes received so far (the final size once complete), a number.
    pub total_size: i64,
    /// Why it failed; only present when `status` is `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub error: Option<String>,
    /// The stored file; only present once `status` is `complete`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub downloaded_file: Option<DownloadedFile>,
}

/// The file a URL import made; numbers here, as in the documentation's sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DownloadedFile {
    /// The file id, a number.
    pub file_id: i64,
    /// The file name.
    pub name: String,
    /// The size in bytes, a number.
    pub size: i64,
    /// The public file page with the name appended, `{public_url}/{short_url}/{name}`.
    pub url: String,
}

/// `/folder/listing` data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ListingData {
    /// The active sub-folders directly inside (without `accessPassword`).
    pub folders: Vec<FolderObject>,
    /// The active files directly inside.
    pub files: Vec<FileObject>,
}

/// A file object wrapped as `{"data": {...}}`, as `/file/copy`'s answer holds its two files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WrappedFile {
    /// The file.
    pub data: FileObject,
}

/// `/file/copy`'s own shape: `response`, `original_file`, `new_file`, `_status`, `_datetime`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CopyAnswer {
    /// Always `File successfully copyied.` (sic, as documented).
    #[schema(value_type = String)]
    pub response: Cow<'static, str>,
    /// The file that was copied.
    pub original_file: WrappedFile,
    /// The new file record: a new id and short URL, sharing the stored bytes.
    pub new_file: WrappedFile,
    /// Always `success`.
    #[serde(rename = "_status")]
    #[schema(value_type = String)]
    pub status: Cow<'static, str>,
    /// When the answer was made, `Y-m-d H:i:s`.
    #[serde(rename = "_datetime")]
    pub datetime: String,
}
