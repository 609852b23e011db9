//! The revocation check as each instance runs it: each user's state cached for at most
//! `REVOCATION_TTL_S`, counted from the moment its read started. A revocation is in the store
//! before its route answers, so every instance refuses a revoked token at most that long after
//! the answer: the bound (docs/sessions.md).

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lru::LruCache;

use super::{Revocation, RevocationState, RevocationStore};
use crate::auth::Claims;
use crate::config::ConfigError;
use crate::tasks::StoreError;

/// How long a state is cached when `REVOCATION_TTL_S` is not set.
pub const DEFAULT_REVOCATION_TTL: Duration = Duration::from_secs(5);
/// The longest `REVOCATION_TTL_S`: five minutes.
const MAX_REVOCATION_TTL: Duration = Duration::from_secs(300);
/// Users whose state an instance keeps.
const CACHED_USERS: NonZeroUsize = NonZeroUsize::new(10_000).unwrap();

/// Reads `REVOCATION_TTL_S`: whole seconds from 0 (read on every request) to 300.
pub fn revocation_ttl(env: impl Fn(&str) -> Option<String>) -> Result<Duration, ConfigError> {
    let Some(raw) = env("REVOCATION_TTL_S") else {
        return Ok(DEFAULT_REVOCATION_TTL);
    };
    match raw.trim().parse::<u64>().map(Duration::from_secs) {
        Ok(ttl) if ttl <= MAX_REVOCATION_TTL => Ok(ttl),
        _ => Err(ConfigError::new(
            "REVOCATION_TTL_S",
            format!(
                "must be a whole number of seconds from 0 (read on every request) to {}, got \
                 {raw:?}; it is how late an instance may learn of a sign-out",
                MAX_REVOCATION_TTL.as_secs()
            ),
        )),
    }
}

/// The revocation check and the revocations of one instance, on a store.
pub struct Revocations {
    store: Arc<dyn RevocationStore>,
    ttl: Duration,
    cached: Mutex<LruCache<String, Cached>>,
}

/// A user's state and when the read that got it started.
#[derive(Clone)]
struct Cached {
    state: Arc<RevocationState>,
    read_at: Instant,
}

impl Revocations {
    /// The check on `store`, each user's state cached at most `ttl` (zero: never cached).
    pub fn new(store: Arc<dyn RevocationStore>, ttl: Duration) -> Self {
        Self {
            store,
            ttl,
            cached: Mutex::new(LruCache::sparse(CACHED_USERS)),
        }
    }

    /// The same check, each user's state cached at most `ttl` (the cache starts empty).
    pub fn with_ttl(self, ttl: Duration) -> Self {
        Self::new(self.store, ttl)
    }

    /// Whether the token of `claims` (already verified) is revoked: a fresh cached state answers
    /// at once, else the state is read first.
    pub async fn refuses(&self, claims: &Claims) -> Result<bool, StoreError> {
        let state = match self.fresh(&claims.sub) {
            Some(state) => state,
            None => self.read(&claims.sub).await?,
        };
        Ok(state.refuses(claims, unix_now()))
    }

    /// Stores `revocation` for `user`; this instance refuses the revoked tokens at once.
    pub async fn revoke(&self, user: &str, revocation: &Revocation) -> Result<(), StoreError> {
        let started = Instant::now();
        let state = self.store.revoke(user, revocation).await?;
        self.remember(user, state, started);
        Ok(())
    }

    /// The cached state of `user`, if younger than the TTL.
    fn fresh(&self, user: &str) -> Option<Arc<RevocationState>> {
        let mut cached = self.lock();
        let entry = cached.get(user)?;
        (entry.read_at.elapsed() < self.ttl).then(|| entry.state.clone())
    }

    async fn read(&self, user: &str) -> Result<Arc<RevocationState>, StoreError> {
        let started = Instant::now();
        let state = self.store.revocation_state(user).await?;
        Ok(self.remember(user, state, started))
    }

