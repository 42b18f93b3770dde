//! `upvault migrate --from SOURCE_CONFIG`: copies a whole installation from the backends of
//! another config (e.g. SQLite + a local directory) into this config's (e.g. PostgreSQL + S3).
//!
//! Two phases, rows first: the destination's accounts are checked before any byte moves, and a
//! destination server started too early cannot sweep copied blobs as orphans. The rows are
//! copied by `upvault_db::copy` and the blobs by `upvault_blob::copy`; both skip what the
//! destination holds already, so a rerun after an interruption finishes the job. Run it while
//! no server uses the source.

use crate::{backend, Config};
use anyhow::Context as _;
use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use upvault_blob::copy::{BlobCopyProgress, BlobCopyReport};
use upvault_core::units::{count, human_size};
use upvault_core::BlobKey;
use upvault_db::copy::{CopyOptions, CopyProgress, CopyReport, TableReport};

/// Blobs copied at once (S3 uploads gain from a few in flight).
const BLOB_CONCURRENCY: usize = 4;

/// How to run a migration.
#[derive(Debug, Clone, Copy, Default)]
pub struct MigrateOptions {
    /// Stop after this many rows (tests use it to interrupt a run).
    pub max_rows: Option<u64>,
    /// Draw progress bars on stderr.
    pub progress: bool,
    /// Copy even when a server seems to use the source.
    pub force: bool,
}

/// A server whose heartbeat is younger than this uses the source (they beat every
/// [`crate::HEARTBEAT`]).
const LIVE_WITHIN: Duration = Duration::from_secs(30);

/// What a migration did.
#[derive(Debug, Clone)]
pub struct MigrateSummary {
    /// The rows phase; `None` when source and destination share the database.
    pub rows: Option<CopyReport>,
    /// The blobs phase; `None` when it did not run (shared storage, or rows incomplete).
    pub blobs: Option<BlobCopyReport>,
    /// Everything was copied.
    pub complete: bool,
    /// How long it took.
    pub elapsed: Duration,
}

impl std::fmt::Display for MigrateSummary {
    /// `migrated: 2 accounts, 5 folders, 7 files and 40 other rows; 6 blobs (1.2 MB copied
    /// now) in 0.4s`, then what an earlier run had copied already, if anything.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.complete {
            "migrated"
        } else {
            "migration interrupted"
        })?;
        let mut earlier = Vec::new();
        match &self.rows {
            Some(rows) => {
                let of = |name: &str| {
                    rows.tables
                        .iter()
                        .find(|t| t.table == name)
                        .map_or(0, |t| t.source_rows)
                };
                let main = ["accounts", "folders", "files"];
                let others: u64 = rows
                    .tables
                    .iter()
                    .filter(|t| !main.contains(&t.table))
                    .map(|t| t.source_rows)
                    .sum();
                write!(
                    f,
                    ": {}, {}, {} and {}",
                    count(of("accounts"), "account"),
                    count(of("folders"), "folder"),
                    count(of("files"), "file"),
                    count(others, "other row")
                )?;
                // Rows the destination made itself (its default packages, its secrets) are
                // replaced, not "there already"; only rows an earlier run copied are.
                let kept: u64 = rows
                    .tables
                    .iter()
                    .filter(|t| {
                        upvault_db::copy::TABLES.iter().any(|table| {
                            table.name == t.table
                                && table.on_existing == upvault_db::copy::OnExisting::Keep
                        })
                    })
                    .map(|t| t.read - t.written.min(t.read))
                    .sum();
                if kept > 0 {
                    earlier.push(count(kept, "row"));
                }
            }
            None => f.write_str(": rows stay (same database)")?,
        }
        match &self.blobs {
            Some(blobs) => {
                write!(
                    f,
                    "; {} ({} copied now)",
                    count(blobs.listed, "blob"),
                    human_size(blobs.bytes)
                )?;
                if blobs.present > 0 {
                    earlier.push(count(blobs.present, "blob"));
                }
            }
            None if self.complete => f.write_str("; blobs stay (same storage)")?,
            None => f.write_str("; blobs not started")?,
        }
        write!(f, " in {:.1}s", self.elapsed.as_secs_f64())?;
        if !earlier.is_empty() {
            write!(
                f,
                " ({} {} there from an earlier run)",
                earlier.join(" and "),
                if earlier.len() == 1 && earlier[0].starts_with("1 ") {
                    "was"
                } else {
                    "were"
                }
            )?;
        }
        if !self.complete {
            f.write_str("; run it again to continue")?;
        }
        Ok(())
    }
}

/// The `migrate` command: loads the source config, migrates with progress bars when stderr is
/// a terminal, and prints the summary line on stderr.
pub async fn run(destination: Config, from: &Path, force: bool) -> anyhow::Result<()> {
    let source = load_source_config(from)?;
    let options = MigrateOptions {
        max_rows: None,
        progress: std::io::stderr().is_terminal(),
        force,
    };
    let summary = migrate(&source, &destination, options).await?;
    eprintln!("{summary}");
    anyhow::ensure!(summary.complete, "the migration did not finish");
    Ok(())
}

