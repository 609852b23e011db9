//! The DynamoDB store: one table, partition key `user_id`, sort key `task_id`, and a local
//! secondary index by state (see [`item`](self) for the item layout). Every write is
//! conditional, so it has the same semantics as the in-memory store; the behaviour suite in
//! `tests/` runs against both. Creates and deletes also count the user's tasks, in the same
//! transaction, against the quota. Each user's revocation state is an item of the same
//! partition ([`revocation`](self)).

mod backoff;
mod client_metrics;
mod error;
pub mod item;
mod revocation;
mod tenant;

use std::time::Duration;

use async_trait::async_trait;
use aws_config::{ConfigLoader, SdkConfig};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnConsumedCapacity, ReturnValue,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use futures_util::future::{self, BoxFuture, Shared};
use tracing::instrument::WithSubscriber;

use self::backoff::Backoff;
use self::error::unexpected;
use self::item::{
    EXPIRES_AT, Item, LOWEST_TASK_KEY, STATUS_INDEX, STATUS_TASK, TASK_COUNT, TASK_ID, USER_ID,
    counter_key, index_start_key, n, record_expired, record_item, record_key, s, status_prefix,
    status_task, task_from_item, task_from_record, task_item, task_key,
};
use super::model::format_time;
use super::{
    Created, Cursor, IDEMPOTENCY_WINDOW, ListQuery, Page, StatusFilter, StoreError, Task,
    TaskChanges, TaskId, TaskStore,
};
use crate::config::{ConfigError, DEFAULT_TASK_QUOTA};
use crate::metrics::{self, Metric};

/// How long the cold-start call that opens the connection may take.
pub const PRIME_TIMEOUT: Duration = Duration::from_secs(1);
/// Conditional writes a toggle tries (with backoff) before giving up as `Unavailable`.
const MAX_TOGGLE_ATTEMPTS: u32 = 10;
/// Transactions a create or delete tries (with backoff) before giving up as `Unavailable`:
/// they conflict when the same user's counter is in another transaction at that moment.
const MAX_TRANSACTION_ATTEMPTS: u32 = 6;

/// The attribute names every expression uses (some are DynamoDB reserved words).
const NAMES: [(&str, &str); 10] = [
    ("#user_id", USER_ID),
    ("#task_id", TASK_ID),
    ("#title", "title"),
    ("#description", "description"),
    ("#completed", "completed"),
    ("#updated_at", "updated_at"),
    ("#version", "version"),
    ("#expires_at", EXPIRES_AT),
    ("#status_task", STATUS_TASK),
    ("#task_count", TASK_COUNT),
];

pub use revocation::{REVOCATION_READ_ATTRIBUTES, REVOCATION_WRITE_ATTRIBUTES};
pub use tenant::{
    ItemAccess, MAX_CONCURRENT_ASSUME_ROLE, TenantClients, USER_TAG, prime_sts, session_policy,
};

/// Tasks in a DynamoDB table.
pub struct DynamoDbStore {
    /// The function's own credentials: the cold-start call, and data in `app` isolation.
    client: Client,
    /// Per-user credentials for data, in `iam` isolation.
    tenants: Option<TenantClients>,
    table: String,
    /// Tasks one user may have.
    quota: u64,
    /// The cold-start call opening the connection, awaited before the first request's call.
    primed: Shared<BoxFuture<'static, ()>>,
}

impl DynamoDbStore {
    /// The store for `table` on the shared SDK settings: builds the client (no network call)
    /// and starts priming the connection in the background ([`Self::primed`]); needs a Tokio
    /// runtime.
    pub fn connect(config: &SdkConfig, table: &str) -> Self {
        let store = Self::new(Client::new(config), table);
        let priming =
            tokio::spawn(prime(store.client.clone(), table.to_string()).with_current_subscriber());
        Self {
            primed: priming.map(|_| ()).boxed().shared(),
            ..store
        }
    }

    /// The store for `table` with the settings of `loader`; see [`Self::connect`].
    pub async fn from_loader(loader: ConfigLoader, table: &str) -> Result<Self, ConfigError> {
        Ok(Self::connect(&crate::aws::load(loader).await?, table))
    }