    /// Caches `state`, read (or written) from `read_at` on, unless a later read is cached.
    fn remember(
        &self,
        user: &str,
        state: RevocationState,
        read_at: Instant,
    ) -> Arc<RevocationState> {
        let state = Arc::new(state);
        if self.ttl.is_zero() {
            return state;
        }
        let mut cached = self.lock();
        match cached.get_mut(user) {
            Some(entry) if entry.read_at > read_at => entry.state.clone(),
            Some(entry) => {
                *entry = Cached {
                    state: state.clone(),
                    read_at,
                };
                state
            }
            None => {
                cached.put(
                    user.to_string(),
                    Cached {
                        state: state.clone(),
                        read_at,
                    },
                );
                state
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, LruCache<String, Cached>> {
        self.cached.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Now, in whole Unix seconds.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::config::lookup;
    use crate::revocation::{MemoryRevocations, Scope, SessionId};

    /// A memory store that counts its reads.
    #[derive(Default)]
    struct Counted {
        inner: MemoryRevocations,
        reads: AtomicUsize,
    }

    #[async_trait]
    impl RevocationStore for Counted {
        async fn revocation_state(&self, user: &str) -> Result<RevocationState, StoreError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            self.inner.revocation_state(user).await
        }
        async fn revoke(&self, user: &str, r: &Revocation) -> Result<RevocationState, StoreError> {
            self.inner.revoke(user, r).await
        }
    }

    fn claims(user: &str, iat: i64, sid: Option<&str>) -> Claims {
        Claims {
            sub: user.into(),
            iss: "i".into(),
            aud: vec!["a".into()],
            exp: iat + 900,
            nbf: None,
            iat: Some(iat),
            sid: sid.map(str::to_string),
        }
    }

    fn revocation(scope: Scope) -> Revocation {
        Revocation {
            scope,
            at: unix_now(),
            keep_for: 86_400,
        }
    }

    #[test]
    fn the_ttl_defaults_to_5_seconds_and_is_bounded() {
        assert_eq!(revocation_ttl(lookup(&[])), Ok(DEFAULT_REVOCATION_TTL));
        let ttl = |value| revocation_ttl(lookup(&[("REVOCATION_TTL_S", value)]));
        assert_eq!(ttl("0"), Ok(Duration::ZERO));
        assert_eq!(ttl("300"), Ok(MAX_REVOCATION_TTL));
        for bad in ["301", "-1", "0.5", "soon"] {
            let error = ttl(bad).unwrap_err();
            assert_eq!(error.variable, "REVOCATION_TTL_S");
            assert!(error.reason.contains("from 0"), "{error}");
        }
    }

    #[tokio::test]
    async fn a_fresh_state_answers_without_a_read_and_a_stale_one_is_read_again() {
        let store = Arc::new(Counted::default());
        let revocations = Revocations::new(store.clone(), Duration::from_millis(200));
        let token = claims("u", unix_now(), None);
        assert!(!revocations.refuses(&token).await.unwrap());
        assert!(!revocations.refuses(&token).await.unwrap());
        assert_eq!(
            store.reads.load(Ordering::SeqCst),
            1,
            "the second from the cache"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(!revocations.refuses(&token).await.unwrap());
        assert_eq!(store.reads.load(Ordering::SeqCst), 2, "stale: read again");
    }

    #[tokio::test]
    async fn a_zero_ttl_reads_on_every_check() {
        let store = Arc::new(Counted::default());
        let revocations = Revocations::new(store.clone(), Duration::ZERO);
        let token = claims("u", unix_now(), None);
        for _ in 0..3 {
            assert!(!revocations.refuses(&token).await.unwrap());
        }
        assert_eq!(store.reads.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn the_instance_that_revokes_refuses_at_once_and_another_within_its_ttl() {
        let store = Arc::new(Counted::default());
        let here = Revocations::new(store.clone(), Duration::from_secs(60));
        let there = Revocations::new(store.clone(), Duration::from_millis(200));
        let token = claims("u", unix_now() - 1, Some("s1"));
        assert!(!here.refuses(&token).await.unwrap());
        assert!(!there.refuses(&token).await.unwrap());
        let session = Scope::Session(SessionId::parse("s1").unwrap());
        here.revoke("u", &revocation(session)).await.unwrap();
        assert!(
            here.refuses(&token).await.unwrap(),
            "at once, from its cache"
        );
        assert!(!there.refuses(&token).await.unwrap(), "its cached state");
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(there.refuses(&token).await.unwrap(), "within its TTL");
        let other_session = claims("u", unix_now() - 1, Some("s2"));
        assert!(!there.refuses(&other_session).await.unwrap());
        let another_user = claims("v", unix_now() - 1, Some("s1"));
        assert!(!there.refuses(&another_user).await.unwrap(), "another user");
    }

    #[tokio::test]
    async fn an_older_read_never_replaces_a_newer_state() {
        let store = Arc::new(Counted::default());
        let revocations = Revocations::new(store, Duration::from_secs(60));
        let before = Instant::now();
        revocations
            .revoke("u", &revocation(Scope::Everywhere))
            .await
            .unwrap();
        revocations.remember("u", RevocationState::default(), before);
        let token = claims("u", unix_now() - 1, None);
        assert!(revocations.refuses(&token).await.unwrap());
    }
}
