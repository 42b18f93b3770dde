//! The page handlers: read the request, call [`upvault_core::service::PublicService`] once,
//! render a template.

use crate::context::{set_cookie, PageContext, GRANT_COOKIE_PREFIX, SESSION_COOKIE};
use crate::views::*;
use crate::WebState;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use serde::Deserialize;
use tracing::warn;
use upvault_core::model::{DownloadRefusal, File, Folder};
use upvault_core::service::{Charge, DownloadOutcome, FilePage, Gate, Preview};
use upvault_core::{Error, FolderId};
use upvault_http::download::{
    parse_range, serve_file_with, ExpiredDownloadLink, RangeRequest, ServeOptions,
};

/// `GET /{short_url}[~x]`: the file page, or one of its `~` siblings (the `~` suffix is part
/// of the first path segment, so the dispatch is here and not in the router).
pub(crate) async fn get_code(
    State(state): State<WebState>,
    uri: http::Uri,
    RawQuery(query): RawQuery,
    ctx: PageContext,
    method: Method,
    headers: HeaderMap,
    expired: Option<axum::Extension<ExpiredDownloadLink>>,
) -> Response {
    // From the URI, not `Path`: this router is reached through the API's download route,
    // whose own path parameters travel with the request.
    let raw = uri.path().trim_start_matches('/');
    let code = percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned();
    let query = query.unwrap_or_default();
    let (short_url, action) = match code.split_once('~') {
        Some((short_url, action)) => (short_url, Some(action)),
        None => (code.as_str(), None),
    };
    match action {
        None if expired.is_some() => expired_link(&state, &ctx, short_url).await,
        None => file_page(&state, &ctx, short_url).await,
        Some("i") => info_page(&state, &ctx, short_url, &query).await,
        Some("d") => delete_page(&state, &ctx, short_url, &query, false).await,
        Some("s") => stats_page(&state, &ctx, short_url).await,
        Some("p") => preview(&state, &ctx, short_url).await,
        Some("g") => {
            let ticket = ticket_param(&query);
            download(&state, &ctx, short_url, &ticket, &method, &headers).await
        }
        Some(_) => not_found(&state, &ctx),
    }
}

