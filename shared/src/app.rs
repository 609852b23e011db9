//! The state every invocation shares, built once per cold start, and how it is wired from the
//! configuration for the routes a process serves.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use futures_util::FutureExt;

use crate::Route;
use crate::auth::Authenticator;
use crate::aws;
use crate::config::{
    Config, ConfigError, DEFAULT_REQUEST_DEADLINE, DEFAULT_REVOCATION_TTL, DataIsolation, KeySource,
};
use crate::revocation::{RevocationStore, Revocations};
use crate::tasks::dynamodb::{
    DynamoDbStore, ItemAccess, REVOCATION_READ_ATTRIBUTES, REVOCATION_WRITE_ATTRIBUTES,
    TenantClients, prime_sts,
};
use crate::tasks::memory::MemoryStore;
use crate::tasks::{TaskId, TaskStore};

/// The verifier, the stores, the id generator and the request deadline.
pub struct App {
    authenticator: Authenticator,
    store: Arc<dyn TaskStore>,
    revocations: Revocations,
    request_deadline: Duration,
    ids: Mutex<ulid::Generator>,
}

impl App {
    /// The app on `authenticator` and `store` (tasks and revocation states), with the default
    /// request deadline and revocation TTL.
    pub fn new<S>(authenticator: Authenticator, store: Arc<S>) -> Self
    where
        S: TaskStore + RevocationStore + 'static,
    {
        Self {
            authenticator,
            store: store.clone(),
            revocations: Revocations::new(store, DEFAULT_REVOCATION_TTL),
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

    /// The app, using a user's revocation state for at most `ttl` before reading it again.
    pub fn with_revocation_ttl(self, ttl: Duration) -> Self {
        Self {
            revocations: self.revocations.with_ttl(ttl),
            ..self
        }
    }

    /// Builds the app that serves `routes` from the process environment.
    pub async fn from_env(routes: &[Route]) -> Result<Self, ConfigError> {
        Self::from_config(&Config::from_env()?, routes).await
    }

    /// Builds the app that serves `routes` from configuration: DynamoDB when `TASKS_TABLE` is
    /// set, else in memory; in `iam` isolation, per-user credentials narrowed to those routes.
    /// The keys load (a JWKS fetch) while the AWS settings load and the DynamoDB connections
    /// (and in `iam` isolation the STS one) are primed ([`authenticator_beside`]); init ends
    /// once all are done, so that the first request finds the keys held and the connections
    /// open.
    pub async fn from_config(config: &Config, routes: &[Route]) -> Result<Self, ConfigError> {
        let access = item_access_of(routes);
        let (authenticator, dynamodb) = authenticator_beside(config, |aws| async move {
            let (Some(table), Some(aws)) = (config.tasks_table.as_ref(), aws) else {
                return None;
            };
            let store = DynamoDbStore::connect(&aws, table).with_quota(config.limits.task_quota);
            let store = isolated(store, config, &aws, &access);
            tokio::join!(store.primed(), tenant_connection_primed(config, &aws));
            Some(store)
        })
        .await?;
        let app = match dynamodb {
            Some(store) => Self::new(authenticator, Arc::new(store)),
            None => {
                tracing::warn!("TASKS_TABLE is not set: tasks are kept in memory and lost on exit");
                let store = MemoryStore::new().with_quota(config.limits.task_quota);
                Self::new(authenticator, Arc::new(store))
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
            revocation_ttl_s = config.revocation_ttl.as_secs(),
            "taskgate ready"
        );
        Ok(app
            .with_request_deadline(config.limits.request_deadline)
            .with_revocation_ttl(config.revocation_ttl))
    }

    /// The token verifier.
    pub fn authenticator(&self) -> &Authenticator {
        &self.authenticator
    }

    /// Where the tasks are kept.
    pub fn store(&self) -> &dyn TaskStore {
        &*self.store
    }

    /// The revocation check and the revocations, on the same store.
    pub fn revocations(&self) -> &Revocations {
        &self.revocations
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

/// The verifier, and what `build` makes on the AWS settings (`None` when nothing needs them),
/// made at once: the keys load (a JWKS fetch) while the settings load and `build` runs (a
/// route's DynamoDB priming). Keys in Secrets Manager wait for the settings they are read with.
pub(crate) async fn authenticator_beside<T, F>(
    config: &Config,
    build: impl FnOnce(Option<SdkConfig>) -> F + Send,
) -> Result<(Authenticator, T), ConfigError>
where
    F: Future<Output = T> + Send,
{
    let aws = aws_settings(config).shared();
    let keys = async {
        let aws = match config.auth.keys {
            KeySource::Hs256SecretId { .. } => aws.clone().await?,
            _ => None,
        };
        Authenticator::with_aws(&config.auth, aws.as_ref()).await
    };
    let built = async { Ok(build(aws.clone().await?).await) };
    // Boxed: the futures nested unboxed are deeper than the compiler's layout limit.
    tokio::try_join!(keys.boxed(), built.boxed())
}

/// The AWS settings, loaded once when DynamoDB or Secrets Manager needs them; `None` otherwise.
async fn aws_settings(config: &Config) -> Result<Option<SdkConfig>, ConfigError> {
    let needs_aws =
        config.tasks_table.is_some() || matches!(config.auth.keys, KeySource::Hs256SecretId { .. });
    Ok(match needs_aws {
        true => Some(aws::load_default().await?),
        false => None,
    })
}

/// `store` as `config`'s isolation wants it: in `iam` isolation acting for each user through
/// the tenant role, narrowed to `access`; in `app` isolation as it is.
pub(crate) fn isolated(
    store: DynamoDbStore,
    config: &Config,
    aws: &SdkConfig,
    access: &[ItemAccess],
) -> DynamoDbStore {
    match &config.isolation {
        DataIsolation::Iam { tenant_role_arn } => {
            store.isolated(TenantClients::new(aws, tenant_role_arn, access))
        }
        DataIsolation::App => store,
    }
}

/// In `iam` isolation, once the STS connection the first request's `AssumeRole` takes is open
/// ([`prime_sts`]); at once in `app` isolation.
pub(crate) async fn tenant_connection_primed(config: &Config, aws: &SdkConfig) {
    if let DataIsolation::Iam { .. } = config.isolation {
        prime_sts(aws).await;
    }
}

/// Reading a user's revocation state (the check, on every route): the item's key, `not_before`
/// and `revoked_sessions`, nothing else.
const READ_REVOCATION: ItemAccess =
    ItemAccess::only(&["dynamodb:GetItem"], &REVOCATION_READ_ATTRIBUTES);
/// Revoking (the revoke routes): reading and updating the revocation item's attributes only,
/// so those routes cannot touch a task.
const WRITE_REVOCATION: ItemAccess = ItemAccess::only(
    &["dynamodb:GetItem", "dynamodb:UpdateItem"],
    &REVOCATION_WRITE_ATTRIBUTES,
);

/// The DynamoDB item access each route needs: in `app` isolation its function role's, in `iam`
/// isolation the session policy of a process serving it. `TransactWriteItems` is authorized per
/// item: a create puts the task (and record) and updates the user's task counter, a delete
/// deletes the task and updates the counter; `GetItem` reads back an idempotent create's first
/// result. A list Queries the table, or its status index. Every route reads the revocation
/// state; the revoke routes also write it.
pub fn item_access(route: Route) -> &'static [ItemAccess] {
    match route {
        Route::ListTasks => const { &[ItemAccess::any(&["dynamodb:Query"]), READ_REVOCATION] },
        Route::CreateTask => {
            const {
                &[
                    ItemAccess::any(&[
                        "dynamodb:PutItem",
                        "dynamodb:UpdateItem",
                        "dynamodb:GetItem",
                    ]),
                    READ_REVOCATION,
                ]
            }
        }
        Route::GetTask => const { &[ItemAccess::any(&["dynamodb:GetItem"]), READ_REVOCATION] },
        Route::UpdateTask => {
            const { &[ItemAccess::any(&["dynamodb:UpdateItem"]), READ_REVOCATION] }
        }
        Route::DeleteTask => {
            const {
                &[
                    ItemAccess::any(&["dynamodb:DeleteItem", "dynamodb:UpdateItem"]),
                    READ_REVOCATION,
                ]
            }
        }
        Route::CompleteTask => {
            const {
                &[
                    ItemAccess::any(&["dynamodb:GetItem", "dynamodb:UpdateItem"]),
                    READ_REVOCATION,
                ]
            }
        }
        Route::RevokeSessions | Route::RevokeSession => const { &[WRITE_REVOCATION] },
    }
}

/// The DynamoDB item access of the Lambda authorizer: reading the revocation state, nothing else
/// (beside it, its role may only `DescribeTable`, the cold-start call, which reads no item).
pub const AUTHORIZER_ITEM_ACCESS: &[ItemAccess] = &[READ_REVOCATION];

/// The item access of `routes`, each once.
pub fn item_access_of(routes: &[Route]) -> Vec<ItemAccess> {
    let mut access: Vec<ItemAccess> = Vec::new();
    for needed in routes.iter().flat_map(|route| item_access(*route)) {
        if !access.contains(needed) {
            access.push(*needed);
        }
    }
    access
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::AuthError;
    use crate::auth::testing::{Issuer, Server, answer};
    use crate::config::lookup;
    use crate::http::routes::ROUTES;
    use crate::tasks::dynamodb::session_policy;

    const ISSUER: &str = "https://auth.example.com";

    /// The app of list-tasks in JWKS mode on `server`, in memory.
    async fn jwks_app(server: &Server) -> App {
        let url = format!("http://127.0.0.1:{}/api/auth/jwks", server.port);
        let vars = [
            ("AUTH_JWKS_URL", url.as_str()),
            ("AUTH_ISSUER", ISSUER),
            ("AUTH_AUDIENCE", ISSUER),
        ];
        let config = Config::from_lookup(lookup(&vars)).unwrap();
        App::from_config(&config, &[Route::ListTasks])
            .await
            .expect("a failed JWKS fetch does not stop the start")
    }

    #[tokio::test]
    async fn a_jwks_fetch_failing_at_init_is_made_again_by_the_first_request() {
        let issuer = Issuer::new();
        let unavailable = Some(answer("503 Service Unavailable", b""));
        let jwks = Some(answer("200 OK", issuer.jwks().as_bytes()));
        let server = Server::start(vec![unavailable, jwks], None).await;
        let app = jwks_app(&server).await;
        assert_eq!(server.requests(), 1, "fetched at init");
        let bearer = issuer.bearer("u1", ISSUER);
        let claims = app.authenticator().verify(Some(bearer.as_bytes())).await;
        assert_eq!(claims.unwrap().sub, "u1");
        assert_eq!(server.requests(), 2, "fetched again by the first request");
        assert!(
            app.authenticator()
                .verify(Some(bearer.as_bytes()))
                .await
                .is_ok()
        );
        assert_eq!(server.requests(), 2, "then held for their max age");
    }

    #[tokio::test]
    async fn an_issuer_down_from_init_on_is_503_and_fetched_once_per_cooldown() {
        let server = Server::start(vec![Some(answer("503 Service Unavailable", b""))], None).await;
        let app = jwks_app(&server).await;
        let bearer = Issuer::new().bearer("u1", ISSUER);
        for _ in 0..3 {
            let refused = app.authenticator().verify(Some(bearer.as_bytes())).await;
            assert_eq!(refused.err(), Some(AuthError::KeysUnavailable));
        }
        assert_eq!(
            server.requests(),
            2,
            "at init, then by the first request; none more within the 30 s cooldown"
        );
    }

    #[test]
    fn each_process_may_do_what_its_routes_need() {
        assert_eq!(
            item_access_of(&[Route::CompleteTask, Route::GetTask]),
            [
                ItemAccess::any(&["dynamodb:GetItem", "dynamodb:UpdateItem"]),
                READ_REVOCATION,
                ItemAccess::any(&["dynamodb:GetItem"]),
            ]
        );
        let policy: serde_json::Value =
            serde_json::from_str(&session_policy(&item_access_of(&ROUTES))).unwrap();
        let statements = policy["Statement"].as_array().unwrap();
        assert_eq!(
            statements[0]["Action"],
            serde_json::json!([
                "dynamodb:DeleteItem",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:Query",
                "dynamodb:UpdateItem",
            ]),
            "the unrestricted actions in one statement"
        );
        assert_eq!(
            statements.len(),
            3,
            "then reading and writing the revocation item"
        );
        let longest = session_policy(&item_access_of(&ROUTES)).len();
        assert!(
            longest <= 2048,
            "IAM's limit for a session policy: {longest}"
        );
    }

    #[test]
    fn the_authorizer_may_only_read_the_revocation_state() {
        assert_eq!(AUTHORIZER_ITEM_ACCESS, [READ_REVOCATION]);
        assert!(
            item_access(Route::GetTask).contains(&READ_REVOCATION),
            "the same statement as the routes' check"
        );
        let policy: serde_json::Value =
            serde_json::from_str(&session_policy(AUTHORIZER_ITEM_ACCESS)).unwrap();
        let [statement] = policy["Statement"].as_array().unwrap().as_slice() else {
            panic!("one statement: {policy}");
        };
        assert_eq!(statement["Action"], serde_json::json!(["dynamodb:GetItem"]));
        assert!(statement["Condition"].is_object(), "attribute-restricted");
    }

    #[test]
    fn every_route_reads_the_revocation_state_and_only_the_revoke_routes_write_it() {
        for route in ROUTES {
            let access = item_access(route);
            let restricted: Vec<&ItemAccess> =
                access.iter().filter(|a| a.attributes.is_some()).collect();
            let reads = restricted.iter().any(|a| {
                a.actions.contains(&"dynamodb:GetItem")
                    && REVOCATION_READ_ATTRIBUTES
                        .iter()
                        .all(|name| a.attributes.unwrap().contains(name))
            });
            assert!(reads, "{route:?}");
            let revokes = matches!(route, Route::RevokeSessions | Route::RevokeSession);
            assert_eq!(access.contains(&WRITE_REVOCATION), revokes, "{route:?}");
            if revokes {
                assert_eq!(access, [WRITE_REVOCATION], "{route:?}: no task access");
            }
        }
    }
}
