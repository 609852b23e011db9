//! One behaviour suite, two backends: every scenario runs against the in-memory store and against
//! the DynamoDB store on AWS DynamoDB Local, so the two cannot drift apart.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, SubsecRound, Utc};
use taskgate::tasks::{
    Created, Cursor, ListQuery, NewTask, Page, PageLimit, StatusFilter, StoreError, Task,
    TaskChanges, TaskDescription, TaskId, TaskStore, TaskTitle,
};
use taskgate_tests::dynamodb_local;

type Store = Arc<dyn TaskStore>;

/// Runs each scenario once per backend: `memory::<name>` and `dynamodb::<name>`.
macro_rules! behaviour {
    ($($scenario:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(super::memory_store()).await;
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(super::dynamodb_store().await).await;
                }
            )*
        }
    };
}

behaviour!(
    a_created_task_reads_back_the_same,
    create_never_overwrites,
    tasks_are_per_user,
    update_replaces_fields_and_bumps_the_version,
    update_checks_existence_then_version,
    delete_checks_existence_then_version,
    toggle_flips_and_checks_the_version,
    list_is_newest_first_and_pages_cover_everything_once,
    list_filters_by_status_across_pages,
    filtered_lists_fill_their_pages_and_follow_every_change_of_state,
    list_cursors_stay_in_the_users_partition,
    idempotent_create_replays_the_first_result,
    idempotency_keys_are_per_user_and_never_listed,
);

/// The task quota of the quota scenario's stores.
const SMALL_QUOTA: u64 = 3;

/// The quota scenario, on each backend with [`SMALL_QUOTA`].
mod quota {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memory() {
        let store = taskgate::tasks::memory::MemoryStore::new().with_quota(SMALL_QUOTA);
        creates_stop_at_the_quota_and_replays_do_not(Arc::new(store)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dynamodb() {
        let local = dynamodb_local::shared();
        let table = local.new_table().await;
        let store = local.store(&table).await.with_quota(SMALL_QUOTA);
        creates_stop_at_the_quota_and_replays_do_not(Arc::new(store)).await;
    }
}

fn memory_store() -> Store {
    Arc::new(taskgate::tasks::memory::MemoryStore::new())
}

async fn dynamodb_store() -> Store {
    let local = dynamodb_local::shared();
    let table = local.new_table().await;
    Arc::new(local.store(&table).await)
}

static IDS: Mutex<ulid::Generator> = Mutex::new(ulid::Generator::new());

/// A new task id, later than every one before in this test binary.
fn new_id() -> TaskId {
    TaskId::new(&IDS, Utc::now())
}

/// Now, to the millisecond (what the API shows and DynamoDB keeps).
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

fn title(text: &str) -> TaskTitle {
    TaskTitle::parse(text).unwrap()
}

fn new_task(user: &str, text: &str, description: Option<&str>) -> Task {
    let new = NewTask {
        title: title(text),
        description: description.map(|d| TaskDescription::parse(d).unwrap()),
    };
    Task::new(new_id(), user, new, now())
}

async fn create(store: &Store, user: &str, text: &str) -> Task {
    let created = store
        .create(new_task(user, text, None), None)
        .await
        .unwrap();
    assert!(!created.replayed);
    created.task
}

fn query(status: StatusFilter, limit: usize, after: Option<Cursor>) -> ListQuery {
    ListQuery {
        status,
        limit: PageLimit::new(limit).expect("a page size"),
        after,
    }
}

fn titles(page: &Page) -> Vec<&str> {
    page.items.iter().map(|t| t.title.as_str()).collect()
}

/// Every page of a listing, following `next_cursor`.
async fn all_pages(store: &Store, user: &str, status: StatusFilter, limit: usize) -> Vec<Page> {
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page = store.list(user, query(status, limit, after)).await.unwrap();
        assert!(page.items.len() <= limit);
        after = page.next_cursor;
        pages.push(page);
        if after.is_none() {
            return pages;
        }
        assert!(pages.len() < 100, "pagination does not end");
    }
}

async fn a_created_task_reads_back_the_same(store: Store) {
    let task = new_task("user-read", "Buy milk", Some("two\nlines"));
    let created = store.create(task.clone(), None).await.unwrap();
    assert_eq!(created.task, task);
    assert_eq!(created.task.version, 1);
    assert!(!created.task.completed);
    assert_eq!(store.get("user-read", task.id).await.unwrap(), task);

    let plain = create(&store, "user-read", "No description").await;
    assert_eq!(
        store.get("user-read", plain.id).await.unwrap().description,
        None
    );
}

async fn create_never_overwrites(store: Store) {
    let first = create(&store, "user-once", "first").await;
    let mut again = first.clone();
    again.title = title("second");
    let error = store.create(again, None).await.unwrap_err();
    assert!(matches!(error, StoreError::Internal(_)), "{error:?}");
    assert_eq!(store.get("user-once", first.id).await.unwrap(), first);
}

async fn tasks_are_per_user(store: Store) {
    let mine = create(&store, "user-a", "mine").await;
    let missing = store.get("user-b", mine.id).await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound));
    assert!(matches!(
        store.get("user-a", new_id()).await,
        Err(StoreError::NotFound)
    ));
    let changes = TaskChanges {
        title: title("stolen"),
        description: None,
        completed: None,
    };
    let other = "user-b";
    assert!(matches!(
        store.update(other, mine.id, &changes, None, now()).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.toggle_completed(other, mine.id, None, now()).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete(other, mine.id, None).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.get("user-a", mine.id).await.unwrap(), mine);
    let page = store
        .list(other, query(StatusFilter::All, 10, None))
        .await
        .unwrap();
    assert!(page.items.is_empty() && page.next_cursor.is_none());
}

