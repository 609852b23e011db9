//! The state every invocation shares, built once per cold start, and how it is wired from the
//! configuration for the routes a process serves.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::Route;
use crate::auth::Authenticator;
use crate::aws;
use crate::config::{Config, ConfigError, DEFAULT_REQUEST_DEADLINE, DataIsolation, KeySource};
use crate::tasks::dynamodb::{DynamoDbStore, TenantClients};
use crate::tasks::memory::MemoryStore;
use crate::tasks::{TaskId, TaskStore};

/// The verifier, the store, the id generator and the request deadline.
pub struct App {
    authenticator: Authenticator,
    store: Arc<dyn TaskStore>,
    request_deadline: Duration,
    ids: Mutex<ulid::Generator>,
}

impl App {
    /// The app on `authenticator` and `store`, with the default request deadline.
    pub fn new(authenticator: Authenticator, store: Arc<dyn TaskStore>) -> Self {
        Self {
            authenticator,
            store,
            request_deadline: DEFAULT_REQUEST_DEADLINE,
            ids: Mutex::new(ulid::Generator::new()),
        }
    }

    /// The app, answering 503 to any request still running after `deadline`.
    pub fn with_request_deadline(self, deadline: Duration) -> Self {
        Self {
            request_deadline: deadline,
            ..self
        }
    }

    /// Builds the app that serves `routes` from the process environment.
    pub async fn from_env(routes: &[Route]) -> Result<Self, ConfigError> {
        Self::from_config(&Config::from_env()?, routes).await
    }

    /// Builds the app that serves `routes` from configuration: DynamoDB when `TASKS_TABLE` is
    /// set, else in memory; in `iam` isolation, per-user credentials narrowed to those routes.
    /// The AWS settings are loaded once, when DynamoDB or Secrets Manager needs them. The
    /// DynamoDB connection is primed while the keys load (a JWKS fetch, a Secrets Manager
    /// read), and init ends once both are done, so the first request finds it open.
    pub async fn from_config(config: &Config, routes: &[Route]) -> Result<Self, ConfigError> {
        let needs_aws = config.tasks_table.is_some()
            || matches!(config.auth.keys, KeySource::Hs256SecretId { .. });
        let aws = match needs_aws {
            true => Some(aws::load_default().await?),
            false => None,
        };
        let dynamodb = match (&config.tasks_table, &aws) {
            (Some(table), Some(aws)) => {
                let store = DynamoDbStore::connect(aws, table).with_quota(config.limits.task_quota);
                Some(match &config.isolation {
                    DataIsolation::Iam { tenant_role_arn } => store.isolated(TenantClients::new(
                        aws,
                        tenant_role_arn,
                        &item_actions_of(routes),
                    )),
                    DataIsolation::App => store,
                })
            }
            _ => None,
        };
        let authenticator = Authenticator::with_aws(&config.auth, aws.as_ref()).await?;
        let store: Arc<dyn TaskStore> = match dynamodb {
            Some(store) => {
                store.primed().await;
                Arc::new(store)
            }
            None => {
                tracing::warn!("TASKS_TABLE is not set: tasks are kept in memory and lost on exit");
                Arc::new(MemoryStore::new().with_quota(config.limits.task_quota))
            }
        };
        tracing::info!(
            auth = config.auth.keys.mode(),
            store = if config.tasks_table.is_some() {
                "dynamodb"
            } else {
                "memory"
            },
            isolation = config.isolation.mode(),
            "taskgate ready"
        );
        Ok(Self::new(authenticator, store).with_request_deadline(config.limits.request_deadline))
    }

    /// The token verifier.
    pub fn authenticator(&self) -> &Authenticator {
        &self.authenticator
    }

    /// Where the tasks are kept.
    pub fn store(&self) -> &dyn TaskStore {
        &*self.store
    }

    /// How long one request may take; past it the answer is 503 with `Retry-After`.
    pub fn request_deadline(&self) -> Duration {
        self.request_deadline
    }

    /// A new task id for the instant `at`, later than every id this instance made before.
    pub fn new_task_id(&self, at: DateTime<Utc>) -> TaskId {
        TaskId::new(&self.ids, at)
    }
}

/// The DynamoDB item actions each route needs: in `iam` isolation, the session policy of a
/// process allows those of its routes only. `TransactWriteItems` is authorized per item: a
/// create puts the task (and record) and updates the user's task counter, a delete deletes the
/// task and updates the counter; `GetItem` reads back an idempotent create's first result. A
/// list Queries the table, or its status index.
pub fn item_actions(route: Route) -> &'static [&'static str] {
    match route {
        Route::ListTasks => &["dynamodb:Query"],
        Route::CreateTask => &[
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:GetItem",
        ],
        Route::GetTask => &["dynamodb:GetItem"],
        Route::UpdateTask => &["dynamodb:UpdateItem"],
        Route::DeleteTask => &["dynamodb:DeleteItem", "dynamodb:UpdateItem"],
        Route::CompleteTask => &["dynamodb:GetItem", "dynamodb:UpdateItem"],
    }
}

/// The item actions of `routes`, each once.
pub fn item_actions_of(routes: &[Route]) -> Vec<&'static str> {
    let mut actions: Vec<&str> = routes
        .iter()
        .flat_map(|route| item_actions(*route))
        .copied()
        .collect();
    actions.sort_unstable();
    actions.dedup();
    actions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::routes::ROUTES;

    #[test]
    fn each_process_may_do_what_its_routes_need() {
        assert_eq!(
            item_actions_of(&[Route::CompleteTask, Route::GetTask]),
            ["dynamodb:GetItem", "dynamodb:UpdateItem"]
        );
        assert_eq!(
            item_actions_of(&ROUTES),
            [
                "dynamodb:DeleteItem",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:Query",
                "dynamodb:UpdateItem",
            ]
        );
    }
}
