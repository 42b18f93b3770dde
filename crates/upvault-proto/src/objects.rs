//! The objects of SPEC.md §3 with their documented spellings.
//!
//! Ids, sizes and counts are strings where the samples show strings and numbers where they show
//! numbers; absent values are `null`. Fields beyond the samples are extras and never replace one.

use serde::Serialize;

/// `/authorize` data.
#[derive(Debug, Clone, Serialize)]
pub struct AuthorizeData {
    /// 128 characters of `[A-Za-z0-9]`.
    pub access_token: String,
    /// The account id, as a string.
    pub account_id: String,
}

/// A file as `/file/info`, listings and the mutating file endpoints show it.
#[derive(Debug, Clone, Serialize)]
pub struct FileObject {
    /// Numeric id, as a string.
    pub id: String,
    /// The name as the user gave it (sanitised of separators and control characters).
    pub filename: String,
    /// The short URL code of the file page.
    #[serde(rename = "shortUrl")]
    pub short_url: String,
    /// MIME type.
    #[serde(rename = "fileType")]
    pub file_type: String,
    /// Extension without the dot, lower case.
    pub extension: String,
    /// Size in bytes, as a string.
    #[serde(rename = "fileSize")]
    pub file_size: String,
    /// `"active"` or `"trash"`.
    pub status: String,
    /// Completed downloads, as a string.
    pub downloads: String,
    /// Folder id as a string, `null` for the root.
    #[serde(rename = "folderId")]
    pub folder_id: Option<String>,
    /// Comma-separated keywords.
    pub keywords: String,
    /// The public file page.
    pub url_file: String,
    /// Upload time, `Y-m-d H:i:s`.
    #[serde(rename = "uploadedDate")]
    pub uploaded_date: String,
    /// Extra: MD5 of the content, 32 hex.
    pub md5: String,
}

/// A folder; `accessPassword` is left out of listings (SPEC.md §3).
#[derive(Debug, Clone, Serialize)]
pub struct FolderObject {
    /// Numeric id, as a string.
    pub id: String,
    /// Parent id as a string, `null` for the root.
    #[serde(rename = "parentId")]
    pub parent_id: Option<String>,
    /// The name.
    #[serde(rename = "folderName")]
    pub folder_name: String,
    /// Bytes of the active files directly inside, as a string.
    #[serde(rename = "totalSize")]
    pub total_size: String,
    /// `"0"` private, `"1"` unlisted, `"2"` public.
    #[serde(rename = "isPublic")]
    pub is_public: String,
    /// MD5 hex of the access password or `null`; absent (not `null`) in listings.
    #[serde(rename = "accessPassword", skip_serializing_if = "Option::is_none")]
    pub access_password: Option<Option<String>>,
    /// Creation time.
    pub date_added: Option<String>,
    /// Last change, `null` if never changed.
    pub date_updated: Option<String>,
    /// The public folder page.
    pub url_folder: String,
    /// Sum of the downloads of the files inside.
    pub total_downloads: i64,
    /// Active sub-folders directly inside.
    pub child_folder_count: i64,
    /// Active files directly inside.
    pub file_count: i64,
}

/// `/account/info` data: every field of the sample, strings or `null`.
#[derive(Debug, Clone, Serialize)]
#[allow(non_snake_case, missing_docs)]
pub struct AccountObject {
    pub id: String,
    pub username: String,
    pub level_id: String,
    pub email: String,
    pub lastlogindate: Option<String>,
    pub lastloginip: String,
    pub status: String,
    pub title: String,
    pub firstname: String,
    pub lastname: String,
    pub languageId: String,
    pub datecreated: Option<String>,
    pub lastPayment: Option<String>,
    pub paidExpiryDate: Option<String>,
    pub storageLimitOverride: Option<String>,
}

