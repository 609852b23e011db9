//! The task model. Parse, don't validate: a `TaskTitle` can only hold a valid title, a `TaskId`
//! only a canonical ULID, so code that has one never checks it again.

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};
use ulid::Ulid;

/// Most characters a title may have, after trimming.
pub const TITLE_MAX_CHARS: usize = 200;
/// Most characters a description may have.
pub const DESCRIPTION_MAX_CHARS: usize = 2000;

/// Why a field was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("title must not be empty")]
    EmptyTitle,
    #[error("title must be at most {TITLE_MAX_CHARS} characters, got {0}")]
    TitleTooLong(usize),
    #[error("description must be at most {DESCRIPTION_MAX_CHARS} characters, got {0}")]
    DescriptionTooLong(usize),
    #[error("{0} must not contain control characters")]
    ControlCharacter(&'static str),
}

/// A task's title: trimmed, 1 to 200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct TaskTitle(String);

impl TaskTitle {
    /// Trims and checks a title.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let title = raw.trim();
        let chars = title.chars().count();
        if chars == 0 {
            return Err(ValidationError::EmptyTitle);
        }
        if chars > TITLE_MAX_CHARS {
            return Err(ValidationError::TitleTooLong(chars));
        }
        if title.chars().any(char::is_control) {
            return Err(ValidationError::ControlCharacter("title"));
        }
        Ok(Self(title.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A task's description: at most 2000 characters; line breaks and tabs are its only control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct TaskDescription(String);

impl TaskDescription {
    /// Checks a description.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let chars = raw.chars().count();
        if chars > DESCRIPTION_MAX_CHARS {
            return Err(ValidationError::DescriptionTooLong(chars));
        }
        if raw
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(ValidationError::ControlCharacter("description"));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A task id: a ULID in its canonical 26-character upper-case form, so ids sort by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(Ulid);

impl TaskId {
    /// A new id for the instant `at`, later than every id `generator` made before.
    pub fn new(generator: &std::sync::Mutex<ulid::Generator>, at: DateTime<Utc>) -> Self {
        let mut generator = generator.lock().unwrap_or_else(|p| p.into_inner());
        // The generator only fails when 2^80 ids are made in one millisecond.
        Self(
            generator
                .generate_from_datetime(at.into())
                .unwrap_or_else(|_| Ulid::new()),
        )
    }
}

impl FromStr for TaskId {
    type Err = ();

    /// Accepts only the canonical form, so one task has exactly one id string.
    fn from_str(s: &str) -> Result<Self, ()> {
        let id = Self(Ulid::from_string(s).map_err(|_| ())?);
        if id.to_string() != s {
            return Err(());
        }
        Ok(id)
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for TaskId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A task as the API shows it: its `Serialize` is the API's JSON for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Task {
    pub id: TaskId,
    pub user_id: String,
    pub title: TaskTitle,
    pub description: Option<TaskDescription>,
    pub completed: bool,
    #[serde(serialize_with = "rfc3339_millis")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339_millis")]
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

impl Task {
    /// The task a create request makes: version 1, not completed.
    pub fn new(id: TaskId, user_id: &str, new: NewTask, now: DateTime<Utc>) -> Self {
        Self {
            id,
            user_id: user_id.to_string(),
            title: new.title,
            description: new.description,
            completed: false,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// The HTTP entity tag of this version of the task.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }
}

/// Formats a time as RFC 3339 UTC with milliseconds, e.g. `2026-11-29T09:00:00.000Z`.
pub fn format_time(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Serialises a time as [`format_time`] writes it.
fn rfc3339_millis<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_time(time))
}

/// What a create request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    pub title: TaskTitle,
    pub description: Option<TaskDescription>,
}

/// What an update request asks for: title and description are replaced; `completed` is left
/// as it is when absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskChanges {
    pub title: TaskTitle,
    pub description: Option<TaskDescription>,
    pub completed: Option<bool>,
}

/// Which tasks a list request wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    #[default]
    All,
    Pending,
    Completed,
}

impl StatusFilter {
    /// The completion state the filter selects, if it selects one.
    pub fn only(self) -> Option<bool> {
        match self {
            StatusFilter::All => None,
            StatusFilter::Pending => Some(false),
            StatusFilter::Completed => Some(true),
        }
    }

    /// Whether a task with this completion state passes the filter.
    pub fn admits(self, completed: bool) -> bool {
        self.only().is_none_or(|only| only == completed)
    }
}

impl FromStr for StatusFilter {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "all" => Ok(Self::All),
            "pending" => Ok(Self::Pending),
            "completed" => Ok(Self::Completed),
            _ => Err(()),
        }
    }
}

/// An opaque list position: the last task id a page returned. It carries no user and no
/// check: the partition always comes from the token, so a cursor, edited or another user's,
/// can only move the position within the caller's own tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor(pub TaskId);

impl Cursor {
    /// The cursor as clients see it: base64url of the task id's bytes.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.0.to_bytes())
    }

    /// Reads a cursor a client sent back; `None` when it is not base64url of a task id.
    pub fn decode(raw: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        let id: [u8; 16] = bytes.try_into().ok()?;
        Some(Self(TaskId(Ulid::from_bytes(id))))
    }
}

/// A cursor is sent as [`Cursor::encode`] writes it.
impl Serialize for Cursor {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(
            TaskTitle::parse("  Buy milk ").unwrap().as_str(),
            "Buy milk"
        );
        assert_eq!(TaskTitle::parse("   "), Err(ValidationError::EmptyTitle));
        assert!(TaskTitle::parse(&"é".repeat(200)).is_ok());
        assert_eq!(
            TaskTitle::parse(&"a".repeat(201)),
            Err(ValidationError::TitleTooLong(201))
        );
        assert_eq!(
            TaskTitle::parse("a\u{0}b"),
            Err(ValidationError::ControlCharacter("title"))
        );
    }

