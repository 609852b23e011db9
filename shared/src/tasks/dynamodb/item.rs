//! Tasks, idempotency records and task counters as DynamoDB items. One table: partition key
//! `user_id`, sort key `task_id`. A task's sort key is its ULID; an idempotency record's and the
//! user's counter's start with `#`, which no ULID does and which sorts below every ULID, so list
//! queries (`task_id >= "0"`) never see one.
//!
//! Every task also carries `status_task` = `pending#<id>` or `completed#<id>`, the sort key of
//! the local secondary index [`STATUS_INDEX`]: a filtered list reads only the matching tasks,
//! newest first. Records and counters never carry it, so the index holds tasks only.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use crate::tasks::model::format_time;
use crate::tasks::{StoreError, Task, TaskDescription, TaskId, TaskTitle};

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// The partition key attribute.
pub const USER_ID: &str = "user_id";
/// The sort key attribute.
pub const TASK_ID: &str = "task_id";
/// The lowest sort key a task can have: every ULID starts with a digit 0 to 7.
pub const LOWEST_TASK_KEY: &str = "0";
/// The attribute the table's TTL reads: epoch seconds after which a record may be deleted.
pub const EXPIRES_AT: &str = "expires_at";
/// The sort key attribute of [`STATUS_INDEX`]: the task's state, `#`, its id.
pub const STATUS_TASK: &str = "status_task";
/// The local secondary index of tasks by state (same partition key, sort key [`STATUS_TASK`]).
pub const STATUS_INDEX: &str = "by_status";
/// The attribute of the user's counter item that holds how many tasks the user has.
pub const TASK_COUNT: &str = "task_count";
/// The sort key of the user's counter item.
const COUNTER_KEY: &str = "#count";
/// The sort key of the user's revocation item.
pub(super) const REVOCATION_KEY: &str = "#revocation";
/// The start of an idempotency record's sort key.
const RECORD_PREFIX: &str = "#idempotency#";
/// The attribute of an idempotency record that holds the id of the task it created.
const CREATED_TASK: &str = "created_task_id";

/// The key of one of the user's tasks.
pub fn task_key(user_id: &str, task_id: TaskId) -> Item {
    HashMap::from([
        (USER_ID.into(), s(user_id)),
        (TASK_ID.into(), s(&task_id.to_string())),
    ])
}

/// The key of the user's idempotency record for `key`.
pub fn record_key(user_id: &str, key: &str) -> Item {
    HashMap::from([
        (USER_ID.into(), s(user_id)),
        (TASK_ID.into(), s(&format!("{RECORD_PREFIX}{key}"))),
    ])
}

/// What an item of the table is, by its sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ItemKind {
    Task,
    IdempotencyRecord,
    Counter,
    Revocation,
    /// A sort key none of the above has (or none at all).
    Other,
}

/// The kind of `item`, by its sort key.
pub fn item_kind(item: &Item) -> ItemKind {
    match item.get(TASK_ID) {
        Some(AttributeValue::S(key)) if key.as_str() >= LOWEST_TASK_KEY => ItemKind::Task,
        Some(AttributeValue::S(key)) if key == COUNTER_KEY => ItemKind::Counter,
        Some(AttributeValue::S(key)) if key == REVOCATION_KEY => ItemKind::Revocation,
        Some(AttributeValue::S(key)) if key.starts_with(RECORD_PREFIX) => {
            ItemKind::IdempotencyRecord
        }
        _ => ItemKind::Other,
    }
}

/// The key of the user's task counter.
pub fn counter_key(user_id: &str) -> Item {
    HashMap::from([
        (USER_ID.into(), s(user_id)),
        (TASK_ID.into(), s(COUNTER_KEY)),
    ])
}

/// The prefix of [`STATUS_TASK`] for tasks in this state.
pub fn status_prefix(completed: bool) -> &'static str {
    if completed { "completed#" } else { "pending#" }
}

