//! A JWKS fetched over HTTPS: bounded in time (2 s) and size (150 KB), no redirects, trusted
//! for its `Cache-Control: max-age` within the policy's bounds.

use std::time::Duration;

use async_trait::async_trait;
use headers::{CacheControl, HeaderMapExt};
use url::Url;

use super::AuthError;
use super::keys::KeySet;
use super::refresh::{Fetched, KeyFetcher};
use crate::config::loggable_url;

/// Longest a fetch may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(2);
/// Largest JWKS document accepted.
pub const MAX_JWKS_BYTES: usize = 150 * 1024;

/// Why a JWKS fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("request failed: {0}")]
    Request(#[source] reqwest::Error),
    #[error("status {0}")]
    Status(reqwest::StatusCode),
    #[error("larger than {MAX_JWKS_BYTES} bytes")]
    TooLarge,
    #[error("{0}")]
    Keys(String),
}

/// The keys served at a JWKS URL.
pub struct JwksUrl {
    url: Url,
    loggable: String,
    client: reqwest::Client,
}

impl JwksUrl {
    /// A fetcher for `url`; builds its HTTP client (no network call).
    pub fn new(url: Url) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            loggable: loggable_url(&url),
            url,
            client,
        })
    }

    async fn fetch_jwks(&self) -> Result<Fetched, JwksError> {
        let mut response = self
            .client
            .get(self.url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| JwksError::Request(e.without_url()))?;
        if !response.status().is_success() {
            return Err(JwksError::Status(response.status()));
        }
        if response
            .content_length()
            .is_some_and(|len| len > MAX_JWKS_BYTES as u64)
        {
            return Err(JwksError::TooLarge);
        }
        let max_age = max_age(response.headers());
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| JwksError::Request(e.without_url()))?
        {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(JwksError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        let keys = KeySet::from_jwks(&body).map_err(JwksError::Keys)?;
        Ok(Fetched { keys, max_age })
    }
}

/// How long the response may be cached: `max-age`, or zero for `no-store` / `no-cache`.
fn max_age(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let cache_control: CacheControl = headers.typed_get()?;
    if cache_control.no_store() || cache_control.no_cache() {
        return Some(Duration::ZERO);
    }
    cache_control.max_age()
}

#[async_trait]
impl KeyFetcher for JwksUrl {
    async fn fetch(&self) -> Result<Fetched, Box<dyn std::error::Error + Send + Sync>> {
        Ok(self.fetch_jwks().await?)
    }

    fn describe(&self) -> &str {
        &self.loggable
    }

    /// A token whose `kid` names no key we hold may name a key the issuer published since.
    fn may_be_newer(&self, error: &AuthError) -> bool {
        *error == AuthError::UnknownKey
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{CACHE_CONTROL, HeaderMap, HeaderValue};

    fn age(value: &str) -> Option<Duration> {
        let mut headers = HeaderMap::new();
        headers.insert(CACHE_CONTROL, HeaderValue::from_str(value).unwrap());
        max_age(&headers)
    }

    #[test]
    fn cache_control_sets_the_max_age() {
        assert_eq!(age("public, max-age=300"), Some(Duration::from_secs(300)));
        assert_eq!(age("no-store"), Some(Duration::ZERO));
        assert_eq!(age("no-cache, max-age=300"), Some(Duration::ZERO));
        assert_eq!(age("public"), None);
        assert_eq!(max_age(&HeaderMap::new()), None);
    }
}
