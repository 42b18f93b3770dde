//! The server's log: tracing-subscriber's `fmt` output, with the common case written directly.
//!
//! Every request logs one line, and tracing-subscriber's default formatter spent about a tenth
//! of a small API call's CPU on it (its timestamp alone goes through a dozen `write!` calls).
//! [`LogFormat`] writes the same bytes itself for events outside any span when the output has
//! no colour codes (a log file, a pipe, journald); everything else (a terminal, events in a
//! span) goes to the default formatter. The tests pin the two to the same output.
//! [`LineWriter`] then writes the lines to stderr, the routine ones in batches.

use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{Format, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber: `RUST_LOG` filtering (default `info`) to stderr, colours
/// only on a terminal. Keep the guard until the program ends (see [`LineWriter`]).
pub fn init() -> LogGuard {
    use std::io::IsTerminal;
    let writer = LineWriter::stderr();
    let guard = writer.guard();
    // The lines that led up to a panic go out before its message, which std writes at once.
    let on_panic = writer.clone();
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        on_panic.write_pending();
        report(info);
    }));
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        // Colour codes only for a terminal: in a log file they are noise.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(writer)
        .event_format(LogFormat::default())
        .init();
    guard
}

/// How long an `INFO` (or quieter) line may wait in memory before it is written.
const FLUSH_AFTER: Duration = Duration::from_millis(100);

/// Lines held in memory past which they are written at once, whatever their age.
const BUFFER_BYTES: usize = 64 * 1024;

/// Log lines to one file descriptor, the routine ones in batches.
///
/// Every request logs a line, and one `write` system call per line was about a tenth of a
/// small API call's CPU (more when both runtime threads queued on `std::io::Stderr`'s lock).
/// So, as nginx's `access_log ... buffer= flush=` does:
/// - `INFO`, `DEBUG` and `TRACE` lines collect in memory and go out together, at most
///   [`FLUSH_AFTER`] after the first of them or once [`BUFFER_BYTES`] have collected;
/// - a `WARN` or `ERROR` line goes out at once, after the lines before it, so what explains a
///   failure is never held back;
/// - [`LogGuard`] writes what is left when the program ends, and from then on every line goes
///   out at once.
///
/// A process killed outright loses at most the last [`FLUSH_AFTER`] of routine lines. With
/// nothing collected, the flushing thread sleeps until a line arrives: an idle server has no
/// timer ticking. Each batch is written whole by one holder of the output at a time, so lines
/// keep their order and never interleave.
#[derive(Debug, Clone)]
pub struct LineWriter(Arc<Lines>);

#[derive(Debug)]
struct Lines {
    pending: Mutex<Pending>,
    /// Wakes the flushing thread when lines arrive after none were pending.
    arrived: Condvar,
    /// Held while a batch is written (taken before `pending` is let go, so batches go out in
    /// the order they were taken).
    output: Mutex<Output>,
}

#[derive(Debug, Default)]
struct Pending {
    bytes: Vec<u8>,
    /// Set by [`LogGuard`]: from then on every line is written at once.
    closed: bool,
}

#[derive(Debug)]
enum Output {
    /// A duplicate of the descriptor, written without std's lock.
    Fd(std::fs::File),
    /// std's stderr, when there was no descriptor to duplicate (it drops what it is given).
    Std(std::io::Stderr),
}

impl LineWriter {
    /// Lines to this process's stderr.
    pub fn stderr() -> Self {
        use std::os::fd::AsFd;
        Self::to(std::io::stderr().as_fd())
    }

    /// Lines to `fd`, which stays open and usable by its owner; starts the flushing thread,
    /// which ends when the [`LogGuard`] is dropped.
    pub fn to(fd: std::os::fd::BorrowedFd<'_>) -> Self {
        let output = match fd.try_clone_to_owned() {
            Ok(fd) => Output::Fd(std::fs::File::from(fd)),
            Err(_) => Output::Std(std::io::stderr()),
        };
        let lines = Arc::new(Lines {
            pending: Mutex::new(Pending::default()),
            arrived: Condvar::new(),
            output: Mutex::new(output),
        });
        let flusher = Arc::clone(&lines);
        let started = std::thread::Builder::new()
            .name("log-flush".into())
            .spawn(move || flusher.flush_periodically());
        if started.is_err() {
            // Without the thread nothing would write routine lines: write each at once.
            lock(&lines.pending).closed = true;
        }
        Self(lines)
    }

