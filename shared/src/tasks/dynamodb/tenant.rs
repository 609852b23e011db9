//! Isolation the database enforces (`DATA_ISOLATION=iam`): every store call for a user runs with
//! credentials of the tenant role, assumed with a session tag carrying that (verified) user id;
//! the role's policy allows only items whose partition key equals the tag
//! (`dynamodb:LeadingKeys`), and a session policy narrows it to the [`ItemAccess`] the caller
//! names (the app names that of the routes its process serves).
//! Clients are cached per user (bounded LRU); each refreshes its credentials before they expire,
//! one `AssumeRole` at a time, and all share the one HTTP connection pool of the SDK settings.
//! An instance runs at most [`MAX_CONCURRENT_ASSUME_ROLE`] `AssumeRole` calls at once, each
//! counted ([`Metric::StsAssumeRole`]), as its failures and throttles are. A failure fails the
//! request's store call (503), never falls back to the function's own credentials.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::identity::IdentityCache;
use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, future};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sts::config::http::HttpResponse;
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use lru::LruCache;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use super::PRIME_TIMEOUT;
use super::client_metrics::ClientMetrics;
use super::error::THROTTLING_CODES;
use crate::metrics::{self, Metric};
use crate::tasks::StoreError;

/// The session tag that carries the user id; the tenant role's policy reads it back as
/// `${aws:PrincipalTag/taskgate_user}`.
pub const USER_TAG: &str = "taskgate_user";
/// Users whose clients an instance keeps.
const CACHED_USERS: NonZeroUsize = NonZeroUsize::new(1024).unwrap();
/// Credentials are renewed this long before they expire (sessions last an hour).
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);
/// The longest value IAM accepts for a session tag.
const MAX_TAG_VALUE_CHARS: usize = 256;
/// `AssumeRole` calls one instance makes at once; more wait for a turn (within the request's
/// deadline). A Lambda instance serves one request at a time, which needs one call at most, so
/// this binds a process serving many at once (`taskgate-local`, a container): a crowd of new
/// users there becomes a steady trickle instead of a burst against the account's STS quota
/// (docs/operations.md#the-sts-budget). Fixed, not configured: 4 calls of ~20 ms each are ~200
/// sessions a second, past what one process's users need while the quota is shared.
pub const MAX_CONCURRENT_ASSUME_ROLE: usize = 4;

/// Per-user DynamoDB clients on the tenant role.
pub struct TenantClients {
    config: SdkConfig,
    role_arn: String,
    session_policy: String,
    clients: Mutex<LruCache<String, Client>>,
    /// Turns to call `AssumeRole`, shared by every user's credentials.
    turns: Arc<Semaphore>,
}

impl TenantClients {
    /// Clients that assume `role_arn` with the function's own credentials (from `config`),
    /// narrowed to `access` (see [`session_policy`]). No network call.
    pub fn new(config: &SdkConfig, role_arn: &str, access: &[ItemAccess]) -> Self {
        Self {
            config: config.clone(),
            role_arn: role_arn.to_string(),
            session_policy: session_policy(access),
            clients: Mutex::new(LruCache::new(CACHED_USERS)),
            turns: Arc::new(Semaphore::new(MAX_CONCURRENT_ASSUME_ROLE)),
        }
    }

