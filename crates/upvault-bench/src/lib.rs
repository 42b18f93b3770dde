//! criterion micro-benchmarks of upvault's hot paths, in `benches/hot_paths.rs`:
//!
//! - `upload/*`: an in-memory upload streamed through [`upvault_blob`]'s local store put path
//!   (MD5 ‖ SHA-256 + write + fsync), as a bare byte stream and inside a multipart body;
//! - `token/*`: the core auth service's access-token check against a real SQLite store;
//! - `listing/*`: 10 000 folder-listing rows turned into the `/folder/listing` JSON answer;
//! - `pages/*`: a keyset page of files, the first and the 500th of a 100 000-file folder.
//!
//! Run them with `cargo bench -p upvault-bench`. The end-to-end benchmark against nginx and
//! rustypaste is `bench/run.sh`.
