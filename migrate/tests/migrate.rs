//! `taskgate-migrate`, the binary, against DynamoDB Local: a table made before the status index,
//! filled as the old store wrote it (thousands of tasks, idempotency records, counters, some of
//! them wrong or missing, and revocation states), copied into a table made from the template.
//! The copy is checked through the store itself (filtered lists read the index, an old
//! idempotency key replays, the quota counts every task), and the migration is interrupted and
//! resumed, throttled, dry-run, and refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use chrono::{DateTime, Utc};
use taskgate::revocation::RevocationStore;
use taskgate::tasks::dynamodb::item::{
    Item, STATUS_TASK, TASK_COUNT, TASK_ID, USER_ID, counter_key, n, record_item, s, task_item,
};
use taskgate::tasks::{
    ListQuery, NewTask, PageLimit, StatusFilter, Task, TaskDescription, TaskId, TaskStore,
    TaskTitle,
};
use taskgate_migrate::{Checkpoint, Options, UserCounts, count_by_user};
use taskgate_tests::aws_front_door::{AwsFrontDoor, Refusal};
use taskgate_tests::dynamodb_local::{self, REGION, batch_put, scratch_dir, store_at};

/// What was put in a source table, per user.
#[derive(Debug, Default, Clone)]
struct Seeded {
    tasks: Vec<Task>,
    /// Idempotency keys and the task each created.
    records: Vec<(String, Task)>,
    counter: Option<u64>,
    not_before: Option<i64>,
}