    /// Writes the pending lines now, unless this thread is in the middle of adding one (a
    /// panic there must not wait on itself).
    pub fn write_pending(&self) {
        let pending = match self.0.pending.try_lock() {
            Ok(pending) => pending,
            Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return,
        };
        let _ = self.0.write_out(pending);
    }

    /// A guard that writes the pending lines when dropped; see [`LogGuard`].
    pub fn guard(&self) -> LogGuard {
        LogGuard(self.clone())
    }

    /// A line to write at once (`urgent`) or with the next batch.
    fn line(&self, urgent: bool) -> Line<'_> {
        Line {
            lines: &self.0,
            urgent,
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LineWriter {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        self.line(true)
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        self.line(matches!(*meta.level(), Level::WARN | Level::ERROR))
    }
}

/// One line on its way to a [`LineWriter`] (tracing-subscriber writes each event whole).
#[derive(Debug)]
pub struct Line<'a> {
    lines: &'a Lines,
    urgent: bool,
}

impl std::io::Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.lines.add(buf, self.urgent)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    fn add(&self, line: &[u8], urgent: bool) -> std::io::Result<()> {
        let mut pending = lock(&self.pending);
        let first = pending.bytes.is_empty();
        pending.bytes.extend_from_slice(line);
        if urgent || pending.closed || pending.bytes.len() >= BUFFER_BYTES {
            return self.write_out(pending);
        }
        if first {
            self.arrived.notify_one();
        }
        Ok(())
    }

    /// Writes the pending lines (the lock on them is let go once the output is held).
    fn write_out(&self, mut pending: MutexGuard<'_, Pending>) -> std::io::Result<()> {
        if pending.bytes.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut pending.bytes);
        let mut output = lock(&self.output);
        drop(pending);
        match &mut *output {
            Output::Fd(file) => file.write_all(&batch),
            Output::Std(stderr) => stderr.write_all(&batch),
        }
    }

    /// The flushing thread: once lines are pending, waits [`FLUSH_AFTER`] and writes them.
    /// Ends when the lines are closed.
    fn flush_periodically(&self) {
        loop {
            let mut pending = lock(&self.pending);
            while pending.bytes.is_empty() && !pending.closed {
                pending = self
                    .arrived
                    .wait(pending)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if pending.closed {
                return;
            }
            drop(pending);
            std::thread::sleep(FLUSH_AFTER);
            let _ = self.write_out(lock(&self.pending));
        }
    }

    /// Writes what is pending, and every line after it at once.
    fn close(&self) {
        let mut pending = lock(&self.pending);
        pending.closed = true;
        self.arrived.notify_one();
        let _ = self.write_out(pending);
    }
}

/// Writes the pending log lines when dropped (at the end of `main`), after which every line is
/// written at once.
#[derive(Debug)]
#[must_use = "the pending log lines are written when the guard is dropped"]
pub struct LogGuard(LineWriter);

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.0 .0.close();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// tracing-subscriber's default line (`{time} {level} {target}: {fields}`), written directly
/// where it can be; see the module documentation.
#[derive(Debug, Default)]
pub struct LogFormat {
    fallback: Format,
}

impl<S, N> FormatEvent<S, N> for LogFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        // A record of the `log` crate (target "log") names its real target in a field, which
        // the default formatter shows instead.
        if writer.has_ansi_escapes() || ctx.event_scope().is_some() || meta.target() == "log" {
            return self.fallback.format_event(ctx, writer, event);
        }
        let mut line = String::with_capacity(160);
        push_timestamp(&mut line, std::time::SystemTime::now());
        line.push(' ');
        line.push_str(level_padded(meta.level()));
        line.push(' ');
        line.push_str(meta.target());
        line.push_str(": ");
        let mut fields = Fields {
            line: &mut line,
            first: true,
        };
        event.record(&mut fields);
        line.push('\n');
        writer.write_str(&line)
    }
}

/// The level as the default formatter writes it without colours: right-aligned to five.
fn level_padded(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "TRACE",
        Level::DEBUG => "DEBUG",
        Level::INFO => " INFO",
        Level::WARN => " WARN",
        Level::ERROR => "ERROR",
    }
}

