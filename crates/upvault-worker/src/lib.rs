//! upvault's background work, run inside the server process.
//!
//! - [`ImportWorker`] runs the URL imports scheduled by `/file/url_upload_add` (SPEC.md §4): it
//!   claims jobs from the persistent queue under a lease, fetches each URL through the guarded
//!   client of [`ssrf`] (http/https only; non-public addresses refused, also after redirects and
//!   on the address actually dialled), streams the body into storage under the account's package
//!   limits, and on shutdown gives unfinished jobs back to the queue.
//! - [`run_maintenance`] runs the periodic housekeeping (trash purge, expired tokens, blob GC).

pub mod import;
pub mod maintenance;
pub mod ssrf;

pub use import::{ImportWorker, WorkerConfig};
pub use maintenance::run_maintenance;
pub use ssrf::{
    build_client, check_redirect, check_url, guarded_get, is_public_ip, FetchConfig, FetchError,
    PublicOnlyResolver, Refusal,
};