/// A table as the template declared it before the status index: the same keys, no index.
async fn old_table(client: &Client, name: &str) {
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    client
        .create_table()
        .table_name(name)
        .attribute_definitions(attribute(USER_ID))
        .attribute_definitions(attribute(TASK_ID))
        .key_schema(key(USER_ID, KeyType::Hash))
        .key_schema(key(TASK_ID, KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create the old table");
}

/// A new source table holding `users` users with `tasks(i)` tasks each, written as the store
/// wrote them before the index: a task item without `status_task`, every fifth task's
/// idempotency record, a counter per user (users 0 to 3 off by two, user 4 without one), and a
/// revocation state for every fourth user.
async fn seeded_source(
    client: &Client,
    users: usize,
    tasks: impl Fn(usize) -> usize,
) -> (String, BTreeMap<String, Seeded>) {
    let name = format!("old-{}", unique());
    old_table(client, &name).await;
    let start: DateTime<Utc> = "2026-01-02T03:04:05.678Z".parse().unwrap();
    let ids = std::sync::Mutex::new(ulid::Generator::new());
    let mut seeded = BTreeMap::new();
    let mut items = Vec::new();
    for u in 0..users {
        let user = format!("user{u:02}Xq7Kd9RmXc4LpN8sTf3VbW6hZ");
        let mut mine = Seeded::default();
        for t in 0..tasks(u) {
            let at = start + chrono::Duration::seconds((u * 1000 + t) as i64);
            let new = NewTask {
                title: TaskTitle::parse(&format!("task {t} of {u}")).unwrap(),
                description: (t % 2 == 0)
                    .then(|| TaskDescription::parse("with a description").unwrap()),
            };
            let mut task = Task::new(TaskId::new(&ids, at), &user, new, at);
            if t % 3 == 0 {
                task.completed = true;
                task.version = 2;
            }
            let mut item = task_item(&task);
            item.remove(STATUS_TASK);
            items.push(item);
            if t % 5 == 0 {
                let key = format!("key-{t}");
                items.push(record_item(
                    &task,
                    &key,
                    Utc::now() + chrono::Duration::hours(24),
                ));
                mine.records.push((key, task.clone()));
            }
            mine.tasks.push(task);
        }
        let count = mine.tasks.len() as u64;
        mine.counter = match u {
            0..=3 => Some(count + 2),
            4 => None,
            _ => Some(count),
        };
        if let Some(counter) = mine.counter {
            let mut item = counter_key(&user);
            item.insert(TASK_COUNT.into(), n(counter));
            items.push(item);
        }
        if u % 4 == 0 {
            let not_before = 1_790_000_000 + u as i64;
            items.push(Item::from([
                (USER_ID.into(), s(&user)),
                (TASK_ID.into(), s("#revocation")),
                ("not_before".into(), n(not_before)),
                (
                    "revoked_sessions".into(),
                    AttributeValue::M(Default::default()),
                ),
                ("revocation_version".into(), n(1)),
            ]));
            mine.not_before = Some(not_before);
        }
        seeded.insert(user, mine);
    }
    batch_put(client, &name, &items).await;
    (name, seeded)
}

fn unique() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The command as an operator runs it, against the DynamoDB at `endpoint`.
fn command(endpoint: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_taskgate-migrate"));
    command
        .args(args)
        .env("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
        .env("AWS_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", "taskgate")
        .env("AWS_SECRET_ACCESS_KEY", "taskgate")
        .env_remove("AWS_PROFILE")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    command
}

/// Runs it to its end: its exit code and its output.
async fn migrate(endpoint: &str, args: &[&str]) -> (i32, String) {
    let mut command = command(endpoint, args);
    let output: Output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("run taskgate-migrate");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}

fn args<'a>(source: &'a str, target: &'a str, checkpoint: &'a Path) -> Vec<&'a str> {
    vec![
        "--from",
        source,
        "--to",
        target,
        "--checkpoint",
        checkpoint.to_str().unwrap(),
    ]
}

/// Checks the target through the store: each user's tasks (filtered lists read the status
/// index), idempotent replays of the old keys, the counters, and the revocation states.
async fn assert_migrated(target: &str, seeded: &BTreeMap<String, Seeded>) {
    let local = dynamodb_local::shared();
    let client = local.client().await;
    let counts = count_by_user(&client, target).await.unwrap();
    let store = store_at(&local.endpoint(), target).await;
    for (user, mine) in seeded {
        let pending = mine.tasks.iter().filter(|t| !t.completed).count();
        let expected = UserCounts {
            tasks: mine.tasks.len() as u64,
            records: mine.records.len() as u64,
            revocations: u64::from(mine.not_before.is_some()),
            others: 0,
            counter: Some(mine.tasks.len() as u64),
        };
        assert_eq!(counts[user], expected, "{user}");
        let query = ListQuery {
            status: StatusFilter::Pending,
            limit: PageLimit::new(100).unwrap(),
            after: None,
        };
        let listed = store.list(user, query).await.expect("a filtered list");
        assert_eq!(
            listed.items.len(),
            pending,
            "{user}: the index holds the tasks"
        );
        assert!(listed.items.iter().all(|task| !task.completed));
        let newest = mine
            .tasks
            .iter()
            .filter(|t| !t.completed)
            .map(|t| t.id)
            .max();
        assert_eq!(listed.items.first().map(|t| t.id), newest, "newest first");
        if let Some((key, first)) = mine.records.first() {
            let retry = Task::new(
                TaskId::new(&std::sync::Mutex::new(ulid::Generator::new()), Utc::now()),
                user,
                NewTask {
                    title: first.title.clone(),
                    description: first.description.clone(),
                },
                Utc::now(),
            );
            let replayed = store.create(retry, Some(key)).await.expect("a replay");
            assert!(replayed.replayed, "{user}: the old record answers");
            assert_eq!(replayed.task.id, first.id);
        }
        let state = store.revocation_state(user).await.unwrap();
        assert_eq!(state.not_before, mine.not_before, "{user}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_made_before_the_status_index_is_copied_counted_and_verified() {
    let local = dynamodb_local::shared();
    let client = local.client().await;
    let (source, seeded) = seeded_source(&client, 40, |u| 40 + u).await;
    let target = local.new_table().await;
    let dir = scratch_dir("migrate");
    let checkpoint = dir.join("checkpoint.json");
    let endpoint = local.endpoint();

    let mut dry = args(&source, &target, &checkpoint);
    dry.push("--dry-run");
    let (code, output) = migrate(&endpoint, &dry).await;
    assert_eq!(code, 0, "{output}");
    let tasks: usize = seeded.values().map(|m| m.tasks.len()).sum();
    let records: usize = seeded.values().map(|m| m.records.len()).sum();
    assert!(tasks + records > 2800, "a few thousand items");
    let read = format!(
        "read {tasks} tasks, {records} idempotency records, 10 revocation states, 39 counters"
    );
    assert!(output.contains(&format!("dry run: {read}")), "{output}");
    assert_eq!(output.matches("will be rebuilt").count(), 5, "{output}");
    assert!(!checkpoint.exists(), "a dry run writes nothing");
    let empty = count_by_user(&client, &target).await.unwrap();
    assert!(empty.is_empty(), "a dry run writes nothing: {empty:?}");

    let (code, output) = migrate(&endpoint, &args(&source, &target, &checkpoint)).await;
    assert_eq!(code, 0, "{output}");
    let written = format!("wrote {}, 0 already in the target", tasks + records + 10);
    assert!(output.contains(&written), "{output}");
    assert_eq!(
        output.matches("was wrong").count(),
        5,
        "four off by two, one missing: {output}"
    );
    assert!(output.contains("verified 40 users: 0 differ"), "{output}");
    assert_migrated(&target, &seeded).await;

    let (code, again) = migrate(&endpoint, &args(&source, &target, &checkpoint)).await;
    assert_eq!(code, 0, "{again}");
    assert!(again.contains("resuming from"), "{again}");
    assert!(again.contains("0 counters set, 5 were wrong"), "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_migration_resumes_from_its_checkpoint() {
    let local = dynamodb_local::shared();
    let client = local.client().await;
    let (source, seeded) = seeded_source(&client, 30, |u| 60 + u).await;
    let target = local.new_table().await;
    let checkpoint = scratch_dir("migrate").join("checkpoint.json");
    let mut slow = args(&source, &target, &checkpoint);
    slow.extend(["--page-size", "20", "--concurrency", "2"]);
    let mut child = command(&local.endpoint(), &slow)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start taskgate-migrate");
    let interrupted = wait_for_progress(&checkpoint, 5).await;
    child.kill().expect("interrupt it");
    let _ = child.wait();
    let kept = load(&checkpoint, &source, &target);
    assert!(!kept.copy_done, "interrupted in the middle: {kept:?}");
    assert!(kept.copied.pages >= interrupted);

    let (code, output) = migrate(&local.endpoint(), &slow).await;
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("resuming from"), "{output}");
    let done = load(&checkpoint, &source, &target);
    assert!(done.copy_done);
    let copyable = seeded
        .values()
        .map(|m| m.tasks.len() + m.records.len() + usize::from(m.not_before.is_some()))
        .sum::<usize>() as u64;
    assert_eq!(
        done.copied.written + done.copied.already_present,
        copyable,
        "every item once; a page cut short is put again and found there"
    );
    assert!(done.copied.written <= copyable);
    assert_migrated(&target, &seeded).await;
}

/// Waits until the checkpoint shows at least `pages` pages copied.
async fn wait_for_progress(checkpoint: &PathBuf, pages: u64) -> u64 {
    for _ in 0..2000 {
        if let Ok(text) = std::fs::read_to_string(checkpoint)
            && let Ok(saved) = serde_json::from_str::<Checkpoint>(&text)
            && saved.copied.pages >= pages
        {
            return saved.copied.pages;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("no progress in {}", checkpoint.display());
}

fn load(checkpoint: &Path, source: &str, target: &str) -> Checkpoint {
    let options = Options {
        source: source.into(),
        target: target.into(),
        checkpoint: checkpoint.to_path_buf(),
        dry_run: false,
        page_size: None,
        concurrency: 1,
    };
    Checkpoint::load_or_new(&options).expect("the checkpoint")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_reads_and_writes_are_retried_with_backoff_and_nothing_is_lost() {
    let local = dynamodb_local::shared();
    let client = local.client().await;
    let (source, seeded) = seeded_source(&client, 6, |u| 10 + u).await;
    let target = local.new_table().await;
    let aws = AwsFrontDoor::start(local.endpoint(), None).await;
    aws.refuse_times("PutItem", Refusal::dynamodb("ThrottlingException"), 6);
    aws.refuse_times(
        "Scan",
        Refusal::dynamodb("ProvisionedThroughputExceededException"),
        2,
    );
    let checkpoint = scratch_dir("migrate").join("checkpoint.json");
    let (code, output) = migrate(&aws.endpoint, &args(&source, &target, &checkpoint)).await;
    assert_eq!(code, 0, "{output}");
    let refused = aws.calls().iter().filter(|call| call.refused).count();
    assert_eq!(refused, 8, "every refusal was met, and retried");
    assert_migrated(&target, &seeded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_difference_fails_the_verification_and_a_target_without_the_index_is_refused() {
    let local = dynamodb_local::shared();
    let client = local.client().await;
    let (source, seeded) = seeded_source(&client, 5, |_| 8).await;
    let target = local.new_table().await;
    let (extra_user, mine) = seeded.iter().nth(2).unwrap();
    let mut extra = mine.tasks[0].clone();
    extra.id = TaskId::new(&std::sync::Mutex::new(ulid::Generator::new()), Utc::now());
    batch_put(&client, &target, &[task_item(&extra)]).await;
    let checkpoint = scratch_dir("migrate").join("checkpoint.json");
    let (code, output) = migrate(&local.endpoint(), &args(&source, &target, &checkpoint)).await;
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains(&format!("DIFFERS: {extra_user}")),
        "{output}"
    );
    assert_eq!(output.matches("DIFFERS").count(), 1, "{output}");
    let counts = count_by_user(&client, &target).await.unwrap();
    assert_eq!(
        counts[extra_user].counter,
        Some(9),
        "the counter counts what is there"
    );

    let other_old = format!("old-{}", unique());
    old_table(&client, &other_old).await;
    let checkpoint = scratch_dir("migrate").join("checkpoint.json");
    let (code, output) = migrate(&local.endpoint(), &args(&source, &other_old, &checkpoint)).await;
    assert_eq!(code, 2, "{output}");
    assert!(
        output.contains("has no local secondary index by_status"),
        "{output}"
    );
    let (code, output) = migrate(&local.endpoint(), &args(&source, &source, &checkpoint)).await;
    assert_eq!(code, 2, "{output}");
}
