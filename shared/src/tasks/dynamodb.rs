//! The DynamoDB store.

use crate::config::ConfigError;
use crate::tasks::memory::MemoryStore;

/// Tasks in a DynamoDB table.
pub type DynamoDbStore = MemoryStore;

impl DynamoDbStore {
    pub async fn from_env(_table: &str) -> Result<Self, ConfigError> {
        Err(ConfigError::new("TASKS_TABLE", "WIP"))
    }
}
