//! The state every invocation shares: built once per cold start.

use std::sync::{Arc, Mutex};

use crate::Route;
use crate::auth::Authenticator;
use crate::aws;
use crate::config::{Config, ConfigError, DataIsolation, KeySource};
use crate::tasks::dynamodb::{DynamoDbStore, TenantClients};
use crate::tasks::memory::MemoryStore;
use crate::tasks::{TaskId, TaskStore};

/// The verifier, the store and the id generator.
pub struct App {
    pub authenticator: Authenticator,
    pub store: Arc<dyn TaskStore>,
    ids: Mutex<ulid::Generator>,
}

impl App {
    pub fn new(authenticator: Authenticator, store: Arc<dyn TaskStore>) -> Self {
        Self {
            authenticator,
            store,
            ids: Mutex::new(ulid::Generator::new()),
        }
    }

    /// Builds the app that serves `routes` from configuration: DynamoDB when `TASKS_TABLE` is
    /// set, else in memory; in `iam` isolation, per-user credentials narrowed to those routes.
    /// The AWS settings are loaded once, when DynamoDB or Secrets Manager needs them.
    pub async fn from_config(config: &Config, routes: &[Route]) -> Result<Self, ConfigError> {
        let needs_aws = config.tasks_table.is_some()
            || matches!(config.auth.keys, KeySource::Hs256SecretId { .. });
        let aws = match needs_aws {
            true => Some(aws::load(aws::sdk_config_loader()).await?),
            false => None,
        };
        let authenticator = Authenticator::with_aws(&config.auth, aws.as_ref()).await?;
        let store: Arc<dyn TaskStore> = match (&config.tasks_table, &aws) {
            (Some(table), Some(aws)) => {
                let store = DynamoDbStore::connect(aws, table).await;
                Arc::new(match &config.isolation {
                    DataIsolation::Iam { tenant_role_arn } => {
                        store.isolated(TenantClients::new(aws, tenant_role_arn, routes))
                    }
                    DataIsolation::App => store,
                })
            }
            _ => {
                tracing::warn!("TASKS_TABLE is not set: tasks are kept in memory and lost on exit");
                Arc::new(MemoryStore::new())
            }
        };
        tracing::info!(
            auth = config.auth.keys.mode(),
            store = if config.tasks_table.is_some() {
                "dynamodb"
            } else {
                "memory"
            },
            isolation = match config.isolation {
                DataIsolation::Iam { .. } => "iam",
                DataIsolation::App => "app",
            },
            "taskgate ready"
        );
        Ok(Self::new(authenticator, store))
    }

    /// Builds the app that serves `routes` from the environment, or logs the one configuration
    /// error and exits.
    pub async fn from_env_or_exit(routes: &[Route]) -> Self {
        let built = match Config::from_env() {
            Ok(config) => Self::from_config(&config, routes).await,
            Err(error) => Err(error),
        };
        built.unwrap_or_else(|error| {
            tracing::error!("{error}");
            std::process::exit(1)
        })
    }

    /// A new task id, later than every id this instance made before.
    pub fn new_task_id(&self) -> TaskId {
        TaskId::new(&self.ids)
    }
}