    /// The client that acts as `user`: cached, or new (its first call assumes the role). A user
    /// id that IAM cannot carry as a tag value is refused, never mapped to another one.
    pub async fn client(&self, user: &str) -> Result<Client, StoreError> {
        if !is_tag_value(user) {
            return Err(StoreError::UserNotIsolable);
        }
        if let Some(client) = self.lock().get(user) {
            return Ok(client.clone());
        }
        let credentials = AssumeRoleProvider::builder(&self.role_arn)
            .configure(&self.config)
            .session_name(session_name(user))
            .tags([(USER_TAG, user)])
            .policy(self.session_policy.clone())
            .build()
            .await;
        let credentials = TakingTurns {
            assume_role: credentials,
            turns: self.turns.clone(),
        };
        let config = aws_sdk_dynamodb::config::Builder::from(&self.config)
            .interceptor(ClientMetrics)
            .credentials_provider(credentials)
            .identity_cache(
                IdentityCache::lazy()
                    .buffer_time(RENEW_BEFORE_EXPIRY)
                    .build(),
            )
            .build();
        let client = Client::from_conf(config);
        // A concurrent request may have made one meanwhile: keep the first, so one user has one
        // credential cache.
        Ok(self
            .lock()
            .get_or_insert(user.to_string(), || client)
            .clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<String, Client>> {
        self.clients.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Opens the STS connection that the first request's `AssumeRole` will use (DNS, TCP, TLS),
/// with one `GetCallerIdentity` on the function's own credentials (which no policy can deny),
/// bounded by [`PRIME_TIMEOUT`]: a cold start runs it beside the DynamoDB priming. A failure is
/// only logged: the first `AssumeRole` then opens the connection itself.
pub async fn prime_sts(config: &SdkConfig) {
    let call = aws_sdk_sts::Client::new(config)
        .get_caller_identity()
        .send();
    match tokio::time::timeout(PRIME_TIMEOUT, call).await {
        Ok(Ok(_)) => tracing::debug!("STS connection primed"),
        Ok(Err(error)) => tracing::warn!(
            error = %DisplayErrorContext(&error),
            "priming the STS connection failed"
        ),
        Err(_) => tracing::warn!("priming the STS connection timed out"),
    }
}

/// A user's `AssumeRole` credentials, loaded when one of the instance's turns is free, and
/// counted.
#[derive(Debug)]
struct TakingTurns {
    assume_role: AssumeRoleProvider,
    turns: Arc<Semaphore>,
}

impl TakingTurns {
    async fn load(&self) -> Result<aws_credential_types::Credentials, CredentialsError> {
        let _turn = self
            .turns
            .acquire()
            .await
            .map_err(CredentialsError::provider_error)?;
        metrics::count(Metric::StsAssumeRole);
        let loaded = self.assume_role.provide_credentials().await;
        if let Err(error) = &loaded {
            metrics::count(Metric::StsFailures);
            let throttled = is_throttled(error);
            if throttled {
                metrics::count(Metric::StsThrottles);
            }
            tracing::warn!(
                throttled,
                error = %DisplayErrorContext(error),
                "AssumeRole of the tenant role failed"
            );
        }
        loaded
    }
}

impl ProvideCredentials for TakingTurns {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.load())
    }
}

/// Whether STS refused the `AssumeRole` of `error` for its request rate.
fn is_throttled(error: &CredentialsError) -> bool {
    std::error::Error::source(error)
        .and_then(|source| source.downcast_ref::<SdkError<AssumeRoleError, HttpResponse>>())
        .and_then(|error| error.as_service_error()?.code())
        .is_some_and(|code| THROTTLING_CODES.contains(&code))
}

/// DynamoDB item actions a caller may make: on any attribute, or only on some (IAM's
/// `dynamodb:Attributes`), which it must then name (`Select` of specific attributes) and never
/// get back whole (`ReturnValues` of updated attributes at most).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemAccess {
    pub actions: &'static [&'static str],
    /// `None`: any attribute.
    pub attributes: Option<&'static [&'static str]>,
}

impl ItemAccess {
    /// `actions` on any attribute.
    pub const fn any(actions: &'static [&'static str]) -> Self {
        Self {
            actions,
            attributes: None,
        }
    }

    /// `actions` on `attributes` only.
    pub const fn only(
        actions: &'static [&'static str],
        attributes: &'static [&'static str],
    ) -> Self {
        Self {
            actions,
            attributes: Some(attributes),
        }
    }

    /// The IAM condition that holds it to its attributes, if it has any.
    pub fn condition(&self) -> Option<serde_json::Value> {
        self.attributes.map(|attributes| {
            serde_json::json!({
                "ForAllValues:StringEquals": {"dynamodb:Attributes": attributes},
                "StringEqualsIfExists": {
                    "dynamodb:Select": "SPECIFIC_ATTRIBUTES",
                    "dynamodb:ReturnValues": ["NONE", "UPDATED_OLD", "UPDATED_NEW"],
                },
            })
        })
    }
}

