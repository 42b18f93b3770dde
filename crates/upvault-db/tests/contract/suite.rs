//! The contract suite: every repository port's behaviour, written once against `dyn Store` and
//! run on each backend by `main.rs` (outcomes asserted on concrete values, and nothing left
//! behind after a refusal).

use crate::{key, new_file, t, Counter, Db};
use chrono::NaiveDate;
use upvault_core::error::{Entity, Limit};
use upvault_core::ids::{AccountId, FileId, JobId, PackageId};
use upvault_core::model::*;
use upvault_core::{Error, Unique};

pub(crate) async fn accounts_api_keys_and_packages(db: &Db) {
    let store = &db.store;
    assert_eq!(store.count_accounts().await.unwrap(), 0);
    let alice = db.account("alice").await;
    assert_eq!(store.count_accounts().await.unwrap(), 1);

    let taken = store
        .create_account(NewAccount {
            username: "alice".to_owned(),
            email: String::new(),
            password_hash: None,
            package_id: PackageId(1),
            created_at: t(5),
            role: Role::Admin,
            status: AccountStatus::Active,
            title: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            paid_expiry_at: None,
        })
        .await;
    assert!(
        matches!(taken, Err(Error::Taken(Unique::Username))),
        "{taken:?}"
    );
    assert_eq!(store.count_accounts().await.unwrap(), 1);

    let account = store.account(alice).await.unwrap().unwrap();
    assert_eq!(account.username, "alice");
    assert_eq!(account.email, "alice@example.com");
    assert_eq!(account.password_hash.as_deref(), Some("$argon2id$fake"));
    assert_eq!(account.package_id, PackageId(2));
    assert_eq!(account.status, AccountStatus::Active);
    assert_eq!(account.role, Role::User);
    assert_eq!(account.title, "");
    assert_eq!(account.created_at, t(0));
    assert_eq!(account.last_login_at, None);
    assert_eq!(account.storage_limit_override, None);
    assert_eq!(
        store.account_by_username("alice").await.unwrap(),
        Some(account)
    );
    assert_eq!(store.account_by_username("Alice").await.unwrap(), None);
    assert_eq!(store.account(AccountId(999)).await.unwrap(), None);
    assert_eq!(
        store.account_by_email("nobody@example.com").await.unwrap(),
        None
    );
    assert_eq!(
        store
            .account_by_email("ALICE@Example.com")
            .await
            .unwrap()
            .map(|a| a.id),
        Some(alice),
        "emails compare without case"
    );

    // Everything an administrator may change is written, and only that account's row.
    let bob = db.account("bob").await;
    let mut changed = store.account(alice).await.unwrap().unwrap();
    changed.email = "alice@new.example".into();
    changed.password_hash = Some("$argon2id$other".into());
    changed.package_id = PackageId(3);
    changed.status = AccountStatus::Pending;
    changed.role = Role::Admin;
    changed.title = "Dr".into();
    changed.first_name = "Alice".into();
    changed.last_name = "Ng".into();
    changed.paid_expiry_at = Some(t(9_000));
    assert!(store.save_account(&changed, false).await.unwrap());
    assert_eq!(store.account(alice).await.unwrap().unwrap(), changed);
    assert_eq!(
        store.account(bob).await.unwrap().unwrap().email,
        "bob@example.com"
    );
    let mut gone = changed.clone();
    gone.id = AccountId(999);
    assert!(!store.save_account(&gone, false).await.unwrap());
    let created = store
        .create_account(NewAccount {
            username: "carol".to_owned(),
            email: "carol@example.com".to_owned(),
            password_hash: None,
            package_id: PackageId(2),
            created_at: t(5),
            role: Role::User,
            status: AccountStatus::Disabled,
            title: "Ms".into(),
            first_name: "Carol".into(),
            last_name: "Diaz".into(),
            paid_expiry_at: Some(t(77)),
        })
        .await
        .unwrap();
    assert_eq!(
        store.account(created.id).await.unwrap(),
        Some(created.clone())
    );
    assert_eq!(
        (
            created.status,
            created.title.as_str(),
            created.first_name.as_str()
        ),
        (AccountStatus::Disabled, "Ms", "Carol")
    );
    assert_eq!(
        (created.last_name.as_str(), created.paid_expiry_at),
        ("Diaz", Some(t(77)))
    );

    store
        .record_login(alice, t(100), "192.0.2.7")
        .await
        .unwrap();
    let account = store.account(alice).await.unwrap().unwrap();
    assert_eq!(account.last_login_at, Some(t(100)));
    assert_eq!(account.last_login_ip, "192.0.2.7");

    let key1 = "k".repeat(64);
    store
        .insert_api_key(alice, &key1, "$hash", t(3))
        .await
        .unwrap();
    let record = store.api_key(&key1).await.unwrap().unwrap();
    assert_eq!(record.account_id, alice);
    assert_eq!(record.key2_hash, "$hash");
    assert!(store.api_key(&"x".repeat(64)).await.unwrap().is_none());

    let packages = store.packages().await.unwrap();
    let names: Vec<_> = packages
        .iter()
        .map(|p| (p.id.0, p.label.as_str(), p.level_type.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (1, "Guest", "guest"),
            (2, "Free Account", "free user"),
            (3, "Premium Account", "paid user")
        ]
    );
    assert_eq!(packages[0].limits, PackageLimits::default());
    let free = PackageLimits {
        max_upload_size: 1_073_741_824,
        can_upload: 1,
        max_storage_bytes: 10_737_418_240,
        concurrent_uploads: 10,
        max_remote_download_urls: 10,
        ..PackageLimits::default()
    };
    assert_eq!(packages[1].limits, free);
    let premium = PackageLimits {
        max_upload_size: 10_737_418_240,
        can_upload: 1,
        show_upgrade_screen: 1,
        concurrent_uploads: 100,
        max_remote_download_urls: 50,
        ..PackageLimits::default()
    };
    assert_eq!(packages[2].limits, premium);

    let mut guest = store.package(PackageId(1)).await.unwrap().unwrap();
    guest.label = "Visitor".to_owned();
    for (i, key) in PackageLimits::KEYS.iter().enumerate() {
        assert!(guest.limits.set(key, 1000 + i as u64));
    }
    store.update_package(&guest).await.unwrap();
    assert_eq!(store.package(PackageId(1)).await.unwrap(), Some(guest));
    assert_eq!(
        store.package(PackageId(2)).await.unwrap().unwrap().limits,
        free
    );
    assert_eq!(store.package(PackageId(42)).await.unwrap(), None);
}

