//! Each user's revocation state as one item of the tasks table, in the user's own partition:
//! sort key `#revocation` (below every task id, like the counter and idempotency records; no
//! `status_task`, so never in the status index; not counted as a task), attributes `not_before`
//! (N), `revoked_sessions` (M: session id -> N) and `revocation_version` (N). Revocations are
//! optimistic writes conditioned on the version, retried with backoff; reads are strongly
//! consistent and project only what they need, which is all IAM lets a route read of the item
//! (see `app::item_access`).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::DynamoDbStore;
use super::backoff::Backoff;
use super::error::unexpected;
use super::item::{Item, REVOCATION_KEY, TASK_ID, USER_ID, corrupt, n, number, s};
use crate::revocation::{Revocation, RevocationState, RevocationStore};
use crate::tasks::StoreError;

const NOT_BEFORE: &str = "not_before";
const REVOKED_SESSIONS: &str = "revoked_sessions";
const REVOCATION_VERSION: &str = "revocation_version";
/// Optimistic writes a revocation tries (with backoff) before giving up as `Unavailable`.
const MAX_REVOCATION_ATTEMPTS: u32 = 10;

/// The attributes of the revocation item every route reads (with its key): IAM lets them read
/// nothing else of it.
pub const REVOCATION_READ_ATTRIBUTES: [&str; 4] = [USER_ID, TASK_ID, NOT_BEFORE, REVOKED_SESSIONS];
/// The attributes the revoke routes read and write: IAM lets them touch nothing else.
pub const REVOCATION_WRITE_ATTRIBUTES: [&str; 5] = [
    USER_ID,
    TASK_ID,
    NOT_BEFORE,
    REVOKED_SESSIONS,
    REVOCATION_VERSION,
];

#[async_trait]
impl RevocationStore for DynamoDbStore {
    async fn revocation_state(&self, user_id: &str) -> Result<RevocationState, StoreError> {
        let client = self.client_for(user_id).await?;
        Ok(self.read_revocation(&client, user_id, false).await?.0)
    }

    /// Reads the state and its version, applies the revocation, and writes it on the condition
    /// that the version has not changed; a lost write starts again from a new read.
    async fn revoke(
        &self,
        user_id: &str,
        revocation: &Revocation,
    ) -> Result<RevocationState, StoreError> {
        let client = self.client_for(user_id).await?;
        let mut backoff = Backoff::new(MAX_REVOCATION_ATTEMPTS);
        loop {
            let (mut state, version) = self.read_revocation(&client, user_id, true).await?;
            state.apply(revocation);
            if self
                .write_revocation(&client, user_id, &state, version)
                .await?
            {
                return Ok(state);
            }
            if !backoff.retry().await {
                tracing::warn!(
                    "revocation still contended after {MAX_REVOCATION_ATTEMPTS} attempts"
                );
                return Err(StoreError::Unavailable);
            }
        }
    }
}

