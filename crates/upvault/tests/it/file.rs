//! /file/info, /file/edit, /file/delete, /file/move, /file/copy and isolation between accounts.

use crate::md5_hex;
use serde_json::Value;
use upvault_testkit::TestServer;

#[tokio::test]
async fn info_has_every_documented_field() {
    let server = TestServer::start().await;
    let user = server.user("i").await;
    let up = server
        .upload_ok(&user, "button_back.gif", b"GIF89a....".to_vec())
        .await;
    let file_id = up["file_id"].as_str().unwrap();
    let info = server.ok(&user, "file/info", &[("file_id", file_id)]).await;
    assert_eq!(info["id"], file_id);
    assert_eq!(info["filename"], "button_back.gif");
    assert_eq!(info["shortUrl"], up["short_url"]);
    assert_eq!(info["fileType"], "image/gif");
    assert_eq!(info["extension"], "gif");
    assert_eq!(info["fileSize"], "10");
    assert_eq!(info["status"], "active");
    assert_eq!(info["downloads"], "0");
    assert_eq!(info["folderId"], Value::Null);
    assert!(info["keywords"].is_string());
    assert_eq!(
        info["url_file"],
        format!("{}/{}", server.url, up["short_url"].as_str().unwrap())
    );
    assert!(chrono::NaiveDateTime::parse_from_str(
        info["uploadedDate"].as_str().unwrap(),
        "%Y-%m-%d %H:%M:%S"
    )
    .is_ok());
}

#[tokio::test]
async fn edit_move_copy_delete() {
    let server = TestServer::start().await;
    let user = server.user("ops").await;
    let folder = server
        .ok(&user, "folder/create", &[("folder_name", "Dest")])
        .await;
    let folder_id = folder["id"].as_str().unwrap();
    let body = b"copy me please".to_vec();
    let up = server.upload_ok(&user, "orig.txt", body.clone()).await;
    let file_id = up["file_id"].as_str().unwrap();

    let edited = server
        .call(
            &user,
            "file/edit",
            &[
                ("file_id", file_id),
                ("filename", "renamed/..\\x.md"),
                ("fileType", ""),
                ("folder_id", ""),
            ],
        )
        .await;
    assert_eq!(edited["response"], "File successfully updated.");
    assert_eq!(edited["data"]["filename"], "renamed_.._x.md");
    assert_eq!(edited["data"]["extension"], "md");
    assert_eq!(edited["data"]["folderId"], Value::Null);
    let retyped = server
        .ok(
            &user,
            "file/edit",
            &[("file_id", file_id), ("fileType", "text/markdown")],
        )
        .await;
    assert_eq!(retyped["fileType"], "text/markdown");
    assert_eq!(retyped["filename"], "renamed_.._x.md");

    let moved = server
        .call(
            &user,
            "file/move",
            &[("file_id", file_id), ("new_parent_folder_id", folder_id)],
        )
        .await;
    assert_eq!(moved["response"], "File successfully moved.");
    assert_eq!(moved["data"]["folderId"], folder_id);

    let copied = server
        .call(
            &user,
            "file/copy",
            &[("file_id", file_id), ("copy_to_folder_id", "0")],
        )
        .await;
    assert_eq!(copied["response"], "File successfully copyied.");
    assert_eq!(copied["_status"], "success");
    assert_eq!(copied["original_file"]["data"]["id"], file_id);
    let copy = &copied["new_file"]["data"];
    assert_ne!(copy["id"], file_id);
    assert_ne!(copy["shortUrl"], moved["data"]["shortUrl"]);
    assert_eq!(copy["folderId"], Value::Null);
    assert_eq!(copy["fileSize"], body.len().to_string());

    // Both records read the same bytes; only one blob is stored.
    for id in [file_id, copy["id"].as_str().unwrap()] {
        let url = server.download_url(&user, id).await;
        let got = server.get_bytes(&url).await;
        assert_eq!(md5_hex(&got), md5_hex(&body));
    }
    let blobs = server.blob_keys().await;
    assert_eq!(blobs.len(), 1, "{blobs:?}");

    let deleted = server
        .call(&user, "file/delete", &[("file_id", file_id)])
        .await;
    assert_eq!(deleted["response"], "File successfully set as deleted.");
    assert_eq!(deleted["data"]["status"], "trash");
    assert_eq!(
        server
            .call(&user, "file/info", &[("file_id", file_id)])
            .await["response"],
        "Could not find file based on file_id."
    );
    // The copy still downloads: trash does not take shared bytes away.
    let url = server
        .download_url(&user, copy["id"].as_str().unwrap())
        .await;
    assert_eq!(server.get_bytes(&url).await.as_ref(), body.as_slice());
}

