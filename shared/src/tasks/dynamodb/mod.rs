//! The DynamoDB store: one table, partition key `user_id`, sort key `task_id` (see
//! [`item`](self) for the item layout). Every write is conditional, so it has the same
//! semantics as the in-memory store; the behaviour suite in `tests/` runs against both.

mod error;
mod item;
mod tenant;

use std::time::Duration;

use async_trait::async_trait;
use aws_config::{ConfigLoader, SdkConfig};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use chrono::{DateTime, Utc};

use self::error::unexpected;
use self::item::{
    EXPIRES_AT, Item, LOWEST_TASK_KEY, TASK_ID, USER_ID, n, record_expired, record_item,
    record_key, s, task_from_item, task_from_record, task_id_of, task_item, task_key,
};
use super::model::format_time;
use super::{
    Created, Cursor, ListQuery, Page, StatusFilter, StoreError, Task, TaskChanges, TaskId,
    TaskStore,
};
use crate::config::ConfigError;

/// How long the cold-start call that opens the connection may take.
pub const PRIME_TIMEOUT: Duration = Duration::from_secs(1);
/// How long an idempotency record is honoured (the table's TTL deletes it some time later).
const IDEMPOTENCY_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// Conditional writes a toggle tries before giving up as `Unavailable` under contention.
const MAX_TOGGLE_ATTEMPTS: usize = 25;
/// Transactions an idempotent create tries before giving up as `Unavailable`.
const MAX_CREATE_ATTEMPTS: usize = 5;
/// Query calls one list request makes at most while a status filter drops items; past that the
/// page is returned short, with a cursor where the reading stopped.
const MAX_QUERY_CALLS: usize = 10;

/// The attribute names every expression uses (some are DynamoDB reserved words).
const NAMES: [(&str, &str); 7] = [
    ("#task_id", TASK_ID),
    ("#title", "title"),
    ("#description", "description"),
    ("#completed", "completed"),
    ("#updated_at", "updated_at"),
    ("#version", "version"),
    ("#expires_at", EXPIRES_AT),
];

pub use tenant::{TenantClients, USER_TAG, item_actions};

/// Tasks in a DynamoDB table.
pub struct DynamoDbStore {
    /// The function's own credentials: the cold-start call, and data in `app` isolation.
    client: Client,
    /// Per-user credentials for data, in `iam` isolation.
    tenants: Option<TenantClients>,
    table: String,
}

impl DynamoDbStore {
    /// The store for `table` on the shared SDK settings: builds the client (no network call),
    /// then primes the connection.
    pub async fn connect(config: &SdkConfig, table: &str) -> Self {
        let store = Self::new(Client::new(config), table);
        store.prime().await;
        store
    }

    /// The store for `table` with the settings of `loader`; see [`Self::connect`].
    pub async fn from_loader(loader: ConfigLoader, table: &str) -> Result<Self, ConfigError> {
        Ok(Self::connect(&crate::aws::load(loader).await?, table).await)
    }

    /// A store on an existing client.
    pub fn new(client: Client, table: &str) -> Self {
        Self {
            client,
            tenants: None,
            table: table.to_string(),
        }
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
        match &self.tenants {
            Some(tenants) => tenants.client(user).await,
            None => Ok(self.client.clone()),
        }
    }