/// `2026-12-01T05:18:01.753139Z`: RFC 3339 in UTC with microseconds, as tracing-subscriber's
/// `SystemTime` timer writes it. Times before 1970 (a broken clock) write as 1970.
fn push_timestamp(line: &mut String, now: std::time::SystemTime) {
    let since_epoch = now
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since_epoch.as_secs();
    let (year, month, day) = civil_from_days(secs / 86_400);
    let of_day = secs % 86_400;
    let mut out = *b"0000-00-00T00:00:00.000000Z";
    upvault_proto::date::fill_digits(
        &mut out,
        [
            (0..4, year),
            (5..7, month),
            (8..10, day),
            (11..13, of_day / 3600),
            (14..16, of_day % 3600 / 60),
            (17..19, of_day % 60),
            (20..26, u64::from(since_epoch.subsec_micros())),
        ],
    );
    line.push_str(std::str::from_utf8(&out).expect("digits and punctuation are ASCII"));
}

/// (year, month, day) of a day count since 1970-01-01, in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`, for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153; // March = 0
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// The event's fields as tracing-subscriber's `DefaultVisitor` writes them: the message bare,
/// then `name=value` with values in their `Debug` form, separated by spaces. Integers and
/// booleans skip the formatting machinery; their `Debug` form is their digits.
struct Fields<'a> {
    line: &'a mut String,
    first: bool,
}

impl Fields<'_> {
    /// Starts a field: a space before all but the first, then `name=` (`None`: skip it).
    fn start(&mut self, field: &Field) -> Option<&mut String> {
        let name = field.name();
        // Fields from the `log` crate's records, as the default formatter leaves them out.
        if name.starts_with("log.") {
            return None;
        }
        if !std::mem::take(&mut self.first) {
            self.line.push(' ');
        }
        if name != "message" {
            self.line.push_str(name.strip_prefix("r#").unwrap_or(name));
            self.line.push('=');
        }
        Some(self.line)
    }
}

impl Visit for Fields<'_> {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if let Some(line) = self.start(field) {
            line.push_str(itoa::Buffer::new().format(value));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if let Some(line) = self.start(field) {
            line.push_str(itoa::Buffer::new().format(value));
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if let Some(line) = self.start(field) {
            line.push_str(if value { "true" } else { "false" });
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let name = field.name();
        match value.source() {
            Some(source) => self.write(
                field,
                &format_args!("{value} {name}.sources={}", ErrorSources(Some(source))),
                true,
            ),
            None => self.write(field, &format_args!("{value}"), true),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.write(field, value, field.name() == "message");
    }
}

impl Fields<'_> {
    /// Writes one field; `escape`: with terminal control characters written out, as the default
    /// formatter does for messages and errors (which may carry what a client sent).
    fn write(&mut self, field: &Field, value: &dyn fmt::Debug, escape: bool) {
        if let Some(line) = self.start(field) {
            let _ = if escape {
                write!(Escaping(line), "{value:?}")
            } else {
                write!(line, "{value:?}")
            };
        }
    }
}

/// Writes ESC, BEL, BS, FF, DEL and the C1 controls as visible escapes, character for
/// character as tracing-subscriber's `EscapeGuard` does, so no log line can drive a terminal.
struct Escaping<'a>(&'a mut String);

impl fmt::Write for Escaping<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for ch in text.chars() {
            match ch {
                '\x1b' => self.0.push_str("\\x1b"),
                '\x07' => self.0.push_str("\\x07"),
                '\x08' => self.0.push_str("\\x08"),
                '\x0c' => self.0.push_str("\\x0c"),
                '\x7f' => self.0.push_str("\\x7f"),
                '\u{80}'..='\u{9f}' => write!(self.0, "\\u{{{:x}}}", u32::from(ch))?,
                _ => self.0.push(ch),
            }
        }
        Ok(())
    }
}

