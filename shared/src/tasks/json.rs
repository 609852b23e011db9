//! The API's JSON for tasks and pages of tasks, written straight into a response body.
//!
//! It is byte for byte what `serde_json` makes of [`Task`]'s `Serialize` (the tests hold it to
//! that), at a fraction of the cost, paid by every task response and every listed task: the
//! keys, ids, times and numbers never need escaping, so only text a user chose can reach
//! `serde_json`'s escaper, and only when it holds a character JSON escapes.

use super::model::with_time_text;
use super::{Page, Task};

/// Room for a task's JSON besides its user id, title and description (about 170 bytes).
const TASK_FIXED_BYTES: usize = 192;

impl Task {
    /// Appends the task as a JSON object to `out`.
    fn write_json(&self, out: &mut String) {
        out.push_str("{\"id\":\"");
        out.push_str(self.id.as_str(&mut [0; ulid::ULID_LEN]));
        out.push_str("\",\"user_id\":");
        write_str(out, &self.user_id);
        out.push_str(",\"title\":");
        write_str(out, self.title.as_str());
        out.push_str(",\"description\":");
        match &self.description {
            Some(description) => write_str(out, description.as_str()),
            None => out.push_str("null"),
        }
        out.push_str(match self.completed {
            true => ",\"completed\":true,\"created_at\":",
            false => ",\"completed\":false,\"created_at\":",
        });
        with_time_text(&self.created_at, |created| {
            push_quoted(out, created);
            out.push_str(",\"updated_at\":");
            // A task unchanged since it was made has one time: formatted once.
            match self.updated_at == self.created_at {
                true => push_quoted(out, created),
                false => with_time_text(&self.updated_at, |updated| push_quoted(out, updated)),
            }
        });
        out.push_str(",\"version\":");
        out.push_str(itoa::Buffer::new().format(self.version));
        out.push('}');
    }

    /// The task as a JSON object.
    pub fn to_json(&self) -> String {
        let mut json = String::with_capacity(self.json_capacity());
        self.write_json(&mut json);
        json
    }

    /// Room for the task's JSON when nothing in it needs escaping.
    fn json_capacity(&self) -> usize {
        let description = self.description.as_ref().map_or(0, |d| d.as_str().len());
        TASK_FIXED_BYTES + self.user_id.len() + self.title.as_str().len() + description
    }
}

impl Page {
    /// The page as the list route's JSON: `{"items": [...], "next_cursor": "..." | null}`.
    pub fn to_json(&self) -> String {
        let tasks: usize = self.items.iter().map(Task::json_capacity).sum();
        let mut json = String::with_capacity(tasks + 64);
        json.push_str("{\"items\":[");
        for (index, task) in self.items.iter().enumerate() {
            if index > 0 {
                json.push(',');
            }
            task.write_json(&mut json);
        }
        json.push_str("],\"next_cursor\":");
        match &self.next_cursor {
            Some(cursor) => write_str(&mut json, &cursor.encode()),
            None => json.push_str("null"),
        }
        json.push('}');
        json
    }
}

/// Appends `text` in quotes: a JSON string when `text` holds nothing JSON escapes (as RFC 3339
/// times never do).
fn push_quoted(out: &mut String, text: &str) {
    out.push('"');
    out.push_str(text);
    out.push('"');
}

/// Appends `text` as a JSON string: as it is when it holds none of the characters JSON escapes
/// (`"`, `\` and the controls below U+0020), else escaped by `serde_json`.
fn write_str(out: &mut String, text: &str) {
    if text
        .bytes()
        .all(|byte| byte >= 0x20 && byte != b'"' && byte != b'\\')
    {
        push_quoted(out, text);
    } else {
        // Serialising a `str` cannot fail.
        out.push_str(&serde_json::to_string(text).unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeDelta, Utc};
    use serde::Serialize;

    use super::*;
    use crate::tasks::{Cursor, NewTask, TaskDescription, TaskId, TaskTitle};

    fn task(user: &str, title: &str, description: Option<&str>, millis: i64) -> Task {
        let time: DateTime<Utc> = DateTime::from_timestamp_millis(millis).unwrap();
        let new = NewTask {
            title: TaskTitle::parse(title).unwrap(),
            description: description.map(|d| TaskDescription::parse(d).unwrap()),
        };
        let id: TaskId = "01KB5W7T3E6S9X0N8F2Q4R7M1C".parse().unwrap();
        Task::new(id, user, new, time)
    }

    /// Users, titles and descriptions with every character class JSON treats apart.
    fn tasks() -> Vec<Task> {
        let controls: String = (0u8..0x20).map(char::from).collect();
        let mut tasks = Vec::new();
        for user in [
            "user-1",
            "a\"b\\c",
            "ü/é 😀",
            "</script>\u{7f}\u{2028}",
            &controls,
        ] {
            for (title, description) in [
                ("Buy milk", None),
                ("quote \" and \\ backslash", Some("line 1\nline 2\ttab\r")),
                ("ünïcödé ✓ 😀", Some("")),
                ("</script><!--", Some("\n\r\t")),
                ("\u{2028}\u{fffd}", Some("/ and \\u001f are text")),
            ] {
                for millis in [
                    0,
                    1_764_406_800_123,
                    -62_167_219_200_001,
                    253_402_300_800_000,
                ] {
                    tasks.push(task(user, title, description, millis));
                }
            }
        }
        tasks[1].completed = true;
        tasks[2].version = u64::MAX;
        // Changed after it was made: each time written for itself, in and out of 0 to 9999.
        for (task, millis) in tasks.iter_mut().skip(4).zip([1, 253_402_300_800_000]) {
            task.updated_at = task.created_at + TimeDelta::milliseconds(millis);
        }
        tasks
    }

    #[test]
    fn a_task_is_written_as_serde_json_writes_it() {
        for task in tasks() {
            assert_eq!(task.to_json(), serde_json::to_string(&task).unwrap());
        }
    }

    #[test]
    fn a_page_is_written_as_serde_json_writes_it() {
        let cursor = Cursor("01ARZ3NDEKTSV4RRFFQ69G5FAV".parse().unwrap());
        for (items, next_cursor) in [
            (vec![], None),
            (tasks()[..1].to_vec(), None),
            (tasks(), Some(cursor)),
        ] {
            #[derive(Serialize)]
            struct Expected<'a> {
                items: &'a [Task],
                next_cursor: Option<String>,
            }
            let expected = Expected {
                items: &items,
                next_cursor: next_cursor.map(|c| c.encode()),
            };
            let expected = serde_json::to_string(&expected).unwrap();
            assert_eq!(Page { items, next_cursor }.to_json(), expected);
        }
    }
}
