//! Isolation the database enforces (`DATA_ISOLATION=iam`): every store call for a user runs with
//! credentials of the tenant role, assumed with a session tag carrying that (verified) user id;
//! the role's policy allows only items whose partition key equals the tag
//! (`dynamodb:LeadingKeys`), and a session policy narrows it to the [`ItemAccess`] the caller
//! names (the app names that of the routes its process serves).
//! Clients are cached per user (bounded LRU); each refreshes its credentials before they expire,
//! one `AssumeRole` at a time, and all share the one HTTP connection pool of the SDK settings.

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::identity::IdentityCache;
use aws_config::sts::AssumeRoleProvider;
use aws_sdk_dynamodb::Client;
use lru::LruCache;
use sha2::{Digest, Sha256};

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

/// Per-user DynamoDB clients on the tenant role.
pub struct TenantClients {
    config: SdkConfig,
    role_arn: String,
    session_policy: String,
    clients: Mutex<LruCache<String, Client>>,
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
        let config = aws_sdk_dynamodb::config::Builder::from(&self.config)
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
