//! The `RevocationStore` trait: where each user's revocation state is kept.

use async_trait::async_trait;

use super::{Revocation, RevocationState};
use crate::tasks::StoreError;

/// Where revocation states are kept, one per user, in the user's own partition. Like the task
/// store, every method takes the authenticated user id, never a request field.
#[async_trait]
pub trait RevocationStore: Send + Sync {
    /// The user's state as it is now (strongly consistent); empty when the user has none.
    async fn revocation_state(&self, user_id: &str) -> Result<RevocationState, StoreError>;

    /// Applies `revocation` to the user's state, never losing a concurrent one, and returns the
    /// state as stored.
    async fn revoke(
        &self,
        user_id: &str,
        revocation: &Revocation,
    ) -> Result<RevocationState, StoreError>;
}