    /// A store on an existing client (nothing to prime), which from then on also counts its
    /// retries and throttles for the invocation's metrics.
    pub fn new(client: Client, table: &str) -> Self {
        let client = Client::from_conf(
            client
                .config()
                .to_builder()
                .interceptor(client_metrics::ClientMetrics)
                .build(),
        );
        Self {
            client,
            tenants: None,
            table: table.to_string(),
            quota: DEFAULT_TASK_QUOTA,
            primed: future::ready(()).boxed().shared(),
        }
    }

    /// Waits until the cold-start call has opened the connection (or given up): the first
    /// request waits for it, so that it reuses that connection rather than opening another.
    pub async fn primed(&self) {
        self.primed.clone().await;
    }

    /// The store, allowing each user at most `quota` tasks.
    pub fn with_quota(self, quota: u64) -> Self {
        Self { quota, ..self }
    }

    /// The store, acting for each user with that user's tenant credentials only.
    pub fn isolated(self, tenants: TenantClients) -> Self {
        Self {
            tenants: Some(tenants),
            ..self
        }
    }

    /// The client whose credentials act for `user`: the tenant client in `iam` isolation (never
    /// the function's own credentials), else the shared one.
    async fn client_for(&self, user: &str) -> Result<Client, StoreError> {
        self.primed().await;
        match &self.tenants {
            Some(tenants) => tenants.client(user).await,
            None => Ok(self.client.clone()),
        }
    }

    /// A strongly consistent read of one item.
    async fn read(&self, client: &Client, key: Item) -> Result<Option<Item>, StoreError> {
        let output = client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(unexpected)?;
        Ok(output.item)
    }

    /// The user's task, strongly consistent.
    async fn read_task(
        &self,
        client: &Client,
        user_id: &str,
        task_id: TaskId,
    ) -> Result<Task, StoreError> {
        let item = self.read(client, task_key(user_id, task_id)).await?;
        task_from_item(&item.ok_or(StoreError::NotFound)?)
    }

    /// Creates the task, counted against the quota, and with an idempotency key its record,
    /// in one transaction. When the record exists (or a concurrent create holds it), the first
    /// result is read back; a replay is never refused for the quota. A transaction lost to a
    /// concurrent one on the same record or counter is tried again, with backoff.
    async fn create_counted(
        &self,
        client: &Client,
        task: &Task,
        key: Option<&str>,
    ) -> Result<Created, StoreError> {
        let stored = task_from_item(&task_item(task))?;
        let mut backoff = Backoff::new(MAX_TRANSACTION_ATTEMPTS);
        loop {
            let sent = client
                .transact_write_items()
                .set_transact_items(Some(self.create_items(task, key, Utc::now())?))
                .send()
                .await;
            let cancelled = match sent {
                Ok(_) => {
                    return Ok(Created {
                        task: stored,
                        replayed: false,
                    });
                }
                Err(error) => CreateCancelled::read(&cancellation_codes(error)?, key.is_some())?,
            };
            if let Some(key) = key
                && (cancelled.record_held || cancelled.over_quota)
                && let Some(first) = self.replay(client, task, key).await?
            {
                return Ok(first);
            }
            if cancelled.over_quota {
                return Err(StoreError::QuotaExceeded);
            }
            if !backoff.retry().await {
                tracing::warn!("create still contended after {MAX_TRANSACTION_ATTEMPTS} attempts");
                return Err(StoreError::Unavailable);
            }
        }
    }

