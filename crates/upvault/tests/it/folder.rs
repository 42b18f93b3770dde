//! /folder/*: create, info, listing, edit, move (cycles refused), delete (trash the tree).

use serde_json::Value;
use upvault_testkit::{TestServer, TestUser};

async fn create(server: &TestServer, user: &TestUser, name: &str, parent: Option<&str>) -> Value {
    let mut params = vec![("folder_name", name)];
    if let Some(parent) = parent {
        params.push(("parent_id", parent));
    }
    server.ok(user, "folder/create", &params).await
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn create_answers_the_documented_shape() {
    let server = TestServer::start().await;
    let user = server.user("f").await;
    let answer = server
        .call(
            &user,
            "folder/create",
            &[
                ("folder_name", "My New Folder"),
                ("is_public", "2"),
                ("access_password", "d9729feb74992cc3482b350163a1a010"),
            ],
        )
        .await;
    assert_eq!(answer["response"], "Folder successfully created.");
    let data = &answer["data"];
    assert!(data["id"].is_string());
    assert_eq!(data["parentId"], Value::Null);
    assert_eq!(data["folderName"], "My New Folder");
    assert_eq!(data["totalSize"], "0");
    assert_eq!(data["isPublic"], "2");
    assert_eq!(data["accessPassword"], "d9729feb74992cc3482b350163a1a010");
    assert_eq!(data["date_updated"], Value::Null);
    assert_eq!(
        data["url_folder"],
        format!("{}/folder/{}/My_New_Folder", server.url, id(data))
    );
    assert_eq!(
        (
            data["total_downloads"].as_i64(),
            data["child_folder_count"].as_i64(),
            data["file_count"].as_i64()
        ),
        (Some(0), Some(0), Some(0))
    );
}

#[tokio::test]
async fn listing_shows_active_children_with_counts_and_no_passwords() {
    let server = TestServer::start().await;
    let user = server.user("l").await;
    let parent = create(&server, &user, "Parent", None).await;
    let child = create(&server, &user, "Child", Some(&id(&parent))).await;
    create(&server, &user, "Grandchild", Some(&id(&child))).await;
    let file = server
        .upload(
            &user,
            "a.txt",
            b"hello".to_vec(),
            &[("folder_id", &id(&parent))],
        )
        .await;
    assert_eq!(file["_status"], "success", "{file}");

    let root = server.ok(&user, "folder/listing", &[]).await;
    assert_eq!(root["folders"].as_array().unwrap().len(), 1);
    let listed = &root["folders"][0];
    assert!(listed.get("accessPassword").is_none(), "{listed}");
    assert_eq!(listed["child_folder_count"], 1);
    assert_eq!(listed["file_count"], 1);
    assert_eq!(listed["totalSize"], "5");

    let inside = server
        .ok(
            &user,
            "folder/listing",
            &[("parent_folder_id", &id(&parent))],
        )
        .await;
    assert_eq!(inside["folders"][0]["folderName"], "Child");
    assert_eq!(inside["files"][0]["filename"], "a.txt");
    assert_eq!(inside["files"][0]["folderId"], id(&parent));

    let info = server
        .ok(&user, "folder/info", &[("parent_folder_id", &id(&parent))])
        .await;
    assert_eq!(info["folderName"], "Parent");
    assert!(info.get("accessPassword").is_some());
}

#[tokio::test]
async fn moves_into_own_subtree_are_refused_and_zero_means_root() {
    let server = TestServer::start().await;
    let user = server.user("m").await;
    let a = id(&create(&server, &user, "A", None).await);
    let b = id(&create(&server, &user, "B", Some(&a)).await);
    let c = id(&create(&server, &user, "C", Some(&b)).await);
    for target in [&a, &b, &c] {
        let answer = server
            .call(
                &user,
                "folder/move",
                &[("folder_id", &a), ("new_parent_folder_id", target)],
            )
            .await;
        assert_eq!(answer["_status"], "error", "move A into {target}");
        // Onto itself: the real server's message; below itself: ours.
        let expected = if target == &a {
            "Param folder_id can not match new_parent_folder_id."
        } else {
            "A folder cannot be moved into itself or one of its own sub-folders."
        };
        assert_eq!(answer["response"], expected, "{answer}");
    }
    let edit = server
        .call(
            &user,
            "folder/edit",
            &[("folder_id", &a), ("parent_id", &c)],
        )
        .await;
    assert_eq!(edit["_status"], "error");

    let moved = server
        .call(
            &user,
            "folder/move",
            &[("folder_id", &c), ("new_parent_folder_id", "0")],
        )
        .await;
    assert_eq!(moved["response"], "Folder successfully moved.");
    assert_eq!(moved["data"]["parentId"], Value::Null);
    let moved = server
        .call(
            &user,
            "folder/move",
            &[("folder_id", &c), ("new_parent_folder_id", &a)],
        )
        .await;
    assert_eq!(moved["data"]["parentId"], a.as_str());
    let missing = server
        .call(&user, "folder/move", &[("folder_id", &c)])
        .await;
    assert_eq!(
        missing["response"],
        "Please provide the new_parent_folder_id param."
    );
    let nowhere = server
        .call(
            &user,
            "folder/move",
            &[("folder_id", &c), ("new_parent_folder_id", "99999")],
        )
        .await;
    assert_eq!(
        nowhere["response"],
        "Could not find the destination folder id defined by new_parent_folder_id."
    );
}

#[tokio::test]
async fn edit_changes_only_what_is_given() {
    let server = TestServer::start().await;
    let user = server.user("e").await;
    let folder = id(&create(&server, &user, "Old", None).await);
    let answer = server
        .call(
            &user,
            "folder/edit",
            &[
                ("folder_id", &folder),
                ("folder_name", "New <b>Name</b> 🦀"),
                ("is_public", "1"),
                ("access_password", ""),
            ],
        )
        .await;
    assert_eq!(answer["response"], "Folder successfully updated.");
    // SPEC §4: "/" becomes "_" in names; the rest is kept as typed.
    assert_eq!(answer["data"]["folderName"], "New <b>Name<_b> 🦀");
    assert_eq!(answer["data"]["isPublic"], "1");
    assert!(answer["data"]["date_updated"].is_string());
    let bad = server
        .call(
            &user,
            "folder/edit",
            &[("folder_id", &folder), ("is_public", "7")],
        )
        .await;
    assert_eq!(bad["_status"], "error");
    let bad = server
        .call(
            &user,
            "folder/edit",
            &[("folder_id", &folder), ("access_password", "short")],
        )
        .await;
    assert_eq!(bad["_status"], "error");
    let set = server
        .call(
            &user,
            "folder/edit",
            &[
                ("folder_id", &folder),
                ("access_password", "D9729FEB74992CC3482B350163A1A010"),
            ],
        )
        .await;
    assert_eq!(
        set["data"]["accessPassword"],
        "d9729feb74992cc3482b350163a1a010"
    );
    let removed = server
        .call(
            &user,
            "folder/edit",
            &[("folder_id", &folder), ("remove_access_password", "1")],
        )
        .await;
    assert_eq!(removed["data"]["accessPassword"], Value::Null);
}

#[tokio::test]
async fn delete_trashes_the_whole_tree() {
    let server = TestServer::start().await;
    let user = server.user("d").await;
    let top = id(&create(&server, &user, "Top", None).await);
    let sub = id(&create(&server, &user, "Sub", Some(&top)).await);
    let file = server
        .upload(&user, "deep.bin", vec![7; 100], &[("folder_id", &sub)])
        .await;
    let file_id = file["data"][0]["file_id"].as_str().unwrap().to_owned();

    let answer = server
        .call(&user, "folder/delete", &[("folder_id", &top)])
        .await;
    assert_eq!(answer["response"], "Folder successfully set as deleted.");
    assert!(answer.get("data").is_none());
    assert_eq!(
        server
            .call(&user, "folder/info", &[("folder_id", &sub)])
            .await["response"],
        "Could not find folder based on folder_id."
    );
    assert_eq!(
        server
            .call(&user, "file/info", &[("file_id", &file_id)])
            .await["response"],
        "Could not find file based on file_id."
    );
    let root = server.ok(&user, "folder/listing", &[]).await;
    assert_eq!(root["folders"].as_array().unwrap().len(), 0);
    assert_eq!(
        server
            .call(&user, "folder/delete", &[("folder_id", &top)])
            .await["response"],
        "Could not find folder based on folder_id."
    );
}

#[tokio::test]
async fn documented_folder_errors() {
    let server = TestServer::start().await;
    let user = server.user("errs").await;
    let other = server.user("other").await;
    let foreign = id(&create(&server, &other, "Theirs", None).await);
    let cases: Vec<crate::ErrorCase<'_>> = vec![
        (
            "folder/create",
            vec![],
            "Please provide the folder_name param.",
        ),
        (
            "folder/create",
            vec![("folder_name", "x"), ("parent_id", &foreign)],
            "Could not find the parent folder defined by parent_id.",
        ),
        (
            "folder/info",
            vec![("folder_id", &foreign)],
            "Could not find folder based on folder_id.",
        ),
        ("folder/info", vec![], "Please provide the folder_id param."),
        (
            "folder/edit",
            vec![("folder_id", &foreign), ("folder_name", "mine")],
            "Could not find folder based on folder_id.",
        ),
        (
            "folder/delete",
            vec![("folder_id", &foreign)],
            "Could not find folder based on folder_id.",
        ),
        ("folder/move", vec![], "Please provide the folder_id param."),
        (
            "folder/move",
            vec![("folder_id", &foreign), ("new_parent_folder_id", "0")],
            "Could not find folder based on folder_id.",
        ),
        (
            "folder/listing",
            vec![("parent_folder_id", &foreign)],
            "Could not find folder based on folder_id.",
        ),
    ];
    for (endpoint, params, message) in cases {
        let answer = server.call(&user, endpoint, &params).await;
        assert_eq!(answer["_status"], "error", "{endpoint} {params:?}");
        assert_eq!(answer["response"], message, "{endpoint} {params:?}");
    }
    // The other account's folder is untouched.
    assert_eq!(
        server
            .ok(&other, "folder/info", &[("folder_id", &foreign)])
            .await["folderName"],
        "Theirs"
    );
}

/// A refused edit changes nothing: the move it asked for is not made either.
#[tokio::test]
async fn a_refused_edit_moves_nothing() {
    let server = TestServer::start().await;
    let user = server.user("halfway").await;
    let target = create(&server, &user, "target", None).await;
    let target = target["id"].as_str().unwrap().to_owned();
    let folder = create(&server, &user, "folder", None).await;
    let folder = folder["id"].as_str().unwrap().to_owned();
    for bad in [("access_password", "not-an-md5"), ("folder_name", "\u{1}")] {
        let answer = server
            .call(
                &user,
                "folder/edit",
                &[("folder_id", &folder), ("parent_id", &target), bad],
            )
            .await;
        assert_eq!(answer["_status"], "error", "{bad:?}: {answer}");
        let info = server
            .ok(&user, "folder/info", &[("folder_id", &folder)])
            .await;
        assert_eq!(info["parentId"], Value::Null, "{bad:?}: {info}");
        assert_eq!(info["folderName"], "folder");
    }
}