#[tokio::test]
async fn documented_file_errors_and_isolation() {
    let server = TestServer::start().await;
    let user = server.user("me").await;
    let other = server.user("them").await;
    let theirs = server
        .upload_ok(&other, "secret.txt", b"not yours".to_vec())
        .await;
    let their_id = theirs["file_id"].as_str().unwrap();
    let their_folder = server
        .ok(&other, "folder/create", &[("folder_name", "F")])
        .await;
    let their_folder = their_folder["id"].as_str().unwrap();
    let mine = server.upload_ok(&user, "mine.txt", b"mine".to_vec()).await;
    let my_id = mine["file_id"].as_str().unwrap();

    let not_found = "Could not find file based on file_id.";
    let cases: Vec<crate::ErrorCase<'_>> = vec![
        ("file/info", vec![], "Please provide the file_id param."),
        ("file/info", vec![("file_id", their_id)], not_found),
        ("file/info", vec![("file_id", "abc")], not_found),
        (
            "file/info",
            vec![("file_id", "99999999999999999999999")],
            "The file_id param is out of range: ids go from 1 to 9223372036854775807.",
        ),
        (
            "file/info",
            vec![("file_id", "-3")],
            "The file_id param is out of range: ids go from 1 to 9223372036854775807.",
        ),
        ("file/download", vec![], "Please provide the file_id param."),
        ("file/download", vec![("file_id", their_id)], not_found),
        (
            "file/download",
            vec![("short_url", theirs["short_url"].as_str().unwrap())],
            not_found,
        ),
        (
            "file/edit",
            vec![("file_id", their_id), ("filename", "x")],
            not_found,
        ),
        ("file/delete", vec![("file_id", their_id)], not_found),
        (
            "file/move",
            vec![("file_id", their_id), ("new_parent_folder_id", "0")],
            not_found,
        ),
        (
            "file/move",
            vec![("file_id", my_id)],
            "Please provide the new_parent_folder_id param.",
        ),
        (
            "file/move",
            vec![("file_id", my_id), ("new_parent_folder_id", their_folder)],
            "Could not find the destination folder id defined by new_parent_folder_id.",
        ),
        (
            "file/copy",
            vec![("file_id", their_id), ("copy_to_folder_id", "0")],
            not_found,
        ),
        (
            "file/copy",
            vec![("file_id", my_id)],
            "Please provide the copy_to_folder_id param.",
        ),
        (
            "file/copy",
            vec![("file_id", my_id), ("copy_to_folder_id", their_folder)],
            "Could not find the destination folder id defined by copy_to_folder_id.",
        ),
        (
            "file/edit",
            vec![("file_id", my_id), ("folder_id", their_folder)],
            "Could not find the folder defined by folder_id.",
        ),
        (
            "file/url_upload_status",
            vec![],
            "Please provide the scheduled_item_id param.",
        ),
        (
            "file/url_upload_add",
            vec![],
            "Please provide the file_url_base64 param.",
        ),
    ];
    for (endpoint, params, message) in cases {
        let answer = server.call(&user, endpoint, &params).await;
        assert_eq!(
            answer["_status"], "error",
            "{endpoint} {params:?}: {answer}"
        );
        assert_eq!(answer["response"], message, "{endpoint} {params:?}");
    }
    // Nothing of theirs changed.
    let info = server
        .ok(&other, "file/info", &[("file_id", their_id)])
        .await;
    assert_eq!(
        (info["filename"].as_str(), info["status"].as_str()),
        (Some("secret.txt"), Some("active"))
    );
}
