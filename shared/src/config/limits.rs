//! What one user and one request may cost: `TASK_QUOTA` and `REQUEST_DEADLINE_MS`.

use std::time::Duration;

use super::ConfigError;

/// Tasks one user may have when `TASK_QUOTA` is not set.
pub const DEFAULT_TASK_QUOTA: u64 = 10_000;
/// The request deadline when `REQUEST_DEADLINE_MS` is not set: well inside the template's 10 s
/// function timeout.
pub const DEFAULT_REQUEST_DEADLINE: Duration = Duration::from_secs(8);
/// The longest request deadline: a Lambda function's longest timeout.
const MAX_REQUEST_DEADLINE: Duration = Duration::from_secs(900);

/// What one user and one request may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `TASK_QUOTA`: tasks one user may have (idempotency records do not count).
    pub task_quota: u64,
    /// `REQUEST_DEADLINE_MS`: how long one request may take, retries included; past it the
    /// answer is 503 with `Retry-After`.
    pub request_deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            task_quota: DEFAULT_TASK_QUOTA,
            request_deadline: DEFAULT_REQUEST_DEADLINE,
        }
    }
}

impl Limits {
    /// Reads `TASK_QUOTA` and `REQUEST_DEADLINE_MS` (each a positive whole number).
    pub fn from_lookup(env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let positive = |name: &'static str, max: u64| -> Result<Option<u64>, ConfigError> {
            env(name)
                .map(|raw| match raw.trim().parse::<u64>() {
                    Ok(value) if (1..=max).contains(&value) => Ok(value),
                    _ => Err(ConfigError::new(
                        name,
                        format!("must be a whole number from 1 to {max}"),
                    )),
                })
                .transpose()
        };
        let deadline_ms = positive(
            "REQUEST_DEADLINE_MS",
            MAX_REQUEST_DEADLINE.as_millis() as u64,
        )?;
        Ok(Self {
            task_quota: positive("TASK_QUOTA", u64::from(u32::MAX))?.unwrap_or(DEFAULT_TASK_QUOTA),
            request_deadline: deadline_ms.map_or(DEFAULT_REQUEST_DEADLINE, Duration::from_millis),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::lookup;

    #[test]
    fn limits_default_and_are_bounded() {
        assert_eq!(Limits::from_lookup(lookup(&[])), Ok(Limits::default()));
        let vars = [("TASK_QUOTA", "3"), ("REQUEST_DEADLINE_MS", "1500")];
        let limits = Limits::from_lookup(lookup(&vars)).unwrap();
        assert_eq!(limits.task_quota, 3);
        assert_eq!(limits.request_deadline, Duration::from_millis(1500));
        for (name, bad) in [
            ("TASK_QUOTA", "0"),
            ("TASK_QUOTA", "many"),
            ("REQUEST_DEADLINE_MS", "0"),
            ("REQUEST_DEADLINE_MS", "900001"),
        ] {
            let error = Limits::from_lookup(lookup(&[(name, bad)])).unwrap_err();
            assert_eq!(error.variable, name, "{bad}");
        }
    }
}