/// `GET /{short_url}/{anything}`: the file page (the name is decoration). `/api/…` paths that
/// no API route took go back to the API for its error envelope.
pub(crate) async fn get_named(
    State(state): State<WebState>,
    Path((code, _name)): Path<(String, String)>,
    ctx: PageContext,
    request: axum::extract::Request,
) -> Response {
    if code == "api" {
        if let Some(api) = state.api_router.clone() {
            return match tower::ServiceExt::oneshot(api, request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
        }
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    if code.contains('~') {
        return not_found(&state, &ctx);
    }
    file_page(&state, &ctx, &code).await
}

/// `POST /{short_url}~d?{delete_hash}`: moves the file to the trash.
pub(crate) async fn post_code(
    State(state): State<WebState>,
    Path(code): Path<String>,
    RawQuery(query): RawQuery,
    ctx: PageContext,
) -> Response {
    match code.split_once('~') {
        Some((short_url, "d")) => {
            delete_page(&state, &ctx, short_url, &query.unwrap_or_default(), true).await
        }
        _ => not_found(&state, &ctx),
    }
}

async fn file_page(state: &WebState, ctx: &PageContext, short_url: &str) -> Response {
    let shown = match state
        .public
        .file_page(short_url, &ctx.visitor, &ctx.grants)
        .await
    {
        Ok(Gate::Open(shown)) => shown,
        Ok(Gate::Locked(folder)) => {
            return locked(state, ctx, &folder, &format!("/{short_url}"), None)
        }
        Err(err) => return failure(state, ctx, err),
    };
    let FilePage {
        file,
        preview,
        offer,
    } = shown;
    let folder = match file.folder_id {
        Some(id) => state
            .public
            .folder_page(id, &ctx.grants)
            .await
            .ok()
            .and_then(|gate| match gate {
                Gate::Open(listing) => Some(Link {
                    href: folder_href(&listing.folder),
                    label: listing.folder.name,
                }),
                Gate::Locked(_) => None,
            }),
        None => None,
    };
    let left = offer.ready_at - state.public.now();
    let wait_left = left.num_seconds().max(0) + i64::from(left.subsec_nanos() > 0);
    let (kind, text) = match preview {
        Preview::Image => ("image", String::new()),
        Preview::Text(text) => ("text", text),
        Preview::None => ("icon", String::new()),
    };
    let template = FileTemplate {
        layout: layout(state, ctx, &file.filename),
        file: FileRow::new(&file),
        short_url: file.short_url.clone(),
        folder,
        preview: kind,
        preview_text: text,
        icon_label: icon_label(&file),
        ticket: offer.ticket,
        wait_left: if offer.wait_secs > 0 { wait_left } else { 0 },
        wait_text: delay(i64::try_from(offer.wait_secs).unwrap_or(i64::MAX)),
        blocked: offer
            .blocked
            .map(|refusal| RefusalText::new(&refusal).message),
        speed: offer.bytes_per_sec.map(human_size),
        package: offer.package,
    };
    let mut response = page(StatusCode::OK, &template);
    no_store(&mut response);
    response
}

async fn download(
    state: &WebState,
    ctx: &PageContext,
    short_url: &str,
    ticket: &str,
    method: &Method,
    headers: &HeaderMap,
) -> Response {
    let head = method == Method::HEAD;
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let charge = |size: u64| match (head, parse_range(range, size)) {
        (true, _) | (_, RangeRequest::Unsatisfiable) => Charge {
            bytes: 0,
            counts: false,
        },
        (false, RangeRequest::Full) => Charge {
            bytes: size,
            counts: true,
        },
        (false, RangeRequest::Partial(r)) => Charge {
            bytes: r.len(),
            counts: r.start == 0,
        },
    };
    let outcome = state
        .public
        .download(short_url, ticket, &ctx.visitor, &ctx.grants, charge)
        .await;
    match outcome {
        Ok(DownloadOutcome::Granted(grant)) => {
            let public = state.api.services.files.clone();
            let on_complete = move |file: &File| {
                let id = file.id;
                tokio::spawn(async move {
                    if let Err(err) = public.record_download(id).await {
                        warn!(%err, "could not count a download");
                    }
                });
            };
            let options = ServeOptions {
                bytes_per_sec: grant.bytes_per_sec,
                hold: Some(Box::new(grant.slot)),
            };
            serve_file_with(
                &state.api,
                &grant.file,
                method,
                headers,
                on_complete,
                options,
            )
            .await
        }
        Ok(DownloadOutcome::Refused(refusal)) => refused(state, ctx, short_url, ticket, &refusal),
        Err(err) => failure(state, ctx, err),
    }
}

fn refused(
    state: &WebState,
    ctx: &PageContext,
    short_url: &str,
    ticket: &str,
    refusal: &DownloadRefusal,
) -> Response {
    let now = state.public.now();
    let left = refusal.lifts_at().map(|at| {
        let left = at - now;
        left.num_seconds() + i64::from(left.subsec_nanos() > 0)
    });
    let lifts = match (refusal, left) {
        (_, Some(secs)) => Some(format!(
            // A wait comes before a first download as well: not "again".
            "You can download {}in {} (at {}).",
            if matches!(refusal, DownloadRefusal::Wait { .. }) {
                ""
            } else {
                "again "
            },
            delay(secs),
            refusal.lifts_at().map(date).unwrap_or_default()
        )),
        (DownloadRefusal::Concurrent { .. }, None) => {
            Some("You can download again as soon as one of your downloads ends.".to_owned())
        }
        _ => None,
    };
    let status = match refusal {
        DownloadRefusal::FileTooLarge { .. } | DownloadRefusal::TicketInvalid => {
            StatusCode::FORBIDDEN
        }
        _ => StatusCode::TOO_MANY_REQUESTS,
    };
    // Only the wait retries by itself: its ticket becomes valid, the other limits need a person.
    let retry_secs = match refusal {
        DownloadRefusal::Wait { .. } => left.map(|s| s.max(1)),
        _ => None,
    };
    let text = RefusalText::new(refusal);
    let template = RefusedTemplate {
        layout: layout(state, ctx, text.heading),
        text,
        limit: refusal.limit_name().map(str::to_owned),
        lifts,
        retry_secs,
        retry_url: format!(
            "/{}~g?t={}",
            segment(short_url),
            percent_encoding::utf8_percent_encode(ticket, percent_encoding::NON_ALPHANUMERIC)
        ),
        back: format!("/{}", segment(short_url)),
    };
    let mut response = page(status, &template);
    if let Some(secs) = left.filter(|s| *s > 0) {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    no_store(&mut response);
    response
}

async fn preview(state: &WebState, ctx: &PageContext, short_url: &str) -> Response {
    match state.public.preview(short_url, &ctx.grants).await {
        Ok((file, stream)) => {
            let mut response = Response::new(Body::from_stream(stream));
            let headers = response.headers_mut();
            if let Ok(value) = HeaderValue::from_str(&file.mime_type) {
                headers.insert(header::CONTENT_TYPE, value);
            }
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(file.size_bytes));
            // Only raster types get here; even so, nothing it holds may run or load anything.
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("sandbox; default-src 'none'"),
            );
            headers.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("inline; filename=\"preview\""),
            );
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=300"),
            );
            response
        }
        Err(err) => failure(state, ctx, err),
    }
}