async fn update_replaces_fields_and_bumps_the_version(store: Store) {
    let user = "user-update";
    let task = store
        .create(new_task(user, "draft", Some("old")), None)
        .await
        .unwrap()
        .task;
    let at = now();
    let changes = TaskChanges {
        title: title("final"),
        description: Some(TaskDescription::parse("new").unwrap()),
        completed: Some(true),
    };
    let updated = store
        .update(user, task.id, &changes, None, at)
        .await
        .unwrap();
    assert_eq!(updated.title.as_str(), "final");
    assert_eq!(updated.description.as_ref().unwrap().as_str(), "new");
    assert!(updated.completed);
    assert_eq!(updated.version, 2);
    assert_eq!(updated.created_at, task.created_at);
    assert_eq!(updated.updated_at, at);
    assert_eq!(store.get(user, task.id).await.unwrap(), updated);

    // No description removes it; no `completed` keeps it.
    let changes = TaskChanges {
        title: title("final"),
        description: None,
        completed: None,
    };
    let updated = store
        .update(user, task.id, &changes, Some(2), now())
        .await
        .unwrap();
    assert_eq!(updated.description, None);
    assert!(updated.completed);
    assert_eq!(updated.version, 3);
    assert_eq!(store.get(user, task.id).await.unwrap(), updated);
}

async fn update_checks_existence_then_version(store: Store) {
    let user = "user-if-match";
    let task = create(&store, user, "v1").await;
    let changes = TaskChanges {
        title: title("v2"),
        description: None,
        completed: None,
    };
    let stale = store.update(user, task.id, &changes, Some(7), now()).await;
    assert!(
        matches!(stale, Err(StoreError::VersionMismatch)),
        "{stale:?}"
    );
    assert_eq!(store.get(user, task.id).await.unwrap(), task);
    let missing = store.update(user, new_id(), &changes, Some(1), now()).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    let missing = store.update(user, new_id(), &changes, None, now()).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    let updated = store
        .update(user, task.id, &changes, Some(1), now())
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
}