/// The source's config: defaults and the file only. The `UPVAULT_*` variables describe the
/// destination (they apply to `--config`), never the source.
pub fn load_source_config(file: &Path) -> anyhow::Result<Config> {
    anyhow::ensure!(
        file.exists(),
        "source config file {} does not exist",
        file.display()
    );
    let config: Config = Figment::from(Serialized::defaults(Config::default()))
        .merge(Toml::file(file))
        .extract()
        .with_context(|| format!("invalid source configuration {}", file.display()))?;
    config.validate()?;
    Ok(config)
}

/// Copies the installation of `source` into the backends of `destination`.
pub async fn migrate(
    source: &Config,
    destination: &Config,
    options: MigrateOptions,
) -> anyhow::Result<MigrateSummary> {
    let started = Instant::now();
    let same_database = same_database(source, destination);
    let same_storage = same_storage(source, destination);
    anyhow::ensure!(
        !(same_database && same_storage),
        "the destination is the source: both configs name the database {} and the same storage",
        redact(&destination.database_url())
    );

    let from = upvault_db::SqlStore::connect_existing(&source.database_url())
        .await
        .context("cannot open the source database")?;
    let live = refuse_live_source(&from, options.force).await;
    if same_database || live.is_err() {
        from.close().await;
    }
    live?;

    let rows = if same_database {
        None
    } else {
        let to = backend::open_store(destination)
            .await
            .context("cannot open the destination database")?;
        let mut bars = RowBars::new(options.progress);
        let copied = upvault_db::copy::copy_rows(
            &from,
            &to,
            CopyOptions {
                max_rows: options.max_rows,
            },
            &mut bars,
        )
        .await;
        from.close().await;
        to.close().await;
        Some(copied.context("the rows could not be copied (run it again to continue)")?)
    };
    if rows.as_ref().is_some_and(|rows| !rows.complete) {
        return Ok(MigrateSummary {
            rows,
            blobs: None,
            complete: false,
            elapsed: started.elapsed(),
        });
    }

    let blobs = if same_storage {
        None
    } else {
        if source.storage.backend == "local" {
            let dir = source.blob_dir();
            anyhow::ensure!(
                dir.is_dir(),
                "the source's blob directory {} does not exist",
                dir.display()
            );
        }
        let from = backend::open_blobs(source)
            .await
            .context("cannot open the source storage")?;
        let to = backend::open_blobs(destination)
            .await
            .context("cannot open the destination storage")?;
        let bar = Arc::new(BlobBar::new(options.progress));
        let copied = upvault_blob::copy::copy_blobs(
            from.as_ref(),
            to.as_ref(),
            BLOB_CONCURRENCY,
            bar.clone(),
        )
        .await;
        bar.finish();
        Some(copied.context("the blobs could not all be copied (run it again to continue)")?)
    };
    Ok(MigrateSummary {
        rows,
        blobs,
        complete: true,
        elapsed: started.elapsed(),
    })
}

/// Refuses a source that a server still uses, unless forced: a copy taken while it writes can
/// miss what it writes meanwhile.
async fn refuse_live_source(source: &upvault_db::SqlStore, force: bool) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    let since = now - chrono::Duration::from_std(LIVE_WITHIN).unwrap_or_default();
    let live = source
        .seen_since(since)
        .await
        .context("cannot read which servers use the source")?;
    let Some(latest) = live.first() else {
        return Ok(());
    };
    let servers: Vec<String> = live
        .iter()
        .map(|i| {
            format!(
                "pid {} on {} (running since {}, seen {} s ago)",
                i.pid,
                i.host,
                i.started_at.format("%Y-%m-%d %H:%M UTC"),
                (now - i.seen_at).num_seconds().max(0)
            )
        })
        .collect();
    if force {
        eprintln!(
            "warning: --force: copying while {} server(s) use the source: {}",
            live.len(),
            servers.join("; ")
        );
        return Ok(());
    }
    anyhow::bail!(
        "{} server(s) use the source installation: {}. Stop them first (what they write during \
         the copy could be missed), then run migrate again. A server that was killed rather \
         than stopped stays listed for {} s after its last heartbeat ({}); --force copies \
         anyway.",
        live.len(),
        servers.join("; "),
        LIVE_WITHIN.as_secs(),
        latest.seen_at.format("%H:%M:%S UTC")
    )
}

/// Whether two configs name one database.
fn same_database(a: &Config, b: &Config) -> bool {
    let (a, b) = (a.database_url(), b.database_url());
    match (sqlite_path(&a), sqlite_path(&b)) {
        (Some(a), Some(b)) => same_path(&a, &b),
        (None, None) => a == b,
        _ => false,
    }
}

/// The file of a `sqlite:` URL.
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or(rest);
    Some(PathBuf::from(path))
}

