//! `GET /api/v2/openapi.json`: the OpenAPI 3.1 document of the API, made once from the proto
//! types (`upvault_proto::openapi`) and committed as `docs/openapi.json`.

use axum::response::{IntoResponse, Response};
use std::sync::LazyLock;

/// The document's JSON, built on first use.
static DOCUMENT: LazyLock<String> = LazyLock::new(upvault_proto::openapi::to_json);

/// The document.
pub(super) async fn document() -> Response {
    (
        [(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        )],
        DOCUMENT.as_str(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    /// `docs/openapi.json` is the code's document; `UPVAULT_WRITE_OPENAPI=1` rewrites it.
    #[test]
    fn openapi_json_in_docs_matches_the_code() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
        let generated = upvault_proto::openapi::to_json();
        if std::env::var_os("UPVAULT_WRITE_OPENAPI").is_some() {
            std::fs::write(&path, &generated).expect("docs/openapi.json is writable");
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/openapi.json differs from the document the code makes; regenerate it with\n  \
             UPVAULT_WRITE_OPENAPI=1 cargo test -p upvault-http openapi\nand commit it"
        );
    }

    /// Every endpoint of the document has its section in the hand-written reference.
    #[test]
    fn api_reference_has_a_section_per_endpoint() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/API.md");
        let reference = std::fs::read_to_string(&path).expect("docs/API.md exists");
        let document: serde_json::Value =
            serde_json::from_str(&upvault_proto::openapi::to_json()).unwrap();
        let paths = document["paths"].as_object().unwrap();
        assert!(paths.len() >= 19, "{} paths", paths.len());
        let missing: Vec<&String> = paths
            .keys()
            .filter(|path| {
                let endpoint = path.trim_start_matches("/api/v2");
                !reference.contains(&format!("### {endpoint}\n"))
            })
            .collect();
        assert!(
            missing.is_empty(),
            "docs/API.md has no section for {missing:?}"
        );
    }
}
