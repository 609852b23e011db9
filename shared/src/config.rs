//! Environment -> [`Config`], parsed once at cold start. Every error names the variable.

use std::time::Duration;

/// Most leeway allowed for clock skew.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// Leeway when `AUTH_LEEWAY_SECONDS` is not set.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// Fewest bytes an HS256 secret may have.
pub const MIN_HS256_SECRET_BYTES: usize = 32;

/// Secrets Better Auth falls back to when none is configured (current and older releases):
/// published in its source, so never acceptable as a signing secret.
const KNOWN_DEFAULT_SECRETS: [&str; 2] = [
    "better-auth-secret-12345678901234567890",
    "better-auth-secret-123456789",
];

/// Everything the functions and the local server read from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub auth: AuthConfig,
    /// `TASKS_TABLE`: the DynamoDB table; `None` selects the in-memory store.
    pub tasks_table: Option<String>,
}

/// How tokens are verified.
#[derive(Clone)]
pub struct AuthConfig {
    pub keys: KeySource,
    /// `AUTH_ISSUER`: the `iss` every token must carry.
    pub issuer: String,
    /// `AUTH_AUDIENCE`: a value the token's `aud` must be or contain.
    pub audience: String,
    /// `AUTH_LEEWAY_SECONDS`: allowed clock skew for `exp`, `nbf` and `iat`.
    pub leeway: Duration,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("keys", &self.keys.mode())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway", &self.leeway)
            .finish()
    }
}

/// Where the verification keys come from.
#[derive(Clone)]
pub enum KeySource {
    /// `AUTH_JWKS_URL`: fetched, cached and refreshed (Better Auth serves `/api/auth/jwks`).
    JwksUrl(String),
    /// `AUTH_JWKS`: the JSON inline; no network at all.
    JwksInline(String),
    /// `AUTH_HS256_SECRET` and optionally `AUTH_HS256_PREVIOUS_SECRET`.
    Hs256 {
        secret: Vec<u8>,
        previous: Option<Vec<u8>>,
    },
}

impl KeySource {
    /// A name for logs; never the key material.
    pub fn mode(&self) -> &'static str {
        match self {
            KeySource::JwksUrl(_) => "jwks_url",
            KeySource::JwksInline(_) => "jwks_inline",
            KeySource::Hs256 { .. } => "hs256",
        }
    }
}

/// A configuration problem, naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {variable}: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
}

impl ConfigError {
    pub fn new(variable: &'static str, reason: impl Into<String>) -> Self {
        Self {
            variable,
            reason: reason.into(),
        }
    }
}

/// Whether this process runs inside AWS Lambda.
pub fn in_lambda(env: impl Fn(&str) -> Option<String>) -> bool {
    [
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_EXECUTION_ENV",
    ]
    .iter()
    .any(|name| env(name).is_some())
}

/// The process environment, with empty values treated as unset.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(process_env)
    }

    /// Reads configuration through `env`, which returns a variable's value or `None`.
    pub fn from_lookup(env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let tasks_table = env("TASKS_TABLE");
        if tasks_table.is_none() && in_lambda(&env) {
            return Err(ConfigError::new(
                "TASKS_TABLE",
                "is not set; a Lambda function needs its DynamoDB table",
            ));
        }
        Ok(Self {
            auth: AuthConfig::from_lookup(&env)?,
            tasks_table,
        })
    }
}

impl AuthConfig {
    /// Reads the `AUTH_*` variables.
    pub fn from_lookup(env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let keys = key_source(&env)?;
        let required = |name: &'static str| {
            env(name).ok_or_else(|| {
                ConfigError::new(name, "is not set (Better Auth uses its baseURL for it)")
            })
        };
        Ok(Self {
            keys,
            issuer: required("AUTH_ISSUER")?,
            audience: required("AUTH_AUDIENCE")?,
            leeway: leeway(env("AUTH_LEEWAY_SECONDS"))?,
        })
    }
}

/// The variables that select a key source; exactly one must be set.
const KEY_SOURCE_VARIABLES: [&str; 3] = ["AUTH_JWKS_URL", "AUTH_JWKS", "AUTH_HS256_SECRET"];

/// Whether any key-source variable is set (else tools may offer a development mode).
pub fn key_source_configured(env: impl Fn(&str) -> Option<String>) -> bool {
    KEY_SOURCE_VARIABLES.iter().any(|name| env(name).is_some())
}

fn key_source(env: impl Fn(&str) -> Option<String>) -> Result<KeySource, ConfigError> {
    let url = env("AUTH_JWKS_URL");
    let inline = env("AUTH_JWKS");
    let secret = env("AUTH_HS256_SECRET");
    match (url, inline, secret) {
        (Some(url), None, None) => jwks_url(url).map(KeySource::JwksUrl),
        (None, Some(json), None) => Ok(KeySource::JwksInline(json)),
        (None, None, Some(secret)) => Ok(KeySource::Hs256 {
            secret: hs256_secret("AUTH_HS256_SECRET", secret)?,
            previous: env("AUTH_HS256_PREVIOUS_SECRET")
                .map(|s| hs256_secret("AUTH_HS256_PREVIOUS_SECRET", s))
                .transpose()?,
        }),
        (None, None, None) => Err(ConfigError::new(
            "AUTH_JWKS_URL",
            "no verification keys: set AUTH_JWKS_URL (recommended), AUTH_JWKS or AUTH_HS256_SECRET",
        )),
        _ => Err(ConfigError::new(
            "AUTH_JWKS_URL",
            "set exactly one of AUTH_JWKS_URL, AUTH_JWKS and AUTH_HS256_SECRET",
        )),
    }
}