/// The [`STATUS_TASK`] value of a task in this state.
pub fn status_task(completed: bool, task_id: TaskId) -> AttributeValue {
    s(&format!("{}{task_id}", status_prefix(completed)))
}

/// Where a Query of [`STATUS_INDEX`] starts after `task_id` (the index key plus the table key).
pub fn index_start_key(user_id: &str, completed: bool, task_id: TaskId) -> Item {
    let mut key = task_key(user_id, task_id);
    key.insert(STATUS_TASK.into(), status_task(completed, task_id));
    key
}

/// A task as an item.
pub fn task_item(task: &Task) -> Item {
    let mut item = task_key(&task.user_id, task.id);
    item.extend(snapshot(task));
    item.insert(STATUS_TASK.into(), status_task(task.completed, task.id));
    item
}

/// The idempotency record of a created task: a snapshot of the task as first created, kept
/// until `expires_at`.
pub fn record_item(task: &Task, key: &str, expires_at: DateTime<Utc>) -> Item {
    let mut item = record_key(&task.user_id, key);
    item.extend(snapshot(task));
    item.insert(CREATED_TASK.into(), s(&task.id.to_string()));
    item.insert(EXPIRES_AT.into(), n(expires_at.timestamp()));
    item
}

/// The attributes a task and its idempotency record share.
fn snapshot(task: &Task) -> Item {
    let mut item = HashMap::from([
        ("title".into(), s(task.title.as_str())),
        ("completed".into(), AttributeValue::Bool(task.completed)),
        ("created_at".into(), s(&format_time(&task.created_at))),
        ("updated_at".into(), s(&format_time(&task.updated_at))),
        ("version".into(), n(task.version)),
    ]);
    if let Some(description) = &task.description {
        item.insert("description".into(), s(description.as_str()));
    }
    item
}

/// Reads a task item.
pub fn task_from_item(item: &Item) -> Result<Task, StoreError> {
    task_from(item, TASK_ID)
}

/// Reads the task an idempotency record holds.
pub fn task_from_record(item: &Item) -> Result<Task, StoreError> {
    task_from(item, CREATED_TASK)
}

/// Whether a record has expired (DynamoDB's TTL deletes expired items only eventually).
pub fn record_expired(item: &Item, now: DateTime<Utc>) -> bool {
    number(item, EXPIRES_AT).is_ok_and(|expires_at: i64| expires_at <= now.timestamp())
}

fn task_id(item: &Item, name: &str) -> Result<TaskId, StoreError> {
    string(item, name)?.parse().map_err(|()| corrupt(name))
}

fn task_from(item: &Item, id_attribute: &str) -> Result<Task, StoreError> {
    let description = match item.get("description") {
        None => None,
        Some(_) => Some(TaskDescription::parse(string(item, "description")?).map_err(bad)?),
    };
    Ok(Task {
        id: task_id(item, id_attribute)?,
        user_id: string(item, USER_ID)?.to_string(),
        title: TaskTitle::parse(string(item, "title")?).map_err(bad)?,
        description,
        completed: match item.get("completed") {
            Some(AttributeValue::Bool(completed)) => *completed,
            _ => return Err(corrupt("completed")),
        },
        created_at: time(item, "created_at")?,
        updated_at: time(item, "updated_at")?,
        version: number(item, "version")?,
    })
}

/// A string attribute.
pub fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

/// A number attribute.
pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn string<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => Err(corrupt(name)),
    }
}

/// A number attribute, parsed.
pub fn number<T: std::str::FromStr>(item: &Item, name: &str) -> Result<T, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value.parse().map_err(|_| corrupt(name)),
        _ => Err(corrupt(name)),
    }
}

fn time(item: &Item, name: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(string(item, name)?)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|_| corrupt(name))
}

/// A stored item whose `attribute` is missing or invalid.
pub fn corrupt(attribute: &str) -> StoreError {
    StoreError::Internal(format!("stored item has a missing or invalid {attribute}"))
}