    /// The items of a create transaction at `now`, in this order: the task (never overwriting
    /// one), with a `key` its idempotency record (unless a live one exists), and the user's
    /// counter (incremented while under the quota).
    fn create_items(
        &self,
        task: &Task,
        key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let put_task = Put::builder()
            .table_name(&self.table)
            .set_item(Some(task_item(task)))
            .condition_expression("attribute_not_exists(#task_id)")
            .expression_attribute_names("#task_id", TASK_ID)
            .build()
            .map_err(internal)?;
        let mut items = vec![TransactWriteItem::builder().put(put_task).build()];
        if let Some(key) = key {
            let put_record = Put::builder()
                .table_name(&self.table)
                .set_item(Some(record_item(task, key, now + IDEMPOTENCY_WINDOW)))
                .condition_expression("attribute_not_exists(#task_id) OR #expires_at <= :now")
                .expression_attribute_names("#task_id", TASK_ID)
                .expression_attribute_names("#expires_at", EXPIRES_AT)
                .expression_attribute_values(":now", n(now.timestamp()))
                .build()
                .map_err(internal)?;
            items.push(TransactWriteItem::builder().put(put_record).build());
        }
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(counter_key(&task.user_id)))
            .update_expression("SET #task_count = if_not_exists(#task_count, :zero) + :one")
            .condition_expression("attribute_not_exists(#task_count) OR #task_count < :quota")
            .expression_attribute_names("#task_count", TASK_COUNT)
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":quota", n(self.quota))
            .build()
            .map_err(internal)?;
        items.push(TransactWriteItem::builder().update(count).build());
        Ok(items)
    }

    /// The first result of an idempotent create: the task the user's live record for `key`
    /// holds, or a conflict when that came from another request; `None` without a live record.
    async fn replay(
        &self,
        client: &Client,
        task: &Task,
        key: &str,
    ) -> Result<Option<Created>, StoreError> {
        let record = self.read(client, record_key(&task.user_id, key)).await?;
        let Some(record) = record.filter(|r| !record_expired(r, Utc::now())) else {
            return Ok(None);
        };
        let first = task_from_record(&record)?;
        if first.title != task.title || first.description != task.description {
            return Err(StoreError::IdempotencyConflict);
        }
        Ok(Some(Created {
            task: first,
            replayed: true,
        }))
    }

    /// One Query of the user's tasks, newest first, never idempotency records or counters: on
    /// the table for all tasks, on [`STATUS_INDEX`] for one state, so it reads only what it
    /// returns.
    async fn query_page(
        &self,
        client: &Client,
        user_id: &str,
        status: StatusFilter,
        page_size: usize,
        start: Option<Item>,
    ) -> Result<(Vec<Task>, Option<Item>), StoreError> {
        let request = client
            .query()
            .table_name(&self.table)
            .expression_attribute_names("#user_id", USER_ID)
            .expression_attribute_values(":user_id", s(user_id))
            .scan_index_forward(false)
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .limit(i32::try_from(page_size).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start);
        let request = match status.only() {
            None => request
                .key_condition_expression("#user_id = :user_id AND #task_id >= :lowest")
                .expression_attribute_names("#task_id", TASK_ID)
                .expression_attribute_values(":lowest", s(LOWEST_TASK_KEY)),
            Some(completed) => request
                .index_name(STATUS_INDEX)
                .key_condition_expression(
                    "#user_id = :user_id AND begins_with(#status_task, :state)",
                )
                .expression_attribute_names("#status_task", STATUS_TASK)
                .expression_attribute_values(":state", s(status_prefix(completed))),
        };
        let output = request.send().await.map_err(unexpected)?;
        tracing::debug!(
            items = output.count(),
            read_units = output.consumed_capacity().and_then(|c| c.capacity_units()),
            "list query"
        );
        let tasks = output
            .items()
            .iter()
            .map(task_from_item)
            .collect::<Result<_, _>>()?;
        Ok((tasks, output.last_evaluated_key))
    }

    /// One conditional toggle: `completed` becomes `!current.completed` if the task is still
    /// at `current.version`. `Err(Ok(task))` is the task as it is now, when it changed meanwhile.
    async fn toggle_from(
        &self,
        client: &Client,
        current: &Task,
        now: DateTime<Utc>,
    ) -> Result<Task, Result<Task, StoreError>> {
        let result = client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(task_key(&current.user_id, current.id)))
            .update_expression(
                "SET #completed = :completed, #status_task = :status_task, #updated_at = :now, \
                 #version = :next",
            )
            .condition_expression("attribute_exists(#task_id) AND #version = :current")
            .set_expression_attribute_names(Some(names(&[
                "#task_id",
                "#completed",
                "#status_task",
                "#updated_at",
                "#version",
            ])))
            .expression_attribute_values(":completed", AttributeValue::Bool(!current.completed))
            .expression_attribute_values(
                ":status_task",
                status_task(!current.completed, current.id),
            )
            .expression_attribute_values(":now", s(&format_time(&now)))
            .expression_attribute_values(":next", n(current.version + 1))
            .expression_attribute_values(":current", n(current.version))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => returned_task(output.attributes()).map_err(Err),
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    match failed.item() {
                        Some(item) => Err(task_from_item(item)),
                        None => Err(Err(StoreError::NotFound)),
                    }
                }
                _ => Err(Err(unexpected(error))),
            },
        }
    }
}

