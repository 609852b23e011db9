//! Who is calling: Bearer extraction, JWT verification against the configured keys, and the
//! claims every token must carry. The algorithm always comes from the key, never the token.
//! How it is configured (`config.rs`, `refresh.rs`) is named through [`crate::config`].

mod algorithm;
mod bearer;
mod claims;
pub(crate) mod config;
mod json;
mod jwks;
mod keys;
pub(crate) mod refresh;
mod secret;
#[cfg(test)]
pub(crate) mod testing;
mod token;

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;

pub use claims::Claims;
use claims::Expected;

use crate::config::{ConfigError, process_env};
use crate::metrics::Metric;
use config::{AuthConfig, KeySource};
use jwks::JwksUrl;
use keys::KeySet;
use refresh::RefreshingKeys;
use secret::SecretsManagerSecret;
use token::Token;

/// Why a request is not authenticated: a 401, except [`AuthError::KeysUnavailable`] (503: the
/// client did nothing wrong). `reason` is its log code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the request has no bearer token")]
    MissingToken,
    #[error("the Authorization header is not `Bearer <token>`")]
    MalformedAuthorization,
    #[error("tokens in the URL are not accepted; send Authorization: Bearer <token>")]
    TokenInQuery,
    #[error("the token is larger than 8 KiB")]
    TokenTooLarge,
    #[error("the token is not a well-formed JWS")]
    MalformedToken,
    #[error("the token header `{0}` is not accepted")]
    UnsupportedHeader(&'static str),
    #[error("the token's algorithm is not accepted")]
    UnsupportedAlgorithm,
    #[error("no trusted key matches the token")]
    UnknownKey,
    #[error("the token's algorithm is not its key's algorithm")]
    AlgorithmMismatch,
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token's claims are missing or malformed")]
    InvalidClaims,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued in the future")]
    IssuedInFuture,
    #[error("the token's issuer is not trusted")]
    WrongIssuer,
    #[error("the token is not meant for this API")]
    WrongAudience,
    #[error("the token's exp is further after its iat than the longest lifetime accepted")]
    LifetimeTooLong,
    /// The token is well formed and signed, but its user revoked it (sign-out).
    #[error("the token was revoked")]
    Revoked,
    #[error("the verification keys cannot be fetched right now")]
    KeysUnavailable,
}

impl AuthError {
    /// A stable code for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::MissingToken => "missing_token",
            AuthError::MalformedAuthorization => "malformed_authorization",
            AuthError::TokenInQuery => "token_in_query",
            AuthError::TokenTooLarge => "token_too_large",
            AuthError::MalformedToken => "malformed_token",
            AuthError::UnsupportedHeader(_) => "unsupported_header",
            AuthError::UnsupportedAlgorithm => "unsupported_algorithm",
            AuthError::UnknownKey => "unknown_key",
            AuthError::AlgorithmMismatch => "algorithm_mismatch",
            AuthError::BadSignature => "bad_signature",
            AuthError::InvalidClaims => "invalid_claims",
            AuthError::Expired => "expired",
            AuthError::NotYetValid => "not_yet_valid",
            AuthError::IssuedInFuture => "issued_in_future",
            AuthError::WrongIssuer => "wrong_issuer",
            AuthError::WrongAudience => "wrong_audience",
            AuthError::LifetimeTooLong => "lifetime_too_long",
            AuthError::Revoked => "revoked",
            AuthError::KeysUnavailable => "keys_unavailable",
        }
    }

    /// The metric that counts this refusal: its reason, grouped as operations read them
    /// (docs/operations.md).
    pub fn metric(&self) -> Metric {
        match self {
            AuthError::MissingToken => Metric::AuthMissing,
            AuthError::MalformedAuthorization
            | AuthError::TokenInQuery
            | AuthError::TokenTooLarge
            | AuthError::MalformedToken
            | AuthError::UnsupportedHeader(_)
            | AuthError::UnsupportedAlgorithm => Metric::AuthMalformed,
            AuthError::Expired => Metric::AuthExpired,
            AuthError::BadSignature | AuthError::AlgorithmMismatch => Metric::AuthBadSignature,
            AuthError::WrongIssuer => Metric::AuthWrongIssuer,
            AuthError::WrongAudience => Metric::AuthWrongAudience,
            AuthError::UnknownKey => Metric::AuthUnknownKey,
            AuthError::InvalidClaims
            | AuthError::NotYetValid
            | AuthError::IssuedInFuture
            | AuthError::LifetimeTooLong => Metric::AuthInvalidClaims,
            AuthError::Revoked => Metric::AuthRevoked,
            AuthError::KeysUnavailable => Metric::AuthKeysUnavailable,
        }
    }
}

/// Verifies bearer tokens. Built once per cold start and shared by every invocation.
pub struct Authenticator {
    keys: Keys,
    expected: Expected,
}

enum Keys {
    Fixed(Arc<KeySet>),
    Refreshing(RefreshingKeys),
}

impl Authenticator {
    /// Builds the verifier; see [`Authenticator::with_aws`]. A Secrets Manager key source loads
    /// the AWS settings from the environment.
    pub async fn new(config: &AuthConfig) -> Result<Self, ConfigError> {
        Self::with_aws(config, None).await
    }