async fn info_page(state: &WebState, ctx: &PageContext, short_url: &str, hash: &str) -> Response {
    let file = match state.public.owner_file(short_url, hash).await {
        Ok(file) => file,
        Err(err) => return failure(state, ctx, err),
    };
    let base = format!("{}/{}", state.config.public_url, file.short_url);
    let template = InfoTemplate {
        layout: layout(state, ctx, &file.filename),
        file: FileRow::new(&file),
        downloads: file.downloads,
        file_url: base.clone(),
        stats_url: format!("{base}~s"),
        delete_url: format!("{base}~d?{}", file.delete_hash),
    };
    let mut response = page(StatusCode::OK, &template);
    no_store(&mut response);
    response
}

async fn delete_page(
    state: &WebState,
    ctx: &PageContext,
    short_url: &str,
    hash: &str,
    confirmed: bool,
) -> Response {
    let result = if confirmed {
        state.public.delete_with_hash(short_url, hash).await
    } else {
        state.public.owner_file(short_url, hash).await
    };
    let file = match result {
        Ok(file) => file,
        Err(err) => return failure(state, ctx, err),
    };
    let template = DeleteTemplate {
        layout: layout(state, ctx, "Delete file"),
        file: FileRow::new(&file),
        action: format!("/{}~d?{}", segment(&file.short_url), segment(hash)),
        done: confirmed,
    };
    let mut response = page(StatusCode::OK, &template);
    no_store(&mut response);
    response
}

async fn stats_page(state: &WebState, ctx: &PageContext, short_url: &str) -> Response {
    let stats = match state.public.stats(short_url, &ctx.grants).await {
        Ok(Gate::Open(stats)) => stats,
        Ok(Gate::Locked(folder)) => {
            return locked(state, ctx, &folder, &format!("/{short_url}~s"), None)
        }
        Err(err) => return failure(state, ctx, err),
    };
    let template = StatsTemplate {
        layout: layout(
            state,
            ctx,
            &format!("Statistics of {}", stats.file.filename),
        ),
        file: FileRow::new(&stats.file),
        total: stats.file.downloads,
        chart: Chart::new(&stats.days, state.public.now().date_naive(), 30),
    };
    page(StatusCode::OK, &template)
}

/// `GET /folder/{id}`.
pub(crate) async fn folder_page(
    State(state): State<WebState>,
    Path(id): Path<String>,
    ctx: PageContext,
) -> Response {
    show_folder(&state, &ctx, &id).await
}

/// `GET /folder/{id}/{name}` (the name is decoration).
pub(crate) async fn folder_page_named(
    State(state): State<WebState>,
    Path((id, _name)): Path<(String, String)>,
    ctx: PageContext,
) -> Response {
    show_folder(&state, &ctx, &id).await
}

