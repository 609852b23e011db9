//! Step 1: the source, page by page, into the target. Tasks go through the store's item mapping
//! (so they gain their `status_task`); records, revocation states and other items are copied as
//! they are; counters are rebuilt later. Each put is conditional on the key being new in the
//! target, so a page copied twice (after an interruption) changes nothing the first time wrote.

use std::io::Write;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use futures_util::{StreamExt, TryStreamExt, stream};
use taskgate::tasks::dynamodb::item::{
    Item, ItemKind, TASK_ID, USER_ID, item_kind, task_from_item, task_item,
};

use crate::checkpoint::{Checkpoint, CopyStats, Key};
use crate::{MigrateError, Options};

/// Copies from where `checkpoint` stands to the end of the source, saving it after each page
/// (unless a dry run, which writes nothing).
pub(crate) async fn copy(
    client: &Client,
    options: &Options,
    checkpoint: &mut Checkpoint,
    out: &mut impl Write,
) -> Result<(), MigrateError> {
    while !checkpoint.copy_done {
        let page = client
            .scan()
            .table_name(&options.source)
            .consistent_read(true)
            .set_limit(options.page_size)
            .set_exclusive_start_key(checkpoint.next.as_ref().map(Key::item))
            .send()
            .await
            .map_err(MigrateError::dynamodb)?;
        let items: Vec<Item> = page
            .items
            .unwrap_or_default()
            .into_iter()
            .filter_map(|item| planned(item, &mut checkpoint.copied))
            .collect();
        if !options.dry_run {
            let (written, present) = put_new(client, &options.target, items, options).await?;
            checkpoint.copied.written += written;
            checkpoint.copied.already_present += present;
        }
        checkpoint.copied.pages += 1;
        checkpoint.next = page.last_evaluated_key.as_ref().and_then(Key::of);
        checkpoint.copy_done = checkpoint.next.is_none();
        if !options.dry_run {
            checkpoint.save(&options.checkpoint)?;
        }
        if checkpoint.copied.pages.is_multiple_of(100) {
            writeln!(out, "{}", checkpoint.copied.summary(options.dry_run))?;
        }
    }
    Ok(())
}

/// The item to write for a source item, counted by kind: a task as the mapping writes it
/// (with its `status_task`), or as it is if it cannot be read (reported); a counter not at all.
fn planned(item: Item, stats: &mut CopyStats) -> Option<Item> {
    match item_kind(&item) {
        ItemKind::Task => {
            stats.tasks += 1;
            match task_from_item(&item) {
                Ok(task) => Some(task_item(&task)),
                Err(error) => {
                    stats
                        .unreadable
                        .push(format!("{}: {error}", describe(&item)));
                    Some(item)
                }
            }
        }
        ItemKind::IdempotencyRecord => {
            stats.records += 1;
            Some(item)
        }
        ItemKind::Revocation => {
            stats.revocations += 1;
            Some(item)
        }
        ItemKind::Counter => {
            stats.counters += 1;
            None
        }
        ItemKind::Other => {
            stats.others += 1;
            Some(item)
        }
    }
}

/// Puts each item unless the target holds its key already: how many were written, and how many
/// were there.
async fn put_new(
    client: &Client,
    table: &str,
    items: Vec<Item>,
    options: &Options,
) -> Result<(u64, u64), MigrateError> {
    stream::iter(items)
        .map(|item| put_if_new(client, table, item))
        .buffer_unordered(options.concurrency)
        .try_fold((0, 0), |(written, present), new| async move {
            Ok(match new {
                true => (written + 1, present),
                false => (written, present + 1),
            })
        })
        .await
}

/// Puts `item` unless its key is in the target: `false` when it was.
async fn put_if_new(client: &Client, table: &str, item: Item) -> Result<bool, MigrateError> {
    let put = client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(#task_id)")
        .expression_attribute_names("#task_id", TASK_ID)
        .send()
        .await;
    match put {
        Ok(_) => Ok(true),
        Err(error) => match error.as_service_error() {
            Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(false),
            _ => Err(MigrateError::dynamodb(error)),
        },
    }
}

/// An item's key, for the report.
fn describe(item: &Item) -> String {
    let text = |name| match item.get(name) {
        Some(aws_sdk_dynamodb::types::AttributeValue::S(value)) => value.as_str(),
        _ => "?",
    };
    format!("{}/{}", text(USER_ID), text(TASK_ID))
}