/// An error's chain of sources as tracing-subscriber writes it: `[first, second]`.
struct ErrorSources<'a>(Option<&'a (dyn std::error::Error + 'static)>);

impl fmt::Display for ErrorSources<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        let mut next = self.0;
        while let Some(error) = next {
            list.entry(&format_args!("{error}"));
            next = error.source();
        }
        list.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, UNIX_EPOCH};
    use tracing::{debug, error, info, info_span, trace, warn};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// An error whose text and source carry terminal control characters.
    #[derive(Debug)]
    struct Hostile<T>(T);
    impl fmt::Display for Hostile<()> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("inner \x1b[2J\u{9b}")
        }
    }
    impl fmt::Display for Hostile<String> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "outer \x1b]0;title\x07 over {}", self.0)
        }
    }
    impl std::error::Error for Hostile<()> {}
    impl std::error::Error for Hostile<String> {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&Hostile(()))
        }
    }

    #[derive(Debug)]
    struct Outer(Inner);
    #[derive(Debug)]
    struct Inner;
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("outer failed")
        }
    }
    impl fmt::Display for Inner {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("inner \"cause\"")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    impl std::error::Error for Inner {}

    /// Every kind of field, level and shape of event the server logs.
    fn emit_everything() {
        let method = axum::http::Method::GET;
        info!(
            method = %method,
            route = %"/api/v2/file/info",
            status = 200u16,
            latency_us = 57u64,
            "request"
        );
        warn!(path = "/tmp/a \"quoted\" path\n", error = %"no space", "could not remove");
        error!(
            error = &Outer(Inner) as &(dyn std::error::Error + 'static),
            "internal error"
        );
        debug!(
            r#type = "file",
            delta = -3i64,
            ok = true,
            ratio = 0.5f64,
            "typed"
        );
        trace!(list = ?vec![1, 2], "debug values");
        info!("message only, with {} arguments", 2);
        info!(only = "fields");
        info!(message = "a message field", after = 1u64);
        info!(target: "custom::target", "élan ünïcödé ✓");
        // Control characters, as a hostile file name could bring them.
        let hostile = "a\x1b[31mred\x07\x08\x0c\x7f\u{85}\u{9b}2J\ttab";
        warn!(name = %hostile, quoted = hostile, "upload of {hostile} failed");
        error!(
            error = &Hostile(Hostile(()).to_string()) as &(dyn std::error::Error + 'static),
            "x"
        );
        let span = info_span!("job", id = 7u64);
        span.in_scope(|| info!("inside a span"));
        // A dependency logging through the `log` crate.
        tracing_log::format_trace(
            &log::Record::builder()
                .args(format_args!("from the log crate"))
                .level(log::Level::Warn)
                .target("rustls::client")
                .build(),
        )
        .unwrap();
    }

    /// A writer to a new file opened for appending, as a service manager or `>>` opens a log.
    fn log_file() -> (tempfile::TempDir, std::path::PathBuf, LineWriter) {
        use std::os::fd::AsFd;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.log");
        let file = std::fs::File::options()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        let writer = LineWriter::to(file.as_fd());
        (dir, path, writer) // the writer holds a descriptor of its own
    }

    fn written(path: &std::path::Path) -> String {
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn lines_from_many_threads_reach_the_file_whole_in_order_and_in_full() {
        const THREADS: usize = 8;
        const LINES: usize = 2_000;
        let (_dir, path, writer) = log_file();
        let guard = writer.guard();
        std::thread::scope(|scope| {
            for thread in 0..THREADS {
                let writer = &writer;
                scope.spawn(move || {
                    for n in 0..LINES {
                        // Lines of different lengths, some long as request lines are; every
                        // hundredth is a warning, written at once with what is pending.
                        let line = format!("{thread} {n} {}\n", "x".repeat(n % 300));
                        let mut out = writer.line(n % 100 == 0);
                        io::Write::write_all(&mut out, line.as_bytes()).unwrap();
                    }
                });
            }
        });
        drop(guard);
        let text = written(&path);
        let mut seen = vec![0; THREADS];
        for line in text.lines() {
            let mut parts = line.split(' ');
            let thread: usize = parts.next().unwrap().parse().unwrap();
            let n: usize = parts.next().unwrap().parse().unwrap();
            assert_eq!(parts.next(), Some("x".repeat(n % 300).as_str()), "{line:?}");
            assert_eq!(parts.next(), None, "{line:?}");
            assert_eq!(n, seen[thread], "{line:?}");
            seen[thread] += 1;
        }
        assert_eq!(seen, vec![LINES; THREADS]);
    }

    #[test]
    fn a_warning_goes_out_at_once_after_the_routine_lines_before_it() {
        let (_dir, path, writer) = log_file();
        let _guard = writer.guard();
        for n in 0..3 {
            io::Write::write_all(&mut writer.line(false), format!("info {n}\n").as_bytes())
                .unwrap();
        }
        io::Write::write_all(&mut writer.line(true), b"warn\n").unwrap();
        assert_eq!(written(&path), "info 0\ninfo 1\ninfo 2\nwarn\n");
    }

    #[test]
    fn routine_lines_go_out_soon_without_anything_else_happening() {
        let (_dir, path, writer) = log_file();
        let _guard = writer.guard();
        for round in 0..3 {
            // The flushing thread sleeps between rounds, and wakes for the next line.
            let line = format!("info {round}\n");
            io::Write::write_all(&mut writer.line(false), line.as_bytes()).unwrap();
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while !written(&path).ends_with(&line) {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{line:?} never written"
                );
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        assert_eq!(written(&path), "info 0\ninfo 1\ninfo 2\n");
    }

    #[test]
    fn pending_lines_can_be_written_on_demand() {
        let (_dir, path, writer) = log_file();
        let _guard = writer.guard();
        io::Write::write_all(&mut writer.line(false), b"before the panic\n").unwrap();
        writer.write_pending();
        assert_eq!(written(&path), "before the panic\n");
    }

    #[test]
    fn a_full_buffer_goes_out_at_once_and_after_the_guard_every_line_does() {
        let (_dir, path, writer) = log_file();
        let line = format!("{}\n", "y".repeat(99));
        let lines = BUFFER_BYTES / line.len() + 1;
        for _ in 0..lines {
            io::Write::write_all(&mut writer.line(false), line.as_bytes()).unwrap();
        }
        // The line that filled the buffer wrote it, without waiting for the flushing thread.
        assert!(written(&path).len() >= BUFFER_BYTES);
        drop(writer.guard());
        io::Write::write_all(&mut writer.line(false), b"after\n").unwrap();
        let text = written(&path);
        assert_eq!(text.len(), lines * line.len() + "after\n".len());
        assert!(text.ends_with("y\nafter\n"));
    }

    fn capture(
        format: impl FormatEvent<
                tracing_subscriber::Registry,
                tracing_subscriber::fmt::format::DefaultFields,
            > + Send
            + Sync
            + 'static,
    ) -> String {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .event_format(format)
            .finish();
        tracing::subscriber::with_default(subscriber, emit_everything);
        let bytes = out.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    /// (timestamp, rest) of each line.
    fn split_lines(text: &str) -> Vec<(String, String)> {
        text.lines()
            .map(|line| {
                let (time, rest) = line.split_once(' ').unwrap();
                (time.to_owned(), rest.to_owned())
            })
            .collect()
    }

    #[test]
    fn lines_match_the_default_formatter_byte_for_byte_after_the_timestamp() {
        let ours = split_lines(&capture(LogFormat::default()));
        let theirs = split_lines(&capture(Format::default()));
        assert_eq!(ours.len(), 13);
        assert!(
            ours[12].1.contains(" rustls::client: from the log crate"),
            "{:?}",
            ours[12]
        );
        let rests = |lines: &[(String, String)]| -> Vec<String> {
            lines.iter().map(|(_, rest)| rest.clone()).collect()
        };
        assert_eq!(rests(&ours), rests(&theirs));
        assert_eq!(
            ours[0].1,
            " INFO logging::tests: request method=GET route=/api/v2/file/info status=200 latency_us=57"
                .replace("logging::tests", module_path!())
        );
        for ((ours, _), (theirs, _)) in ours.iter().zip(&theirs) {
            assert_eq!(ours.len(), theirs.len(), "{ours} / {theirs}");
            // Same format: the same positions hold digits.
            for (a, b) in ours.bytes().zip(theirs.bytes()) {
                assert_eq!(a.is_ascii_digit(), b.is_ascii_digit(), "{ours} / {theirs}");
            }
        }
    }

    #[test]
    fn timestamps_match_chrono_across_the_calendar() {
        // Leap days, century years, month and year ends, microseconds.
        let mut at = 0u64;
        while at < 253_402_300_799 {
            let time = UNIX_EPOCH + Duration::new(at, (at % 1_000_000) as u32 * 1000);
            let mut ours = String::new();
            push_timestamp(&mut ours, time);
            let expected = chrono::DateTime::<chrono::Utc>::from(time)
                .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                .to_string();
            assert_eq!(ours, expected, "at {at}");
            at += 86_399 * 7 + 3_607; // about a week, drifting through every hour and day
        }
        for day in ["2000-02-29", "2100-03-01", "1970-01-01", "2024-12-31"] {
            let date: chrono::NaiveDate = day.parse().unwrap();
            let secs = date.and_hms_opt(23, 59, 59).unwrap().and_utc().timestamp() as u64;
            let mut ours = String::new();
            push_timestamp(&mut ours, UNIX_EPOCH + Duration::from_secs(secs));
            assert_eq!(ours, format!("{day}T23:59:59.000000Z"));
        }
    }
}