/// The JWKS URL must be https, except on loopback for local development.
fn jwks_url(url: String) -> Result<String, ConfigError> {
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|prefix| {
            url.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
        });
    if url.starts_with("https://") || loopback {
        Ok(url)
    } else {
        Err(ConfigError::new(
            "AUTH_JWKS_URL",
            "must be an https:// URL (http:// only on loopback)",
        ))
    }
}

fn hs256_secret(variable: &'static str, secret: String) -> Result<Vec<u8>, ConfigError> {
    if secret.len() < MIN_HS256_SECRET_BYTES {
        return Err(ConfigError::new(
            variable,
            format!(
                "must be at least {MIN_HS256_SECRET_BYTES} bytes, got {} (generate one with `openssl rand -base64 32`)",
                secret.len()
            ),
        ));
    }
    if KNOWN_DEFAULT_SECRETS.contains(&secret.as_str()) {
        return Err(ConfigError::new(
            variable,
            "is Better Auth's built-in default secret, which anyone can read; generate one with `openssl rand -base64 32`",
        ));
    }
    Ok(secret.into_bytes())
}

fn leeway(raw: Option<String>) -> Result<Duration, ConfigError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_LEEWAY);
    };
    let seconds: u64 = raw.trim().parse().map_err(|_| {
        ConfigError::new("AUTH_LEEWAY_SECONDS", "must be a whole number of seconds")
    })?;
    let leeway = Duration::from_secs(seconds);
    if leeway > MAX_LEEWAY {
        return Err(ConfigError::new(
            "AUTH_LEEWAY_SECONDS",
            format!("must be at most {}", MAX_LEEWAY.as_secs()),
        ));
    }
    Ok(leeway)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    const ISS: [(&str, &str); 2] = [
        ("AUTH_ISSUER", "http://localhost:3000"),
        ("AUTH_AUDIENCE", "http://localhost:3000"),
    ];

    fn error(vars: &[(&str, &str)]) -> ConfigError {
        Config::from_lookup(lookup(vars)).unwrap_err()
    }

    #[test]
    fn a_short_hs256_secret_is_refused_by_name() {
        let err = error(&[ISS[0], ISS[1], ("AUTH_HS256_SECRET", "short")]);
        assert_eq!(err.variable, "AUTH_HS256_SECRET");
        assert!(err.to_string().contains("at least 32 bytes"), "{err}");
    }

    #[test]
    fn better_auths_default_secret_is_refused() {
        let vars = [
            ISS[0],
            ISS[1],
            ("AUTH_HS256_SECRET", "0123456789abcdef0123456789abcdef"),
            (
                "AUTH_HS256_PREVIOUS_SECRET",
                "better-auth-secret-12345678901234567890",
            ),
        ];
        assert_eq!(error(&vars).variable, "AUTH_HS256_PREVIOUS_SECRET");
    }

    #[test]
    fn issuer_audience_and_one_key_source_are_required() {
        assert_eq!(error(&ISS).variable, "AUTH_JWKS_URL");
        assert_eq!(
            error(&[ISS[0], ("AUTH_JWKS", "{}")]).variable,
            "AUTH_AUDIENCE"
        );
        let both = [
            ISS[0],
            ISS[1],
            ("AUTH_JWKS", "{}"),
            ("AUTH_JWKS_URL", "https://a/jwks"),
        ];
        assert!(error(&both).reason.contains("exactly one"));
    }

    #[test]
    fn jwks_url_must_be_https_off_loopback() {
        let vars = [
            ISS[0],
            ISS[1],
            ("AUTH_JWKS_URL", "http://auth.example.com/jwks"),
        ];
        assert_eq!(error(&vars).variable, "AUTH_JWKS_URL");
        let local = [
            ISS[0],
            ISS[1],
            ("AUTH_JWKS_URL", "http://localhost:3000/api/auth/jwks"),
        ];
        assert!(Config::from_lookup(lookup(&local)).is_ok());
        let tricky = [
            ISS[0],
            ISS[1],
            ("AUTH_JWKS_URL", "http://localhost.evil.com/jwks"),
        ];
        assert_eq!(error(&tricky).variable, "AUTH_JWKS_URL");
    }

    #[test]
    fn leeway_is_bounded() {
        let vars = [
            ISS[0],
            ISS[1],
            ("AUTH_JWKS", "{}"),
            ("AUTH_LEEWAY_SECONDS", "301"),
        ];
        assert_eq!(error(&vars).variable, "AUTH_LEEWAY_SECONDS");
        let ok = [
            ISS[0],
            ISS[1],
            ("AUTH_JWKS", "{}"),
            ("AUTH_LEEWAY_SECONDS", "300"),
        ];
        let config = Config::from_lookup(lookup(&ok)).unwrap();
        assert_eq!(config.auth.leeway, MAX_LEEWAY);
    }

    #[test]
    fn lambda_needs_a_table() {
        let vars = [
            ISS[0],
            ISS[1],
            ("AUTH_JWKS", "{}"),
            ("AWS_LAMBDA_FUNCTION_NAME", "f"),
        ];
        assert_eq!(error(&vars).variable, "TASKS_TABLE");
    }
}