pub(crate) async fn tokens_expire_and_belong_to_their_account(db: &Db) {
    let store = &db.store;
    let alice = db.account("alice").await;
    let bob = db.account("bob").await;

    store
        .insert_access_token("live", alice, t(0), t(3600))
        .await
        .unwrap();
    store
        .insert_access_token("old", alice, t(0), t(60))
        .await
        .unwrap();
    let record = store.access_token("live").await.unwrap().unwrap();
    assert_eq!(record.account_id, alice);
    assert_eq!(record.expires_at, t(3600));
    // Expired tokens are still returned: the service compares.
    assert_eq!(
        store.access_token("old").await.unwrap().unwrap().expires_at,
        t(60)
    );
    assert!(store.access_token("none").await.unwrap().is_none());

    // Suspending ends the account's tokens with it; only that account's.
    store
        .insert_access_token("bobs", bob, t(0), t(3600))
        .await
        .unwrap();
    store
        .insert_access_token("doomed", alice, t(0), t(3600))
        .await
        .unwrap();
    let mut account = store.account(alice).await.unwrap().unwrap();
    account.status = AccountStatus::Suspended;
    assert!(store.save_account(&account, true).await.unwrap());
    assert_eq!(
        store.account(alice).await.unwrap().unwrap().status,
        AccountStatus::Suspended
    );
    assert!(store.access_token("doomed").await.unwrap().is_none());
    assert!(store.access_token("bobs").await.unwrap().is_some());
    // Without `end_tokens` the tokens stay.
    store
        .insert_access_token("kept", alice, t(0), t(3600))
        .await
        .unwrap();
    account.status = AccountStatus::Active;
    assert!(store.save_account(&account, false).await.unwrap());
    assert!(store.access_token("kept").await.unwrap().is_some());
    for (token, expires) in [("live", 3600), ("old", 60)] {
        store
            .insert_access_token(token, alice, t(0), t(expires))
            .await
            .unwrap();
    }

    store.refresh_access_token("live", t(7200)).await.unwrap();
    assert_eq!(
        store
            .access_token("live")
            .await
            .unwrap()
            .unwrap()
            .expires_at,
        t(7200)
    );

    assert!(!store.delete_access_token("live", bob).await.unwrap());
    assert!(store.access_token("live").await.unwrap().is_some());
    assert!(store.delete_access_token("live", alice).await.unwrap());
    assert!(store.access_token("live").await.unwrap().is_none());
    assert!(!store.delete_access_token("live", alice).await.unwrap());

    let file = db.upload(alice, None, "a.txt", 1, 10).await;
    store
        .insert_download_token("dl-live", file.id, t(500))
        .await
        .unwrap();
    store
        .insert_download_token("dl-old", file.id, t(50))
        .await
        .unwrap();
    assert_eq!(
        store.download_token_file("dl-live", t(100)).await.unwrap(),
        Some(file.id)
    );
    assert_eq!(
        store.download_token_file("dl-old", t(100)).await.unwrap(),
        None
    );
    assert_eq!(
        store.download_token_file("dl-none", t(100)).await.unwrap(),
        None
    );

    // "old" access token (60) and "dl-old" (50) are past; "dl-live" is not.
    assert_eq!(store.purge_expired_tokens(t(100)).await.unwrap(), 2);
    assert!(store.access_token("old").await.unwrap().is_none());
    assert_eq!(
        store.download_token_file("dl-live", t(100)).await.unwrap(),
        Some(file.id)
    );
    assert_eq!(store.purge_expired_tokens(t(100)).await.unwrap(), 0);
}

