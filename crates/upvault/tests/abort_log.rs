//! A client's abort in the log, in a test binary of its own so that its log capture sees only
//! its own server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use upvault_testkit::TestServer;

/// Every log line of this process.
#[derive(Clone, Default)]
struct CapturedLog(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLog {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// A client that breaks off its own upload is its doing, not a fault of ours: one info line
/// with status 499, no error.
#[tokio::test]
async fn a_client_abort_is_logged_once_as_the_clients_doing() {
    use tokio::io::AsyncWriteExt as _;
    let log = CapturedLog::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // Its own test binary: the one subscriber of the process sees every thread's events.
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let server = TestServer::start().await;
    let user = server.user("quitter").await;
    let boundary = "xyzzy";
    let head_of_body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"access_token\"\r\n\r\n{}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"account_id\"\r\n\r\n{}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"upload_file\"; \
         filename=\"gone.bin\"\r\n\r\n",
        user.token, user.account_id
    );
    let url = reqwest::Url::parse(&server.api("file/upload")).unwrap();
    let mut stream = tokio::net::TcpStream::connect((
        url.host_str().unwrap(),
        url.port_or_known_default().unwrap(),
    ))
    .await
    .unwrap();
    let request_head = format!(
        "POST {} HTTP/1.1\r\nHost: localhost\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {}\r\n\r\n",
        url.path(),
        head_of_body.len() + 64 * 1024 * 1024
    );
    stream.write_all(request_head.as_bytes()).await.unwrap();
    stream.write_all(head_of_body.as_bytes()).await.unwrap();
    stream.write_all(&vec![5u8; 1024 * 1024]).await.unwrap();
    drop(stream);

    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while !log.text().contains("status=499") && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let text = log.text();
    let upload_lines: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("/file/upload"))
        .collect();
    assert_eq!(upload_lines.len(), 1, "{text}");
    assert!(upload_lines[0].contains(" INFO "), "{text}");
    assert!(upload_lines[0].contains("status=499"), "{text}");
    assert!(!text.contains("ERROR"), "{text}");
    let listing = server.ok(&user, "folder/listing", &[]).await;
    assert_eq!(
        listing["files"].as_array().map_or(0, Vec::len),
        0,
        "{listing}"
    );
}
