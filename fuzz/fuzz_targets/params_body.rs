//! Request bodies into `Params` through the real extractor: multipart (the first byte picks the
//! framing), urlencoded and JSON, with the default size and part limits. Never a panic; a
//! refusal is an API error, not a crash.
#![no_main]

use axum::body::Body;
use axum::extract::FromRequest;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use upvault_http::params::Params;
use upvault_http::{AppState, HttpConfig};

const BOUNDARY: &str = "fuzzboundary";

struct World {
    runtime: tokio::runtime::Runtime,
    state: AppState,
    _dir: tempfile::TempDir,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let dir = tempfile::tempdir().expect("a temp dir");
        let config = upvault::Config {
            data_dir: dir.path().to_path_buf(),
            ..upvault::Config::default()
        };
        let app = runtime
            .block_on(upvault::App::build(config))
            .expect("the app builds");
        let http = HttpConfig {
            max_form_bytes: 64 * 1024,
            max_multipart_parts: 16,
            ..HttpConfig::default()
        };
        let state = AppState::new(
            app.services.clone(),
            http,
            std::sync::Arc::new(upvault_http::MemoryRateLimiter::new()),
        );
        World {
            runtime,
            state,
            _dir: dir,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    let content_type = match kind % 4 {
        0 => format!("multipart/form-data; boundary={BOUNDARY}"),
        1 => "multipart/form-data; boundary=\"a b\"".to_owned(),
        2 => "application/x-www-form-urlencoded".to_owned(),
        _ => "application/json".to_owned(),
    };
    let request = http::Request::builder()
        .method("POST")
        .uri("/api/v2/folder/listing?account_id=1&x=%41")
        .header(http::header::CONTENT_TYPE, content_type)
        .body(Body::from(body.to_vec()))
        .expect("a request");
    let world = world();
    let parsed = world
        .runtime
        .block_on(Params::from_request(request, &world.state));
    // Multipart bodies are bounded by parts (plus the query's two); a urlencoded or JSON body
    // only by its size, so it may carry many more fields.
    if let (Ok(params), 0 | 1) = (parsed, kind % 4) {
        assert!(params.names().len() <= 16 + 2, "more parameters than parts");
    }
});