fn bad(error: crate::tasks::ValidationError) -> StoreError {
    StoreError::Internal(format!("stored item is invalid: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::NewTask;

    const ID: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

    fn task(description: Option<&str>) -> Task {
        let new = NewTask {
            title: TaskTitle::parse("Buy milk").unwrap(),
            description: description.map(|d| TaskDescription::parse(d).unwrap()),
        };
        let now = DateTime::parse_from_rfc3339("2026-11-29T09:00:00.123Z")
            .unwrap()
            .with_timezone(&Utc);
        Task::new(ID.parse().unwrap(), "u1", new, now)
    }

    /// A task completed and changed since it was made.
    fn changed_task() -> Task {
        let mut task = task(Some("two\nlines"));
        task.completed = true;
        task.updated_at = task.created_at + chrono::Duration::milliseconds(86_400_456);
        task.version = 7;
        task
    }

    /// The error reading `item` as a task, which must name `attribute`.
    fn refusal(item: &Item, attribute: &str) {
        match task_from_item(item) {
            Err(StoreError::Internal(message)) => {
                assert!(message.contains(attribute), "{attribute}: {message}");
            }
            other => panic!("{attribute}: {other:?}"),
        }
    }

    #[test]
    fn tasks_round_trip_through_items() {
        for task in [task(None), task(Some("two\nlines")), changed_task()] {
            assert_eq!(task_from_item(&task_item(&task)).unwrap(), task);
        }
    }

    #[test]
    fn a_task_item_holds_its_keys_and_fields_as_typed_attributes() {
        let item = task_item(&changed_task());
        assert_eq!(item[USER_ID], s("u1"));
        assert_eq!(item[TASK_ID], s(ID));
        assert_eq!(item["title"], s("Buy milk"));
        assert_eq!(item["description"], s("two\nlines"));
        assert_eq!(item["completed"], AttributeValue::Bool(true));
        assert_eq!(item["created_at"], s("2026-11-29T09:00:00.123Z"));
        assert_eq!(item["updated_at"], s("2026-11-30T09:00:00.579Z"));
        assert_eq!(item["version"], n(7));
        assert_eq!(item[STATUS_TASK], s(&format!("completed#{ID}")));
        assert_eq!(item.len(), 9);
        let without = task_item(&task(None));
        assert!(
            !without.contains_key("description"),
            "no description, no attribute"
        );
    }

    #[test]
    fn records_hold_the_first_task_and_expire() {
        let task = changed_task();
        let expires = task.created_at + chrono::Duration::hours(24);
        let record = record_item(&task, "key-1", expires);
        assert_eq!(task_from_record(&record).unwrap(), task);
        assert_eq!(record[USER_ID], s("u1"));
        assert_eq!(record[TASK_ID], s("#idempotency#key-1"));
        assert_eq!(record[CREATED_TASK], s(ID));
        assert_eq!(record[EXPIRES_AT], n(expires.timestamp()));
        assert_eq!(record_key("u1", "key-1"), task_key_of(&record));
        assert!(
            !record.contains_key(STATUS_TASK),
            "records stay out of the status index"
        );
        assert!(
            task_from_item(&record).is_err(),
            "a record is never read as a task"
        );
        assert!(!record_expired(&record, task.created_at));
        assert!(!record_expired(
            &record,
            expires - chrono::Duration::seconds(1)
        ));
        assert!(record_expired(&record, expires));
    }

    /// The key attributes of `item`.
    fn task_key_of(item: &Item) -> Item {
        [USER_ID, TASK_ID]
            .map(|name| (name.to_string(), item[name].clone()))
            .into()
    }

    #[test]
    fn tasks_carry_their_state_and_id_in_the_index_key() {
        let mut task = task(None);
        assert_eq!(task_item(&task)[STATUS_TASK], s(&format!("pending#{ID}")));
        task.completed = true;
        assert_eq!(task_item(&task)[STATUS_TASK], s(&format!("completed#{ID}")));
        assert!(format!("pending#{ID}").starts_with(status_prefix(false)));
        assert!(format!("completed#{ID}").starts_with(status_prefix(true)));
        let start = index_start_key("u1", true, task.id);
        assert_eq!(start.len(), 3);
        assert_eq!(start[USER_ID], s("u1"));
        assert_eq!(start[TASK_ID], s(ID));
        assert_eq!(start[STATUS_TASK], s(&format!("completed#{ID}")));
    }

    #[test]
    fn each_kind_of_item_is_told_by_its_sort_key() {
        let task = task_item(&task(None));
        assert_eq!(item_kind(&task), ItemKind::Task);
        assert_eq!(
            item_kind(&record_key("u1", "k")),
            ItemKind::IdempotencyRecord
        );
        assert_eq!(item_kind(&counter_key("u1")), ItemKind::Counter);
        let revocation = Item::from([(TASK_ID.into(), s(REVOCATION_KEY))]);
        assert_eq!(item_kind(&revocation), ItemKind::Revocation);
        assert_eq!(
            item_kind(&Item::from([(TASK_ID.into(), s("#x"))])),
            ItemKind::Other
        );
        assert_eq!(item_kind(&Item::new()), ItemKind::Other);
    }

    #[test]
    fn the_counter_is_one_item_per_user() {
        let key = counter_key("u1");
        assert_eq!(key.len(), 2);
        assert_eq!(key[USER_ID], s("u1"));
        assert_eq!(key[TASK_ID], s("#count"));
        assert_ne!(counter_key("u1"), counter_key("u2"));
    }

    #[test]
    fn idempotency_records_and_counters_sort_below_every_task() {
        let record = record_key("u1", "~~~");
        let key = string(&record, TASK_ID).unwrap();
        assert!(key < LOWEST_TASK_KEY);
        assert!(string(&counter_key("u1"), TASK_ID).unwrap() < LOWEST_TASK_KEY);
        assert!("00000000000000000000000000" >= LOWEST_TASK_KEY);
    }

    #[test]
    fn an_item_missing_an_attribute_is_refused_by_name() {
        for attribute in [
            USER_ID,
            TASK_ID,
            "title",
            "completed",
            "created_at",
            "updated_at",
            "version",
        ] {
            let mut item = task_item(&task(None));
            item.remove(attribute);
            refusal(&item, attribute);
        }
    }

    #[test]
    fn an_attribute_of_the_wrong_type_is_refused() {
        for (attribute, value) in [
            (USER_ID, n(1)),
            (TASK_ID, n(1)),
            ("title", AttributeValue::Bool(true)),
            ("description", n(1)),
            ("completed", s("true")),
            ("created_at", n(1_796_000_000)),
            ("version", s("7")),
        ] {
            let mut item = task_item(&task(Some("d")));
            item.insert(attribute.into(), value);
            refusal(&item, attribute);
        }
    }

    #[test]
    fn bad_ids_times_numbers_and_fields_are_refused() {
        for (attribute, value) in [
            (TASK_ID, s("not-a-ulid")),
            (TASK_ID, s(&ID.to_lowercase())),
            ("created_at", s("yesterday")),
            ("updated_at", s("2026-11-29T09:00:00")),
            ("version", n("one")),
            ("version", n(-1)),
            ("version", n(1.5)),
        ] {
            let mut item = task_item(&task(None));
            item.insert(attribute.into(), value);
            refusal(&item, attribute);
        }
        for (attribute, value) in [("title", s("   ")), ("description", s(&"x".repeat(2001)))] {
            let mut item = task_item(&task(None));
            item.insert(attribute.into(), value);
            refusal(&item, "invalid");
        }
        let mut record = record_item(&task(None), "k", Utc::now());
        record.insert(CREATED_TASK.into(), s("not-a-ulid"));
        assert!(matches!(
            task_from_record(&record),
            Err(StoreError::Internal(_))
        ));
    }
}
