//! Where the real YetiShare server's behaviour decides because the documentation is silent
//! (issue 18): each test names the behaviour that integrations written against it rely on.

use upvault_testkit::TestServer;

#[tokio::test]
async fn an_uploaded_name_that_carries_a_path_keeps_its_last_component() {
    let server = TestServer::start().await;
    let user = server.user("paths").await;
    for (sent, stored) in [
        ("reports/2024/x.csv", "x.csv"),
        ("C:\\Users\\me\\y.csv", "y.csv"),
        ("plain.txt", "plain.txt"),
    ] {
        let answer = server.upload(&user, sent, b"a,b\n".to_vec(), &[]).await;
        assert_eq!(answer["data"][0]["name"], stored, "{sent}: {answer}");
        let id = answer["data"][0]["file_id"].as_str().unwrap().to_owned();
        let info = server.ok(&user, "file/info", &[("file_id", &id)]).await;
        assert_eq!(info["filename"], stored, "{sent}");
    }
    // A rename keeps today's rule: separators become `_`.
    let answer = server.upload(&user, "r.txt", b"r".to_vec(), &[]).await;
    let id = answer["data"][0]["file_id"].as_str().unwrap().to_owned();
    server
        .ok(
            &user,
            "file/edit",
            &[("file_id", &id), ("filename", "a/b.txt")],
        )
        .await;
    let info = server.ok(&user, "file/info", &[("file_id", &id)]).await;
    assert_eq!(info["filename"], "a_b.txt");
}
