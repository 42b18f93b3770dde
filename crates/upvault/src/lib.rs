//! upvault: composition of the whole server.
//!
//! [`Config`] is loaded once; [`App::build`] opens the database and blob store the config names,
//! builds the domain services over them, and [`App::serve`] runs the API, the URL-import worker
//! and maintenance until shutdown. The operator CLI lives in [`cli`].

pub mod backend;
pub mod cli;
pub mod config;
pub mod logging;

use anyhow::Context;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use upvault_core::ports::{BlobStore, RateLimiter};
use upvault_core::service::{CoreConfig, Deps, PublicService, Services};
use upvault_core::{Clock, SystemClock};
use upvault_http::{AppState, HttpConfig, MemoryRateLimiter, TrustedProxies};
use upvault_worker::{FetchConfig, ImportWorker, WorkerConfig};

pub use config::Config;

/// A built server: services over open storage, ready to serve.
pub struct App {
    /// The domain services (tests and the CLI use them directly).
    pub services: Services,
    /// The public pages' rules (SPEC.md §5).
    pub public: PublicService,
    config: Config,
    store: Arc<dyn backend::Database>,
    blobs: Arc<dyn BlobStore>,
    clock: Arc<dyn Clock>,
    trusted_proxies: TrustedProxies,
    limiter: Arc<dyn RateLimiter>,
}

impl App {
    /// Opens storage as configured and builds the services on the wall clock.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Like [`App::build`], with the clock every time-based rule reads (tests move it).
    pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create data_dir {}", config.data_dir.display()))?;
        let trusted_proxies = config.http.trusted_proxies()?;
        let store = backend::open_database(&config).await?;
        let blobs = backend::open_blobs(&config).await?;
        // Several instances share the database, so they must share the counters too; a single
        // instance counts in process and writes nothing per request.
        let shared_counters = match config.rate_limit.store.as_str() {
            "database" => true,
            "memory" => false,
            _ => {
                upvault_db::Dialect::of_url(&config.database_url()) == upvault_db::Dialect::Postgres
            }
        };
        let limiter: Arc<dyn RateLimiter> = if shared_counters {
            store.clone()
        } else {
            Arc::new(MemoryRateLimiter::new())
        };
        let secs = Duration::from_secs;
        let core = CoreConfig {
            access_token_ttl: secs(config.api.access_token_ttl_secs),
            download_token_ttl: secs(config.api.download_token_ttl_secs),
            trash_retention: secs(config.limits.trash_retention_days * 24 * 3600),
            unauthenticated_upload_cap: config.limits.unauthenticated_upload_cap_bytes,
            temp_max_age_at_start: secs(config.storage.temp_max_age_secs),
            page_session_ttl: secs(config.web.session_ttl_secs),
            ..CoreConfig::default()
        };
        let deps = Deps {
            accounts: store.clone(),
            tokens: store.clone(),
            files: store.clone(),
            folders: store.clone(),
            jobs: store.clone(),
            slots: store.clone(),
            logins: store.clone(),
            public: store.clone(),
            blobs: blobs.clone(),
            clock: clock.clone(),
            config: core,
        };
        let public = PublicService::new(deps.clone(), config.web.public_config());
        Ok(App {
            services: Services::new(deps),
            public,
            config,
            store,
            blobs,
            clock,
            trusted_proxies,
            limiter,
        })
    }

    /// The blob store the services write to (tests compare it with the records).
    pub fn blobs(&self) -> Arc<dyn BlobStore> {
        self.blobs.clone()
    }

    /// The API and the public pages on one router. `GET /{short_url}` belongs to both: the API's
    /// download route answers it with a `download_token` and hands it to the file pages
    /// without one.
    fn router(&self) -> axum::Router {
        let api = AppState::new(
            self.services.clone(),
            self.http_config(),
            self.limiter.clone(),
        );
        let web = upvault_web::WebState::new(
            api.clone(),
            self.public.clone(),
            upvault_web::WebConfig {
                site_name: self.config.site_name.clone(),
                public_url: self.config.public_url(),
                secure_cookies: self
                    .config
                    .web
                    .secure_cookies
                    .unwrap_or_else(|| self.config.public_url().starts_with("https://")),
                grant_cookie_secs: secs_i64(self.config.web.grant_ttl_secs),
                session_cookie_secs: secs_i64(self.config.web.session_ttl_secs),
            },
        );
        let web = web.with_api_router(upvault_http::router(api.clone()));
        let pages = upvault_http::download::FilePages(upvault_web::file_pages(web.clone()));
        // Pages and download URLs are counted per address; the API counts its own requests.
        let pages_and_downloads = upvault_http::download_router(api.clone())
            .layer(axum::Extension(pages))
            .merge(upvault_web::router(web.clone()))
            .fallback(|| async { axum::http::StatusCode::NOT_FOUND })
            .layer(axum::middleware::from_fn_with_state(
                web.clone(),
                upvault_web::styled_errors,
            ))
            .layer(axum::middleware::from_fn_with_state(
                web.clone(),
                upvault_web::protect_forms,
            ))
            .layer(axum::middleware::from_fn_with_state(
                web,
                upvault_web::limit_pages,
            ));
        upvault_http::api_router(api).merge(pages_and_downloads)
    }

    /// The HTTP settings derived from the config.
    fn http_config(&self) -> HttpConfig {
        HttpConfig {
            public_url: self.config.public_url(),
            site_name: self.config.site_name.clone(),
            http_error_codes: self.config.api.http_error_codes,
            max_form_bytes: self.config.limits.max_form_bytes,
            max_multipart_parts: self.config.limits.max_multipart_parts,
            trusted_proxies: self.trusted_proxies.clone(),
            rate_limit: self.config.rate_limit.http(),
        }
    }

    fn worker_config(&self) -> WorkerConfig {
        let remote = &self.config.remote_upload;
        WorkerConfig {
            concurrency: remote.concurrency,
            poll_interval: Duration::from_millis(500),
            lease: Duration::from_secs(remote.lease_secs),
            fetch: FetchConfig {
                allow_private_addresses: remote.allow_private_addresses,
                connect_timeout: Duration::from_secs(remote.connect_timeout_secs),
                idle_timeout: Duration::from_secs(remote.idle_timeout_secs),
                user_agent: format!("upvault/{}", env!("CARGO_PKG_VERSION")),
            },
        }
    }

    /// Serves on `listener` until `shutdown` resolves, then lets in-flight requests finish,
    /// stops the workers between units of work and closes the database.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        self.services.maintenance.recover_after_start().await?;
        let stop = CancellationToken::new();
        let worker = ImportWorker::new(self.services.clone(), self.worker_config())?;
        let worker_stop = stop.clone();
        let worker = tokio::spawn(worker.run(async move { worker_stop.cancelled().await }));
        let maintenance_stop = stop.clone();
        let maintenance = tokio::spawn(upvault_worker::run_maintenance(
            self.services.clone(),
            Duration::from_secs(self.config.limits.maintenance_interval_secs.max(1)),
            async move { maintenance_stop.cancelled().await },
        ));

        let purge_stop = stop.clone();
        let rate_purge = tokio::spawn(purge_rate_counters(
            self.limiter.clone(),
            self.clock.clone(),
            Duration::from_secs(self.config.limits.maintenance_interval_secs.clamp(1, 120)),
            async move { purge_stop.cancelled().await },
        ));

        let heartbeat_stop = stop.clone();
        let heartbeat = tokio::spawn(heartbeat(
            self.store.clone(),
            self.clock.clone(),
            async move { heartbeat_stop.cancelled().await },
        ));

        let router = self.router();
        info!(address = %listener.local_addr()?, public_url = %self.config.public_url(), "serving");
        let http_stop = stop.clone();
        let served = upvault_http::serve::serve(
            listener,
            router,
            self.config.http.serve_config(),
            async move {
                tokio::select! {
                    () = shutdown => {}
                    () = http_stop.cancelled() => {}
                }
            },
        )
        .await;
        stop.cancel();
        for (name, task) in [
            ("import worker", worker),
            ("maintenance", maintenance),
            ("rate counter purge", rate_purge),
            ("heartbeat", heartbeat),
        ] {
            if let Err(err) = task.await {
                warn!(%err, "{name} stopped abnormally");
            }
        }
        self.store.close().await;
        info!("stopped");
        served.context("the HTTP server failed")
    }
}

