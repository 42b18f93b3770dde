//! Several instances on one database: each test opens a second store (its own pool, as a second
//! server process has) and races the two. These are the guarantees the PostgreSQL backend exists
//! for; SQLite passes them through its single writer.

use crate::{key, new_file, t, Counter, Db, Store};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;
use upvault_core::error::Limit;
use upvault_core::model::*;
use upvault_core::ports::StorageAction;
use upvault_core::Error;

/// The store of task `i`: even tasks use the first instance, odd ones the second.
fn pick(stores: &[Arc<dyn Store>; 2], i: usize) -> Arc<dyn Store> {
    stores[i % 2].clone()
}

async fn two_instances(db: &Db) -> [Arc<dyn Store>; 2] {
    [db.store.clone(), db.instance().await]
}

pub(crate) async fn two_instances_claim_each_job_once(db: &Db) {
    let alice = db.account("alice").await;
    let mut pushed = BTreeSet::new();
    for i in 0..20 {
        let job = crate::suite::job(alice, &format!("http://a/{i}"), i);
        pushed.insert(db.store.push_import(job, None).await.unwrap().id);
    }
    let stores = two_instances(db).await;
    let workers: Vec<_> = (0..8)
        .map(|i| {
            let store = pick(&stores, i);
            tokio::spawn(async move {
                let mut claimed = Vec::new();
                while let Some(job) = store
                    .claim_import(&format!("w{i}"), t(100), t(200))
                    .await
                    .unwrap()
                {
                    assert_eq!((job.status, job.attempts), (JobStatus::Downloading, 1));
                    claimed.push(job.id);
                }
                claimed
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for worker in workers {
        claimed.extend(worker.await.unwrap());
    }
    assert_eq!(
        claimed.len(),
        20,
        "every job claimed exactly once: {claimed:?}"
    );
    assert_eq!(claimed.into_iter().collect::<BTreeSet<_>>(), pushed);
}

pub(crate) async fn two_instances_never_exceed_the_slot_limit(db: &Db) {
    let holder = format!("acct:{}", db.account("alice").await);
    let stores = two_instances(db).await;
    let race = |stores: [Arc<dyn Store>; 2], now: i64| {
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let store = pick(&stores, i);
                let holder = holder.clone();
                tokio::spawn(async move {
                    store
                        .acquire_slot(&holder, TransferKind::Upload, 3, t(now), t(now + 60))
                        .await
                        .unwrap()
                })
            })
            .collect();
        async move {
            let mut taken = Vec::new();
            for task in tasks {
                taken.extend(task.await.unwrap());
            }
            taken
        }
    };
    let taken = race(stores.clone(), 0).await;
    assert_eq!(taken.len(), 3, "{taken:?}");
    db.store.release_slot(taken[0]).await.unwrap();
    let again = race(stores.clone(), 1).await;
    assert_eq!(again.len(), 1, "one slot was free: {again:?}");
    // Once the leases lapse, three are free again.
    let later = race(stores, 100).await;
    assert_eq!(later.len(), 3, "{later:?}");
}

pub(crate) async fn two_instances_never_exceed_the_storage_limit(db: &Db) {
    let alice = db.account("alice").await;
    let source = db.upload(alice, None, "source", 1, 10).await;
    let stores = two_instances(db).await;
    // 10 of 100 bytes used: of 10 uploads and 10 copies of 10 bytes each, 9 fit.
    let tasks: Vec<_> = (0..20u32)
        .map(|i| {
            let store = pick(&stores, i as usize);
            let source = source.clone();
            tokio::spawn(async move {
                if i < 10 {
                    store
                        .commit_upload(
                            new_file(alice, None, &format!("f{i:02}"), 100 + i, 10),
                            Some(100),
                            Counter::default().action(),
                        )
                        .await
                } else {
                    let (delete, unique) = ("e".repeat(32), "f".repeat(64));
                    store
                        .copy_file(&source, None, &delete, &unique, t(20), Some(100))
                        .await
                }
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
    assert_eq!((stored, refused), (9, 11));
    assert_eq!(db.store.storage_used_bytes(alice).await.unwrap(), 100);
}

pub(crate) async fn two_instances_respect_the_pending_import_cap(db: &Db) {
    let alice = db.account("alice").await;
    let stores = two_instances(db).await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = pick(&stores, i);
            tokio::spawn(async move {
                let job = crate::suite::job(alice, &format!("http://a/{i}"), 0);
                store.push_import(job, Some(5)).await
            })
        })
        .collect();
    let (mut queued, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => queued += 1,
            Err(Error::LimitExceeded(Limit::RemoteDownloadUrls(5))) => refused += 1,
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!((queued, refused), (5, 15));
}

/// What the storage actions of a race did, in order.
type Log = Arc<Mutex<Vec<&'static str>>>;

/// An action that says it started, waits for `go`, then logs `what`.
fn held_action(
    log: &Log,
    what: &'static str,
) -> (StorageAction, oneshot::Receiver<()>, oneshot::Sender<()>) {
    let (started_tx, started_rx) = oneshot::channel();
    let (go_tx, go_rx) = oneshot::channel::<()>();
    let log = log.clone();
    let action: StorageAction = Box::pin(async move {
        started_tx.send(()).unwrap();
        go_rx.await.unwrap();
        log.lock().unwrap().push(what);
        Ok(())
    });
    (action, started_rx, go_tx)
}

fn logged_action(log: &Log, what: &'static str) -> StorageAction {
    let log = log.clone();
    Box::pin(async move {
        log.lock().unwrap().push(what);
        Ok(())
    })
}

/// Leaves content `content` as a blob row with no reference (awaiting collection).
async fn unreferenced_blob(db: &Db, content: u32) {
    let alice = db.account(&format!("owner{content}")).await;
    let file = db.upload(alice, None, "old", content, 10).await;
    db.store.trash_file(alice, file.id, t(100)).await.unwrap();
    db.store.purge_trash(t(200)).await.unwrap();
    assert_eq!(db.ref_count(&key(content)).await, Some(0));
}

/// How long a racer gets to (wrongly) get past a lock it should be waiting on.
const GRACE: Duration = Duration::from_millis(300);

pub(crate) async fn collection_first_makes_a_concurrent_upload_store_the_bytes_anew(db: &Db) {
    unreferenced_blob(db, 1).await;
    let alice = db.account("alice").await;
    let stores = two_instances(db).await;
    let log = Log::default();

    // Instance 0 forgets the blob and is removing its bytes...
    let (remove, started, go) = held_action(&log, "removed");
    let collector = stores[0].clone();
    let collection =
        tokio::spawn(async move { collector.remove_blob_if_unreferenced(&key(1), remove).await });
    started.await.unwrap();
    // ...while instance 1 commits an upload of the same content.
    let uploader = stores[1].clone();
    let promote = logged_action(&log, "promoted");
    let upload = tokio::spawn(async move {
        uploader
            .commit_upload(new_file(alice, None, "new", 1, 10), None, promote)
            .await
    });
    tokio::time::sleep(GRACE).await;
    assert!(
        !upload.is_finished(),
        "the upload must wait for the collection"
    );
    assert!(log.lock().unwrap().is_empty());

    go.send(()).unwrap();
    assert!(collection.await.unwrap().unwrap());
    let file = upload.await.unwrap().unwrap();
    assert_eq!(*log.lock().unwrap(), ["removed", "promoted"]);
    assert_eq!(db.ref_count(&key(1)).await, Some(1));
    assert!(db.store.unreferenced_blobs(10).await.unwrap().is_empty());
    assert_eq!(db.store.file_by_id(file.id).await.unwrap(), Some(file));
}

pub(crate) async fn upload_first_makes_a_concurrent_collection_keep_the_bytes(db: &Db) {
    unreferenced_blob(db, 2).await;
    let alice = db.account("alice").await;
    let stores = two_instances(db).await;
    let log = Log::default();

    // Instance 0 takes the first new reference and is promoting the bytes...
    let (promote, started, go) = held_action(&log, "promoted");
    let uploader = stores[0].clone();
    let upload = tokio::spawn(async move {
        uploader
            .commit_upload(new_file(alice, None, "new", 2, 10), None, promote)
            .await
    });
    started.await.unwrap();
    // ...while instance 1, from an earlier list of unreferenced blobs, tries to collect it.
    let collector = stores[1].clone();
    let remove = logged_action(&log, "removed");
    let collection =
        tokio::spawn(async move { collector.remove_blob_if_unreferenced(&key(2), remove).await });
    tokio::time::sleep(GRACE).await;
    assert!(
        !collection.is_finished(),
        "the collection must wait for the upload"
    );

    go.send(()).unwrap();
    upload.await.unwrap().unwrap();
    assert!(
        !collection.await.unwrap().unwrap(),
        "the blob is referenced"
    );
    assert_eq!(*log.lock().unwrap(), ["promoted"]);
    assert_eq!(db.ref_count(&key(2)).await, Some(1));
}

pub(crate) async fn an_orphan_sweep_waits_for_an_upload_promoting_the_same_key(db: &Db) {
    let alice = db.account("alice").await;
    let stores = two_instances(db).await;
    let log = Log::default();

    // Instance 0 inserted a new blob's record and is promoting the bytes, uncommitted...
    let (promote, started, go) = held_action(&log, "promoted");
    let uploader = stores[0].clone();
    let upload = tokio::spawn(async move {
        uploader
            .commit_upload(new_file(alice, None, "new", 3, 10), None, promote)
            .await
    });
    started.await.unwrap();
    // ...while instance 1, starting, lists the bytes and finds no committed record for them.
    let sweeper = stores[1].clone();
    let remove = logged_action(&log, "removed");
    let sweep = tokio::spawn(async move { sweeper.remove_blob_if_unknown(&key(3), remove).await });
    tokio::time::sleep(GRACE).await;
    assert!(!sweep.is_finished(), "the sweep must wait for the upload");

    go.send(()).unwrap();
    upload.await.unwrap().unwrap();
    assert!(!sweep.await.unwrap().unwrap(), "the blob is known");
    assert_eq!(*log.lock().unwrap(), ["promoted"]);
    assert_eq!(db.ref_count(&key(3)).await, Some(1));
}

pub(crate) async fn concurrent_purges_drop_each_reference_once(db: &Db) {
    let alice = db.account("alice").await;
    let stores = two_instances(db).await;
    for round in 0..5u32 {
        // Content 10+round: three records, two of them trashed.
        let content = 10 + round;
        for name in ["a", "b"] {
            let file = db.upload(alice, None, name, content, 1).await;
            db.store.trash_file(alice, file.id, t(100)).await.unwrap();
        }
        db.upload(alice, None, "kept", content, 1).await;
        let (first, second) = (stores[0].clone(), stores[1].clone());
        let purges = [
            tokio::spawn(async move { first.purge_trash(t(200)).await }),
            tokio::spawn(async move { second.purge_trash(t(200)).await }),
        ];
        let mut purged = 0;
        for purge in purges {
            purged += purge.await.unwrap().unwrap();
        }
        assert_eq!(purged, 2, "round {round}");
        assert_eq!(db.ref_count(&key(content)).await, Some(1), "round {round}");
    }
}

pub(crate) async fn concurrent_moves_cannot_make_a_cycle(db: &Db) {
    let alice = db.account("alice").await;
    let stores = two_instances(db).await;
    for round in 0..10 {
        let a = db.folder(alice, None, &format!("a{round}")).await;
        let b = db.folder(alice, None, &format!("b{round}")).await;
        let (first, second) = (stores[0].clone(), stores[1].clone());
        let moves = [
            tokio::spawn(async move { first.move_folder(alice, a, Some(b), t(5)).await }),
            tokio::spawn(async move { second.move_folder(alice, b, Some(a), t(5)).await }),
        ];
        let mut moved = 0;
        for task in moves {
            match task.await.unwrap() {
                Ok(()) => moved += 1,
                Err(Error::Conflict(_)) => {}
                Err(other) => panic!("round {round}: unexpected error: {other:?}"),
            }
        }
        assert_eq!(moved, 1, "round {round}: exactly one move wins");
        let parent_of = |id| {
            let store = db.store.clone();
            async move { store.folder(alice, id).await.unwrap().unwrap().parent_id }
        };
        let (pa, pb) = (parent_of(a).await, parent_of(b).await);
        assert!(
            (pa, pb) == (Some(b), None) || (pa, pb) == (None, Some(a)),
            "round {round}: {pa:?} {pb:?}"
        );
    }
}

pub(crate) async fn two_instances_admit_the_last_downloads_once(db: &Db) {
    let alice = db.account("alice").await;
    let file = db.upload(alice, None, "a.txt", 1, 100).await;
    let stores = two_instances(db).await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = pick(&stores, i);
            tokio::spawn(async move {
                let new = crate::suite::download("ip:192.0.2.1", file.id, 10);
                store
                    .log_download(new, t(0), crate::suite::at_most(3))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut admitted = 0;
    for task in tasks {
        admitted += usize::from(task.await.unwrap().is_ok());
    }
    assert_eq!(admitted, 3);
}