pub(crate) async fn upload_promotes_a_new_blob_once_and_shares_it_after(db: &Db) {
    let store = &db.store;
    let alice = db.account("alice").await;

    let first_promote = Counter::default();
    let first = store
        .commit_upload(
            new_file(alice, None, "a.txt", 7, 100),
            Some(1000),
            first_promote.action(),
        )
        .await
        .unwrap();
    assert_eq!(first_promote.runs(), 1);
    assert_eq!(first.account_id, alice);
    assert_eq!(first.filename, "a.txt");
    assert_eq!(first.size_bytes, 100);
    assert_eq!(first.blob_key, key(7));
    assert_eq!(first.status, Status::Active);
    assert_eq!(first.downloads, 0);
    assert_eq!(first.folder_id, None);
    assert_eq!(first.uploaded_at, t(10));
    assert_eq!(first.short_url.len(), 8);
    assert!(first.short_url.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(db.ref_count(&key(7)).await, Some(1));

    let second_promote = Counter::default();
    let second = store
        .commit_upload(
            new_file(alice, None, "b.txt", 7, 100),
            Some(1000),
            second_promote.action(),
        )
        .await
        .unwrap();
    assert_eq!(
        second_promote.runs(),
        0,
        "an existing blob is not promoted again"
    );
    assert_eq!(db.ref_count(&key(7)).await, Some(2));
    assert_ne!(second.id, first.id);
    assert_ne!(second.short_url, first.short_url);

    assert_eq!(
        store.file(alice, first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.file_by_short_url(&second.short_url).await.unwrap(),
        Some(second.clone())
    );
    assert_eq!(store.file_by_id(second.id).await.unwrap(), Some(second));
    assert_eq!(store.storage_used_bytes(alice).await.unwrap(), 200);
    assert!(store.blob_is_known(&key(7)).await.unwrap());
    assert!(!store.blob_is_known(&key(8)).await.unwrap());

    let bob = db.account("bob").await;
    assert_eq!(
        store.file(bob, first.id).await.unwrap(),
        None,
        "foreign files do not exist"
    );
    assert_eq!(store.storage_used_bytes(bob).await.unwrap(), 0);
}

pub(crate) async fn refused_or_failed_uploads_leave_nothing(db: &Db) {
    let store = &db.store;
    let alice = db.account("alice").await;
    db.upload(alice, None, "a.txt", 1, 600).await;

    // 600 used + 401 > 1000.
    let promote = Counter::default();
    let refused = store
        .commit_upload(
            new_file(alice, None, "big.txt", 2, 401),
            Some(1000),
            promote.action(),
        )
        .await;
    assert!(
        matches!(refused, Err(Error::LimitExceeded(Limit::Storage(1000)))),
        "{refused:?}"
    );
    assert_eq!(promote.runs(), 0);
    assert!(!store.blob_is_known(&key(2)).await.unwrap());

    // Same content as an existing blob: its count is untouched.
    let refused = store
        .commit_upload(
            new_file(alice, None, "dup.txt", 1, 600),
            Some(1000),
            promote.action(),
        )
        .await;
    assert!(
        matches!(refused, Err(Error::LimitExceeded(Limit::Storage(1000)))),
        "{refused:?}"
    );
    assert_eq!(db.ref_count(&key(1)).await, Some(1));
    assert_eq!(store.files_in_folder(alice, None).await.unwrap().len(), 1);
    assert_eq!(store.storage_used_bytes(alice).await.unwrap(), 600);

    // Exactly at the limit is allowed.
    store
        .commit_upload(
            new_file(alice, None, "fits.txt", 3, 400),
            Some(1000),
            promote.action(),
        )
        .await
        .unwrap();
    assert_eq!(promote.runs(), 1);

    // A promotion that fails rolls the record and the reference back.
    let failing = Counter::default();
    let failed = store
        .commit_upload(
            new_file(alice, None, "x.txt", 4, 1),
            None,
            failing.failing(),
        )
        .await;
    assert!(matches!(failed, Err(Error::Internal(_))), "{failed:?}");
    assert_eq!(failing.runs(), 1);
    assert!(!store.blob_is_known(&key(4)).await.unwrap());
    let names: Vec<_> = store
        .files_in_folder(alice, None)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.filename)
        .collect();
    assert_eq!(names, ["a.txt", "fits.txt"]);
}

pub(crate) async fn concurrent_uploads_respect_the_limit_without_busy_errors(db: &Db) {
    let store = db.store.clone();
    let alice = db.account("alice").await;
    let tasks: Vec<_> = (0..20u32)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .commit_upload(
                        new_file(alice, None, &format!("f{i:02}"), 100 + i, 10),
                        Some(100),
                        Counter::default().action(),
                    )
                    .await
            })
        })
        .collect();
    let (mut stored, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => stored += 1,
            Err(Error::LimitExceeded(Limit::Storage(100))) => refused += 1,
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!((stored, refused), (10, 10));
    assert_eq!(store.storage_used_bytes(alice).await.unwrap(), 100);
}

pub(crate) async fn copy_shares_the_blob(db: &Db) {
    let store = &db.store;
    let alice = db.account("alice").await;
    let docs = db.folder(alice, None, "docs").await;
    let source = db.upload(alice, None, "a.txt", 5, 300).await;

    let copy = store
        .copy_file(
            &source,
            Some(docs),
            &"e".repeat(32),
            &"f".repeat(64),
            t(50),
            Some(600),
        )
        .await
        .unwrap();
    assert_ne!(copy.id, source.id);
    assert_ne!(copy.short_url, source.short_url);
    assert_eq!(copy.folder_id, Some(docs));
    assert_eq!(copy.filename, "a.txt");
    assert_eq!(copy.size_bytes, 300);
    assert_eq!(copy.md5, source.md5);
    assert_eq!(copy.blob_key, key(5));
    assert_eq!(copy.delete_hash, "e".repeat(32));
    assert_eq!(copy.unique_hash, "f".repeat(64));
    assert_eq!(copy.status, Status::Active);
    assert_eq!(copy.downloads, 0);
    assert_eq!(copy.uploaded_at, t(50));
    assert_eq!(db.ref_count(&key(5)).await, Some(2));
    assert_eq!(
        store.files_in_folder(alice, Some(docs)).await.unwrap(),
        [copy]
    );

    // 600 used; another 300 would pass 800.
    let refused = store
        .copy_file(
            &source,
            None,
            &"e".repeat(32),
            &"f".repeat(64),
            t(51),
            Some(800),
        )
        .await;
    assert!(
        matches!(refused, Err(Error::LimitExceeded(Limit::Storage(800)))),
        "{refused:?}"
    );
    assert_eq!(db.ref_count(&key(5)).await, Some(2));
    assert_eq!(store.storage_used_bytes(alice).await.unwrap(), 600);
}

pub(crate) async fn copies_need_an_active_source_and_a_live_blob(db: &Db) {
    let store = &db.store;
    let alice = db.account("alice").await;
    let source = db.upload(alice, None, "a.txt", 6, 100).await;
    assert!(store.trash_file(alice, source.id, t(10)).await.unwrap());
    // The caller read the source while it was active; it was trashed before the copy.
    let copied = store
        .copy_file(&source, None, &"e".repeat(32), &"f".repeat(64), t(11), None)
        .await;
    assert!(
        matches!(copied, Err(Error::NotFound(Entity::File))),
        "{copied:?}"
    );
    // Purged: the blob's count is 0 (awaiting collection, its bytes may be gone already).
    store.purge_trash(t(20)).await.unwrap();
    assert_eq!(db.ref_count(&key(6)).await, Some(0));
    let copied = store
        .copy_file(&source, None, &"e".repeat(32), &"f".repeat(64), t(21), None)
        .await;
    assert!(
        matches!(copied, Err(Error::NotFound(Entity::File))),
        "{copied:?}"
    );
    assert_eq!(db.ref_count(&key(6)).await, Some(0));
    assert_eq!(store.storage_used_bytes(alice).await.unwrap(), 0);
}

