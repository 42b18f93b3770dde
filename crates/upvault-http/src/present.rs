//! Domain objects → wire objects, with the public URLs of SPEC.md §5.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use upvault_core::model::{Account, File, FolderView, ImportJob, Package};
use upvault_proto::date::{format_datetime, format_optional};
use upvault_proto::objects::*;

/// Characters kept as they are in a URL path segment; everything else is percent-encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A number's digits, as the wire's numeric strings carry them (without the `fmt` machinery
/// of `to_string`: a file object has three or four).
fn decimal(n: impl itoa::Integer) -> String {
    itoa::Buffer::new().format(n).to_owned()
}

/// The `_datetime` of an answer made now.
pub fn now_string() -> String {
    format_datetime(chrono::Utc::now())
}

/// Escapes text for HTML content and attribute values.
pub fn escape_html(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The real server's upload-result row (its file-previewer plugin's form, without the theme's
/// tick and arrow images, which upvault does not ship); `name` and `url` escaped already.
fn success_row(name: &str, url: &str) -> String {
    format!(
        "<td class=\"cancel\"><span class=\"success\" title=\"success\">&#10003;</span></td>\
         <td class=\"name\">{name}</td><td class=\"rightArrow\"></td>\
         <td class=\"url urlOff\"><a href=\"{url}\" target=\"_blank\">{url}</a>\
         <div class=\"fileUrls hidden\">{url}</div></td>"
    )
}

/// Percent-encodes one URL path segment.
pub fn encode_segment(raw: &str) -> String {
    utf8_percent_encode(raw, SEGMENT).to_string()
}

/// Builds wire objects and public URLs.
#[derive(Debug, Clone)]
pub struct Presenter {
    public_url: String,
    site_name: String,
}

impl Presenter {
    /// `public_url` without a trailing slash is the base of every link.
    pub fn new(public_url: &str, site_name: &str) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
            site_name: site_name.to_owned(),
        }
    }

    /// The base URL.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// `{public_url}/{short_url}`: the file page.
    pub fn file_url(&self, file: &File) -> String {
        // Pushed rather than `format!`ed: every file object carries one.
        let mut url = String::with_capacity(self.public_url.len() + 1 + file.short_url.len());
        url.push_str(&self.public_url);
        url.push('/');
        url.push_str(&file.short_url);
        url
    }

    /// `{public_url}/{short_url}/{filename}`: the file page with its name, as imports show it.
    pub fn file_url_with_name(&self, file: &File) -> String {
        format!(
            "{}/{}/{}",
            self.public_url,
            file.short_url,
            encode_segment(&file.filename)
        )
    }

    /// `{public_url}/folder/{id}/{Folder_Name}`.
    pub fn folder_url(&self, view: &FolderView) -> String {
        let slug: String = view
            .folder
            .name
            .chars()
            .map(|c| if c.is_whitespace() { '_' } else { c })
            .collect();
        format!(
            "{}/folder/{}/{}",
            self.public_url,
            view.folder.id,
            encode_segment(&slug)
        )
    }

    /// `download_url` for a token.
    pub fn download_url(&self, file: &File, token: &str) -> String {
        format!("{}?download_token={token}", self.file_url(file))
    }

    /// The File object (SPEC.md §3); `public`: whether its link opens its page.
    pub fn file(&self, file: File, public: bool) -> FileObject {
        // Taken by value: its strings move into the answer instead of being copied (a
        // listing presents every file of a folder).
        let url_file = self.file_url(&file);
        FileObject {
            url_file_info: format!("{url_file}~i?{}", file.delete_hash),
            url_file_stats: format!("{url_file}~s"),
            url_file_delete: format!("{url_file}~d?{}", file.delete_hash),
            url_file,
            id: decimal(file.id.0),
            file_size: decimal(file.size_bytes),
            status: file.status.as_str().to_owned(),
            file_status: file.status.as_str().to_owned(),
            downloads: decimal(file.downloads),
            folder_id: file.folder_id.map(|id| decimal(id.0)),
            uploaded_date: format_datetime(file.uploaded_at),
            is_public: if public { "1" } else { "0" }.to_owned(),
            upload_source: file.upload_source.as_str().to_owned(),
            last_accessed: format_optional(file.last_accessed_at),
            uploaded_ip: file.uploaded_ip,
            filename: file.filename,
            short_url: file.short_url,
            file_type: file.mime_type,
            extension: file.extension,
            keywords: file.keywords,
            md5: file.md5,
        }
    }

    /// The Folder object; `with_password` is false in listings (SPEC.md §3).
    pub fn folder(&self, view: &FolderView, with_password: bool) -> FolderObject {
        let folder = &view.folder;
        FolderObject {
            id: folder.id.to_string(),
            parent_id: folder.parent_id.map(|id| id.to_string()),
            folder_name: folder.name.clone(),
            total_size: view.stats.total_size.to_string(),
            is_public: folder.visibility.as_code().to_string(),
            access_password: with_password.then(|| folder.access_password_md5.clone()),
            date_added: Some(format_datetime(folder.created_at)),
            date_updated: format_optional(folder.updated_at),
            url_folder: self.folder_url(view),
            total_downloads: to_i64(view.stats.total_downloads),
            child_folder_count: to_i64(view.stats.child_folder_count),
            file_count: to_i64(view.stats.file_count),
        }
    }

    /// One item of `/file/upload`'s answer.
    pub fn uploaded(&self, file: &File) -> UploadedFile {
        let url = self.file_url(file);
        let name = escape_html(&file.filename);
        let site = escape_html(&self.site_name);
        UploadedFile {
            name: file.filename.clone(),
            size: file.size_bytes.to_string(),
            file_type: file.mime_type.clone(),
            error: None,
            delete_url: format!("{url}~d?{}", file.delete_hash),
            info_url: format!("{url}~i?{}", file.delete_hash),
            delete_type: "DELETE".into(),
            delete_hash: file.delete_hash.clone(),
            hash: file.md5.clone(),
            stats_url: format!("{url}~s"),
            short_url: file.short_url.clone(),
            file_id: file.id.to_string(),
            unique_hash: file.unique_hash.clone(),
            url_html: format!(
                "<a href=\"{}\" target=\"_blank\" title=\"View {name} on {site}\">view {name} on {site}</a>",
                escape_html(&url)
            ),
            url_bbcode: format!("[url]{url}[/url]"),
            success_result_html: success_row(&name, &escape_html(&url)),
            url,
        }
    }

    /// An item for a file that was refused.
    pub fn upload_refused(&self, name: &str, message: &str) -> UploadedFile {
        UploadedFile {
            name: name.to_owned(),
            error: Some(message.to_owned()),
            ..UploadedFile::default()
        }
    }

    /// `/account/info` data.
    pub fn account(&self, account: &Account) -> AccountObject {
        AccountObject {
            id: account.id.to_string(),
            username: account.username.clone(),
            level_id: account.package_id.to_string(),
            email: account.email.clone(),
            lastlogindate: format_optional(account.last_login_at),
            lastloginip: account.last_login_ip.clone(),
            status: account.status.as_str().to_owned(),
            title: account.title.clone(),
            firstname: account.first_name.clone(),
            lastname: account.last_name.clone(),
            languageId: "1".into(),
            datecreated: Some(format_datetime(account.created_at)),
            lastPayment: format_optional(account.last_payment_at),
            paidExpiryDate: format_optional(account.paid_expiry_at),
            storageLimitOverride: account.storage_limit_override.map(|v| v.to_string()),
        }
    }

    /// `/account/package` data.
    pub fn package(&self, package: &Package) -> PackageObject {
        let l = &package.limits;
        PackageObject {
            id: package.id.to_string(),
            label: package.label.clone(),
            max_upload_size: l.max_upload_size.to_string(),
            can_upload: l.can_upload.to_string(),
            wait_between_downloads: l.wait_between_downloads.to_string(),
            download_speed: l.download_speed.to_string(),
            max_storage_bytes: l.max_storage_bytes.to_string(),
            show_site_adverts: l.show_site_adverts.to_string(),
            show_upgrade_screen: l.show_upgrade_screen.to_string(),
            days_to_keep_inactive_files: l.days_to_keep_inactive_files.to_string(),
            concurrent_uploads: l.concurrent_uploads.to_string(),
            concurrent_downloads: l.concurrent_downloads.to_string(),
            downloads_per_24_hours: l.downloads_per_24_hours.to_string(),
            download_size_per_24_hours: l.download_size_per_24_hours.to_string(),
            max_download_filesize_allowed: l.max_download_filesize_allowed.to_string(),
            max_remote_download_urls: l.max_remote_download_urls.to_string(),
            level_type: package.level_type.clone(),
            on_upgrade_page: l.on_upgrade_page.to_string(),
        }
    }

    /// `/file/url_upload_status` data; `file` is the stored file once complete.
    pub fn scheduled(&self, job: &ImportJob, file: Option<&File>) -> ScheduledStatusData {
        ScheduledStatusData {
            scheduled_item_id: job.id.0,
            status: job.status.as_str().to_owned(),
            url: job.url.clone(),
            created: format_datetime(job.created_at),
            started: format_optional(job.started_at),
            finished: format_optional(job.finished_at),
            total_size: to_i64(job.total_size),
            error: job.error.clone(),
            downloaded_file: file.map(|f| DownloadedFile {
                file_id: f.id.0,
                name: f.filename.clone(),
                size: to_i64(f.size_bytes),
                url: self.file_url_with_name(f),
            }),
        }
    }
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_html_specials() {
        assert_eq!(
            escape_html(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn encodes_path_segments() {
        assert_eq!(encode_segment("My_Folder"), "My_Folder");
        assert_eq!(encode_segment("a/b?c#d é"), "a%2Fb%3Fc%23d%20%C3%A9");
    }
}
