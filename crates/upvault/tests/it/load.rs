//! Load (issue 6): many concurrent clients uploading, downloading and listing on loopback for a
//! bounded time, with no 5xx answer and no lost or corrupted file: every upload answered success
//! downloads with its MD5 at the end.
//!
//! `UPVAULT_TEST_LOAD_SECS` sets the duration (default 10; e.g. 60 for a longer run) and
//! `UPVAULT_TEST_LOAD_CLIENTS` the number of client tasks (default 32).

use crate::crash::{Api, Outcome};
use crate::md5_hex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use upvault_testkit::{random_bytes, TestServer};

/// Accounts the clients are spread over (Premium: 100 concurrent uploads each).
const ACCOUNTS: usize = 4;

#[derive(Default)]
struct Tally {
    /// Answered requests by kind.
    requests: HashMap<&'static str, u64>,
    /// Bytes uploaded and downloaded.
    bytes_up: u64,
    bytes_down: u64,
    /// Every failure: 5xx, transport errors, wrong content.
    failures: Vec<String>,
    /// Acknowledged uploads: (account index, file id, md5).
    uploaded: Vec<(usize, String, String)>,
    /// Latencies of uploads and downloads, in milliseconds.
    latencies: Vec<u128>,
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test]
async fn many_clients_lose_nothing_and_get_no_server_error() {
    let secs = env_u64("UPVAULT_TEST_LOAD_SECS", 10);
    let clients = env_u64("UPVAULT_TEST_LOAD_CLIENTS", 32) as usize;
    let server = TestServer::start_with(crate::crash::unlimited).await;
    let mut apis = Vec::new();
    for n in 0..ACCOUNTS {
        let user = server.user_in_package(&format!("load{n}"), Some(3)).await;
        apis.push(Api::new(&server.url, &user));
    }
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for client in 0..clients {
        let account = client % ACCOUNTS;
        let api = apis[account].clone();
        let tally = tally.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(client as u64);
            let mut mine: Vec<(String, String)> = Vec::new();
            while Instant::now() < deadline {
                let roll = rng.gen_range(0..100);
                let began = Instant::now();
                if roll < 40 || mine.is_empty() {
                    let size = match rng.gen_range(0..10) {
                        0 => 1024 * 1024 + rng.gen_range(0..1024),
                        1..=3 => rng.gen_range(64 * 1024..256 * 1024),
                        _ => rng.gen_range(1..16 * 1024),
                    };
                    let body = random_bytes(size, rng.gen());
                    let md5 = md5_hex(&body);
                    let outcome = api.upload("load.bin", body, None).await;
                    let mut tally = tally.lock().unwrap();
                    *tally.requests.entry("upload").or_default() += 1;
                    match outcome {
                        Outcome::Answer(200, answer) if answer["_status"] == "success" => {
                            let id = answer["data"][0]["file_id"].as_str().unwrap().to_owned();
                            if answer["data"][0]["hash"] != md5.as_str() {
                                tally
                                    .failures
                                    .push(format!("upload {id}: wrong MD5 {answer}"));
                            }
                            tally.bytes_up += size as u64;
                            tally.latencies.push(began.elapsed().as_millis());
                            tally.uploaded.push((account, id.clone(), md5.clone()));
                            mine.push((id, md5));
                        }
                        Outcome::Answer(status, answer) => {
                            tally.failures.push(format!("upload: {status} {answer}"));
                        }
                        Outcome::Transport(err) => tally.failures.push(format!("upload: {err}")),
                    }
                } else if roll < 80 {
                    let (id, md5) = mine[rng.gen_range(0..mine.len())].clone();
                    let got = api.download(&id).await;
                    let mut tally = tally.lock().unwrap();
                    *tally.requests.entry("download").or_default() += 2; // token + bytes
                    match got {
                        Ok((200, body)) if md5_hex(&body) == md5 => {
                            tally.bytes_down += body.len() as u64;
                            tally.latencies.push(began.elapsed().as_millis());
                        }
                        Ok((status, body)) => tally
                            .failures
                            .push(format!("download {id}: {status}, {} bytes", body.len())),
                        Err(err) => tally.failures.push(format!("download {id}: {err}")),
                    }
                } else {
                    let outcome = api.call("folder/listing", &[]).await;
                    let mut tally = tally.lock().unwrap();
                    *tally.requests.entry("listing").or_default() += 1;
                    match outcome {
                        Outcome::Answer(200, answer) if answer["_status"] == "success" => {}
                        other => tally.failures.push(format!("listing: {other:?}")),
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    let mut tally = Arc::try_unwrap(tally).ok().unwrap().into_inner().unwrap();

    // Every acknowledged upload is there, intact.
    for (account, id, md5) in &tally.uploaded {
        match apis[*account].download(id).await {
            Ok((200, body)) if &md5_hex(&body) == md5 => {}
            other => tally.failures.push(format!(
                "final check of file {id}: {:?}",
                other.map(|(s, b)| (s, b.len()))
            )),
        }
    }
    let problems = server.integrity_problems().await;

    tally.latencies.sort_unstable();
    let pct = |p: usize| {
        tally
            .latencies
            .get(tally.latencies.len().saturating_sub(1) * p / 100)
            .copied()
            .unwrap_or(0)
    };
    let total: u64 = tally.requests.values().sum();
    eprintln!(
        "load: {clients} clients, {elapsed:.1?}: {total} requests ({:.0}/s) {:?}; \
         {:.1} MiB up, {:.1} MiB down; transfer latency p50 {} ms, p99 {} ms, max {} ms; \
         {} files checked",
        total as f64 / elapsed.as_secs_f64(),
        tally.requests,
        tally.bytes_up as f64 / 1048576.0,
        tally.bytes_down as f64 / 1048576.0,
        pct(50),
        pct(99),
        pct(100),
        tally.uploaded.len(),
    );
    assert!(
        tally.failures.is_empty(),
        "{} failures: {:#?}",
        tally.failures.len(),
        &tally.failures[..tally.failures.len().min(20)]
    );
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(!tally.uploaded.is_empty());
}