pub(crate) async fn orphans_are_removed_only_when_unknown(db: &Db) {
    let store = &db.store;
    let alice = db.account("alice").await;
    db.upload(alice, None, "a.txt", 7, 100).await;
    let removal = Counter::default();
    assert!(!store
        .remove_blob_if_unknown(&key(7), removal.action())
        .await
        .unwrap());
    assert_eq!(removal.runs(), 0, "a known blob is never removed");
    assert!(store
        .remove_blob_if_unknown(&key(8), removal.action())
        .await
        .unwrap());
    assert_eq!(removal.runs(), 1);
    assert!(
        !store.blob_is_known(&key(8)).await.unwrap(),
        "nothing is left"
    );
    // A failed removal leaves nothing behind either.
    let failing = Counter::default();
    let failed = store
        .remove_blob_if_unknown(&key(9), failing.failing())
        .await;
    assert!(matches!(failed, Err(Error::Internal(_))), "{failed:?}");
    assert!(!store.blob_is_known(&key(9)).await.unwrap());
}

pub(crate) async fn trash_then_purge_drops_references_and_collects_blobs(db: &Db) {
    let store = &db.store;
    let alice = db.account("alice").await;
    let a = db.upload(alice, None, "a.txt", 9, 10).await;
    let b = db.upload(alice, None, "b.txt", 9, 10).await;
    let c = db.upload(alice, None, "c.txt", 10, 20).await;
    store
        .insert_download_token("tok", a.id, t(10_000))
        .await
        .unwrap();

    assert!(store.trash_file(alice, a.id, t(100)).await.unwrap());
    assert!(
        !store.trash_file(alice, a.id, t(101)).await.unwrap(),
        "already trashed"
    );
    let bob = db.account("bob").await;
    assert!(
        !store.trash_file(bob, b.id, t(100)).await.unwrap(),
        "not bob's"
    );
    assert!(store.trash_file(alice, c.id, t(200)).await.unwrap());

    assert_eq!(store.file(alice, a.id).await.unwrap(), None);
    let trashed = store.file_by_id(a.id).await.unwrap().unwrap();
    assert_eq!(trashed.status, Status::Trash);
    assert_eq!(trashed.trashed_at, Some(t(100)));
    assert_eq!(store.storage_used_bytes(alice).await.unwrap(), 10);
    // Trashed files keep their reference until purged.
    assert_eq!(db.ref_count(&key(9)).await, Some(2));

    assert_eq!(
        store.purge_trash(t(100)).await.unwrap(),
        0,
        "not older than `before`"
    );
    assert_eq!(store.purge_trash(t(150)).await.unwrap(), 1);
    assert_eq!(store.file_by_id(a.id).await.unwrap(), None);
    assert_eq!(store.download_token_file("tok", t(0)).await.unwrap(), None);
    assert_eq!(db.ref_count(&key(9)).await, Some(1));
    assert_eq!(db.ref_count(&key(10)).await, Some(1));
    assert!(store.unreferenced_blobs(10).await.unwrap().is_empty());

    assert_eq!(store.purge_trash(t(1000)).await.unwrap(), 1);
    assert_eq!(db.ref_count(&key(10)).await, Some(0));
    assert_eq!(store.unreferenced_blobs(10).await.unwrap(), [key(10)]);

    // A referenced blob is not removed and its bytes are left alone.
    let remove = Counter::default();
    assert!(!store
        .remove_blob_if_unreferenced(&key(9), remove.action())
        .await
        .unwrap());
    assert_eq!(remove.runs(), 0);
    assert!(store
        .remove_blob_if_unreferenced(&key(10), remove.action())
        .await
        .unwrap());
    assert_eq!(remove.runs(), 1);
    assert!(!store.blob_is_known(&key(10)).await.unwrap());
    assert!(store.unreferenced_blobs(10).await.unwrap().is_empty());
    assert!(!store
        .remove_blob_if_unreferenced(&key(10), remove.action())
        .await
        .unwrap());
    assert_eq!(remove.runs(), 1);

    // A failing removal keeps the row, so collection is tried again.
    assert!(store.trash_file(alice, b.id, t(300)).await.unwrap());
    assert_eq!(store.purge_trash(t(301)).await.unwrap(), 1);
    let failing = Counter::default();
    assert!(store
        .remove_blob_if_unreferenced(&key(9), failing.failing())
        .await
        .is_err());
    assert_eq!(store.unreferenced_blobs(10).await.unwrap(), [key(9)]);
}

pub(crate) async fn reuploading_an_unreferenced_blob_promotes_it_again(db: &Db) {
    let store = &db.store;
    let alice = db.account("alice").await;
    let a = db.upload(alice, None, "a.txt", 3, 10).await;
    store.trash_file(alice, a.id, t(100)).await.unwrap();
    store.purge_trash(t(200)).await.unwrap();
    assert_eq!(db.ref_count(&key(3)).await, Some(0));

    let promote = Counter::default();
    store
        .commit_upload(
            new_file(alice, None, "again.txt", 3, 10),
            None,
            promote.action(),
        )
        .await
        .unwrap();
    assert_eq!(promote.runs(), 1);
    assert_eq!(db.ref_count(&key(3)).await, Some(1));
    assert!(store.unreferenced_blobs(10).await.unwrap().is_empty());
}