async fn delete_checks_existence_then_version(store: Store) {
    let user = "user-delete";
    let task = create(&store, user, "doomed").await;
    assert!(matches!(
        store.delete(user, task.id, Some(2)).await,
        Err(StoreError::VersionMismatch)
    ));
    assert_eq!(store.get(user, task.id).await.unwrap(), task);
    store.delete(user, task.id, Some(1)).await.unwrap();
    assert!(matches!(
        store.get(user, task.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete(user, task.id, None).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete(user, task.id, Some(1)).await,
        Err(StoreError::NotFound)
    ));
    let other = create(&store, user, "deleted without If-Match").await;
    store.delete(user, other.id, None).await.unwrap();
    let page = store
        .list(user, query(StatusFilter::All, 10, None))
        .await
        .unwrap();
    assert!(page.items.is_empty());
}

async fn toggle_flips_and_checks_the_version(store: Store) {
    let user = "user-toggle";
    let task = create(&store, user, "flip me").await;
    let at = now();
    let done = store
        .toggle_completed(user, task.id, None, at)
        .await
        .unwrap();
    assert!(done.completed);
    assert_eq!(done.version, 2);
    assert_eq!(done.updated_at, at);
    assert_eq!(done.title, task.title);
    let stale = store.toggle_completed(user, task.id, Some(1), now()).await;
    assert!(
        matches!(stale, Err(StoreError::VersionMismatch)),
        "{stale:?}"
    );
    let undone = store
        .toggle_completed(user, task.id, Some(2), now())
        .await
        .unwrap();
    assert!(!undone.completed);
    assert_eq!(undone.version, 3);
    assert_eq!(store.get(user, task.id).await.unwrap(), undone);
    let missing = store.toggle_completed(user, new_id(), None, now()).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    let missing = store.toggle_completed(user, new_id(), Some(1), now()).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}

async fn list_is_newest_first_and_pages_cover_everything_once(store: Store) {
    let user = "user-list";
    let empty = store
        .list(user, query(StatusFilter::All, 5, None))
        .await
        .unwrap();
    assert!(empty.items.is_empty() && empty.next_cursor.is_none());
    for n in 0..7 {
        create(&store, user, &format!("task {n}")).await;
    }
    let first = store
        .list(user, query(StatusFilter::All, 3, None))
        .await
        .unwrap();
    assert_eq!(titles(&first), ["task 6", "task 5", "task 4"]);
    assert_eq!(first.next_cursor, Some(Cursor(first.items[2].id)));

    let pages = all_pages(&store, user, StatusFilter::All, 3).await;
    let seen: Vec<Vec<&str>> = pages.iter().map(titles).collect();
    assert_eq!(
        seen,
        [
            vec!["task 6", "task 5", "task 4"],
            vec!["task 3", "task 2", "task 1"],
            vec!["task 0"],
        ]
    );
    // When the last page is exactly full, there is no cursor to an empty page.
    let pages = all_pages(&store, user, StatusFilter::All, 7).await;
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].items.len(), 7);
    let pages = all_pages(&store, user, StatusFilter::All, 100).await;
    assert_eq!(pages.len(), 1);
}

async fn list_filters_by_status_across_pages(store: Store) {
    let user = "user-status";
    let mut completed = Vec::new();
    for n in 0..24 {
        let task = create(&store, user, &format!("task {n:02}")).await;
        if n % 5 == 0 {
            store
                .toggle_completed(user, task.id, None, now())
                .await
                .unwrap();
            completed.push(format!("task {n:02}"));
        }
    }
    completed.reverse();
    let pages = all_pages(&store, user, StatusFilter::Completed, 2).await;
    let listed: Vec<&str> = pages.iter().flat_map(titles).collect();
    assert_eq!(listed, completed);
    assert_eq!(pages.len(), 3, "5 completed tasks in pages of 2");
    assert!(pages.iter().flat_map(|p| &p.items).all(|t| t.completed));

    let pending = all_pages(&store, user, StatusFilter::Pending, 7).await;
    let listed: Vec<&str> = pending.iter().flat_map(titles).collect();
    assert_eq!(listed.len(), 19);
    assert!(pending.iter().flat_map(|p| &p.items).all(|t| !t.completed));
    assert_eq!(
        pending.iter().map(|p| p.items.len()).collect::<Vec<_>>(),
        [7, 7, 5]
    );

    let all = all_pages(&store, user, StatusFilter::All, 100).await;
    assert_eq!(all[0].items.len(), 24);
}

