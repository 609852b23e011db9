//! Keys from a remote source (a JWKS URL, a Secrets Manager secret), trusted for a bounded time.
//! Expired keys are fetched again on the next request; an unknown key or signature fetches at
//! most once per cooldown; concurrent requests share one fetch. When fetches fail, the last good
//! keys keep verifying for a bounded stale window, then requests are refused as unavailable.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::AuthError;
use super::keys::KeySet;
use crate::config::RefreshPolicy;

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