pub(crate) async fn folder_moves_refuse_cycles(db: &Db) {
    let store = &db.store;
    let alice = db.account("alice").await;
    let a = db.folder(alice, None, "a").await;
    let b = db.folder(alice, Some(a), "b").await;
    let c = db.folder(alice, Some(b), "c").await;
    let d = db.folder(alice, None, "d").await;

    for target in [a, b, c] {
        let moved = store.move_folder(alice, a, Some(target), t(5)).await;
        match moved {
            Err(Error::Conflict(message)) => assert_eq!(
                message,
                "A folder cannot be moved into itself or one of its own sub-folders."
            ),
            other => panic!("moving a into {target:?}: expected a conflict, got {other:?}"),
        }
    }
    assert_eq!(
        store.folder(alice, a).await.unwrap().unwrap().parent_id,
        None
    );

    store.move_folder(alice, a, Some(d), t(6)).await.unwrap();
    let moved = store.folder(alice, a).await.unwrap().unwrap();
    assert_eq!(moved.parent_id, Some(d));
    assert_eq!(moved.updated_at, Some(t(6)));
    store.move_folder(alice, c, None, t(7)).await.unwrap();
    assert_eq!(
        store.folder(alice, c).await.unwrap().unwrap().parent_id,
        None
    );
    // c left the subtree, so b may now go under c.
    store.move_folder(alice, b, Some(c), t(8)).await.unwrap();
    assert_eq!(
        store.folder(alice, b).await.unwrap().unwrap().parent_id,
        Some(c)
    );

    let bob = db.account("bob").await;
    let theirs = db.folder(bob, None, "theirs").await;
    let foreign = store.move_folder(alice, a, Some(theirs), t(9)).await;
    assert!(
        matches!(foreign, Err(Error::NotFound(Entity::MoveDestination))),
        "{foreign:?}"
    );
    let foreign = store.move_folder(bob, a, None, t(9)).await;
    assert!(
        matches!(foreign, Err(Error::NotFound(Entity::Folder))),
        "{foreign:?}"
    );
    assert_eq!(store.folder(bob, a).await.unwrap(), None);
    assert_eq!(
        store.folder_by_id(a).await.unwrap().unwrap().account_id,
        alice
    );
}

pub(crate) async fn trashing_a_folder_trashes_everything_under_it(db: &Db) {
    let store = &db.store;
    let alice = db.account("alice").await;
    let a = db.folder(alice, None, "a").await;
    let b = db.folder(alice, Some(a), "b").await;
    let c = db.folder(alice, Some(b), "c").await;
    let keep = db.folder(alice, None, "keep").await;
    let in_a = db.upload(alice, Some(a), "1", 1, 1).await;
    let in_c = db.upload(alice, Some(c), "2", 2, 2).await;
    let in_keep = db.upload(alice, Some(keep), "3", 3, 4).await;
    let at_root = db.upload(alice, None, "4", 4, 8).await;

    let bob = db.account("bob").await;
    let foreign = store.trash_folder_tree(bob, a, t(50)).await;
    assert!(
        matches!(foreign, Err(Error::NotFound(Entity::Folder))),
        "{foreign:?}"
    );
    assert!(store.folder(alice, a).await.unwrap().is_some());

    store.trash_folder_tree(alice, a, t(50)).await.unwrap();
    for folder in [a, b, c] {
        assert_eq!(store.folder(alice, folder).await.unwrap(), None);
        assert_eq!(store.folder_by_id(folder).await.unwrap(), None);
    }
    for file in [&in_a, &in_c] {
        let trashed = store.file_by_id(file.id).await.unwrap().unwrap();
        assert_eq!(
            (trashed.status, trashed.trashed_at),
            (Status::Trash, Some(t(50)))
        );
    }
    for file in [&in_keep, &at_root] {
        assert_eq!(
            store.file_by_id(file.id).await.unwrap().unwrap().status,
            Status::Active
        );
    }
    assert!(store.folder(alice, keep).await.unwrap().is_some());
    assert_eq!(store.storage_used_bytes(alice).await.unwrap(), 12);
    let roots: Vec<_> = store
        .child_folders(alice, None)
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.folder.name)
        .collect();
    assert_eq!(roots, ["keep"]);

    // The purge takes the folders and the files, with their references.
    assert_eq!(store.purge_trash(t(60)).await.unwrap(), 2);
    assert_eq!(
        store.unreferenced_blobs(10).await.unwrap(),
        [key(1), key(2)]
    );
}

pub(crate) async fn listings_are_ordered_and_carry_stats(db: &Db) {
    let store = &db.store;
    let alice = db.account("alice").await;
    let bob = db.account("bob").await;
    let zeta = db.folder(alice, None, "zeta").await;
    let alpha = db.folder(alice, None, "alpha").await;
    db.folder(alice, Some(alpha), "sub1").await;
    let gone = db.folder(alice, Some(alpha), "sub2").await;
    store.trash_folder_tree(alice, gone, t(5)).await.unwrap();
    db.folder(bob, None, "bobs").await;

    let f1 = db.upload(alice, Some(alpha), "b.bin", 1, 10).await;
    db.upload(alice, Some(alpha), "a.bin", 2, 20).await;
    let trashed = db.upload(alice, Some(alpha), "c.bin", 3, 40).await;
    store.trash_file(alice, trashed.id, t(20)).await.unwrap();
    db.upload(alice, None, "root.bin", 4, 80).await;
    for at in [t(86_400), t(86_400 + 60), t(2 * 86_400)] {
        store.record_download(f1.id, at).await.unwrap();
    }
    store.record_download(trashed.id, t(86_400)).await.unwrap();
    // A download stamps the file's last access; where it came from stays as uploaded.
    let stamped = store.file_by_id(f1.id).await.unwrap().unwrap();
    assert_eq!(stamped.last_accessed_at, Some(t(2 * 86_400)));
    assert_eq!(
        stamped.upload_source,
        upvault_core::model::UploadSource::Api
    );
    assert_eq!(stamped.uploaded_ip, "192.0.2.7");

    let views = store.child_folders(alice, None).await.unwrap();
    let names: Vec<_> = views.iter().map(|v| v.folder.name.as_str()).collect();
    assert_eq!(names, ["alpha", "zeta"]);
    let expected = FolderStats {
        total_size: 30,
        total_downloads: 3,
        child_folder_count: 1,
        file_count: 2,
    };
    assert_eq!(views[0].stats, expected);
    assert_eq!(views[1].stats, FolderStats::default());
    assert_eq!(views[1].folder.id, zeta);
    assert_eq!(store.folder_stats(alpha).await.unwrap(), expected);
    let subs: Vec<_> = store
        .child_folders(alice, Some(alpha))
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.folder.name)
        .collect();
    assert_eq!(subs, ["sub1"]);
    assert!(store
        .child_folders(bob, Some(alpha))
        .await
        .unwrap()
        .is_empty());

    let in_alpha: Vec<_> = store
        .files_in_folder(alice, Some(alpha))
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.filename)
        .collect();
    assert_eq!(in_alpha, ["a.bin", "b.bin"]);
    let at_root: Vec<_> = store
        .files_in_folder(alice, None)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.filename)
        .collect();
    assert_eq!(at_root, ["root.bin"]);
    assert!(store
        .files_in_folder(bob, Some(alpha))
        .await
        .unwrap()
        .is_empty());

    assert_eq!(store.file_by_id(f1.id).await.unwrap().unwrap().downloads, 3);
    let day = |d| NaiveDate::from_ymd_opt(2023, 11, d).unwrap();
    assert_eq!(
        db.store.download_stats(f1.id).await.unwrap(),
        [
            DayDownloads {
                day: day(15),
                downloads: 2
            },
            DayDownloads {
                day: day(16),
                downloads: 1
            }
        ]
    );
    let missing = store.record_download(FileId(9999), t(0)).await;
    assert!(
        matches!(missing, Err(Error::NotFound(Entity::File))),
        "{missing:?}"
    );
}

