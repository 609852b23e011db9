//! The state every invocation shares: built once per cold start.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use lambda_http::http::Request;
use lambda_runtime_api_client::PooledClient;
use lambda_runtime_api_client::body::Body;

use crate::Route;
use crate::auth::Authenticator;
use crate::aws;
use crate::config::{Config, ConfigError, DEFAULT_REQUEST_DEADLINE, DataIsolation, KeySource};
use crate::tasks::dynamodb::{DynamoDbStore, TenantClients};
use crate::tasks::memory::MemoryStore;
use crate::tasks::{TaskId, TaskStore};

/// The verifier, the store, the id generator and the request deadline.
pub struct App {
    pub authenticator: Authenticator,
    pub store: Arc<dyn TaskStore>,
    /// How long one request may take; past it the answer is 503 with `Retry-After`.
    pub request_deadline: Duration,
    ids: Mutex<ulid::Generator>,
}

impl App {
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
                    DataIsolation::Iam { tenant_role_arn } => {
                        store.isolated(TenantClients::new(aws, tenant_role_arn, routes))
                    }
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
            isolation = match config.isolation {
                DataIsolation::Iam { .. } => "iam",
                DataIsolation::App => "app",
            },
            "taskgate ready"
        );
        Ok(Self::new(authenticator, store).with_request_deadline(config.limits.request_deadline))
    }

    /// Builds the app that serves `routes` from the environment, or logs the one configuration
    /// error and exits.
    pub async fn from_env_or_exit(routes: &[Route]) -> Self {
        let built = match Config::from_env() {
            Ok(config) => Self::from_config(&config, routes).await,
            Err(error) => Err(error),
        };
        match built {
            Ok(app) => app,
            Err(error) => {
                tracing::error!("{error}");
                if let Some(api) = crate::config::process_env("AWS_LAMBDA_RUNTIME_API") {
                    report_init_error(&api, &error).await;
                }
                std::process::exit(1)
            }
        }
    }

    /// A new task id for the instant `at`, later than every id this instance made before.
    pub fn new_task_id(&self, at: DateTime<Utc>) -> TaskId {
        TaskId::new(&self.ids, at)
    }
}

/// Tells the Lambda runtime API at `api` why the start failed (`/runtime/init/error`), so an
/// invocation waiting for this instance (in Lambda, or under `cargo lambda watch`) gets the
/// message at once instead of a timeout. Best effort, bounded by 2 s.
async fn report_init_error(api: &str, error: &ConfigError) {
    let base = match api.contains("://") {
        true => api.to_string(),
        false => format!("http://{api}"),
    };
    let body = serde_json::json!({"errorMessage": error.to_string(), "errorType": "ConfigError"});
    let sent = async {
        let client = PooledClient::builder().with_endpoint(base.parse()?).build();
        let request = Request::post("/2018-06-01/runtime/init/error")
            .header("lambda-runtime-function-error-type", "Runtime.ConfigError")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))?;
        client.call(request).await.map(drop)
    };
    match tokio::time::timeout(Duration::from_secs(2), sent).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::warn!(error = %error, "could not report the init error to the runtime API")
        }
        Err(_) => tracing::warn!("reporting the init error to the runtime API timed out"),
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    #[tokio::test]
    async fn a_failed_start_is_reported_to_the_runtime_api() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let api = listener.local_addr().unwrap().to_string();
        let received = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buffer = [0; 4096];
            while !String::from_utf8_lossy(&request).contains("ConfigError\"}") {
                let read = stream.read(&mut buffer).unwrap();
                assert!(read > 0, "closed early");
                request.extend_from_slice(&buffer[..read]);
            }
            stream
                .write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")
                .unwrap();
            String::from_utf8(request).unwrap()
        });
        let error = ConfigError::new("AUTH_ISSUER", "is not set");
        report_init_error(&api, &error).await;
        let request = received.join().unwrap();
        assert!(
            request.starts_with("POST /2018-06-01/runtime/init/error HTTP/1.1"),
            "{request}"
        );
        assert!(request.contains("AUTH_ISSUER: is not set"), "{request}");
    }
}
