//! Tasks: the model and its validation, and where tasks are kept ([`TaskStore`]).

pub mod dynamodb;
pub mod memory;
mod model;
mod store;

pub use model::{
    Cursor, NewTask, StatusFilter, Task, TaskChanges, TaskDescription, TaskId, TaskTitle,
    ValidationError,
};
pub use store::{Created, IDEMPOTENCY_WINDOW, ListQuery, Page, PageLimit, StoreError, TaskStore};
