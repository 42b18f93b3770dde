//! Keyset pages of files (`FileRepo::page_of_files` with `upvault_core::listing`): every
//! scope, order, direction, name filter and page size, paged to the end, gives exactly the
//! active files of the account that match, in the order the domain defines, each once.

use crate::{new_file, t, Counter, Db};
use upvault_core::ids::FileId;
use upvault_core::listing::{name_key, FileOrder, FilePage, FileQuery, FileScope};
use upvault_core::model::File;

/// Names that sort differently by bytes, by case and by locale, and that hold `LIKE`'s
/// wildcards and escape.
const NAMES: [&str; 12] = [
    "b.txt",
    "B.txt",
    "a.txt",
    "Ärger.pdf",
    "ärger.pdf",
    "émoji 🦀.png",
    "100%_done.txt",
    "100x done.txt",
    "zeta",
    "Zeta",
    "back\\slash",
    "",
];

pub(crate) async fn file_pages_follow_every_order_filter_and_scope(db: &Db) {
    let store = &db.store;
    let alice = db.account("alice").await;
    let bob = db.account("bob").await;
    let docs = db.folder(alice, None, "docs").await;
    let mut active = Vec::new();
    for i in 0..48u32 {
        let folder = (i % 3 != 0).then_some(docs);
        let name = NAMES[i as usize % NAMES.len()];
        // Sizes and times repeat, so ties are broken by id.
        let mut new = new_file(alice, folder, name, i + 1, u64::from(i * 7 % 5));
        new.uploaded_at = t(i64::from(i % 4) * 100);
        let file = store
            .commit_upload(new, None, Counter::default().action())
            .await
            .unwrap();
        if i % 10 == 9 {
            store.trash_file(alice, file.id, t(500)).await.unwrap();
        } else {
            active.push(file);
        }
    }
    db.upload(bob, None, "b.txt", 100, 1).await;

    let scopes = [
        FileScope::Folder(None),
        FileScope::Folder(Some(docs)),
        FileScope::Everywhere,
    ];
    for scope in scopes {
        for order in [FileOrder::Name, FileOrder::Date, FileOrder::Size] {
            for descending in [false, true] {
                for filter in ["", "TXT", "%_", "🦀", "\\", "rger", "nothing"] {
                    let expected = expected(&active, scope, order, descending, filter);
                    for limit in [1, 4, 1000] {
                        let query = FileQuery {
                            order,
                            descending,
                            name_contains: filter.into(),
                            after: None,
                            limit,
                        };
                        let (got, pages) = every_page(db, alice, scope, query).await;
                        let case =
                            format!("{scope:?} {order:?} desc={descending} {filter:?} {limit}");
                        assert_eq!(got, expected, "{case}");
                        let size = usize::try_from(limit).unwrap();
                        assert_eq!(pages, expected.len().div_ceil(size).max(1), "{case}");
                    }
                }
            }
        }
    }
}

/// The ids of `files` in `scope` matching `filter`, in the order the domain defines.
fn expected(
    files: &[File],
    scope: FileScope,
    order: FileOrder,
    descending: bool,
    filter: &str,
) -> Vec<FileId> {
    let mut matching: Vec<&File> = files
        .iter()
        .filter(|f| match scope {
            FileScope::Folder(folder) => f.folder_id == folder,
            FileScope::Everywhere => true,
        })
        .filter(|f| name_key(&f.filename).contains(&name_key(filter)))
        .collect();
    matching.sort_by(|a, b| {
        let by_key = match order {
            FileOrder::Name => name_key(&a.filename).cmp(&name_key(&b.filename)),
            FileOrder::Date => a.uploaded_at.cmp(&b.uploaded_at),
            FileOrder::Size => a.size_bytes.cmp(&b.size_bytes),
        };
        by_key.then(a.id.0.cmp(&b.id.0))
    });
    if descending {
        matching.reverse();
    }
    matching.into_iter().map(|f| f.id).collect()
}

/// Pages through `query` from its first page to its last; the ids seen and how many pages.
async fn every_page(
    db: &Db,
    account: upvault_core::ids::AccountId,
    scope: FileScope,
    mut query: FileQuery,
) -> (Vec<FileId>, usize) {
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let rows = db
            .store
            .page_of_files(account, scope, &query)
            .await
            .unwrap();
        assert!(rows.len() <= usize::try_from(query.page_size()).unwrap() + 1);
        let page = FilePage::from_rows(rows, &query);
        pages += 1;
        ids.extend(page.files.iter().map(|f| f.id));
        match page.next {
            // Through the token, as a browser carries it from one page to the next.
            Some(next) => {
                let token = next.to_token(query.order);
                query.after = upvault_core::listing::FileCursor::from_token(&token, query.order);
                assert_eq!(query.after.as_ref(), Some(&next));
            }
            None => return (ids, pages),
        }
    }
}
