//! The `TaskStore` trait: where tasks are kept. Every method takes the authenticated user id as
//! the partition key, never a request field. Writes are conditional, with DynamoDB's semantics:
//! a create never overwrites; update, delete and toggle of a missing task are `NotFound`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Cursor, StatusFilter, Task, TaskChanges, TaskId};

/// Why a store call did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("task not found")]
    NotFound,
    #[error("the task's version does not match the expected one")]
    VersionMismatch,
    #[error("the idempotency key was already used with a different request")]
    IdempotencyConflict,
    /// The user already has as many tasks as the quota allows; nothing was written.
    #[error("the user's task quota is reached")]
    QuotaExceeded,
    #[error("the store is throttled or unavailable")]
    Unavailable,
    /// In `iam` isolation, a user id that IAM cannot carry as a session tag value.
    #[error("the user id cannot be carried by an IAM session tag")]
    UserNotIsolable,
    #[error("store failure: {0}")]
    Internal(String),
}

/// The result of a create: the task, and whether it was created earlier under the same
/// idempotency key (a replay creates nothing).
#[derive(Debug, Clone)]
pub struct Created {
    pub task: Task,
    pub replayed: bool,
}

/// How long an idempotency key is honoured: a retry within it returns the first result.
pub const IDEMPOTENCY_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// A page size: 1 to [`PageLimit::MAX`] tasks, nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit(usize);

impl PageLimit {
    /// The largest page.
    pub const MAX: usize = 100;
    /// The page size when none is asked for.
    pub const DEFAULT: Self = Self(50);

    /// `limit`, if it is a page size.
    pub fn new(limit: usize) -> Option<Self> {
        (1..=Self::MAX).contains(&limit).then_some(Self(limit))
    }

    pub fn get(self) -> usize {
        self.0
    }
}

/// One page of a list request.
#[derive(Debug, Clone, Copy)]
pub struct ListQuery {
    pub status: StatusFilter,
    pub limit: PageLimit,
    /// Start after this task (exclusive), newest first.
    pub after: Option<Cursor>,
}

/// Up to `limit` tasks, newest first, and where the next page starts if there may be one. Its
/// `Serialize` is the list route's JSON: `{"items": [...], "next_cursor": "..." | null}`.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub items: Vec<Task>,
    pub next_cursor: Option<Cursor>,
}

/// Where tasks are kept. `expected_version` is the `If-Match` version, when there is one.
#[async_trait]
pub trait TaskStore: Send + Sync {
    /// Stores a new task; never overwrites one. With an idempotency key, a repeat with the
    /// same title and description returns the first result; another request is a conflict.
    /// A user at the store's task quota gets `QuotaExceeded` (a replay still succeeds).
    async fn create(
        &self,
        task: Task,
        idempotency_key: Option<&str>,
    ) -> Result<Created, StoreError>;

    /// One of the user's tasks.
    async fn get(&self, user_id: &str, task_id: TaskId) -> Result<Task, StoreError>;

    /// A page of the user's tasks, newest first.
    async fn list(&self, user_id: &str, query: ListQuery) -> Result<Page, StoreError>;

    /// Replaces title and description (and `completed` when given); bumps the version.
    async fn update(
        &self,
        user_id: &str,
        task_id: TaskId,
        changes: &TaskChanges,
        expected_version: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<Task, StoreError>;

    /// Deletes a task.
    async fn delete(
        &self,
        user_id: &str,
        task_id: TaskId,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError>;

    /// Flips `completed` atomically; bumps the version.
    async fn toggle_completed(
        &self,
        user_id: &str,
        task_id: TaskId,
        expected_version: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<Task, StoreError>;
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::tasks::{NewTask, TaskTitle};

    #[test]
    fn a_page_is_sent_as_items_then_the_encoded_next_cursor() {
        let empty = Page {
            items: Vec::new(),
            next_cursor: None,
        };
        assert_eq!(
            serde_json::to_string(&empty).unwrap(),
            r#"{"items":[],"next_cursor":null}"#
        );
        let new = NewTask {
            title: TaskTitle::parse("Buy milk").unwrap(),
            description: None,
        };
        let time = DateTime::from_timestamp_millis(1_796_037_021_450).unwrap();
        let task = Task::new(
            "01KB5W7T3E6S9X0N8F2Q4R7M1C".parse().unwrap(),
            "u1",
            new,
            time,
        );
        let cursor = Cursor(task.id);
        let page = Page {
            items: vec![task.clone()],
            next_cursor: Some(cursor),
        };
        assert_eq!(
            serde_json::to_string(&page).unwrap(),
            format!(
                r#"{{"items":[{}],"next_cursor":"{}"}}"#,
                serde_json::to_string(&task).unwrap(),
                cursor.encode()
            )
        );
    }
}
