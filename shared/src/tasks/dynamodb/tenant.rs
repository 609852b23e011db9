//! Isolation the database enforces (`DATA_ISOLATION=iam`): every store call for a user runs with
//! credentials of the tenant role, assumed with a session tag carrying that (verified) user id;
//! the role's policy allows only items whose partition key equals the tag
//! (`dynamodb:LeadingKeys`), and a session policy narrows it to the item actions the caller names
//! (the app names those of the routes its process serves).
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
    /// narrowed to the DynamoDB item `actions` (e.g. `dynamodb:GetItem`). No network call.
    pub fn new(config: &SdkConfig, role_arn: &str, actions: &[&str]) -> Self {
        Self {
            config: config.clone(),
            role_arn: role_arn.to_string(),
            session_policy: session_policy(actions),
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

/// The session policy: `actions`, on any resource (the role's own policy limits them to the
/// table and the user's partition).
fn session_policy(actions: &[&str]) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
    })
    .to_string()
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
    fn the_session_policy_allows_the_actions_named() {
        let actions = ["dynamodb:GetItem", "dynamodb:UpdateItem"];
        let policy: serde_json::Value = serde_json::from_str(&session_policy(&actions)).unwrap();
        assert_eq!(
            policy["Statement"][0],
            serde_json::json!({"Effect": "Allow", "Action": actions, "Resource": "*"})
        );
    }
}
