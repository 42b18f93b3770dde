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

#[tokio::test]
async fn null_means_the_root_and_clears_a_folder_password() {
    let server = TestServer::start().await;
    let user = server.user("nulls").await;
    let folder = server
        .ok(&user, "folder/create", &[("folder_name", "Box")])
        .await;
    let box_id = folder["id"].as_str().unwrap().to_owned();

    // Upload and create with `null` for the folder: the root.
    let upload = server
        .upload(&user, "n.txt", b"n".to_vec(), &[("folder_id", "null")])
        .await;
    assert_eq!(upload["_status"], "success", "{upload}");
    let file_id = upload["data"][0]["file_id"].as_str().unwrap().to_owned();
    let top = server
        .ok(
            &user,
            "folder/create",
            &[("folder_name", "Top"), ("parent_id", "NULL")],
        )
        .await;
    assert!(top["parentId"].is_null(), "{top}");

    // Into the box, then back with `null` (move, edit, copy).
    server
        .ok(
            &user,
            "file/move",
            &[("file_id", &file_id), ("new_parent_folder_id", &box_id)],
        )
        .await;
    server
        .ok(
            &user,
            "file/move",
            &[("file_id", &file_id), ("new_parent_folder_id", "null")],
        )
        .await;
    let info = server
        .ok(&user, "file/info", &[("file_id", &file_id)])
        .await;
    assert!(info["folderId"].is_null(), "{info}");
    server
        .ok(
            &user,
            "file/edit",
            &[("file_id", &file_id), ("folder_id", &box_id)],
        )
        .await;
    server
        .ok(
            &user,
            "file/edit",
            &[("file_id", &file_id), ("folder_id", "null")],
        )
        .await;
    let info = server
        .ok(&user, "file/info", &[("file_id", &file_id)])
        .await;
    assert!(info["folderId"].is_null(), "{info}");
    server
        .ok(
            &user,
            "file/edit",
            &[("file_id", &file_id), ("folder_id", &box_id)],
        )
        .await;
    let copy = server
        .ok(
            &user,
            "file/copy",
            &[("file_id", &file_id), ("copy_to_folder_id", "null")],
        )
        .await;
    let copied = &copy["new_file"]["data"];
    assert!(copied["id"].is_string(), "{copy}");
    assert!(copied["folderId"].is_null(), "{copy}");

    // Folders: a parent of `null` is the root; `access_password=null` clears the password,
    // and a new folder with it has none.
    server
        .ok(
            &user,
            "folder/move",
            &[
                ("folder_id", top["id"].as_str().unwrap()),
                ("new_parent_folder_id", &box_id),
            ],
        )
        .await;
    let edited = server
        .ok(
            &user,
            "folder/edit",
            &[
                ("folder_id", top["id"].as_str().unwrap()),
                ("parent_id", "null"),
            ],
        )
        .await;
    assert!(edited["parentId"].is_null(), "{edited}");
    let md5 = "5f4dcc3b5aa765d61d8327deb882cf99";
    let locked = server
        .ok(
            &user,
            "folder/edit",
            &[("folder_id", &box_id), ("access_password", md5)],
        )
        .await;
    assert_eq!(locked["accessPassword"], md5, "{locked}");
    let cleared = server
        .ok(
            &user,
            "folder/edit",
            &[("folder_id", &box_id), ("access_password", "null")],
        )
        .await;
    assert!(cleared["accessPassword"].is_null(), "{cleared}");
    let open = server
        .ok(
            &user,
            "folder/create",
            &[("folder_name", "Open"), ("access_password", "null")],
        )
        .await;
    assert!(open["accessPassword"].is_null(), "{open}");
}

#[tokio::test]
async fn messages_the_documentation_lacks_are_the_real_servers() {
    let server = TestServer::start().await;
    let user = server.user("letters").await;
    let folder = server
        .ok(&user, "folder/create", &[("folder_name", "F")])
        .await;
    let id = folder["id"].as_str().unwrap().to_owned();
    for (endpoint, params, expected) in [
        (
            "file/info",
            vec![("file_id", "abc")],
            "Could not find file based on file_id.",
        ),
        (
            "folder/info",
            vec![("folder_id", "abc")],
            "Could not find folder based on folder_id.",
        ),
        (
            "folder/move",
            vec![
                ("folder_id", id.as_str()),
                ("new_parent_folder_id", id.as_str()),
            ],
            "Param folder_id can not match new_parent_folder_id.",
        ),
        (
            "folder/move",
            vec![("folder_id", id.as_str()), ("new_parent_folder_id", "abc")],
            "Could not find the destination folder id defined by new_parent_folder_id.",
        ),
        (
            "file/xyz",
            vec![],
            "No method found within endpoint (file): xyz",
        ),
        (
            "folder",
            vec![],
            "No method found within endpoint (folder): index",
        ),
    ] {
        let answer = server.call(&user, endpoint, &params).await;
        assert_eq!(
            answer["_status"], "error",
            "{endpoint} {params:?}: {answer}"
        );
        assert_eq!(answer["response"], expected, "{endpoint} {params:?}");
    }
}