#[async_trait]
impl TaskStore for DynamoDbStore {
    async fn create(
        &self,
        task: Task,
        idempotency_key: Option<&str>,
    ) -> Result<Created, StoreError> {
        let client = self.client_for(&task.user_id).await?;
        self.create_counted(&client, &task, idempotency_key).await
    }

    async fn get(&self, user_id: &str, task_id: TaskId) -> Result<Task, StoreError> {
        let client = self.client_for(user_id).await?;
        self.read_task(&client, user_id, task_id).await
    }

    async fn list(&self, user_id: &str, query: ListQuery) -> Result<Page, StoreError> {
        // One more than the limit tells whether another matching task follows. Every item a
        // Query reads matches, so one Query fills the page; another follows only when the
        // first stopped at DynamoDB's 1 MB per response.
        let wanted = query.limit.get() + 1;
        let client = self.client_for(user_id).await?;
        let mut items = Vec::new();
        let mut start = query.after.map(|Cursor(id)| match query.status.only() {
            None => task_key(user_id, id),
            Some(completed) => index_start_key(user_id, completed, id),
        });
        loop {
            let (tasks, last) = self
                .query_page(&client, user_id, query.status, wanted - items.len(), start)
                .await?;
            items.extend(tasks);
            start = last;
            if items.len() >= wanted || start.is_none() {
                break;
            }
        }
        let more = items.len() > query.limit.get();
        items.truncate(query.limit.get());
        let next_cursor = items.last().filter(|_| more).map(|task| Cursor(task.id));
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
        let mut set = vec![
            "#title = :title",
            "#updated_at = :now",
            "#version = #version + :one",
        ];
        let mut used = vec![
            "#task_id",
            "#title",
            "#updated_at",
            "#version",
            "#description",
        ];
        let mut values = Item::from([
            (":title".into(), s(changes.title.as_str())),
            (":now".into(), s(&format_time(&now))),
            (":one".into(), n(1)),
        ]);
        if let Some(description) = &changes.description {
            set.push("#description = :description");
            values.insert(":description".into(), s(description.as_str()));
        }
        if let Some(completed) = changes.completed {
            set.push("#completed = :completed");
            set.push("#status_task = :status_task");
            used.extend(["#completed", "#status_task"]);
            values.insert(":completed".into(), AttributeValue::Bool(completed));
            values.insert(":status_task".into(), status_task(completed, task_id));
        }
        let mut expression = format!("SET {}", set.join(", "));
        if changes.description.is_none() {
            expression.push_str(" REMOVE #description");
        }
        let mut condition = "attribute_exists(#task_id)".to_string();
        if let Some(version) = expected_version {
            condition.push_str(" AND #version = :expected");
            values.insert(":expected".into(), n(version));
        }
        let result = self
            .client_for(user_id)
            .await?
            .update_item()
            .table_name(&self.table)
            .set_key(Some(task_key(user_id, task_id)))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names(&used)))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => returned_task(output.attributes()),
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    Err(missing_or_changed(failed.item().is_some()))
                }
                _ => Err(unexpected(error)),
            },
        }
    }

    /// Deletes the task and counts it off the user's quota, in one transaction.
    async fn delete(
        &self,
        user_id: &str,
        task_id: TaskId,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError> {
        let client = self.client_for(user_id).await?;
        let mut condition = "attribute_exists(#task_id)".to_string();
        let mut used = vec!["#task_id"];
        let mut values = None;
        if let Some(version) = expected_version {
            condition.push_str(" AND #version = :expected");
            used.push("#version");
            values = Some(Item::from([(":expected".into(), n(version))]));
        }
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(task_key(user_id, task_id)))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names(&used)))
            .set_expression_attribute_values(values)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(internal)?;
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(counter_key(user_id)))
            .update_expression("ADD #task_count :minus_one")
            .expression_attribute_names("#task_count", TASK_COUNT)
            .expression_attribute_values(":minus_one", n(-1))
            .build()
            .map_err(internal)?;
        let mut backoff = Backoff::new(MAX_TRANSACTION_ATTEMPTS);
        loop {
            let result = client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().delete(delete.clone()).build())
                .transact_items(TransactWriteItem::builder().update(count.clone()).build())
                .send()
                .await;
            let Err(error) = result else {
                return Ok(());
            };
            // The task's old item comes back when its condition failed on a version mismatch.
            let exists = match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
                    .cancellation_reasons()
                    .first()
                    .and_then(|r| r.item())
                    .is_some(),
                _ => false,
            };
            // The counter's update has no condition: only the task's can fail.
            if cancellation_codes(error)?.first() == Some(&Code::Failed) {
                return Err(missing_or_changed(exists));
            }
            if !backoff.retry().await {
                tracing::warn!("delete still contended after {MAX_TRANSACTION_ATTEMPTS} attempts");
                return Err(StoreError::Unavailable);
            }
        }
    }

    /// Reads the task, then writes the flipped state on the condition that its version has not
    /// changed; on a conflict the failed write returns the current task, and it tries again
    /// from there (or reports the `If-Match` mismatch).
    async fn toggle_completed(
        &self,
        user_id: &str,
        task_id: TaskId,
        expected_version: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<Task, StoreError> {
        let client = self.client_for(user_id).await?;
        let mut current = self.read_task(&client, user_id, task_id).await?;
        let mut backoff = Backoff::new(MAX_TOGGLE_ATTEMPTS);
        loop {
            if expected_version.is_some_and(|version| version != current.version) {
                return Err(StoreError::VersionMismatch);
            }
            match self.toggle_from(&client, &current, now).await {
                Ok(task) => return Ok(task),
                Err(Ok(changed)) => current = changed,
                Err(Err(error)) => return Err(error),
            }
            if !backoff.retry().await {
                tracing::warn!("toggle still contended after {MAX_TOGGLE_ATTEMPTS} attempts");
                return Err(StoreError::Unavailable);
            }
        }
    }
}

