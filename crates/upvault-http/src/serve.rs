//! The accept loop: hyper's connection builder with the limits `axum::serve` does not expose.
//!
//! - a request head must arrive within `header_read_timeout` (slowloris), and may be at most
//!   `max_header_bytes` long with at most `max_headers` fields (larger ones get 431);
//! - a request body that sends nothing for `idle_timeout` while the server waits for it fails
//!   (the handler's error path removes whatever it had stored), and a response that the client
//!   does not read for `idle_timeout` ends the connection;
//! - there is no limit on a transfer's total time: a 10 GB upload on a slow line only has to
//!   keep moving;
//! - a body the handler stops reading (an upload refused part-way) is read on and discarded,
//!   up to [`DRAIN_BYTES`] or [`DRAIN_TIME`], while the answer goes out: closing a connection
//!   the client is still sending on resets it, and most clients then lose the answer.
//!
//! Each request carries `ConnectInfo<SocketAddr>` (the peer) like `axum::serve`'s. On shutdown
//! the listener closes, idle connections close, and in-flight requests are drained.

use axum::extract::ConnectInfo;
use axum::Router;
use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;
use tower::ServiceExt as _;
use tracing::{debug, error, info};

/// Connection limits (`[http]`).
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Time allowed for a request line and headers, from their first byte (and for the next
    /// request on a kept-alive connection).
    pub header_read_timeout: Duration,
    /// Longest silence of a client in the middle of a request body or of a response it reads.
    pub idle_timeout: Duration,
    /// Largest request head in bytes (at least 8 KiB, hyper's minimum buffer).
    pub max_header_bytes: usize,
    /// Most header fields in a request.
    pub max_headers: usize,
}

/// hyper's default limit on header fields in a request.
const HYPER_MAX_HEADERS: usize = 100;

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_header_bytes: 64 * 1024,
            max_headers: HYPER_MAX_HEADERS,
        }
    }
}

/// Most of a refused body read and discarded after its answer.
pub const DRAIN_BYTES: u64 = 1 << 30;
/// Longest time spent discarding a refused body.
pub const DRAIN_TIME: Duration = Duration::from_secs(60);

/// How a request's body ended when it did not end well: the body sets it, the API's error
/// middleware reads it to answer 408 (stalled) or log the client's abort (499) instead of
/// reporting a fault of ours.
#[derive(Debug, Clone, Default)]
pub struct BodyWatch {
    stalled: Arc<AtomicBool>,
    aborted: Arc<AtomicBool>,
    /// The idle timeout that was exceeded.
    pub timeout: Duration,
}

impl BodyWatch {
    /// Whether the client went silent in the middle of the body.
    pub fn stalled(&self) -> bool {
        self.stalled.load(Ordering::Acquire)
    }

    /// Whether the client closed or broke the connection in the middle of the body.
    pub fn aborted(&self) -> bool {
        self.aborted.load(Ordering::Acquire)
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    accept_failed(err).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let watcher = graceful.watcher();
        let router = router.clone();
        let config = config.clone();
        tokio::spawn(async move {
            let io = TokioIo::new(WriteStallGuard::new(stream, config.idle_timeout));
            let idle = config.idle_timeout;
            let service = hyper::service::service_fn(move |request: http::Request<Incoming>| {
                let watch = BodyWatch {
                    timeout: idle,
                    ..BodyWatch::default()
                };
                let (mut parts, incoming) = request.into_parts();
                let expects_continue = parts
                    .headers
                    .get(http::header::EXPECT)
                    .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"100-continue"));
                let body = IdleBody::wrap(incoming, watch.clone(), idle, expects_continue);
                parts.extensions.insert(ConnectInfo(peer));
                parts.extensions.insert(watch);
                let request = http::Request::from_parts(parts, body);
                router.clone().oneshot(request)
            });
            let builder = builder(&config);
            let connection = builder.serve_connection_with_upgrades(io, service);
            if let Err(err) = watcher.watch(connection).await {
                debug!(%peer, error = %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    info!("no longer accepting connections; draining in-flight requests");
    graceful.shutdown().await;
    Ok(())
}

fn builder(config: &ServeConfig) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_buf_size(config.max_header_bytes.max(8 * 1024));
    // Only a limit other than hyper's own (100) is set: with one set, hyper initialises two
    // header arrays of that size for every request (2 % of `/file/info`), where its default
    // leaves them uninitialised on the stack.
    if config.max_headers != HYPER_MAX_HEADERS {
        builder.http1().max_headers(config.max_headers);
    }
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(config.max_header_bytes).unwrap_or(u32::MAX))
        .keep_alive_interval(config.idle_timeout / 2)
        .keep_alive_timeout(config.idle_timeout);
    builder
}

/// As hyper 0.14 and `axum::serve` did: a failed accept on a full file table waits a second
/// rather than spinning; a connection reset before accept is nothing.
async fn accept_failed(err: io::Error) {
    if matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    error!(%err, "accept failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// The request body, failing once the client has sent nothing for `idle` while the server
/// waits for it. The clock runs only while the handler reads: time the server spends
/// working is not the client's silence. Dropped unfinished, it drains the rest (see the
/// module documentation).
struct IdleBody {
    inner: Option<Incoming>,
    watch: BodyWatch,
    idle: Duration,
    timer: Option<Pin<Box<Sleep>>>,
    /// The client asked to hear `100 Continue` before it sends, which hyper says only once the
    /// body is first read.
    expects_continue: bool,
    /// A frame was asked for, so the client was told to send (or sends unasked).
    started: bool,
}

/// The error of a stalled body.
#[derive(Debug)]
pub struct BodyStalled(Duration);

impl std::fmt::Display for BodyStalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the client sent nothing for {} seconds",
            self.0.as_secs()
        )
    }
}

