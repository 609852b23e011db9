//! Jittered exponential backoff for the store's optimistic retry loops (a lost conditional write
//! or transaction): contenders spread out instead of colliding again at once, and a small budget
//! of attempts bounds the work; the request deadline bounds the time.

use std::time::Duration;

use rand::Rng;

use crate::metrics::{self, Metric};

/// The ceiling of the first wait; it doubles with each retry.
const FIRST_CEILING: Duration = Duration::from_millis(10);
/// The highest ceiling of any wait.
const MAX_CEILING: Duration = Duration::from_millis(320);

/// The attempts one retry loop may still make.
pub struct Backoff {
    attempts: u32,
    budget: u32,
}

impl Backoff {
    /// A loop that may make `budget` attempts in all.
    pub fn new(budget: u32) -> Self {
        Self {
            attempts: 1,
            budget,
        }
    }

    /// After a lost attempt: waits a random time up to a ceiling that doubles with each retry
    /// ("full jitter"), then returns `true` (a retry, counted as [`Metric::WriteConflicts`]); or
    /// returns `false` at once when the budget is spent.
    pub async fn retry(&mut self) -> bool {
        if self.attempts >= self.budget {
            return false;
        }
        metrics::count(Metric::WriteConflicts);
        let wait = rand::rng().random_range(Duration::ZERO..=ceiling(self.attempts));
        self.attempts += 1;
        tokio::time::sleep(wait).await;
        true
    }
}

/// The longest wait after the `retry`th lost attempt (1, 2, ...).
fn ceiling(retry: u32) -> Duration {
    FIRST_CEILING
        .saturating_mul(1 << (retry - 1).min(16))
        .min(MAX_CEILING)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_up_to_the_maximum() {
        let ceilings: Vec<u64> = (1..=8).map(|r| ceiling(r).as_millis() as u64).collect();
        assert_eq!(ceilings, [10, 20, 40, 80, 160, 320, 320, 320]);
        assert_eq!(ceiling(u32::MAX), MAX_CEILING);
    }

    #[tokio::test]
    async fn the_budget_counts_every_attempt() {
        let mut backoff = Backoff::new(3);
        assert!(backoff.retry().await);
        assert!(backoff.retry().await);
        assert!(!backoff.retry().await, "three attempts in all");
    }
}
