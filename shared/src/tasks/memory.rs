//! The embedded in-memory store: the default of `taskgate-local`, with the same conditional
//! semantics as the DynamoDB store, the same 24-hour idempotency window, and bounded maps; it
//! keeps the users' revocation states too, as the DynamoDB store does in the same table.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::config::DEFAULT_TASK_QUOTA;
use crate::revocation::{MemoryRevocations, Revocation, RevocationState, RevocationStore};

use super::{
    Created, Cursor, IDEMPOTENCY_WINDOW, ListQuery, Page, StoreError, Task, TaskChanges, TaskId,
    TaskStore,
};

/// Most tasks the store holds, all users together; past it creates are `Unavailable`.
const MAX_TASKS: usize = 1_000_000;
/// Most idempotency records it holds; expired ones are dropped first.
const MAX_RECORDS: usize = 100_000;

/// Tasks kept in this process's memory, partitioned by user id.
pub struct MemoryStore {
    state: Mutex<State>,
    /// Tasks one user may have.
    quota: u64,
    revocations: MemoryRevocations,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            state: Mutex::default(),
            quota: DEFAULT_TASK_QUOTA,
            revocations: MemoryRevocations::default(),
        }
    }
}

#[derive(Default)]
struct State {
    /// Each user's tasks by id.
    tasks: HashMap<String, BTreeMap<TaskId, Task>>,
    /// How many tasks `tasks` holds.
    task_count: usize,
    /// (user id, idempotency key) -> the task as first created, honoured for
    /// [`IDEMPOTENCY_WINDOW`] from its creation.
    idempotency: HashMap<(String, String), Task>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The store, allowing each user at most `quota` tasks.
    pub fn with_quota(self, quota: u64) -> Self {
        Self { quota, ..self }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // No code path panics while holding the lock, but a poisoned lock still holds valid data.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl State {
    /// Room for one more task and, with `record`, one more idempotency record at `now`.
    fn make_room(&mut self, record: bool, now: DateTime<Utc>) -> Result<(), StoreError> {
        if record && self.idempotency.len() >= MAX_RECORDS {
            self.idempotency.retain(|_, first| !expired(first, now));
        }
        if self.task_count >= MAX_TASKS || record && self.idempotency.len() >= MAX_RECORDS {
            tracing::warn!("the in-memory store is full");
            return Err(StoreError::Unavailable);
        }
        Ok(())
    }

    /// Keeps a new task under its user, unless the user has `quota` tasks already.
    fn insert(&mut self, task: Task, quota: u64) -> Result<(), StoreError> {
        let held = self.tasks.get(&task.user_id).map_or(0, BTreeMap::len);
        if held as u64 >= quota {
            return Err(StoreError::QuotaExceeded);
        }
        let tasks = self.tasks.entry(task.user_id.clone()).or_default();
        let Entry::Vacant(slot) = tasks.entry(task.id) else {
            return Err(StoreError::Internal("task id already exists".into()));
        };
        slot.insert(task);
        self.task_count += 1;
        Ok(())
    }

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
        let live_record = record_key
            .as_ref()
            .and_then(|k| state.idempotency.get(k))
            .filter(|first| !expired(first, task.created_at));
        if let Some(first) = live_record {
            if first.title != task.title || first.description != task.description {
                return Err(StoreError::IdempotencyConflict);
            }
            return Ok(Created {
                task: first.clone(),
                replayed: true,
            });
        }
        state.make_room(record_key.is_some(), task.created_at)?;
        state.insert(task.clone(), self.quota)?;
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
        let items: Vec<Task> = matching.by_ref().take(query.limit.get()).cloned().collect();
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
            if tasks.is_empty() {
                state.tasks.remove(user_id);
            }
            state.task_count -= 1;
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

#[async_trait]
impl RevocationStore for MemoryStore {
    async fn revocation_state(&self, user_id: &str) -> Result<RevocationState, StoreError> {
        self.revocations.revocation_state(user_id).await
    }

    async fn revoke(
        &self,
        user_id: &str,
        revocation: &Revocation,
    ) -> Result<RevocationState, StoreError> {
        self.revocations.revoke(user_id, revocation).await
    }
}

/// Whether the idempotency record of `first` no longer holds at `now`.
fn expired(first: &Task, now: DateTime<Utc>) -> bool {
    now >= first.created_at + IDEMPOTENCY_WINDOW
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::{NewTask, TaskTitle};

    fn task(store_time: DateTime<Utc>) -> Task {
        let ids = Mutex::new(ulid::Generator::new());
        let new = NewTask {
            title: TaskTitle::parse("once").unwrap(),
            description: None,
        };
        Task::new(TaskId::new(&ids, store_time), "user", new, store_time)
    }

    #[tokio::test]
    async fn an_idempotency_key_holds_for_24_hours_as_in_dynamodb() {
        let store = MemoryStore::new();
        let start = Utc::now();
        let first = store.create(task(start), Some("k")).await.unwrap();
        let within = start + IDEMPOTENCY_WINDOW - chrono::TimeDelta::seconds(1);
        let replay = store.create(task(within), Some("k")).await.unwrap();
        assert!(replay.replayed);
        assert_eq!(replay.task.id, first.task.id);
        let after = store
            .create(task(start + IDEMPOTENCY_WINDOW), Some("k"))
            .await
            .unwrap();
        assert!(!after.replayed, "the window has passed: a new task");
        assert_ne!(after.task.id, first.task.id);
    }

    #[tokio::test]
    async fn expired_records_make_room_and_deleted_users_leave_no_trace() {
        let store = MemoryStore::new();
        let old = Utc::now() - IDEMPOTENCY_WINDOW;
        {
            let mut state = store.state();
            for n in 0..MAX_RECORDS {
                state
                    .idempotency
                    .insert(("user".into(), n.to_string()), task(old));
            }
        }
        let created = store.create(task(Utc::now()), Some("new")).await.unwrap();
        assert_eq!(
            store.state().idempotency.len(),
            1,
            "expired records dropped"
        );
        store.delete("user", created.task.id, None).await.unwrap();
        let state = store.state();
        assert!(state.tasks.is_empty());
        assert_eq!(state.task_count, 0);
    }
}
