//! Steps 2 and 3: each user's items counted in both tables (a Scan of keys and counters only),
//! each user's `#count` in the target set to the tasks it holds, and every difference between
//! the tables reported.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use aws_sdk_dynamodb::Client;
use taskgate::tasks::dynamodb::item::{
    Item, ItemKind, TASK_COUNT, TASK_ID, USER_ID, counter_key, item_kind, n, number,
};

use crate::{MigrateError, Options};

/// One user's items in one table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserCounts {
    pub tasks: u64,
    pub records: u64,
    pub revocations: u64,
    pub others: u64,
    /// The `#count` counter's value, if the user has one.
    pub counter: Option<u64>,
}

/// A user whose counter was wrong, in the source (`source`) or in the target before the
/// rebuild (`target`), and the number of tasks the target holds (`tasks`), which its counter
/// now says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterFix {
    pub user: String,
    pub source: Option<u64>,
    pub target: Option<u64>,
    pub tasks: u64,
    /// Whether the target's counter was set (not in a dry run, nor when it was right already).
    pub fixed: bool,
}

/// A user whose items differ between the source and the target after the copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub user: String,
    pub source: UserCounts,
    pub target: UserCounts,
}

/// Counts every user's items in both tables, rebuilds the target's counters and reports both
/// (in a dry run: the source's counters only).
pub(crate) async fn counters_and_counts(
    client: &Client,
    options: &Options,
    out: &mut impl Write,
) -> Result<(Vec<CounterFix>, Vec<Difference>), MigrateError> {
    let source = count_by_user(client, &options.source).await?;
    if options.dry_run {
        let fixes: Vec<CounterFix> = source
            .iter()
            .filter(|(_, counts)| counts.counter.unwrap_or(0) != counts.tasks)
            .map(|(user, counts)| CounterFix {
                user: user.clone(),
                source: counts.counter,
                target: None,
                tasks: counts.tasks,
                fixed: false,
            })
            .collect();
        for fix in &fixes {
            writeln!(
                out,
                "counter of {} is {:?} in the source for {} tasks: it will be rebuilt",
                fix.user, fix.source, fix.tasks
            )?;
        }
        writeln!(out, "dry run: {} users, nothing written", source.len())?;
        return Ok((fixes, Vec::new()));
    }
    let target = count_by_user(client, &options.target).await?;
    let users: BTreeSet<&String> = source.keys().chain(target.keys()).collect();
    let (mut fixes, mut set) = (Vec::new(), 0);
    for user in &users {
        let (in_source, in_target) = (counts_of(&source, user), counts_of(&target, user));
        let right = |counts: UserCounts| counts.counter.unwrap_or(0) == counts.tasks;
        let fixed = !right(in_target);
        if fixed {
            set_counter(client, &options.target, user, in_target.tasks).await?;
            set += 1;
        }
        // Counters are not copied, so the target's is missing at first: only a wrong one, in
        // either table, is reported.
        if right(in_source) && (right(in_target) || in_target.counter.is_none()) {
            continue;
        }
        let fix = CounterFix {
            user: (*user).clone(),
            source: in_source.counter,
            target: in_target.counter,
            tasks: in_target.tasks,
            fixed,
        };
        writeln!(
            out,
            "counter of {} was wrong: {:?} in the source (for {} tasks), {:?} in the target; \
             now {}",
            fix.user, fix.source, in_source.tasks, fix.target, fix.tasks
        )?;
        fixes.push(fix);
    }
    let mut differences = Vec::new();
    for user in &users {
        let (source, target) = (counts_of(&source, user), counts_of(&target, user));
        let same = |c: &UserCounts| (c.tasks, c.records, c.revocations, c.others);
        if same(&source) != same(&target) {
            writeln!(
                out,
                "DIFFERS: {user}: source {source:?}, target {target:?} (counters aside)"
            )?;
            differences.push(Difference {
                user: (*user).clone(),
                source,
                target,
            });
        }
    }
    writeln!(
        out,
        "verified {} users: {} differ; {set} counters set, {} were wrong",
        users.len(),
        differences.len(),
        fixes.len()
    )?;
    Ok((fixes, differences))
}

/// A user's counts in one table (all zero when the user has no item there).
fn counts_of(table: &BTreeMap<String, UserCounts>, user: &str) -> UserCounts {
    table.get(user).copied().unwrap_or_default()
}

/// Every user's items in `table`, read as keys and counters only.
pub async fn count_by_user(
    client: &Client,
    table: &str,
) -> Result<BTreeMap<String, UserCounts>, MigrateError> {
    let mut users: BTreeMap<String, UserCounts> = BTreeMap::new();
    let mut pages = client
        .scan()
        .table_name(table)
        .consistent_read(true)
        .projection_expression("#user_id, #task_id, #task_count")
        .expression_attribute_names("#user_id", USER_ID)
        .expression_attribute_names("#task_id", TASK_ID)
        .expression_attribute_names("#task_count", TASK_COUNT)
        .into_paginator()
        .items()
        .send();
    while let Some(item) = pages.next().await {
        let item: Item = item.map_err(MigrateError::dynamodb)?;
        let Some(aws_sdk_dynamodb::types::AttributeValue::S(user)) = item.get(USER_ID) else {
            continue;
        };
        let counts = users.entry(user.clone()).or_default();
        match item_kind(&item) {
            ItemKind::Task => counts.tasks += 1,
            ItemKind::IdempotencyRecord => counts.records += 1,
            ItemKind::Revocation => counts.revocations += 1,
            ItemKind::Counter => counts.counter = number(&item, TASK_COUNT).ok(),
            ItemKind::Other => counts.others += 1,
        }
    }
    Ok(users)
}

/// Sets `user`'s counter in `table` to `tasks`.
async fn set_counter(
    client: &Client,
    table: &str,
    user: &str,
    tasks: u64,
) -> Result<(), MigrateError> {
    client
        .update_item()
        .table_name(table)
        .set_key(Some(counter_key(user)))
        .update_expression("SET #task_count = :tasks")
        .expression_attribute_names("#task_count", TASK_COUNT)
        .expression_attribute_values(":tasks", n(tasks))
        .send()
        .await
        .map_err(MigrateError::dynamodb)?;
    Ok(())
}