async fn filtered_lists_fill_their_pages_and_follow_every_change_of_state(store: Store) {
    let user = "user-states";
    let mut pending = Vec::new();
    for n in 0..3 {
        pending.push(create(&store, user, &format!("pending {n}")).await);
    }
    // Many newer tasks in the other state do not shorten a page of pending ones.
    for n in 0..12 {
        let mut task = new_task(user, &format!("done {n:02}"), None);
        task.completed = true;
        store.create(task, None).await.unwrap();
    }
    let page = store
        .list(user, query(StatusFilter::Pending, 3, None))
        .await
        .unwrap();
    assert_eq!(titles(&page), ["pending 2", "pending 1", "pending 0"]);
    assert_eq!(page.next_cursor, None);
    let pages = all_pages(&store, user, StatusFilter::Completed, 5).await;
    let sizes: Vec<usize> = pages.iter().map(|p| p.items.len()).collect();
    assert_eq!(sizes, [5, 5, 2]);
    assert_eq!(titles(&pages[0])[0], "done 11");

    // A toggle, and an update that sets `completed`, move a task to the other list; an update
    // without it leaves the task where it is.
    store
        .toggle_completed(user, pending[0].id, None, now())
        .await
        .unwrap();
    let latest_done = pages[0].items[0].id;
    let reopen = TaskChanges {
        title: title("reopened"),
        description: None,
        completed: Some(false),
    };
    store
        .update(user, latest_done, &reopen, None, now())
        .await
        .unwrap();
    let rename = TaskChanges {
        title: title("pending 1, renamed"),
        description: None,
        completed: None,
    };
    store
        .update(user, pending[1].id, &rename, None, now())
        .await
        .unwrap();
    let page = store
        .list(user, query(StatusFilter::Pending, 10, None))
        .await
        .unwrap();
    assert_eq!(
        titles(&page),
        ["reopened", "pending 2", "pending 1, renamed"]
    );
    let completed: Vec<Page> = all_pages(&store, user, StatusFilter::Completed, 100).await;
    let listed: Vec<&str> = completed.iter().flat_map(titles).collect();
    assert_eq!(listed.len(), 12);
    assert_eq!(listed.last(), Some(&"pending 0"));
    assert!(!listed.contains(&"reopened"));
    // A cursor whose task changed state meanwhile still positions the listing.
    let page = store
        .list(
            user,
            query(StatusFilter::Pending, 10, Some(Cursor(pending[0].id))),
        )
        .await
        .unwrap();
    assert!(page.items.is_empty(), "{:?}", titles(&page));
    let page = store
        .list(
            user,
            query(StatusFilter::Pending, 10, Some(Cursor(pending[2].id))),
        )
        .await
        .unwrap();
    assert_eq!(titles(&page), ["pending 1, renamed"]);
}

/// With a quota of [`SMALL_QUOTA`]: creating past it is `QuotaExceeded` and writes nothing (no
/// task, no idempotency record); records do not count; a replay is never refused; a delete makes
/// room again; other users are not affected.
async fn creates_stop_at_the_quota_and_replays_do_not(store: Store) {
    let user = "user-quota";
    let first = new_task(user, "first", None);
    store.create(first.clone(), Some("key-1")).await.unwrap();
    create(&store, user, "second").await;
    let third = create(&store, user, "third").await;

    for key in [None, Some("key-new")] {
        let refused = store.create(new_task(user, "fourth", None), key).await;
        assert!(
            matches!(refused, Err(StoreError::QuotaExceeded)),
            "{refused:?}"
        );
    }
    let replay = store
        .create(new_task(user, "first", None), Some("key-1"))
        .await
        .unwrap();
    assert!(replay.replayed);
    assert_eq!(replay.task, first);
    let conflict = store
        .create(new_task(user, "other", None), Some("key-1"))
        .await;
    assert!(
        matches!(conflict, Err(StoreError::IdempotencyConflict)),
        "{conflict:?}"
    );
    let page = store
        .list(user, query(StatusFilter::All, 10, None))
        .await
        .unwrap();
    assert_eq!(titles(&page), ["third", "second", "first"]);
    create(&store, "user-quota-other", "not counted against user-quota").await;

    // A delete makes room for one; the refused key left no record, so it creates anew.
    store.delete(user, third.id, None).await.unwrap();
    let fourth = new_task(user, "fourth", None);
    let created = store.create(fourth.clone(), Some("key-new")).await.unwrap();
    assert!(!created.replayed);
    assert_eq!(created.task, fourth);
    let refused = store.create(new_task(user, "fifth", None), None).await;
    assert!(
        matches!(refused, Err(StoreError::QuotaExceeded)),
        "{refused:?}"
    );
    // A failed delete counts nothing off.
    let missing = store.delete(user, third.id, None).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    let refused = store.create(new_task(user, "fifth", None), None).await;
    assert!(
        matches!(refused, Err(StoreError::QuotaExceeded)),
        "{refused:?}"
    );
}

