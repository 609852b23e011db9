//! Revocation states in this process's memory: the in-memory store's (`make dev`), with the
//! same semantics as DynamoDB's in one process.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use super::{Revocation, RevocationState, RevocationStore};
use crate::tasks::StoreError;

/// Most users with a state; past it a new user's revocation is `Unavailable`.
const MAX_USERS: usize = 1_000_000;

/// Each user's revocation state, by user id.
#[derive(Default)]
pub struct MemoryRevocations {
    states: Mutex<HashMap<String, RevocationState>>,
}

impl MemoryRevocations {
    fn states(&self) -> MutexGuard<'_, HashMap<String, RevocationState>> {
        // No code path panics while holding the lock, but a poisoned lock still holds valid data.
        self.states.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl RevocationStore for MemoryRevocations {
    async fn revocation_state(&self, user_id: &str) -> Result<RevocationState, StoreError> {
        Ok(self.states().get(user_id).cloned().unwrap_or_default())
    }

    async fn revoke(
        &self,
        user_id: &str,
        revocation: &Revocation,
    ) -> Result<RevocationState, StoreError> {
        let mut states = self.states();
        if states.len() >= MAX_USERS && !states.contains_key(user_id) {
            tracing::warn!("the in-memory revocation store is full");
            return Err(StoreError::Unavailable);
        }
        let state = states.entry(user_id.to_string()).or_default();
        state.apply(revocation);
        Ok(state.clone())
    }
}