pub(crate) async fn file_and_folder_edits_are_saved(db: &Db) {
    let store = &db.store;
    let alice = db.account("alice").await;
    let docs = db.folder(alice, None, "docs").await;
    let mut file = db.upload(alice, None, "a.txt", 1, 1).await;
    file.filename = "b.md".to_owned();
    file.mime_type = "text/markdown".to_owned();
    file.extension = "md".to_owned();
    file.folder_id = Some(docs);
    file.keywords = "x,y".to_owned();
    file.updated_at = Some(t(99));
    store.update_file(&file).await.unwrap();
    assert_eq!(store.file(alice, file.id).await.unwrap(), Some(file));

    let mut folder = store.folder(alice, docs).await.unwrap().unwrap();
    folder.name = "Documents".to_owned();
    folder.visibility = Visibility::Public;
    folder.access_password_md5 = Some("0".repeat(32));
    folder.updated_at = Some(t(100));
    store.update_folder(&folder).await.unwrap();
    assert_eq!(store.folder(alice, docs).await.unwrap(), Some(folder));
}

pub(crate) fn job(account: AccountId, url: &str, at: i64) -> NewImportJob {
    NewImportJob {
        account_id: account,
        url: url.to_owned(),
        folder_id: None,
        created_at: t(at),
    }
}

