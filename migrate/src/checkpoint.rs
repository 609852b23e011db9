//! The copy's progress in a JSON file: which tables, where the Scan goes on from, and what was
//! copied so far. Saved after each page (to a temporary file, then renamed over the old one, so
//! an interruption leaves either the old checkpoint or the new one).

use std::collections::HashMap;
use std::path::Path;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use taskgate::tasks::dynamodb::item::{Item, TASK_ID, USER_ID, s};

use crate::{MigrateError, Options};

/// Where a copy stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub source: String,
    pub target: String,
    /// The key the next Scan page starts after; `None` at the start.
    pub next: Option<Key>,
    /// Whether the Scan reached the end of the source.
    pub copy_done: bool,
    pub copied: CopyStats,
}

/// A table key (`user_id`, `task_id`), as a Scan's `LastEvaluatedKey` holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    pub user_id: String,
    pub task_id: String,
}

/// What the copy read and wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyStats {
    /// Scan pages done.
    pub pages: u64,
    /// Items read, by kind (counters are read but not copied).
    pub tasks: u64,
    pub records: u64,
    pub revocations: u64,
    pub counters: u64,
    pub others: u64,
    /// Items put into the target, and items it already held (left as they were).
    pub written: u64,
    pub already_present: u64,
    /// Task items the mapping could not read (copied as they are): key and reason.
    pub unreadable: Vec<String>,
}

impl CopyStats {
    /// One line about the copy.
    pub fn summary(&self, dry_run: bool) -> String {
        let read = format!(
            "read {} tasks, {} idempotency records, {} revocation states, {} counters (rebuilt, \
             not copied), {} other items in {} pages",
            self.tasks, self.records, self.revocations, self.counters, self.others, self.pages
        );
        match dry_run {
            true => format!(
                "dry run: {read}; would write {} items",
                self.tasks + self.records + self.revocations + self.others
            ),
            false => format!(
                "{read}; wrote {}, {} already in the target",
                self.written, self.already_present
            ),
        }
    }
}

impl Key {
    /// The key a Scan page ended on.
    pub fn of(item: &Item) -> Option<Self> {
        let text = |name: &str| match item.get(name) {
            Some(AttributeValue::S(value)) => Some(value.clone()),
            _ => None,
        };
        Some(Self {
            user_id: text(USER_ID)?,
            task_id: text(TASK_ID)?,
        })
    }

    /// As a Scan's `ExclusiveStartKey`.
    pub fn item(&self) -> Item {
        HashMap::from([
            (USER_ID.into(), s(&self.user_id)),
            (TASK_ID.into(), s(&self.task_id)),
        ])
    }
}

impl Checkpoint {
    /// A copy of `options`' tables that has not started.
    pub fn new(options: &Options) -> Self {
        Self {
            source: options.source.clone(),
            target: options.target.clone(),
            next: None,
            copy_done: false,
            copied: CopyStats::default(),
        }
    }

    /// The saved checkpoint of `options`' tables, or a new one when there is none; a checkpoint
    /// of other tables is refused.
    pub fn load_or_new(options: &Options) -> Result<Self, MigrateError> {
        let path = &options.checkpoint;
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::new(options));
            }
            Err(error) => return Err(failure(path, error)),
        };
        let saved: Self = serde_json::from_str(&text).map_err(|error| failure(path, error))?;
        if saved.source != options.source || saved.target != options.target {
            return Err(failure(
                path,
                format!(
                    "belongs to a copy of {} into {}; give another --checkpoint",
                    saved.source, saved.target
                ),
            ));
        }
        Ok(saved)
    }

    /// Saves it to `path`, whole or not at all.
    pub fn save(&self, path: &Path) -> Result<(), MigrateError> {
        let text = serde_json::to_string_pretty(self).map_err(|error| failure(path, error))?;
        let partial = path.with_extension("partial");
        std::fs::write(&partial, text).map_err(|error| failure(path, error))?;
        std::fs::rename(&partial, path).map_err(|error| failure(path, error))
    }
}

fn failure(path: &Path, reason: impl ToString) -> MigrateError {
    MigrateError::Checkpoint {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(dir: &Path) -> Options {
        Options {
            source: "old".into(),
            target: "new".into(),
            checkpoint: dir.join("checkpoint.json"),
            dry_run: false,
            page_size: None,
            concurrency: 1,
        }
    }

    #[test]
    fn a_checkpoint_round_trips_and_belongs_to_its_tables() {
        let dir = std::env::temp_dir().join(format!("taskgate-migrate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let options = options(&dir);
        assert_eq!(
            Checkpoint::load_or_new(&options).unwrap(),
            Checkpoint::new(&options)
        );
        let mut checkpoint = Checkpoint::new(&options);
        checkpoint.next = Some(Key {
            user_id: "u".into(),
            task_id: "01ARZ3NDEKTSV4RRFFQ69G5FAV".into(),
        });
        checkpoint.copied.written = 3;
        checkpoint.save(&options.checkpoint).unwrap();
        assert_eq!(Checkpoint::load_or_new(&options).unwrap(), checkpoint);
        let other = Options {
            target: "elsewhere".into(),
            ..options.clone()
        };
        assert!(matches!(
            Checkpoint::load_or_new(&other),
            Err(MigrateError::Checkpoint { .. })
        ));
        let key = checkpoint.next.unwrap();
        assert_eq!(Key::of(&key.item()), Some(key));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