async fn show_folder(state: &WebState, ctx: &PageContext, id: &str) -> Response {
    let Some(id) = FolderId::parse(id) else {
        return not_found(state, ctx);
    };
    let listing = match state.public.folder_page(id, &ctx.grants).await {
        Ok(Gate::Open(listing)) => listing,
        Ok(Gate::Locked(folder)) => {
            return locked(state, ctx, &folder, &format!("/folder/{id}"), None)
        }
        Err(err) => return failure(state, ctx, err),
    };
    let link = |folder: &Folder| Link {
        href: folder_href(folder),
        label: folder.name.clone(),
    };
    let template = FolderTemplate {
        layout: layout(state, ctx, &listing.folder.name),
        name: listing.folder.name.clone(),
        path: listing.path.iter().map(link).collect(),
        folders: listing.folders.iter().map(|v| link(&v.folder)).collect(),
        files: listing.files.iter().map(FileRow::new).collect(),
    };
    let mut response = page(StatusCode::OK, &template);
    no_store(&mut response);
    response
}

#[derive(Debug, Deserialize)]
pub(crate) struct UnlockForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// `POST /folder/{id}`: checks the folder's password, sets its grant cookie.
pub(crate) async fn folder_unlock(
    State(state): State<WebState>,
    Path(id): Path<String>,
    ctx: PageContext,
    Form(form): Form<UnlockForm>,
) -> Response {
    unlock(&state, &ctx, &id, form).await
}

/// `POST /folder/{id}/{name}`.
pub(crate) async fn folder_unlock_named(
    State(state): State<WebState>,
    Path((id, _name)): Path<(String, String)>,
    ctx: PageContext,
    Form(form): Form<UnlockForm>,
) -> Response {
    unlock(&state, &ctx, &id, form).await
}

