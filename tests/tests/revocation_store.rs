//! One behaviour suite for revocation states, two backends: every scenario runs against the
//! in-memory store (`make dev`) and against the DynamoDB store on AWS DynamoDB Local, so the two
//! keep the same semantics.

use std::sync::{Arc, Mutex};

use chrono::Utc;
use taskgate::revocation::{
    MAX_REVOKED_SESSIONS, Revocation, RevocationState, RevocationStore, Scope, SessionId,
};
use taskgate::tasks::{
    ListQuery, NewTask, PageLimit, StatusFilter, Task, TaskId, TaskStore, TaskTitle,
};
use taskgate_tests::dynamodb_local;

/// Both halves of a store: tasks and revocation states, on the same table.
trait Store: TaskStore + RevocationStore {}
impl<S: TaskStore + RevocationStore> Store for S {}

type Shared = Arc<dyn Store>;

/// Runs each scenario once per backend: `memory::<name>` and `dynamodb::<name>`.
macro_rules! behaviour {
    ($($scenario:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(std::sync::Arc::new(
                        taskgate::tasks::memory::MemoryStore::new(),
                    ))
                    .await;
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
    a_user_without_revocations_has_an_empty_state,
    everywhere_sets_not_before_to_the_next_second_and_never_moves_it_back,
    a_revoked_session_is_kept_for_the_longest_acceptance,
    revocations_are_per_user,
    concurrent_revocations_are_never_lost,
    past_the_cap_a_session_revocation_signs_out_everywhere,
    the_revocation_state_is_never_a_task,
);

async fn dynamodb_store() -> Shared {
    let local = dynamodb_local::shared();
    let table = local.new_table().await;
    Arc::new(local.store(&table).await)
}

const USER: &str = "u7Kq2Yd9RmXc4LpN8sTf3VbW6hZj1AeG";
const OTHER: &str = "Zx9Lm2Qp7Rt4Vb8Nc3Kd6Hf1Gj5Sa0We";
/// How long a revoked session is kept (a day plus twice the default leeway).
const KEEP_FOR: i64 = 86_400 + 60;

fn everywhere(at: i64) -> Revocation {
    Revocation {
        scope: Scope::Everywhere,
        at,
        keep_for: KEEP_FOR,
    }
}

fn session(id: &str, at: i64) -> Revocation {
    Revocation {
        scope: Scope::Session(SessionId::parse(id).unwrap()),
        at,
        keep_for: KEEP_FOR,
    }
}

fn now() -> i64 {
    Utc::now().timestamp()
}

async fn a_user_without_revocations_has_an_empty_state(store: Shared) {
    let state = store.revocation_state(USER).await.unwrap();
    assert_eq!(state, RevocationState::default());
}

async fn everywhere_sets_not_before_to_the_next_second_and_never_moves_it_back(store: Shared) {
    let at = now();
    let written = store.revoke(USER, &everywhere(at)).await.unwrap();
    assert_eq!(written.not_before, Some(at + 1));
    assert_eq!(store.revocation_state(USER).await.unwrap(), written);
    let earlier = store.revoke(USER, &everywhere(at - 100)).await.unwrap();
    assert_eq!(earlier.not_before, Some(at + 1), "never backwards");
    let again = store.revoke(USER, &everywhere(at)).await.unwrap();
    assert_eq!(again, written, "idempotent");
    let later = store.revoke(USER, &everywhere(at + 5)).await.unwrap();
    assert_eq!(later.not_before, Some(at + 6));
    assert_eq!(store.revocation_state(USER).await.unwrap(), later);
}

async fn a_revoked_session_is_kept_for_the_longest_acceptance(store: Shared) {
    let at = now();
    store.revoke(USER, &session("laptop", at)).await.unwrap();
    store.revoke(USER, &session("laptop", at)).await.unwrap();
    let state = store.revocation_state(USER).await.unwrap();
    assert_eq!(state.revoked_sessions.len(), 1);
    assert_eq!(state.revoked_sessions["laptop"], at + 1 + KEEP_FOR);
    assert_eq!(state.not_before, None, "one session is not everywhere");
    // Past its time, the next revocation prunes it.
    let later = at + 1 + KEEP_FOR;
    let pruned = store.revoke(USER, &session("phone", later)).await.unwrap();
    assert_eq!(
        pruned.revoked_sessions.keys().collect::<Vec<_>>(),
        ["phone"]
    );
    assert_eq!(store.revocation_state(USER).await.unwrap(), pruned);
}

async fn revocations_are_per_user(store: Shared) {
    let at = now();
    store.revoke(USER, &everywhere(at)).await.unwrap();
    store.revoke(USER, &session("laptop", at)).await.unwrap();
    let theirs = store.revocation_state(OTHER).await.unwrap();
    assert_eq!(theirs, RevocationState::default());
    store.revoke(OTHER, &session("desk", at)).await.unwrap();
    let mine = store.revocation_state(USER).await.unwrap();
    assert!(!mine.revoked_sessions.contains_key("desk"));
    assert_eq!(mine.not_before, Some(at + 1));
}

async fn concurrent_revocations_are_never_lost(store: Shared) {
    let at = now();
    let mut revocations = tokio::task::JoinSet::new();
    for n in 0..8 {
        let store = store.clone();
        revocations.spawn(async move { store.revoke(USER, &session(&format!("s{n}"), at)).await });
    }
    revocations.spawn({
        let store = store.clone();
        async move { store.revoke(USER, &everywhere(at)).await }
    });
    while let Some(done) = revocations.join_next().await {
        done.unwrap().expect("each revocation lands");
    }
    let state = store.revocation_state(USER).await.unwrap();
    assert_eq!(state.revoked_sessions.len(), 8, "{state:?}");
    assert_eq!(state.not_before, Some(at + 1));
}

async fn past_the_cap_a_session_revocation_signs_out_everywhere(store: Shared) {
    let at = now();
    for n in 0..MAX_REVOKED_SESSIONS {
        store
            .revoke(USER, &session(&format!("s{n}"), at))
            .await
            .unwrap();
    }
    let full = store.revocation_state(USER).await.unwrap();
    assert_eq!(full.revoked_sessions.len(), MAX_REVOKED_SESSIONS);
    assert_eq!(full.not_before, None);
    let escalated = store.revoke(USER, &session("one-more", at)).await.unwrap();
    assert!(escalated.revoked_sessions.is_empty());
    assert_eq!(escalated.not_before, Some(at + 1));
    assert_eq!(store.revocation_state(USER).await.unwrap(), escalated);
}

async fn the_revocation_state_is_never_a_task(store: Shared) {
    static IDS: Mutex<ulid::Generator> = Mutex::new(ulid::Generator::new());
    let new = NewTask {
        title: TaskTitle::parse("a task").unwrap(),
        description: None,
    };
    let task = Task::new(TaskId::new(&IDS, Utc::now()), USER, new, Utc::now());
    store.create(task.clone(), None).await.unwrap();
    store.revoke(USER, &everywhere(now())).await.unwrap();
    store.revoke(USER, &session("laptop", now())).await.unwrap();
    for status in [StatusFilter::All, StatusFilter::Pending] {
        let query = ListQuery {
            status,
            limit: PageLimit::DEFAULT,
            after: None,
        };
        let page = store.list(USER, query).await.unwrap();
        let ids: Vec<TaskId> = page.items.iter().map(|t| t.id).collect();
        assert_eq!(ids, [task.id], "{status:?}");
        assert!(page.next_cursor.is_none());
    }
}