impl DynamoDbStore {
    /// The user's state, strongly consistent, and with `versioned` its version (`None`: never
    /// written).
    async fn read_revocation(
        &self,
        client: &Client,
        user_id: &str,
        versioned: bool,
    ) -> Result<(RevocationState, Option<u64>), StoreError> {
        let projection = match versioned {
            true => "#not_before, #revoked_sessions, #revocation_version",
            false => "#not_before, #revoked_sessions",
        };
        let mut request = client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(revocation_key(user_id)))
            .consistent_read(true)
            .projection_expression(projection)
            .expression_attribute_names("#not_before", NOT_BEFORE)
            .expression_attribute_names("#revoked_sessions", REVOKED_SESSIONS);
        if versioned {
            request = request.expression_attribute_names("#revocation_version", REVOCATION_VERSION);
        }
        let output = request.send().await.map_err(unexpected)?;
        match output.item {
            Some(item) => from_item(&item),
            None => Ok((RevocationState::default(), None)),
        }
    }

    /// Writes `state` if the item is still at `version`; `false` when another write came first.
    async fn write_revocation(
        &self,
        client: &Client,
        user_id: &str,
        state: &RevocationState,
        version: Option<u64>,
    ) -> Result<bool, StoreError> {
        let sessions = state
            .revoked_sessions
            .iter()
            .map(|(session, until)| (session.clone(), n(until)))
            .collect();
        let mut set = vec![
            "#revoked_sessions = :revoked_sessions",
            "#revocation_version = :next",
        ];
        let mut request = client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(revocation_key(user_id)))
            .expression_attribute_names("#revoked_sessions", REVOKED_SESSIONS)
            .expression_attribute_names("#revocation_version", REVOCATION_VERSION)
            .expression_attribute_values(":revoked_sessions", AttributeValue::M(sessions))
            .expression_attribute_values(":next", n(version.unwrap_or(0) + 1))
            .return_values(ReturnValue::None);
        if let Some(not_before) = state.not_before {
            set.push("#not_before = :not_before");
            request = request
                .expression_attribute_names("#not_before", NOT_BEFORE)
                .expression_attribute_values(":not_before", n(not_before));
        }
        request = match version {
            None => request.condition_expression("attribute_not_exists(#revocation_version)"),
            Some(version) => request
                .condition_expression("#revocation_version = :current")
                .expression_attribute_values(":current", n(version)),
        };
        match request
            .update_expression(format!("SET {}", set.join(", ")))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(unexpected(error)),
            },
        }
    }
}

/// The key of the user's revocation item.
fn revocation_key(user_id: &str) -> Item {
    Item::from([
        (USER_ID.into(), s(user_id)),
        (TASK_ID.into(), s(REVOCATION_KEY)),
    ])
}

/// The state (and version, when read) of a revocation item.
fn from_item(item: &Item) -> Result<(RevocationState, Option<u64>), StoreError> {
    let not_before = item
        .contains_key(NOT_BEFORE)
        .then(|| number(item, NOT_BEFORE))
        .transpose()?;
    let revoked_sessions = match item.get(REVOKED_SESSIONS) {
        None => BTreeMap::new(),
        Some(AttributeValue::M(sessions)) => sessions
            .iter()
            .map(|(session, until)| match until {
                AttributeValue::N(until) => until
                    .parse()
                    .map(|until| (session.clone(), until))
                    .map_err(|_| corrupt(REVOKED_SESSIONS)),
                _ => Err(corrupt(REVOKED_SESSIONS)),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(corrupt(REVOKED_SESSIONS)),
    };
    let version = item
        .contains_key(REVOCATION_VERSION)
        .then(|| number(item, REVOCATION_VERSION))
        .transpose()?;
    let state = RevocationState {
        not_before,
        revoked_sessions,
    };
    Ok((state, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revocation_item_reads_back_as_its_state() {
        let item = Item::from([
            (NOT_BEFORE.into(), n(1001)),
            (
                REVOKED_SESSIONS.into(),
                AttributeValue::M([("s1".to_string(), n(90_000))].into()),
            ),
            (REVOCATION_VERSION.into(), n(3)),
        ]);
        let (state, version) = from_item(&item).unwrap();
        assert_eq!(state.not_before, Some(1001));
        assert_eq!(state.revoked_sessions["s1"], 90_000);
        assert_eq!(version, Some(3));
        let (empty, version) = from_item(&Item::new()).unwrap();
        assert_eq!((empty, version), (RevocationState::default(), None));
        let bad = Item::from([(REVOKED_SESSIONS.into(), s("s1"))]);
        assert!(matches!(from_item(&bad), Err(StoreError::Internal(_))));
    }

    #[test]
    fn the_revocation_item_sorts_below_every_task_and_is_never_listed() {
        assert!(REVOCATION_KEY < super::super::item::LOWEST_TASK_KEY);
    }
}