    #[test]
    fn descriptions_keep_line_breaks_but_not_other_controls() {
        assert!(TaskDescription::parse("line 1\nline 2\ttab").is_ok());
        assert!(TaskDescription::parse("bell\u{7}").is_err());
        assert!(TaskDescription::parse(&"x".repeat(2001)).is_err());
    }

    #[test]
    fn task_ids_must_be_canonical_ulids() {
        let id: TaskId = "01ARZ3NDEKTSV4RRFFQ69G5FAV".parse().unwrap();
        assert_eq!(id.to_string(), "01ARZ3NDEKTSV4RRFFQ69G5FAV");
        assert!("01arz3ndektsv4rrffq69g5fav".parse::<TaskId>().is_err());
        assert!("not-a-ulid".parse::<TaskId>().is_err());
    }

    #[test]
    fn cursors_round_trip_and_anything_else_is_refused() {
        let cursor = Cursor("01ARZ3NDEKTSV4RRFFQ69G5FAV".parse().unwrap());
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        for bad in ["", "!!!", "Zm9v", &format!("{}AA", cursor.encode())] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }

    fn task_at(time: &str, description: Option<&str>) -> Task {
        let new = NewTask {
            title: TaskTitle::parse("Buy \"oat\" milk").unwrap(),
            description: description.map(|d| TaskDescription::parse(d).unwrap()),
        };
        let time = DateTime::parse_from_rfc3339(time).unwrap().to_utc();
        let id = "01KB5W7T3E6S9X0N8F2Q4R7M1C".parse().unwrap();
        Task::new(id, "user-1", new, time)
    }

    #[test]
    fn a_new_task_is_sent_with_its_fields_in_order_and_a_null_description() {
        let task = task_at("2026-11-29T09:10:21.450Z", None);
        assert_eq!(
            serde_json::to_string(&task).unwrap(),
            r#"{"id":"01KB5W7T3E6S9X0N8F2Q4R7M1C","user_id":"user-1","title":"Buy \"oat\" milk","description":null,"completed":false,"created_at":"2026-11-29T09:10:21.450Z","updated_at":"2026-11-29T09:10:21.450Z","version":1}"#
        );
        assert_eq!(task.etag(), "\"1\"");
    }

    #[test]
    fn a_changed_task_is_sent_with_both_times_in_milliseconds_utc() {
        let mut task = task_at("2026-11-29T10:10:21+01:00", Some("line 1\nline 2"));
        task.completed = true;
        task.updated_at = DateTime::from_timestamp_millis(1_796_037_021_007).unwrap();
        task.version = 3;
        let json: serde_json::Value = serde_json::to_value(&task).unwrap();
        assert_eq!(json["description"], "line 1\nline 2");
        assert_eq!(json["completed"], true);
        assert_eq!(json["created_at"], "2026-11-29T09:10:21.000Z");
        assert_eq!(json["updated_at"], "2026-11-30T11:10:21.007Z");
        assert_eq!(json["version"], 3);
        assert_eq!(task.etag(), "\"3\"");
    }

    #[test]
    fn a_cursor_is_sent_encoded() {
        let cursor = Cursor("01ARZ3NDEKTSV4RRFFQ69G5FAV".parse().unwrap());
        assert_eq!(
            serde_json::to_string(&cursor).unwrap(),
            format!("\"{}\"", cursor.encode())
        );
    }
}