/// How each item of a cancelled transaction fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Code {
    /// Its condition held (or it was not evaluated).
    None,
    /// Its condition failed.
    Failed,
    /// Another transaction or write held the item at that moment.
    Conflict,
}

/// What a cancelled create transaction says about its items (see
/// [`DynamoDbStore::create_items`] for their order).
#[derive(Debug, PartialEq, Eq)]
struct CreateCancelled {
    /// The record's condition failed or another transaction held it: a create with the same
    /// key may have stored the first result.
    record_held: bool,
    /// The counter's condition failed: the user has as many tasks as the quota allows.
    over_quota: bool,
}

impl CreateCancelled {
    /// Reads the items' `codes`; `with_record` when the transaction had a record. A failed
    /// task condition means its id is taken, which never happens to a new ULID: an error.
    fn read(codes: &[Code], with_record: bool) -> Result<Self, StoreError> {
        let (Some(&task), Some(&counter)) = (codes.first(), codes.last()) else {
            return Err(internal("create transaction cancelled without reasons"));
        };
        if task == Code::Failed {
            return Err(id_taken());
        }
        Ok(Self {
            record_held: with_record && codes.get(1).is_some_and(|code| *code != Code::None),
            over_quota: counter == Code::Failed,
        })
    }
}

/// Connections a cold start opens: the first request of a route that only reads makes two
/// calls at once (its own read and the revocation state's), each on a connection of its own.
const PRIMED_CONNECTIONS: usize = 2;

