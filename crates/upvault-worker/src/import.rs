//! The URL-import worker: claims jobs from the queue, fetches them through the guarded client
//! and stores them as files (SPEC.md §4 `/file/url_upload_add`, STYLE.md §6).

use crate::ssrf::{self, FetchConfig, FetchError};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, instrument, warn};
use upvault_core::model::{ImportJob, JobOutcome, UploadSource};
use upvault_core::ports::ByteStream;
use upvault_core::service::{Arrival, Services};
use upvault_core::{name, Error, Limit};

/// How long running jobs may go on after shutdown before they are interrupted.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How long interrupted jobs get to unwind before they are aborted.
const UNWIND_GRACE: Duration = Duration::from_secs(5);
/// A job that hits an internal fault is left for another attempt until it has had this many.
const MAX_ATTEMPTS: u32 = 3;

/// Tunables of the import worker.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Jobs run at once.
    pub concurrency: usize,
    /// Wait between polls of an empty queue.
    pub poll_interval: Duration,
    /// Lease of a claimed job; renewed by heartbeats while it runs.
    pub lease: Duration,
    /// The outbound HTTP client.
    pub fetch: FetchConfig,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            concurrency: 4,
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(60),
            fetch: FetchConfig::default(),
        }
    }
}

/// Runs URL imports inside the server.
pub struct ImportWorker {
    inner: Arc<Inner>,
}

struct Inner {
    services: Services,
    config: WorkerConfig,
    client: reqwest::Client,
    worker_id: String,
    /// Cancelled when running jobs must stop (after the shutdown grace).
    stop: CancellationToken,
}

impl ImportWorker {
    /// Builds the worker and its guarded HTTP client.
    pub fn new(services: Services, config: WorkerConfig) -> anyhow::Result<Self> {
        let client = ssrf::build_client(&config.fetch)?;
        Ok(Self {
            inner: Arc::new(Inner {
                services,
                config,
                client,
                worker_id: worker_id(),
                stop: CancellationToken::new(),
            }),
        })
    }

    /// The id this worker claims jobs under.
    pub fn worker_id(&self) -> &str {
        &self.inner.worker_id
    }

    /// Runs until `shutdown` resolves: claims jobs (at most `concurrency` at once), runs each,
    /// then on shutdown stops claiming, lets running jobs finish for a short grace, interrupts
    /// the rest and gives their jobs back to the queue.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let inner = self.inner;
        let permits = Arc::new(Semaphore::new(inner.config.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        tokio::pin!(shutdown);
        info!(worker = %inner.worker_id, "import worker started");
        loop {
            while let Some(done) = tasks.try_join_next() {
                log_join(done);
            }
            let permit = tokio::select! {
                () = &mut shutdown => break,
                permit = permits.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            let idle = match inner
                .services
                .imports
                .claim(&inner.worker_id, inner.config.lease)
                .await
            {
                Ok(Some(job)) => {
                    let inner = inner.clone();
                    tasks.spawn(async move {
                        let _permit = permit;
                        inner.run_job(job).await;
                    });
                    false
                }
                Ok(None) => true,
                Err(err) => {
                    warn!(%err, "could not claim an import job");
                    true
                }
            };
            if idle {
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(inner.config.poll_interval) => {}
                }
            }
        }
        info!(running = tasks.len(), "import worker stopping");
        drain(&mut tasks, SHUTDOWN_GRACE).await;
        if !tasks.is_empty() {
            inner.stop.cancel();
            drain(&mut tasks, UNWIND_GRACE).await;
            tasks.abort_all();
            while let Some(done) = tasks.join_next().await {
                log_join(done);
            }
        }
        match inner.services.imports.release(&inner.worker_id).await {
            Ok(0) => {}
            Ok(released) => info!(released, "gave unfinished import jobs back to the queue"),
            Err(err) => {
                warn!(%err, "could not give import jobs back; their leases will lapse")
            }
        }
        info!(worker = %inner.worker_id, "import worker stopped");
    }
}

/// Waits up to `grace` for every task to end.
async fn drain(tasks: &mut JoinSet<()>, grace: Duration) {
    let all = async {
        while let Some(done) = tasks.join_next().await {
            log_join(done);
        }
    };
    let _ = tokio::time::timeout(grace, all).await;
}

fn log_join(done: Result<(), tokio::task::JoinError>) {
    if let Err(err) = done {
        if err.is_panic() {
            warn!(%err, "an import job panicked");
        }
    }
}

/// `hostname-pid-random`, unique per process.
fn worker_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "upvault".to_owned());
    format!(
        "{host}-{}-{}",
        std::process::id(),
        upvault_core::secret::random_hex(4)
    )
}