/// How often a serving instance writes its heartbeat (`upvault migrate` treats a source with
/// one younger than three of these as in use).
pub const HEARTBEAT: Duration = Duration::from_secs(10);

/// Writes this process's heartbeat row every [`HEARTBEAT`] until `shutdown`, then removes it.
async fn heartbeat(
    store: Arc<dyn backend::Database>,
    clock: Arc<dyn Clock>,
    shutdown: impl Future<Output = ()>,
) {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown host".to_owned());
    let started_at = clock.now();
    let mut instance = upvault_db::instances::Instance {
        id: format!("{:016x}", rand::random::<u64>()),
        host,
        pid: std::process::id(),
        started_at,
        seen_at: started_at,
    };
    tokio::pin!(shutdown);
    let mut ticks = tokio::time::interval(HEARTBEAT);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = ticks.tick() => {}
        }
        instance.seen_at = clock.now();
        if let Err(err) = store.beat(&instance).await {
            warn!(%err, "could not write the heartbeat");
        }
    }
    if let Err(err) = store.leave(&instance.id).await {
        warn!(%err, "could not remove the heartbeat");
    }
}

/// Forgets rate counters that can no longer refuse anything, every `every` until `shutdown`
/// (part of maintenance; the counters of one minute are useless two minutes later, so this
/// runs at least every two minutes whatever the maintenance interval).
async fn purge_rate_counters(
    limiter: Arc<dyn RateLimiter>,
    clock: Arc<dyn Clock>,
    every: Duration,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = ticks.tick() => {}
        }
        match limiter.purge_rate_counters(clock.now()).await {
            Ok(purged) => tracing::debug!(purged, "rate counters purged"),
            Err(err) => warn!(%err, "purging rate counters failed"),
        }
    }
}

fn secs_i64(secs: u64) -> i64 {
    i64::try_from(secs).unwrap_or(i64::MAX)
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    info!("shutdown requested; finishing in-flight requests");
}
