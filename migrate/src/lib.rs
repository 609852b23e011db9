//! `taskgate-migrate`: copies a tasks table made before the status index (`by_status`) into a
//! new table that has it, then verifies the copy user by user (docs/deploy.md).
//!
//! 1. **Copy**: a strongly consistent Scan of the source, page by page. Each task goes through
//!    the store's own item mapping (read, then written back with its `status_task`), so it
//!    lands in the index; idempotency records, revocation states and any other item are copied
//!    as they are; counters are left to step 2. Each item is a conditional put (never over an
//!    item the target already has), with the SDK's retries and backoff. After each page the
//!    position is saved to a checkpoint file, so an interrupted run goes on where it stopped.
//! 2. **Counters**: each user's `#count` is set to the number of tasks the target holds, and
//!    every counter that was wrong (in the source, or in the target) is reported.
//! 3. **Verify**: the tasks, idempotency records, revocation states and other items of every
//!    user are counted in both tables; any difference is reported and fails the run.
//!
//! With `dry_run` nothing is written (not even the checkpoint): the copy is planned, the
//! source's counters are checked, and what would be written is reported.

mod checkpoint;
mod copy;
mod verify;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use taskgate::tasks::dynamodb::item::STATUS_INDEX;

pub use checkpoint::{Checkpoint, CopyStats};
pub use verify::{CounterFix, Difference, UserCounts, count_by_user};

/// What to migrate, and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// The table made before the status index; only read.
    pub source: String,
    /// The new table, with the status index (made from `template.yaml`).
    pub target: String,
    /// Where the copy's progress is kept between runs.
    pub checkpoint: PathBuf,
    /// Plan and check only: write nothing.
    pub dry_run: bool,
    /// Items per Scan page (DynamoDB's 1 MB pages when `None`).
    pub page_size: Option<i32>,
    /// Puts in flight at once.
    pub concurrency: usize,
}

/// Why a migration stopped before its end (its checkpoint keeps what was copied).
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("table {table}: {reason}")]
    Table { table: String, reason: String },
    #[error("DynamoDB: {0}")]
    DynamoDb(String),
    #[error("checkpoint {path}: {reason}")]
    Checkpoint { path: PathBuf, reason: String },
    #[error("cannot write the report: {0}")]
    Report(#[from] std::io::Error),
}

impl MigrateError {
    fn dynamodb(error: impl std::error::Error) -> Self {
        MigrateError::DynamoDb(DisplayErrorContext(error).to_string())
    }
}

/// How a migration ended.
#[derive(Debug, Default)]
pub struct Outcome {
    /// What the copy read and wrote, over every run.
    pub copied: CopyStats,
    /// Counters that were wrong, and what they became.
    pub counters: Vec<CounterFix>,
    /// Users whose items differ between the tables after the copy.
    pub differences: Vec<Difference>,
}

impl Outcome {
    /// Whether every item was readable and every user's counts agree.
    pub fn verified(&self) -> bool {
        self.copied.unreadable.is_empty() && self.differences.is_empty()
    }
}

/// A DynamoDB client for a long copy: the settings of `config` with patient retries
/// (10 attempts, jittered exponential backoff from 200 ms up to 20 s) and timeouts made for
/// them (30 s an attempt, 5 minutes a call), where the functions' are short.
pub fn client(config: &SdkConfig) -> Client {
    let settings = aws_sdk_dynamodb::config::Builder::from(config)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(10)
                .with_initial_backoff(Duration::from_millis(200))
                .with_max_backoff(Duration::from_secs(20)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(30))
                .operation_timeout(Duration::from_secs(300))
                .build(),
        )
        .build();
    Client::from_conf(settings)
}

/// Runs the migration, writing what it does to `out`.
pub async fn run(
    client: &Client,
    options: &Options,
    out: &mut impl Write,
) -> Result<Outcome, MigrateError> {
    check_tables(client, options).await?;
    let mut checkpoint = match options.dry_run {
        true => Checkpoint::new(options),
        false => Checkpoint::load_or_new(options)?,
    };
    if checkpoint.next.is_some() || checkpoint.copy_done {
        writeln!(
            out,
            "resuming from {} ({} items copied before)",
            options.checkpoint.display(),
            checkpoint.copied.written + checkpoint.copied.already_present
        )?;
    }
    copy::copy(client, options, &mut checkpoint, out).await?;
    let copied = checkpoint.copied.clone();
    writeln!(out, "{}", copied.summary(options.dry_run))?;
    for unreadable in &copied.unreadable {
        writeln!(out, "unreadable task, copied as it is: {unreadable}")?;
    }
    let (counters, differences) = verify::counters_and_counts(client, options, out).await?;
    Ok(Outcome {
        copied,
        counters,
        differences,
    })
}

/// The source must exist; the target must exist with the status index (unless a dry run finds
/// no target yet), and differ from the source.
async fn check_tables(client: &Client, options: &Options) -> Result<(), MigrateError> {
    if options.source == options.target {
        return Err(MigrateError::Table {
            table: options.target.clone(),
            reason: "is also the source: copy into a new table".into(),
        });
    }
    describe(client, &options.source).await?;
    let target = describe(client, &options.target).await?;
    let indexed = target
        .local_secondary_indexes()
        .iter()
        .any(|index| index.index_name() == Some(STATUS_INDEX));
    if !indexed {
        return Err(MigrateError::Table {
            table: options.target.clone(),
            reason: format!(
                "has no local secondary index {STATUS_INDEX}: create it from template.yaml \
                 (docs/deploy.md)"
            ),
        });
    }
    Ok(())
}

async fn describe(
    client: &Client,
    table: &str,
) -> Result<aws_sdk_dynamodb::types::TableDescription, MigrateError> {
    let described = client.describe_table().table_name(table).send().await;
    described
        .map_err(|error| MigrateError::Table {
            table: table.into(),
            reason: DisplayErrorContext(error).to_string(),
        })?
        .table
        .ok_or_else(|| MigrateError::Table {
            table: table.into(),
            reason: "DescribeTable returned no table".into(),
        })
}