/// Aborts the task when dropped, so an aborted job does not leave its heartbeat running.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How a job ended, as far as the queue is concerned.
enum Ending {
    /// Record this outcome.
    Finish(JobOutcome),
    /// Leave the job alone: it is no longer ours, the worker is stopping, or it is left for
    /// another attempt.
    Leave,
}

/// What went wrong while streaming the body, recorded by the stream for the job to explain.
#[derive(Debug, Clone, Copy)]
enum StreamFailure {
    Idle,
    Remote,
}

/// Shared state of one running job.
struct JobState {
    received: AtomicU64,
    /// Cancelled when the job must stop: the lease is lost or the worker stops.
    cancel: CancellationToken,
    lost: AtomicBool,
    failure: Mutex<Option<StreamFailure>>,
}

impl Inner {
    #[instrument(skip_all, fields(job = %job.id, attempt = job.attempts))]
    async fn run_job(self: Arc<Self>, job: ImportJob) {
        let state = Arc::new(JobState {
            received: AtomicU64::new(0),
            cancel: self.stop.child_token(),
            lost: AtomicBool::new(false),
            failure: Mutex::new(None),
        });
        let heartbeat = AbortOnDrop(tokio::spawn(self.clone().heartbeat(job.id, state.clone())));
        let ending = self.import(&job, &state).await;
        drop(heartbeat);
        match ending {
            Ending::Finish(outcome) => {
                match &outcome {
                    JobOutcome::Complete {
                        file_id,
                        size_bytes,
                    } => info!(file = %file_id, size = size_bytes, "import complete"),
                    JobOutcome::Failed { error } => info!(%error, "import failed"),
                }
                if let Err(err) = self
                    .services
                    .imports
                    .finish(job.id, &self.worker_id, outcome)
                    .await
                {
                    warn!(%err, "could not record the end of an import job");
                }
            }
            Ending::Leave if state.lost.load(Ordering::SeqCst) => {
                debug!("import job abandoned: another worker holds it")
            }
            Ending::Leave => debug!("import job left unfinished"),
        }
    }

    /// Renews the lease with the progress every few seconds; cancels the job when it is no
    /// longer ours.
    async fn heartbeat(self: Arc<Self>, id: upvault_core::JobId, state: Arc<JobState>) {
        let lease = self.config.lease;
        let every = (lease / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
        loop {
            tokio::time::sleep(every).await;
            let received = state.received.load(Ordering::Relaxed);
            match self
                .services
                .imports
                .heartbeat(id, &self.worker_id, lease, received)
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    warn!("import job is no longer ours; abandoning it");
                    state.lost.store(true, Ordering::SeqCst);
                    state.cancel.cancel();
                    return;
                }
                Err(err) => warn!(%err, "could not renew an import job's lease"),
            }
        }
    }

    async fn import(&self, job: &ImportJob, state: &Arc<JobState>) -> Ending {
        let imports = &self.services.imports;
        let uploads = &self.services.uploads;
        let policy = match imports.policy(job).await {
            Ok(policy) => policy,
            Err(err) => return self.failure(job, &err),
        };
        if !policy.can_upload {
            return failed(Limit::UploadsDisabled.message());
        }
        let Ok(url) = url::Url::parse(&job.url) else {
            return failed("The URL is not valid.");
        };
        let allow_private = self.config.fetch.allow_private_addresses;
        let response = tokio::select! {
            () = state.cancel.cancelled() => return Ending::Leave,
            response = ssrf::guarded_get(&self.client, &url, allow_private) => response,
        };
        let response = match response {
            Ok(response) => response,
            Err(err) => {
                match &err {
                    FetchError::Refused(refusal) => info!(%refusal, "import refused"),
                    FetchError::Http(err) => info!(%err, "import fetch failed"),
                }
                return failed(err.user_message());
            }
        };
        let status = response.status();
        if !status.is_success() {
            return failed(format!(
                "The remote server answered HTTP {}.",
                status.as_u16()
            ));
        }
        if let Some(length) = response.content_length() {
            if let Some(limit) = policy.refusal(length) {
                return failed(limit.message());
            }
        }
        let headers = response.headers();
        let filename = header_str(headers, reqwest::header::CONTENT_DISPOSITION)
            .and_then(filename_from_disposition)
            .unwrap_or_else(|| name_from_urls(&url, response.url()));
        let content_type = header_str(headers, reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.split(';').next())
            .map(|essence| essence.trim().to_ascii_lowercase())
            .filter(|essence| !essence.is_empty());

        let body = body_stream(
            response.bytes_stream(),
            self.config.fetch.idle_timeout,
            state.clone(),
        );
        let received = uploads.receive(body, Some(&policy)).await;
        if state.cancel.is_cancelled() {
            if let Ok(temp) = received {
                uploads.discard(temp).await;
            }
            return Ending::Leave;
        }
        let temp = match received {
            Ok(temp) => temp,
            Err(err) => {
                let recorded = *state.failure.lock().unwrap_or_else(|e| e.into_inner());
                return match recorded {
                    Some(StreamFailure::Idle) => failed("The remote server stopped sending data."),
                    Some(StreamFailure::Remote) => {
                        failed("The download from the remote server failed.")
                    }
                    None => self.failure(job, &err),
                };
            }
        };
        match uploads
            .commit(
                job.account_id,
                &policy,
                job.folder_id,
                &Arrival {
                    filename: &filename,
                    declared_type: content_type.as_deref(),
                    source: UploadSource::Remote,
                    // The request came through the API; the bytes from the remote server.
                    ip: "",
                },
                temp,
            )
            .await
        {
            Ok(file) => Ending::Finish(JobOutcome::Complete {
                file_id: file.id,
                size_bytes: file.size_bytes,
            }),
            Err(err) => self.failure(job, &err),
        }
    }

    /// The ending for a domain error: user-facing refusals fail the job; internal faults leave
    /// it for another attempt (its lease lapses, or shutdown releases it) until the last one.
    fn failure(&self, job: &ImportJob, err: &Error) -> Ending {
        match err {
            Error::LimitExceeded(limit) => failed(limit.message()),
            Error::EmptyUpload => failed("The remote server sent an empty file."),
            Error::NotFound(_) => failed("The destination folder no longer exists."),
            Error::InvalidToken => failed("The account no longer exists."),
            Error::Internal(_) if job.attempts < MAX_ATTEMPTS => {
                warn!(%err, "import job hit an internal fault; it will be retried");
                Ending::Leave
            }
            _ => {
                warn!(%err, "import job failed on an internal fault");
                failed("The file could not be stored. Please try again later.")
            }
        }
    }
}

