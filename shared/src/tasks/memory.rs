//! The embedded in-memory store: the default of `taskgate-local`, with the same conditional
//! semantics as the DynamoDB store.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Created, Cursor, ListQuery, Page, StoreError, Task, TaskChanges, TaskId, TaskStore};

/// Tasks kept in this process's memory, partitioned by user id.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    tasks: HashMap<String, BTreeMap<TaskId, Task>>,
    /// (user id, idempotency key) -> the task as first created.
    idempotency: HashMap<(String, String), Task>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // No code path panics while holding the lock, but a poisoned lock still holds valid data.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl State {
    /// The user's task, if it exists and has the expected version.
    fn existing(
        &mut self,
        user_id: &str,
        task_id: TaskId,
        expected_version: Option<u64>,
    ) -> Result<&mut Task, StoreError> {
        let task = self
            .tasks
            .get_mut(user_id)
            .and_then(|tasks| tasks.get_mut(&task_id))
            .ok_or(StoreError::NotFound)?;
        match expected_version {
            Some(version) if version != task.version => Err(StoreError::VersionMismatch),
            _ => Ok(task),
        }
    }
}

#[async_trait]
impl TaskStore for MemoryStore {
    async fn create(
        &self,
        task: Task,
        idempotency_key: Option<&str>,
    ) -> Result<Created, StoreError> {
        let mut state = self.state();
        let record_key = idempotency_key.map(|key| (task.user_id.clone(), key.to_string()));
        if let Some(first) = record_key.as_ref().and_then(|k| state.idempotency.get(k)) {
            if first.title != task.title || first.description != task.description {
                return Err(StoreError::IdempotencyConflict);
            }
            return Ok(Created {
                task: first.clone(),
                replayed: true,
            });
        }
        let tasks = state.tasks.entry(task.user_id.clone()).or_default();
        if tasks.contains_key(&task.id) {
            return Err(StoreError::Internal("task id already exists".into()));
        }
        tasks.insert(task.id, task.clone());
        if let Some(key) = record_key {
            state.idempotency.insert(key, task.clone());
        }
        Ok(Created {
            task,
            replayed: false,
        })
    }

    async fn get(&self, user_id: &str, task_id: TaskId) -> Result<Task, StoreError> {
        let mut state = self.state();
        state
            .existing(user_id, task_id, None)
            .map(|task| task.clone())
    }

    async fn list(&self, user_id: &str, query: ListQuery) -> Result<Page, StoreError> {
        let state = self.state();
        let Some(tasks) = state.tasks.get(user_id) else {
            return Ok(Page {
                items: Vec::new(),
                next_cursor: None,
            });
        };
        let newest_first = tasks.values().rev();
        let mut matching = newest_first
            .filter(|task| query.after.is_none_or(|Cursor(after)| task.id < after))
            .filter(|task| query.status.admits(task.completed));
        let items: Vec<Task> = matching.by_ref().take(query.limit).cloned().collect();
        let more = matching.next().is_some();
        let next_cursor = more.then(|| Cursor(items[items.len() - 1].id));
        Ok(Page { items, next_cursor })
    }

    async fn update(
        &self,
        user_id: &str,
        task_id: TaskId,
        changes: &TaskChanges,
        expected_version: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<Task, StoreError> {
        let mut state = self.state();
        let task = state.existing(user_id, task_id, expected_version)?;
        task.title = changes.title.clone();
        task.description = changes.description.clone();
        task.completed = changes.completed.unwrap_or(task.completed);
        task.updated_at = now;
        task.version += 1;
        Ok(task.clone())
    }

    async fn delete(
        &self,
        user_id: &str,
        task_id: TaskId,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        state.existing(user_id, task_id, expected_version)?;
        if let Some(tasks) = state.tasks.get_mut(user_id) {
            tasks.remove(&task_id);
        }
        Ok(())
    }

    async fn toggle_completed(
        &self,
        user_id: &str,
        task_id: TaskId,
        expected_version: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<Task, StoreError> {
        let mut state = self.state();
        let task = state.existing(user_id, task_id, expected_version)?;
        task.completed = !task.completed;
        task.updated_at = now;
        task.version += 1;
        Ok(task.clone())
    }
}