async fn list_cursors_stay_in_the_users_partition(store: Store) {
    let theirs = create(&store, "user-other", "not yours").await;
    let older = create(&store, "user-owner", "older").await;
    create(&store, "user-owner", "newer").await;
    // A cursor made from another user's task id only positions the owner's own listing.
    let page = store
        .list(
            "user-owner",
            query(StatusFilter::All, 10, Some(Cursor(theirs.id))),
        )
        .await
        .unwrap();
    assert!(page.items.is_empty(), "{:?}", titles(&page));
    let far = Cursor(new_id());
    let page = store
        .list("user-owner", query(StatusFilter::All, 10, Some(far)))
        .await
        .unwrap();
    assert_eq!(titles(&page), ["newer", "older"]);
    // A cursor at a deleted task still works.
    let newest = create(&store, "user-owner", "newest").await;
    store.delete("user-owner", newest.id, None).await.unwrap();
    let page = store
        .list(
            "user-owner",
            query(StatusFilter::All, 1, Some(Cursor(newest.id))),
        )
        .await
        .unwrap();
    assert_eq!(titles(&page), ["newer"]);
    assert_eq!(
        store
            .list("user-owner", query(StatusFilter::All, 1, page.next_cursor))
            .await
            .unwrap()
            .items,
        [older]
    );
}

async fn idempotent_create_replays_the_first_result(store: Store) {
    let user = "user-idem";
    let first = new_task(user, "pay rent", Some("by Friday"));
    let created = store.create(first.clone(), Some("key-1")).await.unwrap();
    assert!(!created.replayed);
    assert_eq!(created.task, first);

    // A retry (new id, new time, same body) returns the first result and creates nothing.
    let retry = new_task(user, "pay rent", Some("by Friday"));
    let Created { task, replayed } = store.create(retry.clone(), Some("key-1")).await.unwrap();
    assert!(replayed);
    assert_eq!(task, first);
    assert!(matches!(
        store.get(user, retry.id).await,
        Err(StoreError::NotFound)
    ));

    // The replay is the first snapshot, even after the task changed.
    store
        .toggle_completed(user, first.id, None, now())
        .await
        .unwrap();
    let again = store
        .create(new_task(user, "pay rent", Some("by Friday")), Some("key-1"))
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.task, first);

    // Another body with the same key is a conflict.
    for (text, description) in [("pay rent", None), ("pay bills", Some("by Friday"))] {
        let conflict = store
            .create(new_task(user, text, description), Some("key-1"))
            .await;
        assert!(
            matches!(conflict, Err(StoreError::IdempotencyConflict)),
            "{conflict:?}"
        );
    }
    let page = store
        .list(user, query(StatusFilter::All, 10, None))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
}

async fn idempotency_keys_are_per_user_and_never_listed(store: Store) {
    let a = store
        .create(new_task("user-k1", "same", None), Some("shared-key"))
        .await
        .unwrap();
    let b = store
        .create(new_task("user-k2", "same", None), Some("shared-key"))
        .await
        .unwrap();
    assert!(!a.replayed && !b.replayed);
    assert_ne!(a.task.id, b.task.id);
    assert_eq!(b.task.user_id, "user-k2");
    // Keys that sort anywhere never show up as tasks.
    for key in ["!", "0", "zzz", "~~~", "#idempotency#x"] {
        store
            .create(new_task("user-k1", key, None), Some(key))
            .await
            .unwrap();
    }
    let pages = all_pages(&store, "user-k1", StatusFilter::All, 2).await;
    let listed: Vec<&str> = pages.iter().flat_map(titles).collect();
    assert_eq!(listed, ["#idempotency#x", "~~~", "zzz", "0", "!", "same"]);
}