fn failed(error: impl Into<String>) -> Ending {
    Ending::Finish(JobOutcome::Failed {
        error: error.into(),
    })
}

fn header_str(
    headers: &reqwest::header::HeaderMap,
    name: reqwest::header::HeaderName,
) -> Option<&str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// The final URL's last segment (after redirects, as a download link such as `/get?id=5` that
/// redirects to `/files/report.pdf` names the file), or the job URL's when the final has none.
fn name_from_urls(original: &url::Url, last: &url::Url) -> String {
    let has_segment = |url: &url::Url| {
        url.path_segments()
            .and_then(|mut segments| segments.next_back())
            .is_some_and(|segment| !segment.is_empty())
    };
    if has_segment(last) || !has_segment(original) {
        name::from_url(last)
    } else {
        name::from_url(original)
    }
}

/// The file name of a `Content-Disposition` value: `filename*=` (RFC 5987) first, else
/// `filename=`, cleaned as an upload name. `None` when there is none.
pub(crate) fn filename_from_disposition(value: &str) -> Option<String> {
    let mut plain = None;
    let mut extended = None;
    for param in split_params(value).into_iter().skip(1) {
        let Some((key, raw)) = param.split_once('=') else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        let raw = raw.trim();
        if key == "filename*" {
            // charset'language'percent-encoded
            let mut parts = raw.splitn(3, '\'');
            let (charset, _lang, encoded) = (parts.next(), parts.next(), parts.next());
            if let (Some(charset), Some(encoded)) = (charset, encoded) {
                let bytes: Vec<u8> = percent_encoding::percent_decode_str(encoded).collect();
                let text = if charset.eq_ignore_ascii_case("utf-8") {
                    String::from_utf8(bytes).ok()
                } else {
                    // ISO-8859-1: every byte is the code point of the same value.
                    Some(bytes.into_iter().map(char::from).collect())
                };
                extended = text;
            }
        } else if key == "filename" {
            plain = Some(unquote(raw));
        }
    }
    extended
        .or(plain)
        // Only the last path component: never let a remote server choose a path.
        .map(|raw| {
            raw.rsplit(['/', '\\'])
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .filter(|raw| !name::clean(raw).is_empty())
        .map(|raw| name::for_upload(&raw))
}

/// Splits a header value on `;` outside double quotes.
fn split_params(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts
}

fn unquote(raw: &str) -> String {
    let Some(inner) = raw.strip_prefix('"') else {
        return raw.to_owned();
    };
    let inner = inner.strip_suffix('"').unwrap_or(inner);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Wraps the response body: counts bytes for the heartbeat, gives up after `idle` without a
/// chunk, and stops when the job is cancelled. The first error ends the stream.
fn body_stream(
    inner: impl Stream<Item = reqwest::Result<Bytes>> + Send + 'static,
    idle: Duration,
    state: Arc<JobState>,
) -> ByteStream {
    struct Cursor {
        inner: std::pin::Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
        state: Arc<JobState>,
        done: bool,
    }
    let cursor = Cursor {
        inner: Box::pin(inner),
        state,
        done: false,
    };
    let stream = futures::stream::unfold(cursor, move |mut cursor| async move {
        if cursor.done {
            return None;
        }
        let cancel = cursor.state.cancel.clone();
        let item = tokio::select! {
            biased;
            () = cancel.cancelled() => Some(Err(std::io::Error::other("import job interrupted"))),
            next = tokio::time::timeout(idle, cursor.inner.next()) => match next {
                Err(_) => {
                    cursor.state.record(StreamFailure::Idle);
                    Some(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the remote server stopped sending data",
                    )))
                }
                Ok(None) => None,
                Ok(Some(Ok(chunk))) => {
                    cursor
                        .state
                        .received
                        .fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    Some(Ok(chunk))
                }
                Ok(Some(Err(err))) => {
                    cursor.state.record(if err.is_timeout() {
                        StreamFailure::Idle
                    } else {
                        StreamFailure::Remote
                    });
                    Some(Err(std::io::Error::other(err)))
                }
            },
        };
        let item = item?;
        cursor.done = item.is_err();
        Some((item, cursor))
    });
    Box::pin(stream)
}

impl JobState {
    fn record(&self, failure: StreamFailure) {
        let mut slot = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert(failure);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disposition_names() {
        for (header, expected) in [
            ("attachment; filename=\"report.pdf\"", Some("report.pdf")),
            ("attachment; filename=plain.txt", Some("plain.txt")),
            (
                "attachment; filename=\"fallback.txt\"; filename*=UTF-8''na%C3%AFve%20file.txt",
                Some("naïve file.txt"),
            ),
            (
                "attachment; filename*=utf-8''%E2%82%AC%20rates.csv; filename=\"EUR rates.csv\"",
                Some("€ rates.csv"),
            ),
            ("attachment; filename*=iso-8859-1'en'%A3.txt", Some("£.txt")),
            ("attachment; filename=\"a;b.txt\"", Some("a;b.txt")),
            (
                "attachment; filename=\"q\\\"uote.txt\"",
                Some("q\"uote.txt"),
            ),
            ("attachment; filename=\"../../etc/passwd\"", Some("passwd")),
            ("attachment; filename=\"C:\\\\dir\\\\x.bin\"", Some("x.bin")),
            ("attachment", None),
            ("inline; filename=\"\"", None),
            ("attachment; filename=\"../\"", None),
        ] {
            assert_eq!(
                filename_from_disposition(header).as_deref(),
                expected,
                "{header}"
            );
        }
    }

    #[test]
    fn url_names() {
        let u = |s: &str| url::Url::parse(s).expect(s);
        assert_eq!(
            name_from_urls(&u("https://h/get?id=5"), &u("https://cdn/b%20c.png?x=1")),
            "b c.png"
        );
        assert_eq!(
            name_from_urls(&u("https://h/a/b%20c.png"), &u("https://cdn/")),
            "b c.png"
        );
        assert_eq!(
            name_from_urls(&u("https://h/"), &u("https://cdn/real.zip")),
            "real.zip"
        );
        assert_eq!(name_from_urls(&u("https://h/"), &u("https://h/")), "file");
    }

    fn job_state() -> Arc<JobState> {
        Arc::new(JobState {
            received: AtomicU64::new(0),
            cancel: CancellationToken::new(),
            lost: AtomicBool::new(false),
            failure: Mutex::new(None),
        })
    }

    #[tokio::test]
    async fn body_counts_bytes_and_stops_when_idle() {
        let state = job_state();
        let chunks = futures::stream::iter([
            Ok(Bytes::from_static(b"abc")),
            Ok(Bytes::from_static(b"de")),
        ])
        .chain(futures::stream::pending());
        let mut body = body_stream(chunks, Duration::from_millis(50), state.clone());
        assert_eq!(
            body.next().await.and_then(Result::ok).as_deref(),
            Some(&b"abc"[..])
        );
        assert_eq!(
            body.next().await.and_then(Result::ok).as_deref(),
            Some(&b"de"[..])
        );
        let err = body.next().await.and_then(Result::err).expect("idle error");
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert!(body.next().await.is_none());
        assert_eq!(state.received.load(Ordering::Relaxed), 5);
        assert!(matches!(
            *state.failure.lock().expect("lock"),
            Some(StreamFailure::Idle)
        ));
    }

    #[tokio::test]
    async fn body_stops_when_cancelled() {
        let state = job_state();
        let chunks = futures::stream::pending::<reqwest::Result<Bytes>>();
        let mut body = body_stream(chunks, Duration::from_secs(60), state.clone());
        state.cancel.cancel();
        assert!(body.next().await.is_some_and(|item| item.is_err()));
        assert!(body.next().await.is_none());
        assert!(state.failure.lock().expect("lock").is_none());
    }

    #[test]
    fn worker_ids_differ() {
        assert_ne!(worker_id(), worker_id());
    }
}