/// The session policy: the actions of every [`ItemAccess`] on any attribute in one statement
/// (sorted, each once), then a statement for each restricted one, all on any resource (the
/// role's own policy limits them to the table and the user's partition).
pub fn session_policy(access: &[ItemAccess]) -> String {
    let mut any: Vec<&str> = access
        .iter()
        .filter(|access| access.attributes.is_none())
        .flat_map(|access| access.actions.iter().copied())
        .collect();
    any.sort_unstable();
    any.dedup();
    let mut statements = Vec::new();
    if !any.is_empty() {
        statements.push(serde_json::json!({"Effect": "Allow", "Action": any, "Resource": "*"}));
    }
    for access in access {
        if let Some(condition) = access.condition() {
            statements.push(serde_json::json!({
                "Effect": "Allow",
                "Action": access.actions,
                "Resource": "*",
                "Condition": condition,
            }));
        }
    }
    serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

/// A session name IAM accepts (`[\w+=,.@-]{2,64}`) that names the user without spelling it.
fn session_name(user: &str) -> String {
    let digest = Sha256::digest(user.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("taskgate-{hex}")
}

/// Whether IAM accepts `value` as a session tag value: at most 256 characters of Unicode letters
/// and digits, spaces and `_ . : / = + - @`.
fn is_tag_value(value: &str) -> bool {
    value.chars().count() <= MAX_TAG_VALUE_CHARS
        && value.chars().all(|c| {
            c.is_alphanumeric() || matches!(c, ' ' | '_' | '.' | ':' | '/' | '=' | '+' | '-' | '@')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_iam_cannot_carry_are_refused() {
        for ok in [
            "u7Kq2Yd9RmXc4LpN8sTf3VbW6hZj1AeG",
            "a@b.c",
            "ünïcode-1",
            &"x".repeat(256),
        ] {
            assert!(is_tag_value(ok), "{ok}");
        }
        for bad in [
            "a\nb",
            "a,b",
            "a;b",
            "a\"b",
            "a*b",
            &"x".repeat(257),
            "a\u{0}b",
        ] {
            assert!(!is_tag_value(bad), "{bad:?}");
        }
    }

    #[test]
    fn session_names_are_valid_and_stable() {
        let name = session_name("any user id, even ünïcode");
        assert_eq!(name, session_name("any user id, even ünïcode"));
        assert_ne!(name, session_name("another"));
        assert!((2..=64).contains(&name.len()));
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
        );
    }

    #[test]
    fn the_session_policy_allows_each_access_with_its_attributes_only() {
        let access = [
            ItemAccess::any(&["dynamodb:Query"]),
            ItemAccess::only(&["dynamodb:GetItem"], &["user_id", "not_before"]),
        ];
        let policy: serde_json::Value = serde_json::from_str(&session_policy(&access)).unwrap();
        assert_eq!(
            policy["Statement"][0],
            serde_json::json!({"Effect": "Allow", "Action": ["dynamodb:Query"], "Resource": "*"})
        );
        let restricted = &policy["Statement"][1];
        assert_eq!(
            restricted["Action"],
            serde_json::json!(["dynamodb:GetItem"])
        );
        let condition = &restricted["Condition"];
        assert_eq!(
            condition["ForAllValues:StringEquals"]["dynamodb:Attributes"],
            serde_json::json!(["user_id", "not_before"])
        );
        assert_eq!(
            condition["StringEqualsIfExists"]["dynamodb:Select"],
            "SPECIFIC_ATTRIBUTES"
        );
    }
}
