//! A JWKS fetched over HTTPS and cached: an unknown `kid` triggers at most one refresh per
//! cooldown, single-flight; a failed refresh keeps the last good keys.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::keys::KeySet;

/// Shortest time between two fetches.
pub const REFRESH_COOLDOWN: Duration = Duration::from_secs(30);
/// Longest a fetch may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(2);
/// Largest JWKS document accepted.
pub const MAX_JWKS_BYTES: usize = 150 * 1024;

/// The keys served at a JWKS URL.
pub struct RemoteJwks {
    url: String,
    client: reqwest::Client,
    keys: RwLock<Arc<KeySet>>,
    /// When the last fetch started; held across a fetch so concurrent misses wait for it.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

impl RemoteJwks {
    /// A cache for `url`, primed by one fetch (bounded by the fetch timeout). When that fetch
    /// fails, the first request tries again.
    pub async fn prefetched(url: String) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let jwks = Self {
            url,
            client,
            keys: RwLock::new(Arc::new(KeySet::default())),
            last_fetch: tokio::sync::Mutex::new(None),
        };
        if jwks.fetch_and_store().await {
            *jwks.last_fetch.lock().await = Some(Instant::now());
        }
        Ok(jwks)
    }

    /// The cached keys.
    pub fn keys(&self) -> Arc<KeySet> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Fetches the JWKS again unless a fetch started within the cooldown; waits for a fetch
    /// already under way instead of starting another. Returns the keys it then holds.
    pub async fn refresh(&self) -> Arc<KeySet> {
        let mut last_fetch = self.last_fetch.lock().await;
        if last_fetch.is_some_and(|at| at.elapsed() < REFRESH_COOLDOWN) {
            return self.keys();
        }
        *last_fetch = Some(Instant::now());
        self.fetch_and_store().await;
        self.keys()
    }

    /// Fetches and, when that works, replaces the cached keys. Never panics; logs failures.
    async fn fetch_and_store(&self) -> bool {
        match self.fetch().await {
            Ok(keys) => {
                *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keys);
                tracing::info!(url = %self.url, "JWKS fetched");
                true
            }
            Err(reason) => {
                tracing::warn!(url = %self.url, reason, "JWKS fetch failed; keeping the last good keys");
                false
            }
        }
    }

    async fn fetch(&self) -> Result<KeySet, String> {
        let mut response = self
            .client
            .get(&self.url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()));
        }
        if response
            .content_length()
            .is_some_and(|len| len > MAX_JWKS_BYTES as u64)
        {
            return Err(format!("larger than {MAX_JWKS_BYTES} bytes"));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("reading the body failed: {e}"))?
        {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(format!("larger than {MAX_JWKS_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        KeySet::from_jwks(&body)
    }
}
