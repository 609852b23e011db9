//! Keys from a remote source (a JWKS URL, a Secrets Manager secret), trusted for a bounded time.
//! Expired keys are fetched again on the next request; an unknown key or signature fetches at
//! most once per cooldown; concurrent requests share one fetch. When fetches fail, the last good
//! keys keep verifying for a bounded stale window, then requests are refused as unavailable.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::AuthError;
use super::keys::KeySet;

/// How long keys fetched from a remote source are trusted, and how often they may be fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshPolicy {
    /// How long fetched keys are trusted when the source says nothing (`Cache-Control`).
    pub max_age: Duration,
    /// The shortest and longest `Cache-Control: max-age` honoured; others are clamped.
    pub min_max_age: Duration,
    pub max_max_age: Duration,
    /// Shortest time between two fetches that a failed fetch, an unknown `kid` or an unknown
    /// signature causes; concurrent requests share one fetch.
    pub cooldown: Duration,
    /// How long the last good keys keep verifying past their max age while every refresh
    /// fails; past it, requests are 503.
    pub stale_for: Duration,
}

impl RefreshPolicy {
    /// A JWKS: 10 minutes unless `Cache-Control: max-age` says otherwise (1 minute to 1 hour),
    /// refreshed at most every 30 s, last good keys kept at most 1 hour past their max age.
    pub const JWKS: Self = Self {
        max_age: Duration::from_secs(10 * 60),
        min_max_age: Duration::from_secs(60),
        max_max_age: Duration::from_secs(60 * 60),
        cooldown: Duration::from_secs(30),
        stale_for: Duration::from_secs(60 * 60),
    };

    /// A Secrets Manager secret: re-read every 5 minutes, and at most every 30 s when a token's
    /// signature matches no secret; last good secrets kept at most 1 hour past that.
    pub const SECRET: Self = Self {
        max_age: Duration::from_secs(5 * 60),
        min_max_age: Duration::from_secs(5 * 60),
        max_max_age: Duration::from_secs(5 * 60),
        cooldown: Duration::from_secs(30),
        stale_for: Duration::from_secs(60 * 60),
    };

    /// How long keys are trusted, given the max age their source asked for.
    pub fn trusted_for(&self, requested: Option<Duration>) -> Duration {
        requested.map_or(self.max_age, |age| {
            age.clamp(self.min_max_age, self.max_max_age)
        })
    }
}

/// What one fetch brings: the keys and, if the source says, how long to trust them.
pub struct Fetched {
    pub keys: KeySet,
    pub max_age: Option<Duration>,
}

/// A place keys are fetched from.
#[async_trait]
pub trait KeyFetcher: Send + Sync {
    /// Fetches the keys once. The error is for the log: it never holds key material.
    async fn fetch(&self) -> Result<Fetched, Box<dyn std::error::Error + Send + Sync>>;

    /// A name for logs, e.g. the URL without user info.
    fn describe(&self) -> &str;

    /// Whether a verification that failed with `error` may succeed with newer keys.
    fn may_be_newer(&self, error: &AuthError) -> bool;
}

/// The last good keys and how long they are trusted.
struct Cached {
    keys: Arc<KeySet>,
    fetched_at: Instant,
    trusted_for: Duration,
}

/// A cache of the keys of one [`KeyFetcher`].
pub struct RefreshingKeys {
    source: Box<dyn KeyFetcher>,
    policy: RefreshPolicy,
    cached: RwLock<Option<Arc<Cached>>>,
    /// When the last fetch that counts for the cooldown started; held across a fetch so that
    /// concurrent requests wait for it instead of starting another.
    last_attempt: tokio::sync::Mutex<Option<Instant>>,
}

impl RefreshingKeys {
    /// A cache primed by one fetch, and that fetch's error when it failed. A failed first fetch
    /// does not count for the cooldown: the first request tries again.
    pub async fn start(
        source: Box<dyn KeyFetcher>,
        policy: RefreshPolicy,
    ) -> (Self, Result<(), String>) {
        let keys = Self {
            source,
            policy,
            cached: RwLock::new(None),
            last_attempt: tokio::sync::Mutex::new(None),
        };
        let started = Instant::now();
        let primed = keys.fetch_and_store(started).await;
        if primed.is_ok() {
            *keys.last_attempt.lock().await = Some(started);
        }
        (keys, primed)
    }

    /// The keys to verify with now: fetched again first when they are past their max age.
    pub async fn current(&self) -> Result<Arc<KeySet>, AuthError> {
        let now = Instant::now();
        match self.cached() {
            Some(cached) if now < cached.fetched_at + cached.trusted_for => Ok(cached.keys.clone()),
            _ => self.refreshed().await,
        }
    }

    /// The keys after a fetch, unless one started within the cooldown (then the keys held).
    pub async fn refreshed(&self) -> Result<Arc<KeySet>, AuthError> {
        {
            let mut last_attempt = self.last_attempt.lock().await;
            let now = Instant::now();
            if !last_attempt.is_some_and(|at| now < at + self.policy.cooldown) {
                *last_attempt = Some(now);
                // Failures are logged by `fetch_and_store`; the held keys decide what follows.
                let _ = self.fetch_and_store(now).await;
            }
        }
        self.usable()
    }

    /// Whether a verification that failed with `error` may succeed after a refresh.
    pub fn may_be_newer(&self, error: &AuthError) -> bool {
        self.source.may_be_newer(error)
    }

    fn cached(&self) -> Option<Arc<Cached>> {
        self.cached
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The held keys while within their max age plus the stale window.
    fn usable(&self) -> Result<Arc<KeySet>, AuthError> {
        match self.cached() {
            Some(cached)
                if Instant::now()
                    < cached.fetched_at + cached.trusted_for + self.policy.stale_for =>
            {
                Ok(cached.keys.clone())
            }
            _ => Err(AuthError::KeysUnavailable),
        }
    }

    /// Fetches and, when that works, replaces the held keys (a key missing from the new set
    /// stops verifying at once). Never panics; logs the outcome.
    async fn fetch_and_store(&self, started: Instant) -> Result<(), String> {
        let source = self.source.describe();
        match self.source.fetch().await {
            Ok(fetched) => {
                let trusted_for = self.policy.trusted_for(fetched.max_age);
                *self.cached.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(Cached {
                    keys: Arc::new(fetched.keys),
                    fetched_at: started,
                    trusted_for,
                }));
                tracing::info!(
                    source,
                    trusted_for_secs = trusted_for.as_secs(),
                    "verification keys fetched"
                );
                Ok(())
            }
            Err(error) => {
                let reason = error.to_string();
                match self.cached() {
                    Some(cached) => tracing::warn!(
                        source,
                        reason,
                        age_secs = cached.fetched_at.elapsed().as_secs(),
                        usable_for_secs =
                            (cached.fetched_at + cached.trusted_for + self.policy.stale_for)
                                .saturating_duration_since(Instant::now())
                                .as_secs(),
                        "fetching verification keys failed; keeping the last good keys"
                    ),
                    None => tracing::error!(
                        source,
                        reason,
                        "fetching verification keys failed; no keys yet"
                    ),
                }
                Err(reason)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_requested_max_age_is_clamped() {
        let policy = RefreshPolicy::JWKS;
        assert_eq!(policy.trusted_for(None), policy.max_age);
        assert_eq!(policy.trusted_for(Some(Duration::ZERO)), policy.min_max_age);
        assert_eq!(
            policy.trusted_for(Some(Duration::from_secs(86_400))),
            policy.max_max_age
        );
        let five = Duration::from_secs(300);
        assert_eq!(policy.trusted_for(Some(five)), five);
    }
}
