//! A JWKS fetched over HTTPS: bounded in time (2 s) and size (150 KB), no redirects, trusted
//! for its `Cache-Control: max-age` within the policy's bounds.

use std::time::Duration;

use async_trait::async_trait;
use headers::{CacheControl, HeaderMapExt};
use http_body_util::{BodyExt, Empty, LengthLimitError, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use lambda_http::http::header::{ACCEPT, HeaderMap};
use lambda_http::http::{Request, StatusCode};
use lambda_http::tower::BoxError;
use url::Url;

use super::AuthError;
use super::keys::KeySet;
use super::refresh::{Fetched, KeyFetcher};

/// Longest a fetch may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(2);
/// Largest JWKS document accepted.
pub const MAX_JWKS_BYTES: usize = 150 * 1024;

/// Why a JWKS fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("request failed: {0}")]
    Request(#[source] BoxError),
    #[error("no answer within {FETCH_TIMEOUT:?}")]
    Timeout,
    #[error("status {0}")]
    Status(StatusCode),
    #[error("larger than {MAX_JWKS_BYTES} bytes")]
    TooLarge,
    #[error("{0}")]
    Keys(String),
}

/// The keys served at a JWKS URL.
pub struct JwksUrl {
    url: Url,
    loggable: String,
    client: Client<HttpsConnector<HttpConnector>, Empty<bytes::Bytes>>,
}

impl JwksUrl {
    /// A fetcher for `url`; builds its HTTP client (no network call), which trusts the system's
    /// root certificates and follows no redirect.
    pub fn new(url: Url) -> Result<Self, String> {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(FETCH_TIMEOUT));
        http.enforce_http(false);
        let https = HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| format!("cannot load the system's root certificates: {e}"))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Self {
            loggable: loggable_url(&url),
            url,
            client: Client::builder(TokioExecutor::new()).build(https),
        })
    }

    /// One GET of the JWKS, the whole of it bounded by [`FETCH_TIMEOUT`].
    async fn fetch_jwks(&self) -> Result<Fetched, JwksError> {
        tokio::time::timeout(FETCH_TIMEOUT, self.get())
            .await
            .unwrap_or(Err(JwksError::Timeout))
    }

    async fn get(&self) -> Result<Fetched, JwksError> {
        let request = Request::get(self.url.as_str())
            .header(ACCEPT, "application/json")
            .body(Empty::new())
            .map_err(|e| JwksError::Request(e.into()))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| JwksError::Request(e.into()))?;
        if !response.status().is_success() {
            return Err(JwksError::Status(response.status()));
        }
        let max_age = max_age(response.headers());
        let body = Limited::new(response.into_body(), MAX_JWKS_BYTES)
            .collect()
            .await
            .map_err(|error| match error.is::<LengthLimitError>() {
                true => JwksError::TooLarge,
                false => JwksError::Request(error),
            })?
            .to_bytes();
        let keys = KeySet::from_jwks(&body).map_err(JwksError::Keys)?;
        Ok(Fetched { keys, max_age })
    }
}

/// How long the response may be cached: `max-age`, or zero for `no-store` / `no-cache`.
fn max_age(headers: &HeaderMap) -> Option<Duration> {
    let cache_control: CacheControl = headers.typed_get()?;
    if cache_control.no_store() || cache_control.no_cache() {
        return Some(Duration::ZERO);
    }
    cache_control.max_age()
}

/// The URL as logs show it: scheme, host, port and path; never user info or a query.
fn loggable_url(url: &Url) -> String {
    format!(
        "{}://{}{}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.port().map(|p| format!(":{p}")).unwrap_or_default()
    ) + url.path()
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
    use lambda_http::http::header::{CACHE_CONTROL, HeaderValue};

    fn age(value: &str) -> Option<Duration> {
        let mut headers = HeaderMap::new();
        headers.insert(CACHE_CONTROL, HeaderValue::from_str(value).unwrap());
        max_age(&headers)
    }

    /// A JWKS URL on loopback whose server reads one request and answers `response` (raw
    /// HTTP/1.1), or never answers when it is `None`.
    async fn serving(response: Option<Vec<u8>>) -> JwksUrl {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api/auth/jwks", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = vec![0; 4096];
            let _ = stream.read(&mut request).await;
            match response {
                Some(response) => stream.write_all(&response).await.unwrap(),
                None => std::future::pending().await,
            }
        });
        JwksUrl::new(Url::parse(&url).unwrap()).unwrap()
    }

    fn answer(head: &str, body: &[u8]) -> Option<Vec<u8>> {
        let head = format!("HTTP/1.1 {head}\r\ncontent-length: {}\r\n\r\n", body.len());
        Some([head.as_bytes(), body].concat())
    }

    #[tokio::test]
    async fn a_jwks_is_fetched_with_its_max_age() {
        let jwks = br#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
        let fetched = serving(answer("200 OK\r\ncache-control: max-age=120", jwks))
            .await
            .fetch_jwks()
            .await
            .unwrap();
        assert_eq!(fetched.max_age, Some(Duration::from_secs(120)));
    }

    #[tokio::test]
    async fn redirects_errors_oversized_and_silent_servers_are_failed_fetches() {
        let moved = serving(answer(
            "302 Found\r\nlocation: http://127.0.0.1:9/jwks",
            b"",
        ))
        .await;
        assert!(matches!(moved.fetch_jwks().await, Err(JwksError::Status(s)) if s == 302));
        let failing = serving(answer("500 Internal Server Error", b"")).await;
        assert!(matches!(failing.fetch_jwks().await, Err(JwksError::Status(s)) if s == 500));
        let big = vec![b' '; MAX_JWKS_BYTES + 1];
        let oversized = serving(answer("200 OK", &big)).await;
        assert!(matches!(
            oversized.fetch_jwks().await,
            Err(JwksError::TooLarge)
        ));
        let silent = serving(None).await;
        let started = std::time::Instant::now();
        assert!(matches!(silent.fetch_jwks().await, Err(JwksError::Timeout)));
        assert!(started.elapsed() < FETCH_TIMEOUT * 2);
    }

    #[test]
    fn logs_show_the_url_without_query() {
        let url = Url::parse("https://auth.example.com:8443/api/auth/jwks?key=x").unwrap();
        assert_eq!(
            loggable_url(&url),
            "https://auth.example.com:8443/api/auth/jwks"
        );
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