impl std::error::Error for BodyStalled {}

impl IdleBody {
    fn wrap(
        incoming: Incoming,
        watch: BodyWatch,
        idle: Duration,
        expects_continue: bool,
    ) -> axum::body::Body {
        let body = Self {
            inner: Some(incoming),
            watch,
            idle,
            timer: None,
            expects_continue,
            started: false,
        };
        axum::body::Body::new(body)
    }
}

impl Body for IdleBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        this.started = true;
        match Pin::new(inner).poll_frame(cx) {
            Poll::Ready(None) => {
                this.timer = None;
                this.inner = None;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(err))) => {
                this.timer = None;
                this.inner = None;
                if connection_lost(&err) {
                    this.watch.aborted.store(true, Ordering::Release);
                }
                Poll::Ready(Some(Err(err.into())))
            }
            Poll::Ready(Some(Ok(frame))) => {
                this.timer = None;
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                let idle = this.idle;
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                ready!(timer.as_mut().poll(cx));
                this.timer = None;
                this.inner = None;
                this.watch.stalled.store(true, Ordering::Release);
                Poll::Ready(Some(Err(Box::new(BodyStalled(idle)))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}

impl Drop for IdleBody {
    fn drop(&mut self) {
        let Some(rest) = self.inner.take() else {
            return;
        };
        // Unread and never asked for, a body that waits for `100 Continue` is not coming.
        if rest.is_end_stream() || (self.expects_continue && !self.started) {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(drain(rest));
        }
    }
}

/// Whether a body error is the client going away (closed or reset mid-body), not a malformed
/// body, which still deserves its 400.
fn connection_lost(err: &hyper::Error) -> bool {
    use std::error::Error as _;
    if err.is_incomplete_message() {
        return true;
    }
    let mut source = err.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            return matches!(
                io.kind(),
                io::ErrorKind::UnexpectedEof
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
            );
        }
        source = cause.source();
    }
    false
}

/// Reads and discards what is left of a body, within the drain bounds; then drops it, which
/// lets hyper close the connection.
async fn drain(mut rest: Incoming) {
    use http_body_util::BodyExt as _;
    let mut left = DRAIN_BYTES;
    let discard = async {
        while let Some(Ok(frame)) = rest.frame().await {
            let len = frame.data_ref().map_or(0, Bytes::len) as u64;
            left = left.saturating_sub(len);
            if left == 0 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, discard).await;
}

/// The connection, failing a write that the client has not made room for within `idle` (a
/// reader that stopped reading a download). Reads pass through: a connection waiting for its
/// next request is hyper's header timeout's business, a stalled body [`IdleBody`]'s.
struct WriteStallGuard {
    inner: TcpStream,
    idle: Duration,
    timer: Option<Pin<Box<Sleep>>>,
}

impl WriteStallGuard {
    fn new(inner: TcpStream, idle: Duration) -> Self {
        Self {
            inner,
            idle,
            timer: None,
        }
    }

    /// Runs one write-side poll under the stall timer.
    fn guard<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: impl FnOnce(Pin<&mut TcpStream>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match poll(Pin::new(&mut self.inner), cx) {
            Poll::Ready(result) => {
                self.timer = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let idle = self.idle;
                let timer = self
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                ready!(timer.as_mut().poll(cx));
                self.timer = None;
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("the client read nothing for {} seconds", idle.as_secs()),
                )))
            }
        }
    }
}

impl AsyncRead for WriteStallGuard {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteStallGuard {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.guard(cx, |inner, cx| inner.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.guard(cx, |inner, cx| inner.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.guard(cx, AsyncWrite::poll_flush)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.guard(cx, AsyncWrite::poll_shutdown)
    }
}