/// `/account/package` data: limits are numbers in strings, `"0"` is unlimited.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct PackageObject {
    pub id: String,
    pub label: String,
    pub max_upload_size: String,
    pub can_upload: String,
    pub wait_between_downloads: String,
    pub download_speed: String,
    pub max_storage_bytes: String,
    pub show_site_adverts: String,
    pub show_upgrade_screen: String,
    pub days_to_keep_inactive_files: String,
    pub concurrent_uploads: String,
    pub concurrent_downloads: String,
    pub downloads_per_24_hours: String,
    pub download_size_per_24_hours: String,
    pub max_download_filesize_allowed: String,
    pub max_remote_download_urls: String,
    pub level_type: String,
    pub on_upgrade_page: String,
}

/// One item of `/file/upload`'s `data` array; a refused file carries `error` and empty fields.
#[derive(Debug, Clone, Default, Serialize)]
#[allow(missing_docs)]
pub struct UploadedFile {
    pub name: String,
    pub size: String,
    #[serde(rename = "type")]
    pub file_type: String,
    pub error: Option<String>,
    pub url: String,
    pub delete_url: String,
    pub info_url: String,
    pub delete_type: String,
    pub delete_hash: String,
    pub hash: String,
    pub stats_url: String,
    pub short_url: String,
    pub file_id: String,
    pub unique_hash: String,
    pub url_html: String,
    pub url_bbcode: String,
}

/// `/file/download` data.
#[derive(Debug, Clone, Serialize)]
pub struct DownloadData {
    /// The file id, as a string.
    pub file_id: String,
    /// The file name.
    pub filename: String,
    /// `{public_url}/{short_url}?download_token={64 hex}`.
    pub download_url: String,
}

/// `/file/url_upload_add` data.
#[derive(Debug, Clone, Serialize)]
pub struct ScheduledData {
    /// The job id, a number.
    pub scheduled_item_id: i64,
    /// The decoded URL.
    pub url: String,
}

/// `/file/url_upload_status` data.
#[derive(Debug, Clone, Serialize)]
pub struct ScheduledStatusData {
    /// The job id, a number.
    pub scheduled_item_id: i64,
    /// `pending`, `downloading`, `complete` or `failed`.
    pub status: String,
    /// The URL being imported (extra).
    pub url: String,
    /// When it was scheduled.
    pub created: String,
    /// When a worker started it.
    pub started: Option<String>,
    /// When it completed or failed.
    pub finished: Option<String>,
    /// Bytes received so far (final size once complete), a number.
    pub total_size: i64,
    /// Why it failed, on failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The stored file, once complete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downloaded_file: Option<DownloadedFile>,
}

/// The file a URL import made; numbers here, as in the sample.
#[derive(Debug, Clone, Serialize)]
pub struct DownloadedFile {
    /// The file id, a number.
    pub file_id: i64,
    /// The file name.
    pub name: String,
    /// Size in bytes, a number.
    pub size: i64,
    /// The public file page, with the name appended.
    pub url: String,
}

/// `/folder/listing` data.
#[derive(Debug, Clone, Serialize)]
pub struct ListingData {
    /// Active sub-folders.
    pub folders: Vec<FolderObject>,
    /// Active files.
    pub files: Vec<FileObject>,
}

/// `{"data": {...}}` wrapper used inside `/file/copy`'s answer.
#[derive(Debug, Clone, Serialize)]
pub struct DataWrapper<T: Serialize> {
    /// The wrapped object.
    pub data: T,
}

/// `/file/copy`'s own shape: `response`, `original_file`, `new_file`, `_status`, `_datetime`.
#[derive(Debug, Clone, Serialize)]
pub struct CopyAnswer {
    /// Always [`crate::messages::FILE_COPIED`].
    pub response: &'static str,
    /// The source file.
    pub original_file: DataWrapper<FileObject>,
    /// The new file record.
    pub new_file: DataWrapper<FileObject>,
    /// Always `"success"`.
    #[serde(rename = "_status")]
    pub status: &'static str,
    /// When the answer was made.
    #[serde(rename = "_datetime")]
    pub datetime: String,
}