    /// Opens the connection (DNS, TCP, TLS, credentials) before the first request needs it,
    /// with one `DescribeTable` bounded by [`PRIME_TIMEOUT`]. A failure is only logged: the
    /// first request then pays for the connection, or reports the problem itself.
    pub async fn prime(&self) {
        let call = self.client.describe_table().table_name(&self.table).send();
        match tokio::time::timeout(PRIME_TIMEOUT, call).await {
            Ok(Ok(_)) => tracing::debug!(table = %self.table, "DynamoDB connection primed"),
            Ok(Err(error)) => tracing::warn!(
                table = %self.table,
                error = %DisplayErrorContext(&error),
                "priming the DynamoDB connection failed"
            ),
            Err(_) => {
                tracing::warn!(table = %self.table, "priming the DynamoDB connection timed out")
            }
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

    /// A create without an idempotency key: one conditional put.
    async fn put_new(&self, client: &Client, task: &Task) -> Result<(), StoreError> {
        let result = client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(task_item(task)))
            .condition_expression("attribute_not_exists(#task_id)")
            .expression_attribute_names("#task_id", TASK_ID)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => match error.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => Err(id_taken()),
                _ => Err(unexpected(error)),
            },
        }
    }

    /// A create with an idempotency key: the task and its record in one transaction. When the
    /// record exists (or a concurrent create holds it), the first result is read back.
    async fn create_once(
        &self,
        client: &Client,
        task: &Task,
        key: &str,
    ) -> Result<Created, StoreError> {
        let stored = task_from_item(&task_item(task))?;
        for _ in 0..MAX_CREATE_ATTEMPTS {
            let now = Utc::now();
            let task_put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(task_item(task)))
                .condition_expression("attribute_not_exists(#task_id)")
                .expression_attribute_names("#task_id", TASK_ID)
                .build()
                .map_err(|e| StoreError::Internal(e.to_string()))?;
            let record_put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(record_item(task, key, now + IDEMPOTENCY_WINDOW)))
                .condition_expression("attribute_not_exists(#task_id) OR #expires_at <= :now")
                .expression_attribute_names("#task_id", TASK_ID)
                .expression_attribute_names("#expires_at", EXPIRES_AT)
                .expression_attribute_values(":now", n(now.timestamp()))
                .build()
                .map_err(|e| StoreError::Internal(e.to_string()))?;
            let result = client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().put(task_put).build())
                .transact_items(TransactWriteItem::builder().put(record_put).build())
                .send()
                .await;
            let error = match result {
                Ok(_) => {
                    return Ok(Created {
                        task: stored,
                        replayed: false,
                    });
                }
                Err(error) => error,
            };
            let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
                error.as_service_error()
            else {
                return Err(unexpected(error));
            };
            let codes: Vec<&str> = cancelled
                .cancellation_reasons()
                .iter()
                .map(|reason| reason.code().unwrap_or("None"))
                .collect();
            match codes.as_slice() {
                ["ConditionalCheckFailed", _] => return Err(id_taken()),
                [_, "ConditionalCheckFailed" | "TransactionConflict"]
                | ["TransactionConflict", _] => {}
                codes
                    if codes.iter().any(|c| {
                        matches!(*c, "ThrottlingError" | "ProvisionedThroughputExceeded")
                    }) =>
                {
                    tracing::warn!(?codes, "idempotent create throttled");
                    return Err(StoreError::Unavailable);
                }
                codes => {
                    return Err(StoreError::Internal(format!(
                        "create transaction cancelled: {codes:?}"
                    )));
                }
            }
            let record = self.read(client, record_key(&task.user_id, key)).await?;
            if let Some(record) = record.filter(|r| !record_expired(r, Utc::now())) {
                let first = task_from_record(&record)?;
                if first.title != task.title || first.description != task.description {
                    return Err(StoreError::IdempotencyConflict);
                }
                return Ok(Created {
                    task: first,
                    replayed: true,
                });
            }
            // No live record: the transaction that held it was cancelled too. Try again.
        }
        tracing::warn!("idempotent create still contended after {MAX_CREATE_ATTEMPTS} attempts");
        Err(StoreError::Unavailable)
    }

    /// One page of a Query of the user's tasks, newest first, never idempotency records.
    async fn query_page(
        &self,
        client: &Client,
        user_id: &str,
        status: StatusFilter,
        page_size: usize,
        start: Option<Item>,
    ) -> Result<(Vec<Task>, Option<Item>), StoreError> {
        let mut request = client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#user_id = :user_id AND #task_id >= :lowest")
            .expression_attribute_names("#user_id", USER_ID)
            .expression_attribute_names("#task_id", TASK_ID)
            .expression_attribute_values(":user_id", s(user_id))
            .expression_attribute_values(":lowest", s(LOWEST_TASK_KEY))
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(i32::try_from(page_size).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start);
        let completed = match status {
            StatusFilter::All => None,
            StatusFilter::Pending => Some(false),
            StatusFilter::Completed => Some(true),
        };
        if let Some(completed) = completed {
            request = request
                .filter_expression("#completed = :completed")
                .expression_attribute_names("#completed", "completed")
                .expression_attribute_values(":completed", AttributeValue::Bool(completed));
        }
        let output = request.send().await.map_err(unexpected)?;
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
            .update_expression("SET #completed = :completed, #updated_at = :now, #version = :next")
            .condition_expression("attribute_exists(#task_id) AND #version = :current")
            .set_expression_attribute_names(Some(names(&[
                "#task_id",
                "#completed",
                "#updated_at",
                "#version",
            ])))
            .expression_attribute_values(":completed", AttributeValue::Bool(!current.completed))
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
        match idempotency_key {
            Some(key) => self.create_once(&client, &task, key).await,
            None => {
                self.put_new(&client, &task).await?;
                Ok(Created {
                    task: task_from_item(&task_item(&task))?,
                    replayed: false,
                })
            }
        }
    }

    async fn get(&self, user_id: &str, task_id: TaskId) -> Result<Task, StoreError> {
        let client = self.client_for(user_id).await?;
        let item = self.read(&client, task_key(user_id, task_id)).await?;
        task_from_item(&item.ok_or(StoreError::NotFound)?)
    }

    async fn list(&self, user_id: &str, query: ListQuery) -> Result<Page, StoreError> {
        // One more than the limit tells whether another matching task follows.
        let wanted = query.limit + 1;
        let page_size = match query.status {
            StatusFilter::All => wanted,
            _ => wanted * 4,
        };
        let client = self.client_for(user_id).await?;
        let mut items = Vec::new();
        let mut start = query.after.map(|Cursor(id)| task_key(user_id, id));
        for _ in 0..MAX_QUERY_CALLS {
            let (tasks, last) = self
                .query_page(&client, user_id, query.status, page_size, start)
                .await?;
            items.extend(tasks);
            start = last;
            if items.len() >= wanted || start.is_none() {
                break;
            }
        }
        let next_cursor = if items.len() >= wanted {
            items.truncate(query.limit);
            items.last().map(|task| Cursor(task.id))
        } else {
            start.as_ref().map(task_id_of).transpose()?.map(Cursor)
        };
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
            used.push("#completed");
            values.insert(":completed".into(), AttributeValue::Bool(completed));
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

    async fn delete(
        &self,
        user_id: &str,
        task_id: TaskId,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError> {
        let mut condition = "attribute_exists(#task_id)".to_string();
        let mut used = vec!["#task_id"];
        let mut request = self
            .client_for(user_id)
            .await?
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(task_key(user_id, task_id)));
        if let Some(version) = expected_version {
            condition.push_str(" AND #version = :expected");
            used.push("#version");
            request = request.expression_attribute_values(":expected", n(version));
        }
        let result = request
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names(&used)))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => match error.as_service_error() {
                Some(DeleteItemError::ConditionalCheckFailedException(failed)) => {
                    Err(missing_or_changed(failed.item().is_some()))
                }
                _ => Err(unexpected(error)),
            },
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
        let mut current = self.get(user_id, task_id).await?;
        for _ in 0..MAX_TOGGLE_ATTEMPTS {
            if expected_version.is_some_and(|version| version != current.version) {
                return Err(StoreError::VersionMismatch);
            }
            match self.toggle_from(&client, &current, now).await {
                Ok(task) => return Ok(task),
                Err(Ok(changed)) => current = changed,
                Err(Err(error)) => return Err(error),
            }
        }
        tracing::warn!("toggle still contended after {MAX_TOGGLE_ATTEMPTS} attempts");
        Err(StoreError::Unavailable)
    }
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
