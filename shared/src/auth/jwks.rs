//! A JWKS fetched over HTTPS: bounded in time (2 s) and size (150 KB), no redirects, trusted
//! for its `Cache-Control: max-age` within the policy's bounds. The server's certificate must
//! chain to a root of Mozilla's program (compiled in) or of `AUTH_JWKS_CA_BUNDLE`.

use std::sync::Arc;
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
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, RootCertStore};
use url::Url;

use super::AuthError;
use super::keys::KeySet;
use super::refresh::{Fetched, KeyFetcher};
use crate::ca_bundle;
use crate::config::ConfigError;
use crate::metrics::{self, Metric};

/// The variable naming a PEM bundle of CA certificates the JWKS client trusts as well.
pub const CA_BUNDLE_VARIABLE: &str = "AUTH_JWKS_CA_BUNDLE";
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

/// The roots the JWKS client trusts: Mozilla's, compiled in (`webpki-roots`: no file read,
/// nothing parsed at start), and the CA certificates of the PEM file at `bundle`
/// (`AUTH_JWKS_CA_BUNDLE`) when set, for a private issuer; never the system's store.
pub fn trusted_roots(bundle: Option<&str>) -> Result<RootCertStore, ConfigError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = bundle {
        let bundle = ca_bundle::read(CA_BUNDLE_VARIABLE, path)?;
        roots.roots.extend(bundle.roots.roots);
    }
    Ok(roots)
}

/// rustls on aws-lc with its defaults, but for the key exchange: X25519 and P-256, without the
/// post-quantum hybrid (X25519MLKEM768) that is rustls' first choice. A JWKS is public: what
/// the fetch needs is the server's authentication, which a key exchange does not give; the
/// hybrid's key share costs a cold start CPU time and code pages.
fn provider() -> CryptoProvider {
    use rustls::crypto::aws_lc_rs::{default_provider, kx_group};
    CryptoProvider {
        kx_groups: vec![kx_group::X25519, kx_group::SECP256R1],
        ..default_provider()
    }
}

impl JwksUrl {
    /// A fetcher for `url` trusting `roots` (see [`trusted_roots`]); builds its HTTP client (no
    /// network call), which follows no redirect.
    pub fn new(url: Url, roots: RootCertStore) -> Self {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(FETCH_TIMEOUT));
        http.enforce_http(false);
        let tls = ClientConfig::builder_with_provider(Arc::new(provider()))
            .with_safe_default_protocol_versions()
            .expect("aws-lc-rs offers TLS 1.2 and 1.3")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Self {
            loggable: loggable_url(&url),
            url,
            client: Client::builder(TokioExecutor::new()).build(https),
        }
    }

    /// One GET of the JWKS, the whole of it bounded by [`FETCH_TIMEOUT`]; counted, and a
    /// failure counted again ([`Metric::JwksFetches`], [`Metric::JwksFailures`]).
    async fn fetch_jwks(&self) -> Result<Fetched, JwksError> {
        metrics::count(Metric::JwksFetches);
        let fetched = tokio::time::timeout(FETCH_TIMEOUT, self.get())
            .await
            .unwrap_or(Err(JwksError::Timeout));
        if fetched.is_err() {
            metrics::count(Metric::JwksFailures);
        }
        fetched
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
    use crate::auth::testing::{self, Issuer, Server, private_ca};
    use lambda_http::http::header::{CACHE_CONTROL, HeaderValue};

    fn age(value: &str) -> Option<Duration> {
        let mut headers = HeaderMap::new();
        headers.insert(CACHE_CONTROL, HeaderValue::from_str(value).unwrap());
        max_age(&headers)
    }

    /// A JWKS URL on loopback whose server reads one request and answers `response` (raw
    /// HTTP/1.1), or never answers when it is `None`.
    async fn serving(response: Option<Vec<u8>>) -> JwksUrl {
        let server = Server::start(vec![response], None).await;
        let url = format!("http://127.0.0.1:{}/api/auth/jwks", server.port);
        JwksUrl::new(Url::parse(&url).unwrap(), trusted_roots(None).unwrap())
    }

    fn answer(head: &str, body: &[u8]) -> Option<Vec<u8>> {
        Some(testing::answer(head, body))
    }

    /// A temporary PEM file holding `pem` (the test removes it).
    fn pem_file(name: &str, pem: &str) -> std::path::PathBuf {
        let file = format!("taskgate-jwks-{}-{name}", std::process::id());
        let path = std::env::temp_dir().join(file);
        std::fs::write(&path, pem).unwrap();
        path
    }

    #[tokio::test]
    async fn an_issuer_under_a_private_ca_is_trusted_through_its_bundle_only() {
        let issuer = Issuer::new();
        let (ca, tls) = private_ca();
        let jwks = answer("200 OK", issuer.jwks().as_bytes());
        let server = Server::start(vec![jwks], Some(tls)).await;
        let url = Url::parse(&format!("https://localhost:{}/jwks", server.port)).unwrap();
        let bundle = pem_file("issuer-ca.pem", &ca);
        let trusting = JwksUrl::new(url.clone(), trusted_roots(bundle.to_str()).unwrap());
        assert!(trusting.fetch_jwks().await.is_ok());
        assert_eq!(server.requests(), 1);
        std::fs::remove_file(bundle).unwrap();

        let mozilla_only = JwksUrl::new(url, trusted_roots(None).unwrap());
        let refused = mozilla_only.fetch_jwks().await.err().unwrap();
        let mut reason = format!("{refused}");
        let mut source = std::error::Error::source(&refused);
        while let Some(error) = source {
            reason += &format!(": {error}");
            source = error.source();
        }
        assert!(reason.contains("UnknownIssuer"), "{reason}");
        assert_eq!(
            server.requests(),
            1,
            "no request without a trusted certificate"
        );
    }

    #[test]
    fn the_roots_are_mozillas_and_the_bundles_nothing_else() {
        let mozilla = webpki_roots::TLS_SERVER_ROOTS.len();
        assert_eq!(trusted_roots(None).unwrap().len(), mozilla);
        let (ca, _) = private_ca();
        let bundle = pem_file("one-ca.pem", &ca);
        assert_eq!(trusted_roots(bundle.to_str()).unwrap().len(), mozilla + 1);
        let no_certificate = pem_file("empty.pem", "no certificate here\n");
        let error = trusted_roots(no_certificate.to_str()).err().unwrap();
        assert_eq!(error.variable, "AUTH_JWKS_CA_BUNDLE");
        assert!(error.reason.contains("no PEM certificate"), "{error}");
        let missing = no_certificate.with_file_name("taskgate-jwks-missing.pem");
        let error = trusted_roots(missing.to_str()).err().unwrap();
        assert_eq!(error.variable, "AUTH_JWKS_CA_BUNDLE");
        assert!(error.reason.contains("cannot read"), "{error}");
        for file in [bundle, no_certificate] {
            std::fs::remove_file(file).unwrap();
        }
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