/// Whether two paths name one file or directory (existing or not).
fn same_path(a: &Path, b: &Path) -> bool {
    let absolute = |p: &Path| {
        std::fs::canonicalize(p)
            .or_else(|_| std::path::absolute(p))
            .unwrap_or_else(|_| p.to_path_buf())
    };
    absolute(a) == absolute(b)
}

/// Whether two configs name one blob store.
fn same_storage(a: &Config, b: &Config) -> bool {
    match (a.storage.backend.as_str(), b.storage.backend.as_str()) {
        ("s3", "s3") => {
            let endpoint = |c: &Config| {
                c.storage
                    .endpoint
                    .as_deref()
                    .unwrap_or("")
                    .trim_end_matches('/')
                    .to_owned()
            };
            endpoint(a) == endpoint(b)
                && a.storage.bucket == b.storage.bucket
                && a.storage.prefix == b.storage.prefix
        }
        ("s3", _) | (_, "s3") => false,
        _ => same_path(&a.blob_dir(), &b.blob_dir()),
    }
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// One bar per table, drawn on stderr when it is a terminal.
struct RowBars {
    enabled: bool,
    bar: Option<ProgressBar>,
}

impl RowBars {
    fn new(enabled: bool) -> Self {
        Self { enabled, bar: None }
    }
}

impl CopyProgress for RowBars {
    fn table_started(&mut self, table: &str, rows: u64) {
        if !self.enabled {
            return;
        }
        let bar = ProgressBar::new(rows)
            .with_style(style(
                "{prefix:>16} [{bar:30}] {pos}/{len} rows {msg} ({elapsed})",
            ))
            .with_prefix(table.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        self.bar = Some(bar);
    }

    fn rows_copied(&mut self, _table: &str, rows: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(rows);
        }
    }

    fn table_finished(&mut self, report: &TableReport) {
        if let Some(bar) = self.bar.take() {
            let message = format!("· {} new", report.written);
            if report.read == report.source_rows {
                bar.finish_with_message(message);
            } else {
                bar.abandon_with_message(format!("{message} · stopped"));
            }
        }
    }
}

/// The bar of the blobs phase: blobs done, bytes through.
struct BlobBar {
    bar: Option<ProgressBar>,
    bytes: AtomicU64,
    started: Instant,
}

impl BlobBar {
    fn new(enabled: bool) -> Self {
        let bar = enabled.then(|| {
            let bar = ProgressBar::new(0)
                .with_style(style(
                    "{prefix:>16} [{bar:30}] {pos}/{len} blobs · {msg} ({elapsed})",
                ))
                .with_prefix("blobs");
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self {
            bar,
            bytes: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    fn message(&self) -> String {
        let bytes = self.bytes.load(Ordering::Relaxed);
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
        let rate = (bytes as f64 / secs) as u64;
        format!("{} at {}/s", HumanBytes(bytes), HumanBytes(rate))
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_with_message(self.message());
        }
    }
}

impl BlobCopyProgress for BlobBar {
    fn planned(&self, to_copy: u64, present: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(to_copy);
            if present > 0 {
                bar.println(format!(
                    "{:>16} {present} already in the destination",
                    "blobs"
                ));
            }
        }
    }

    fn bytes(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.set_message(self.message());
        }
    }

    fn copied(&self, _key: &BlobKey, _size_bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(database_url: Option<&str>, blob_dir: &str) -> Config {
        let mut config = Config {
            database_url: database_url.map(str::to_owned),
            ..Config::default()
        };
        config.storage.path = Some(PathBuf::from(blob_dir));
        config
    }

    #[test]
    fn the_same_installation_is_recognised() {
        let a = config(Some("sqlite:///tmp/x/upvault.db"), "/tmp/x/blobs");
        let b = config(Some("sqlite:/tmp/x/upvault.db?mode=rwc"), "/tmp/x/blobs/");
        assert!(same_database(&a, &b));
        assert!(same_storage(&a, &b));
        let c = config(Some("sqlite:///tmp/y/upvault.db"), "/tmp/y/blobs");
        assert!(!same_database(&a, &c));
        assert!(!same_storage(&a, &c));
        let pg = config(Some("postgres://u:pw@h/db"), "/tmp/x/blobs");
        assert!(!same_database(&a, &pg));
        assert!(same_database(&pg, &pg.clone()));
        let mut s3 = pg.clone();
        s3.storage.backend = "s3".into();
        s3.storage.bucket = "b".into();
        assert!(!same_storage(&pg, &s3));
        let mut other_prefix = s3.clone();
        other_prefix.storage.prefix = "p/".into();
        assert!(!same_storage(&s3, &other_prefix));
        assert!(same_storage(&s3, &s3.clone()));
    }

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            redact("postgres://user:secret@host:5432/db"),
            "postgres://user:***@host:5432/db"
        );
        assert_eq!(redact("sqlite:///a/b.db"), "sqlite:///a/b.db");
    }
}