pub(crate) async fn import_queue_limits_leases_and_ownership(db: &Db) {
    let store = &db.store;
    let alice = db.account("alice").await;
    let bob = db.account("bob").await;

    let first = store
        .push_import(job(alice, "http://a/1", 0), Some(2))
        .await
        .unwrap();
    assert_eq!(first.status, JobStatus::Pending);
    assert_eq!((first.attempts, first.total_size), (0, 0));
    assert_eq!(first.url, "http://a/1");
    let second = store
        .push_import(job(alice, "http://a/2", 1), Some(2))
        .await
        .unwrap();
    let refused = store
        .push_import(job(alice, "http://a/3", 2), Some(2))
        .await;
    assert!(
        matches!(
            refused,
            Err(Error::LimitExceeded(Limit::RemoteDownloadUrls(2)))
        ),
        "{refused:?}"
    );
    let bobs = store
        .push_import(job(bob, "http://b/1", 3), Some(2))
        .await
        .unwrap();
    assert_eq!(store.import_job(bob, first.id).await.unwrap(), None);

    // Oldest first.
    let claimed = store
        .claim_import("w1", t(10), t(40))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, first.id);
    assert_eq!(claimed.status, JobStatus::Downloading);
    assert_eq!((claimed.attempts, claimed.started_at), (1, Some(t(10))));
    assert_eq!(
        store
            .claim_import("w1", t(10), t(40))
            .await
            .unwrap()
            .unwrap()
            .id,
        second.id
    );
    assert_eq!(
        store
            .claim_import("w2", t(10), t(40))
            .await
            .unwrap()
            .unwrap()
            .id,
        bobs.id
    );
    assert_eq!(
        store.claim_import("w2", t(20), t(50)).await.unwrap(),
        None,
        "all leased"
    );
    // Downloading jobs still count against the cap.
    assert!(store
        .push_import(job(alice, "http://a/3", 4), Some(2))
        .await
        .is_err());
    assert!(store
        .push_import(job(alice, "http://a/3", 4), None)
        .await
        .is_ok());
    let third = store
        .claim_import("w2", t(20), t(50))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(third.url, "http://a/3");

    assert!(store
        .heartbeat_import(first.id, "w1", t(100), 4096)
        .await
        .unwrap());
    assert!(!store
        .heartbeat_import(first.id, "w2", t(100), 1)
        .await
        .unwrap());
    assert_eq!(
        store
            .import_job(alice, first.id)
            .await
            .unwrap()
            .unwrap()
            .total_size,
        4096
    );

    // w1's lease on `second` lapses at 40; w2 takes it over.
    let retaken = store
        .claim_import("w2", t(41), t(80))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(retaken.id, second.id);
    assert_eq!((retaken.attempts, retaken.started_at), (2, Some(t(10))));
    assert!(!store
        .heartbeat_import(second.id, "w1", t(90), 1)
        .await
        .unwrap());

    // Only the holder may finish a job.
    let done = JobOutcome::Complete {
        file_id: FileId(77),
        size_bytes: 5000,
    };
    store
        .finish_import(second.id, "w1", done.clone(), t(60))
        .await
        .unwrap();
    assert_eq!(
        store
            .import_job(alice, second.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        JobStatus::Downloading
    );
    let file = db.upload(alice, None, "imported", 1, 5000).await;
    let done = JobOutcome::Complete {
        file_id: file.id,
        size_bytes: 5000,
    };
    store
        .finish_import(second.id, "w2", done, t(61))
        .await
        .unwrap();
    let finished = store.import_job(alice, second.id).await.unwrap().unwrap();
    assert_eq!(finished.status, JobStatus::Complete);
    assert_eq!(finished.file_id, Some(file.id));
    assert_eq!(finished.total_size, 5000);
    assert_eq!(finished.finished_at, Some(t(61)));
    assert_eq!(finished.error, None);

    let failed = JobOutcome::Failed {
        error: "The remote server answered 404.".to_owned(),
    };
    store
        .finish_import(first.id, "w1", failed, t(62))
        .await
        .unwrap();
    let finished = store.import_job(alice, first.id).await.unwrap().unwrap();
    assert_eq!(finished.status, JobStatus::Failed);
    assert_eq!(
        finished.error.as_deref(),
        Some("The remote server answered 404.")
    );
    assert_eq!(finished.total_size, 4096);

    // Graceful shutdown hands w2's remaining jobs (bob's and the third) back.
    assert_eq!(store.release_imports("w2").await.unwrap(), 2);
    assert_eq!(
        store
            .import_job(bob, bobs.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        JobStatus::Pending
    );
    assert_eq!(store.release_imports("w2").await.unwrap(), 0);
    assert_eq!(
        store
            .claim_import("w3", t(70), t(100))
            .await
            .unwrap()
            .unwrap()
            .id,
        bobs.id
    );
}

pub(crate) async fn an_import_that_keeps_crashing_is_given_up(db: &Db) {
    let store = &db.store;
    let alice = db.account("alice").await;
    let doomed = store
        .push_import(job(alice, "http://crash", 0), None)
        .await
        .unwrap();
    for (attempt, now) in [(1, 0), (2, 100), (3, 200)] {
        let claimed = store
            .claim_import("w", t(now), t(now + 50))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((claimed.id, claimed.attempts), (doomed.id, attempt));
    }
    let later = store
        .push_import(job(alice, "http://fine", 250), None)
        .await
        .unwrap();
    // The third lease lapsed at 250: the doomed job fails and the next one is handed out.
    let claimed = store
        .claim_import("w", t(300), t(350))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, later.id);
    let given_up = store.import_job(alice, doomed.id).await.unwrap().unwrap();
    assert_eq!(given_up.status, JobStatus::Failed);
    assert_eq!(
        given_up.error.as_deref(),
        Some("The download was interrupted too many times.")
    );
    assert_eq!(given_up.finished_at, Some(t(300)));
    assert_eq!(given_up.attempts, 3);
    assert_eq!(store.import_job(alice, JobId(999)).await.unwrap(), None);
}

pub(crate) async fn transfer_slots_are_capped_and_lapse(db: &Db) {
    let store = &db.store;
    // Slots are held by a key: `acct:{id}` for accounts, `ip:{address}` for guests.
    let alice = &format!("acct:{}", db.account("alice").await);
    let bob = &format!("acct:{}", db.account("bob").await);
    let up = TransferKind::Upload;

    let s1 = store
        .acquire_slot(alice, up, 2, t(0), t(60))
        .await
        .unwrap()
        .unwrap();
    let s2 = store
        .acquire_slot(alice, up, 2, t(0), t(30))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(s1, s2);
    assert_eq!(
        store
            .acquire_slot(alice, up, 2, t(10), t(70))
            .await
            .unwrap(),
        None
    );
    // Other kinds and other accounts count separately.
    assert!(store
        .acquire_slot(alice, TransferKind::Download, 1, t(10), t(70))
        .await
        .unwrap()
        .is_some());
    assert!(store
        .acquire_slot(bob, up, 1, t(10), t(70))
        .await
        .unwrap()
        .is_some());

    // s2 lapses at 30 unless renewed; renew s1 past it.
    store.renew_slot(s1, t(120)).await.unwrap();
    let s3 = store
        .acquire_slot(alice, up, 2, t(31), t(90))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .acquire_slot(alice, up, 2, t(61), t(90))
            .await
            .unwrap(),
        None,
        "s1 renewed"
    );

    store.release_slot(s3).await.unwrap();
    assert!(store
        .acquire_slot(alice, up, 2, t(62), t(90))
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        store
            .acquire_slot(alice, up, 2, t(62), t(90))
            .await
            .unwrap(),
        None
    );
}

pub(crate) async fn reopening_keeps_the_data_and_skips_applied_migrations(db: &Db) {
    let alice = db.account("alice").await;
    db.close().await;
    let again = db.reopen().await;
    assert_eq!(
        again.account(alice).await.unwrap().unwrap().username,
        "alice"
    );
    assert_eq!(again.packages().await.unwrap().len(), 3);
}

/// An admission rule: at most `max` downloads in the window.
pub(crate) fn at_most(max: usize) -> upvault_core::ports::DownloadAdmission {
    Box::new(move |window: &[LoggedDownload]| {
        if window.len() >= max {
            Err(DownloadRefusal::DailyCount {
                max: max as u64,
                lifts_at: window[0].at,
            })
        } else {
            Ok(())
        }
    })
}

pub(crate) fn download(visitor: &str, file: FileId, at: i64) -> NewDownloadLog {
    NewDownloadLog {
        visitor: visitor.to_owned(),
        file_id: file,
        entry: LoggedDownload {
            at: t(at),
            bytes: 100,
            counted: true,
        },
    }
}