async fn unlock(state: &WebState, ctx: &PageContext, id: &str, form: UnlockForm) -> Response {
    let Some(id) = FolderId::parse(id) else {
        return not_found(state, ctx);
    };
    let next = local_path(&form.next).unwrap_or_else(|| format!("/folder/{id}"));
    match state
        .public
        .unlock_folder(id, &form.password, &ctx.address)
        .await
    {
        Ok(grant) => {
            let cookie = set_cookie(
                &format!("{GRANT_COOKIE_PREFIX}{id}"),
                &grant,
                state.config.grant_cookie_secs,
                state.config.secure_cookies,
            );
            see_other(&next, Some(cookie))
        }
        Err(Error::AuthFailed) => match state.public.folder_page(id, &ctx.grants).await {
            Ok(Gate::Locked(folder)) => {
                let mut response = locked(
                    state,
                    ctx,
                    &folder,
                    &next,
                    Some("Wrong password.".to_owned()),
                );
                *response.status_mut() = StatusCode::FORBIDDEN;
                response
            }
            _ => not_found(state, ctx),
        },
        Err(err) => failure(state, ctx, err),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct NextQuery {
    next: Option<String>,
}

/// `GET /login`.
pub(crate) async fn login_form(
    State(state): State<WebState>,
    ctx: PageContext,
    axum::extract::Query(query): axum::extract::Query<NextQuery>,
) -> Response {
    let next = query
        .next
        .as_deref()
        .and_then(local_path)
        .unwrap_or_else(|| "/".to_owned());
    page(
        StatusCode::OK,
        &LoginTemplate {
            layout: layout(&state, &ctx, "Log in"),
            next,
            error: None,
        },
    )
}

/// `POST /login`: a page session, so downloads follow the account's package.
pub(crate) async fn login(
    State(state): State<WebState>,
    ctx: PageContext,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = local_path(&form.next).unwrap_or_else(|| "/".to_owned());
    match state
        .api
        .services
        .auth
        .page_login(&form.username, &form.password, &ctx.address)
        .await
    {
        Ok(session) => {
            let cookie = set_cookie(
                SESSION_COOKIE,
                &session,
                state.config.session_cookie_secs,
                state.config.secure_cookies,
            );
            see_other(&next, Some(cookie))
        }
        Err(Error::AuthFailed) => page(
            StatusCode::FORBIDDEN,
            &LoginTemplate {
                layout: layout(&state, &ctx, "Log in"),
                next,
                error: Some("Wrong username or password.".to_owned()),
            },
        ),
        Err(err) => failure(&state, &ctx, err),
    }
}

/// `GET /logout`: a link someone followed or typed; signing out takes the page's button (a
/// POST, so no image tag or prefetch can sign anyone out).
pub(crate) async fn logout_form(State(state): State<WebState>, ctx: PageContext) -> Response {
    let signed_in = ctx.user.is_some();
    let template = LogoutTemplate {
        layout: layout(&state, &ctx, "Log out"),
        signed_in,
    };
    let mut response = page(StatusCode::OK, &template);
    no_store(&mut response);
    response
}

/// `POST /logout`.
pub(crate) async fn logout(State(state): State<WebState>) -> Response {
    see_other(
        "/",
        Some(set_cookie(
            SESSION_COOKIE,
            "",
            0,
            state.config.secure_cookies,
        )),
    )
}

/// `GET /`.
pub(crate) async fn home(State(state): State<WebState>, ctx: PageContext) -> Response {
    page(
        StatusCode::OK,
        &HomeTemplate {
            layout: layout(&state, &ctx, "Home"),
        },
    )
}

/// `GET /static/{name}`: the stylesheet and the countdown script, built in.
pub(crate) async fn static_file(Path(name): Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "style.css" => (
            include_str!("../static/style.css"),
            "text/css; charset=utf-8",
        ),
        "countdown.js" => (
            include_str!("../static/countdown.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return (StatusCode::NOT_FOUND, "Not found.").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

fn locked(
    state: &WebState,
    ctx: &PageContext,
    folder: &Folder,
    next: &str,
    error: Option<String>,
) -> Response {
    let template = LockedTemplate {
        layout: layout(state, ctx, "Password required"),
        folder_name: folder.name.clone(),
        action: format!("/folder/{}", folder.id),
        next: next.to_owned(),
        error,
    };
    let mut response = page(StatusCode::UNAUTHORIZED, &template);
    no_store(&mut response);
    response
}

/// The page for a domain error: not found (trashed and private included), rate limited, or
/// a fault (logged, never shown).
fn failure(state: &WebState, ctx: &PageContext, err: Error) -> Response {
    match err {
        Error::NotFound(_) => not_found(state, ctx),
        Error::RateLimited(secs) => {
            let template = MessageTemplate::new(
                layout(state, ctx, "Too many attempts"),
                "Too many attempts",
                format!(
                    "Too many wrong passwords. Try again in {}.",
                    delay(i64::try_from(secs).unwrap_or(i64::MAX))
                ),
            );
            let mut response = page(StatusCode::TOO_MANY_REQUESTS, &template);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            response
        }
        err => {
            tracing::error!(%err, "a page failed");
            error_page(state, ctx, StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

fn not_found(state: &WebState, ctx: &PageContext) -> Response {
    let template = MessageTemplate::new(
        layout(state, ctx, "Not found"),
        "Not found",
        "There is nothing here: the link is wrong, or the file or folder has been deleted or \
         is private."
            .to_owned(),
    );
    page(StatusCode::NOT_FOUND, &template)
}

/// A `?download_token=` link that no longer works: said so, with the way to a new one when the
/// file is still there for this visitor.
async fn expired_link(state: &WebState, ctx: &PageContext, short_url: &str) -> Response {
    let file = match state
        .public
        .file_page(short_url, &ctx.visitor, &ctx.grants)
        .await
    {
        Ok(Gate::Open(shown)) => Some(shown.file),
        Ok(Gate::Locked(_)) => None,
        Err(Error::NotFound(_)) => return not_found(state, ctx),
        Err(err) => return failure(state, ctx, err),
    };
    let mut template = MessageTemplate::new(
        layout(state, ctx, "Download link expired"),
        "This download link has expired",
        "Download links last a limited time. The file is still here: open its page to \
         download it."
            .to_owned(),
    );
    template.link = Some(Link {
        href: format!("/{}", segment(short_url)),
        label: file.map_or_else(
            || "Open the file page".to_owned(),
            |file| format!("Open the page of {}", file.filename),
        ),
    });
    let mut response = page(StatusCode::NOT_FOUND, &template);
    no_store(&mut response);
    response
}

/// Any other error of a page route (wrong method, unreadable path or form, no such route): the
/// styled page instead of a bare status or plain text.
pub(crate) fn error_page(state: &WebState, ctx: &PageContext, status: StatusCode) -> Response {
    if status == StatusCode::NOT_FOUND {
        return not_found(state, ctx);
    }
    let (heading, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => (
            "Not available this way",
            "This page cannot be opened this way. Follow a link or use the page's buttons.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "Too large",
            "What was sent is larger than this page accepts.",
        ),
        s if s.is_server_error() => (
            "Something went wrong",
            "The server could not show this page. Please try again later.",
        ),
        _ => (
            "Bad request",
            "This address or form could not be read. Check the link, or go back and try again.",
        ),
    };
    let template = MessageTemplate::new(layout(state, ctx, heading), heading, message.to_owned());
    page(status, &template)
}

/// Too many requests from one address: a small page, with `Retry-After`.
pub(crate) fn rate_limited(state: &WebState, retry_after_secs: u64) -> Response {
    let secs = retry_after_secs.max(1);
    let template = MessageTemplate::new(
        bare_layout(state, "Too many requests"),
        "Too many requests",
        format!(
            "Too many requests from your address. Try again in {}.",
            delay(i64::try_from(secs).unwrap_or(i64::MAX))
        ),
    );
    let mut response = page(StatusCode::TOO_MANY_REQUESTS, &template);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, http::HeaderValue::from(secs));
    no_store(&mut response);
    response
}

fn layout(state: &WebState, ctx: &PageContext, title: &str) -> Layout {
    Layout {
        site: state.config.site_name.clone(),
        title: title.to_owned(),
        user: ctx.user.clone(),
        csrf: ctx.form_token.clone(),
    }
}

/// The frame of a page answered before the visitor is known (no account, no form token).
fn bare_layout(state: &WebState, title: &str) -> Layout {
    Layout {
        site: state.config.site_name.clone(),
        title: title.to_owned(),
        user: None,
        csrf: String::new(),
    }
}

/// A page form without the browser's form token (a forged cross-site POST, or a page kept open
/// across a cookie reset), or too large to read.
pub(crate) fn form_refused(state: &WebState, status: StatusCode) -> Response {
    let template = MessageTemplate::new(
        bare_layout(state, "Form expired"),
        "This form has expired",
        "It could not be checked as coming from this site. Go back, reload the page and try \
         again."
            .to_owned(),
    );
    let mut response = page(status, &template);
    no_store(&mut response);
    response
}

fn see_other(location: &str, cookie: Option<String>) -> Response {
    let mut response = Redirect::to(location).into_response();
    if let Some(value) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Pages with tickets, hashes or grants are never cached by anyone.
fn no_store(response: &mut Response) {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// A redirect target of ours: a path on this site, never `//host` or a scheme (no open
/// redirect).
fn local_path(raw: &str) -> Option<String> {
    let ok = raw.starts_with('/')
        && !raw.starts_with("//")
        && !raw.starts_with("/\\")
        && !raw.chars().any(|c| c.is_control());
    ok.then(|| raw.to_owned())
}

/// `t` of the download query.
fn ticket_param(query: &str) -> String {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "t").map(|(_, v)| v))
        .unwrap_or_default()
}

/// The text on the generic file icon: the extension, or "FILE".
fn icon_label(file: &File) -> String {
    let ext: String = file.extension.chars().take(5).collect();
    if ext.is_empty() {
        "FILE".to_owned()
    } else {
        ext.to_uppercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_stay_on_the_site() {
        assert_eq!(local_path("/folder/3"), Some("/folder/3".to_owned()));
        assert_eq!(local_path("//evil.example"), None);
        assert_eq!(local_path("/\\evil.example"), None);
        assert_eq!(local_path("https://evil.example"), None);
        assert_eq!(local_path(""), None);
    }

    #[test]
    fn tickets_come_from_t() {
        assert_eq!(ticket_param("t=1.2.3.abc"), "1.2.3.abc");
        assert_eq!(ticket_param("x=1&t=a%2Eb"), "a.b");
        assert_eq!(ticket_param(""), "");
    }
}