/// Opens the connections (DNS, TCP, TLS, credentials) before the first request needs them, with
/// [`PRIMED_CONNECTIONS`] concurrent `DescribeTable`s bounded by [`PRIME_TIMEOUT`]. A failure is
/// only logged: the first request then pays for a connection, or reports the problem itself.
async fn prime(client: Client, table: String) {
    let calls = (0..PRIMED_CONNECTIONS).map(|_| client.describe_table().table_name(&table).send());
    match tokio::time::timeout(PRIME_TIMEOUT, future::join_all(calls)).await {
        Ok(results) => match results.into_iter().find_map(Result::err) {
            None => tracing::debug!(table = %table, "DynamoDB connections primed"),
            Some(error) => tracing::warn!(
                table = %table,
                error = %DisplayErrorContext(&error),
                "priming the DynamoDB connections failed"
            ),
        },
        Err(_) => tracing::warn!(table = %table, "priming the DynamoDB connections timed out"),
    }
}

/// The per-item outcome of a cancelled transaction; any other error (and throttling of an item)
/// is mapped as [`unexpected`].
fn cancellation_codes(
    error: SdkError<TransactWriteItemsError, HttpResponse>,
) -> Result<Vec<Code>, StoreError> {
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        error.as_service_error()
    else {
        return Err(unexpected(error));
    };
    cancelled
        .cancellation_reasons()
        .iter()
        .map(|reason| match reason.code().unwrap_or("None") {
            "None" => Ok(Code::None),
            "ConditionalCheckFailed" => Ok(Code::Failed),
            "TransactionConflict" => Ok(Code::Conflict),
            "ThrottlingError" | "ProvisionedThroughputExceeded" | "RequestLimitExceeded" => {
                tracing::warn!(code = ?reason.code(), "transaction throttled");
                metrics::count(Metric::DynamoDbThrottles);
                Err(StoreError::Unavailable)
            }
            other => Err(StoreError::Internal(format!(
                "transaction cancelled: {other}"
            ))),
        })
        .collect()
}

/// A request builder's error (a missing required field): a bug.
fn internal(error: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(error.to_string())
}

/// `#name -> attribute` for the placeholders an expression uses.
fn names(used: &[&str]) -> std::collections::HashMap<String, String> {
    NAMES
        .iter()
        .filter(|(placeholder, _)| used.contains(placeholder))
        .map(|(placeholder, name)| (placeholder.to_string(), name.to_string()))
        .collect()
}

/// The task a write returned (`ReturnValues: ALL_NEW`).
fn returned_task(attributes: Option<&Item>) -> Result<Task, StoreError> {
    let item = attributes.ok_or_else(|| StoreError::Internal("write returned no item".into()))?;
    task_from_item(item)
}

/// A failed `attribute_exists` (+ version) condition: with the old item returned, the task
/// exists and its version differs; without, it does not exist.
fn missing_or_changed(exists: bool) -> StoreError {
    if exists {
        StoreError::VersionMismatch
    } else {
        StoreError::NotFound
    }
}

/// A new task's id is already taken: ids are ULIDs, so this is a bug, not a client error.
fn id_taken() -> StoreError {
    StoreError::Internal("task id already exists".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancelled_create_says_whether_a_record_or_the_quota_stopped_it() {
        let (ok, failed, conflict) = (Code::None, Code::Failed, Code::Conflict);
        let read = |codes: &[Code], with_record| CreateCancelled::read(codes, with_record).unwrap();
        let cancelled = |record_held, over_quota| CreateCancelled {
            record_held,
            over_quota,
        };
        assert_eq!(read(&[ok, conflict], false), cancelled(false, false));
        assert_eq!(read(&[ok, failed], false), cancelled(false, true));
        assert_eq!(read(&[ok, failed, ok], true), cancelled(true, false));
        assert_eq!(read(&[ok, conflict, ok], true), cancelled(true, false));
        assert_eq!(read(&[ok, ok, failed], true), cancelled(false, true));
        assert!(matches!(
            CreateCancelled::read(&[failed, ok], false),
            Err(StoreError::Internal(_))
        ));
        assert!(matches!(
            CreateCancelled::read(&[], false),
            Err(StoreError::Internal(_))
        ));
    }
}