    /// Builds the verifier, on `aws` (the settings the app shares) when its keys are in Secrets
    /// Manager. A JWKS URL is fetched once, bounded by a 2 s timeout, trusting the roots of
    /// [`jwks::trusted_roots`] (`AUTH_JWKS_CA_BUNDLE` read from the process environment); a
    /// failed fetch does not stop the start: the first request fetches again. A secret is read
    /// once, and a failure stops the start.
    pub async fn with_aws(
        config: &AuthConfig,
        aws: Option<&SdkConfig>,
    ) -> Result<Self, ConfigError> {
        let keys = match &config.keys {
            KeySource::Hs256 { secret, previous } => Keys::Fixed(Arc::new(
                KeySet::hs256(secret, previous.as_deref())
                    .map_err(|reason| ConfigError::new("AUTH_HS256_SECRET", reason))?,
            )),
            KeySource::JwksInline(json) => Keys::Fixed(Arc::new(inline_jwks(json)?)),
            KeySource::JwksUrl { url, refresh } => {
                let bundle = process_env(jwks::CA_BUNDLE_VARIABLE);
                let fetcher = JwksUrl::new(url.clone(), jwks::trusted_roots(bundle.as_deref())?);
                Keys::Refreshing(RefreshingKeys::start(Box::new(fetcher), *refresh).await.0)
            }
            KeySource::Hs256SecretId { id, refresh } => {
                let client = match aws {
                    Some(aws) => aws_sdk_secretsmanager::Client::new(aws),
                    None => aws_sdk_secretsmanager::Client::new(&crate::aws::load_default().await?),
                };
                let fetcher = SecretsManagerSecret::new(client, id.clone());
                let (keys, primed) = RefreshingKeys::start(Box::new(fetcher), *refresh).await;
                primed.map_err(|reason| {
                    ConfigError::new(
                        "AUTH_HS256_SECRET_ID",
                        format!("cannot read the secret at start: {reason}"),
                    )
                })?;
                Keys::Refreshing(keys)
            }
        };
        Ok(Self {
            keys,
            expected: Expected {
                issuer: config.issuer.clone(),
                audience: config.audience.clone(),
                leeway: config.leeway.as_secs() as i64,
                max_lifetime: config.max_token_lifetime.as_secs() as i64,
            },
        })
    }

    /// How long after a moment a token issued by then may still be accepted: the longest
    /// lifetime plus twice the leeway (`iat` up to the leeway ahead, `exp` honoured up to the
    /// leeway late). A revoked session is remembered this long.
    pub fn longest_acceptance(&self) -> Duration {
        Duration::from_secs((self.expected.max_lifetime + 2 * self.expected.leeway) as u64)
    }

    /// Verifies the `Authorization` header value at the current time.
    pub async fn verify(&self, authorization: Option<&[u8]>) -> Result<Claims, AuthError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        self.verify_at(authorization, now).await
    }

    /// Verifies the `Authorization` header value as if the time were `now` (Unix seconds).
    pub async fn verify_at(
        &self,
        authorization: Option<&[u8]>,
        now: i64,
    ) -> Result<Claims, AuthError> {
        let token = self.verified_token(authorization).await?;
        let claims: Claims = token.claims()?;
        claims.check(&self.expected, now)?;
        Ok(claims)
    }

    /// The header, key and signature checks of [`Authenticator::verify`], without the claims:
    /// for conformance suites whose payloads are not claims (feature `conformance`). Requests
    /// go through `verify`.
    #[cfg(feature = "conformance")]
    pub async fn verify_signature_only(
        &self,
        authorization: Option<&[u8]>,
    ) -> Result<(), AuthError> {
        self.verified_token(authorization).await.map(drop)
    }

    /// The token of the `Authorization` header, its header accepted and its signature verified.
    async fn verified_token<'a>(
        &self,
        authorization: Option<&'a [u8]>,
    ) -> Result<Token<'a>, AuthError> {
        let token = Token::parse(bearer::token(authorization)?)?;
        self.verify_signature(&token).await?;
        Ok(token)
    }

    /// Checks the signature with the held keys; for remote keys, fetches them again first when
    /// they are past their max age, and once more (per cooldown) when the token may be newer.
    async fn verify_signature(&self, token: &Token<'_>) -> Result<(), AuthError> {
        match &self.keys {
            Keys::Fixed(keys) => check_signature(keys, token),
            Keys::Refreshing(remote) => match check_signature(&*remote.current().await?, token) {
                Err(error) if remote.may_be_newer(&error) => {
                    check_signature(&*remote.refreshed().await?, token)
                }
                checked => checked,
            },
        }
    }
}

/// Whether a key of `keys` bound to the token's algorithm verifies its signature.
fn check_signature(keys: &KeySet, token: &Token<'_>) -> Result<(), AuthError> {
    let mut refusal = AuthError::UnknownKey;
    for key in keys.candidates(token.header.kid.as_deref()) {
        if key.algorithm != token.header.alg {
            if refusal == AuthError::UnknownKey {
                refusal = AuthError::AlgorithmMismatch;
            }
            continue;
        }
        if key.verifies(token.signing_input.as_bytes(), token.signature) {
            return Ok(());
        }
        refusal = AuthError::BadSignature;
    }
    Err(refusal)
}

fn inline_jwks(json: &str) -> Result<KeySet, ConfigError> {
    KeySet::from_jwks(json.as_bytes()).map_err(|e| ConfigError::new("AUTH_JWKS", e))
}

/// Whether `signature` (base64url) is a signature of the raw `message` by the one key of
/// `jwks`, loaded and filtered exactly as the API loads keys: for conformance suites over raw
/// messages (feature `conformance`). Requests go through [`Authenticator::verify`].
#[cfg(feature = "conformance")]
pub fn jwks_key_verifies(jwks: &str, message: &[u8], signature: &str) -> Result<bool, String> {
    let keys = KeySet::from_jwks(jwks.as_bytes())?;
    match keys.candidates(None).collect::<Vec<_>>().as_slice() {
        [key] => Ok(key.verifies(message, signature)),
        _ => Err("expected exactly one key".into()),
    }
}