pub(crate) async fn public_pages_log_guesses_and_secrets(db: &Db) {
    let store = &db.store;
    let alice = db.account("alice").await;
    let file = db.upload(alice, None, "a.txt", 1, 100).await;

    // The first candidate wins, on every later call.
    assert_eq!(store.secret("tickets", "first").await.unwrap(), "first");
    assert_eq!(store.secret("tickets", "second").await.unwrap(), "first");
    assert_eq!(store.secret("other", "x").await.unwrap(), "x");

    // Two admitted, the third refused with nothing logged; the window slides.
    for at in [0, 10] {
        let admitted = store
            .log_download(download("ip:192.0.2.1", file.id, at), t(-100), at_most(2))
            .await
            .unwrap();
        assert_eq!(admitted, Ok(()));
    }
    let refused = store
        .log_download(download("ip:192.0.2.1", file.id, 20), t(-80), at_most(2))
        .await
        .unwrap();
    assert_eq!(
        refused,
        Err(DownloadRefusal::DailyCount {
            max: 2,
            lifts_at: t(0)
        })
    );
    let other_visitor = store
        .log_download(download("ip:192.0.2.2", file.id, 20), t(-80), at_most(2))
        .await
        .unwrap();
    assert_eq!(other_visitor, Ok(()));
    // At 30 with a window starting at 5, only the download at 10 is left.
    let admitted = store
        .log_download(download("ip:192.0.2.1", file.id, 30), t(5), at_most(2))
        .await
        .unwrap();
    assert_eq!(admitted, Ok(()));

    store.record_guess("192.0.2.1/7", t(100)).await.unwrap();
    store.record_guess("192.0.2.1/7", t(200)).await.unwrap();
    store.record_guess("192.0.2.1/8", t(200)).await.unwrap();
    assert_eq!(
        store.guesses_since("192.0.2.1/7", t(50)).await.unwrap(),
        [t(100), t(200)]
    );
    assert_eq!(
        store.guesses_since("192.0.2.1/7", t(100)).await.unwrap(),
        [t(200)]
    );
    // A week later the old ones are dropped as a new one comes.
    store
        .record_guess("192.0.2.1/9", t(201 + 7 * 24 * 3600))
        .await
        .unwrap();
    assert!(store
        .guesses_since("192.0.2.1/7", t(0))
        .await
        .unwrap()
        .is_empty());

    let keys = ["acct:alice".to_owned(), "ip:192.0.2.1".to_owned()];
    store.record_login_failure(&keys, t(10)).await.unwrap();
    store.record_login_failure(&keys[1..], t(20)).await.unwrap();
    assert_eq!(
        store
            .login_failures_since("acct:alice", t(0))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .login_failures_since("ip:192.0.2.1", t(0))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .login_failures_since("ip:192.0.2.1", t(10))
            .await
            .unwrap(),
        1
    );
    store.clear_login_failures("acct:alice").await.unwrap();
    assert_eq!(
        store
            .login_failures_since("acct:alice", t(0))
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.purge_login_failures(t(10)).await.unwrap(), 1);
    assert_eq!(
        store
            .login_failures_since("ip:192.0.2.1", t(0))
            .await
            .unwrap(),
        1
    );
}

pub(crate) async fn deleting_an_account_takes_everything_it_holds(db: &Db) {
    let store = &db.store;
    let alice = db.account("alice").await;
    let bob = db.account("bob").await;
    let folder = db.folder(alice, None, "docs").await;
    db.folder(alice, Some(folder), "inner").await;
    let shared = db.upload(alice, Some(folder), "shared.txt", 1, 10).await;
    let own = db.upload(alice, None, "own.txt", 2, 20).await;
    let trashed = db.upload(alice, None, "old.txt", 3, 30).await;
    assert!(store.trash_file(alice, trashed.id, t(50)).await.unwrap());
    let bobs = db.upload(bob, None, "same-bytes.txt", 1, 10).await;
    store
        .push_import(job(alice, "http://a/1", 0), None)
        .await
        .unwrap();
    store
        .insert_api_key(alice, &"k".repeat(64), "$hash", t(3))
        .await
        .unwrap();
    store
        .insert_access_token("alices", alice, t(0), t(3600))
        .await
        .unwrap();
    store
        .insert_access_token("bobs", bob, t(0), t(3600))
        .await
        .unwrap();
    store
        .insert_download_token("dl", own.id, t(10_000))
        .await
        .unwrap();
    assert_eq!(db.ref_count(&key(1)).await, Some(2));

    assert!(store.delete_account(alice).await.unwrap());
    assert!(!store.delete_account(alice).await.unwrap(), "already gone");
    assert_eq!(store.account(alice).await.unwrap(), None);
    for file in [&shared, &own, &trashed] {
        assert_eq!(store.file_by_id(file.id).await.unwrap(), None);
    }
    assert!(store.folder_by_id(folder).await.unwrap().is_none());
    assert!(store.api_key(&"k".repeat(64)).await.unwrap().is_none());
    assert!(store.access_token("alices").await.unwrap().is_none());
    assert_eq!(store.download_token_file("dl", t(0)).await.unwrap(), None);
    assert!(store
        .claim_import("w", t(100), t(200))
        .await
        .unwrap()
        .is_none());
    // Bytes another account shares keep their reference; the rest wait for the sweep.
    assert_eq!(db.ref_count(&key(1)).await, Some(1));
    assert_eq!(db.ref_count(&key(2)).await, Some(0));
    assert_eq!(db.ref_count(&key(3)).await, Some(0));
    let mut unreferenced = store.unreferenced_blobs(10).await.unwrap();
    unreferenced.sort();
    assert_eq!(unreferenced, [key(2), key(3)]);
    // The neighbour is untouched.
    assert_eq!(
        store.file_by_id(bobs.id).await.unwrap().map(|f| f.id),
        Some(bobs.id)
    );
    assert!(store.access_token("bobs").await.unwrap().is_some());
    assert!(!store.delete_account(AccountId(999)).await.unwrap());
}