#[tokio::test]
async fn file_objects_and_upload_items_carry_the_real_servers_extra_fields() {
    let server = TestServer::start().await;
    let user = server.user("fields").await;
    let upload = server
        .upload(&user, "a <b>.txt", b"fields".to_vec(), &[])
        .await;
    let item = &upload["data"][0];
    let url = item["url"].as_str().unwrap();
    let row = item["success_result_html"].as_str().unwrap();
    assert!(row.starts_with("<td class=\"cancel\">"), "{row}");
    assert!(
        row.contains("<td class=\"name\">a &lt;b&gt;.txt</td>"),
        "{row}"
    );
    assert!(
        row.contains(&format!("<a href=\"{url}\" target=\"_blank\">{url}</a>")),
        "{row}"
    );

    let id = item["file_id"].as_str().unwrap();
    let info = server.ok(&user, "file/info", &[("file_id", id)]).await;
    assert_eq!(info["file_status"], "active");
    assert_eq!(info["file_status"], info["status"]);
    let hash = item["delete_hash"].as_str().unwrap();
    assert_eq!(info["url_file_info"], format!("{url}~i?{hash}"));
    assert_eq!(info["url_file_stats"], format!("{url}~s"));
    assert_eq!(info["url_file_delete"], format!("{url}~d?{hash}"));
    // The links work: the owner's info page opens with its hash.
    let page = server
        .client
        .get(info["url_file_info"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    server.ok(&user, "file/delete", &[("file_id", id)]).await;
}

#[tokio::test]
async fn a_file_says_where_it_came_from_and_when_it_was_last_downloaded() {
    let server = TestServer::start().await;
    let user = server.user("origin").await;
    let upload = server.upload(&user, "o.txt", b"origin".to_vec(), &[]).await;
    let id = upload["data"][0]["file_id"].as_str().unwrap().to_owned();
    let info = server.ok(&user, "file/info", &[("file_id", &id)]).await;
    assert_eq!(info["uploadSource"], "api");
    assert_eq!(info["uploadedIP"], "127.0.0.1");
    assert!(info["lastAccessed"].is_null(), "{info}");

    let url = server.download_url(&user, &id).await;
    assert_eq!(server.get_bytes(&url).await.as_ref(), b"origin");
    // The download is counted when its last byte has gone out.
    let mut last = serde_json::Value::Null;
    for _ in 0..50 {
        last = server.ok(&user, "file/info", &[("file_id", &id)]).await["lastAccessed"].clone();
        if !last.is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let stamp = last.as_str().expect("lastAccessed after a download");
    assert_eq!(stamp.len(), "2026-01-01 00:00:00".len(), "{stamp}");
    // A copy keeps where the content came from.
    let copy = server
        .ok(
            &user,
            "file/copy",
            &[("file_id", &id), ("copy_to_folder_id", "0")],
        )
        .await;
    assert_eq!(copy["new_file"]["data"]["uploadSource"], "api", "{copy}");
}

#[tokio::test]
async fn is_public_says_whether_the_files_link_opens_its_page() {
    let server = TestServer::start().await;
    let user = server.user("public").await;
    let private = server
        .ok(&user, "folder/create", &[("folder_name", "Mine")])
        .await;
    let shared = server
        .ok(
            &user,
            "folder/create",
            &[("folder_name", "Shared"), ("is_public", "1")],
        )
        .await;
    let inside = server
        .ok(
            &user,
            "folder/create",
            &[
                ("folder_name", "Inside"),
                ("is_public", "2"),
                ("parent_id", private["id"].as_str().unwrap()),
            ],
        )
        .await;
    for (folder, expected) in [
        (None, "1"),
        (Some(&shared), "1"),
        (Some(&private), "0"),
        // Public itself, but under a private folder: the page is not reachable.
        (Some(&inside), "0"),
    ] {
        let folder_id = folder.map_or("0", |f| f["id"].as_str().unwrap());
        let upload = server
            .upload(&user, "p.txt", b"p".to_vec(), &[("folder_id", folder_id)])
            .await;
        let item = &upload["data"][0];
        let id = item["file_id"].as_str().unwrap();
        let info = server.ok(&user, "file/info", &[("file_id", id)]).await;
        assert_eq!(info["isPublic"], expected, "in {folder_id}: {info}");
        // What the field says is what a visitor meets.
        let page = server
            .client
            .get(item["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(page.status() == 200, expected == "1", "in {folder_id}");
        let listing = server
            .ok(&user, "folder/listing", &[("parent_folder_id", folder_id)])
            .await;
        for file in listing["files"].as_array().unwrap() {
            assert_eq!(file["isPublic"], expected, "listing of {folder_id}");
        }
        let deleted = server.ok(&user, "file/delete", &[("file_id", id)]).await;
        assert_eq!(deleted["isPublic"], "0", "a trashed file: {deleted}");
    }
}

/// Python clients send a missing optional value as the text `None`, JavaScript ones as
/// `undefined`: in folder parameters and `access_password` they mean "not given".
#[tokio::test]
async fn a_clients_none_or_undefined_means_not_given() {
    let server = TestServer::start().await;
    let user = server.user("unset").await;
    for unset in ["None", "undefined"] {
        let name = format!("made with {unset}");
        let made = server
            .ok(
                &user,
                "folder/create",
                &[
                    ("folder_name", &name),
                    ("parent_id", unset),
                    ("access_password", unset),
                ],
            )
            .await;
        assert_eq!(made["parentId"], serde_json::Value::Null, "{made}");
        assert_eq!(made["accessPassword"], serde_json::Value::Null, "{made}");
        let id = made["id"].as_str().unwrap().to_owned();
        let inner = server
            .ok(
                &user,
                "folder/create",
                &[("folder_name", "inner"), ("parent_id", &id)],
            )
            .await;
        let inner_id = inner["id"].as_str().unwrap().to_owned();
        // On edit, "not given" keeps the parent (it does not move the folder to the root).
        let edited = server
            .ok(
                &user,
                "folder/edit",
                &[
                    ("folder_id", &inner_id),
                    ("folder_name", "renamed"),
                    ("parent_id", unset),
                ],
            )
            .await;
        assert_eq!(edited["parentId"], id.as_str(), "{edited}");
    }
    // A name is taken as sent.
    let named = server
        .ok(&user, "folder/create", &[("folder_name", "None")])
        .await;
    assert_eq!(named["folderName"], "None");
}
