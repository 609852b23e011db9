//! How tokens are verified, read from the `AUTH_*` variables: the key source (a JWKS URL, an
//! inline JWKS, an HS256 secret or a Secrets Manager secret), issuer, audience and leeway.

use std::net::IpAddr;
use std::time::Duration;

use lambda_http::http::HeaderValue;
use url::{Host, Url};

use super::refresh::RefreshPolicy;
use crate::config::ConfigError;

/// Most leeway allowed for clock skew.
const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// Leeway when `AUTH_LEEWAY_SECONDS` is not set.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// The longest token lifetime (`exp` - `iat`) when `AUTH_MAX_TOKEN_LIFETIME_SECONDS` is not set:
/// a day (Better Auth's tokens live 15 minutes; the development demo token exactly a day).
pub const DEFAULT_MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// The bounds of `AUTH_MAX_TOKEN_LIFETIME_SECONDS`: a minute to a week. A revoked session is
/// remembered this long (docs/sessions.md), so the bound keeps each user's state small.
const TOKEN_LIFETIME_BOUNDS: (Duration, Duration) =
    (Duration::from_secs(60), Duration::from_secs(7 * 24 * 3600));
/// Fewest bytes an HS256 secret may have.
const MIN_HS256_SECRET_BYTES: usize = 32;

/// Secrets Better Auth falls back to when none is configured (current and older releases):
/// published in its source, so never acceptable as a signing secret.
const KNOWN_DEFAULT_SECRETS: [&str; 2] = [
    "better-auth-secret-12345678901234567890",
    "better-auth-secret-123456789",
];

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
    /// `AUTH_MAX_TOKEN_LIFETIME_SECONDS`: tokens whose `exp` is further after their `iat` are
    /// refused (`lifetime_too_long`).
    pub max_token_lifetime: Duration,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("keys", &self.keys.mode())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway", &self.leeway)
            .field("max_token_lifetime", &self.max_token_lifetime)
            .finish()
    }
}

/// Where the verification keys come from.
#[derive(Clone)]
pub enum KeySource {
    /// `AUTH_JWKS_URL`: fetched, cached for a bounded time and refreshed (Better Auth serves
    /// `/api/auth/jwks`).
    JwksUrl { url: Url, refresh: RefreshPolicy },
    /// `AUTH_JWKS`: the JSON inline; no network at all.
    JwksInline(String),
    /// `AUTH_HS256_SECRET` and optionally `AUTH_HS256_PREVIOUS_SECRET`.
    Hs256 {
        secret: Vec<u8>,
        previous: Option<Vec<u8>>,
    },
    /// `AUTH_HS256_SECRET_ID`: a Secrets Manager secret (name or ARN), read at cold start and
    /// re-read periodically; stage `AWSCURRENT` and, when present, `AWSPREVIOUS` verify.
    Hs256SecretId { id: String, refresh: RefreshPolicy },
}

impl KeySource {
    /// JWKS mode on `url`, with the default [`RefreshPolicy::JWKS`].
    pub fn jwks_url(url: Url) -> Self {
        KeySource::JwksUrl {
            url,
            refresh: RefreshPolicy::JWKS,
        }
    }

    /// HS256 mode on the Secrets Manager secret `id`, with the default [`RefreshPolicy::SECRET`].
    pub fn hs256_secret_id(id: String) -> Self {
        KeySource::Hs256SecretId {
            id,
            refresh: RefreshPolicy::SECRET,
        }
    }

    /// A name for logs; never the key material.
    pub fn mode(&self) -> &'static str {
        match self {
            KeySource::JwksUrl { .. } => "jwks_url",
            KeySource::JwksInline(_) => "jwks_inline",
            KeySource::Hs256 { .. } => "hs256",
            KeySource::Hs256SecretId { .. } => "hs256_secrets_manager",
        }
    }
}

impl AuthConfig {
    /// Reads the `AUTH_*` variables.
    pub fn from_lookup(env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let keys = key_source(&env)?;
        if env("AUTH_JWKS_CA_BUNDLE").is_some() && !matches!(keys, KeySource::JwksUrl { .. }) {
            return Err(ConfigError::new(
                "AUTH_JWKS_CA_BUNDLE",
                "is only read with AUTH_JWKS_URL (the CA of the JWKS server's certificate)",
            ));
        }
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
            max_token_lifetime: max_token_lifetime(env("AUTH_MAX_TOKEN_LIFETIME_SECONDS"))?,
        })
    }
}

/// The variables that select a key source; exactly one must be set.
const KEY_SOURCE_VARIABLES: [&str; 4] = [
    "AUTH_JWKS_URL",
    "AUTH_JWKS",
    "AUTH_HS256_SECRET",
    "AUTH_HS256_SECRET_ID",
];

/// The `AUTH_*` variables taskgate reads besides the key sources.
const OTHER_AUTH_VARIABLES: [&str; 6] = [
    "AUTH_JWKS_CA_BUNDLE",
    "AUTH_HS256_PREVIOUS_SECRET",
    "AUTH_ISSUER",
    "AUTH_AUDIENCE",
    "AUTH_LEEWAY_SECONDS",
    "AUTH_MAX_TOKEN_LIFETIME_SECONDS",
];

/// `AUTH_*` variables of the front end (`web/`), which the API ignores.
const FRONT_END_AUTH_VARIABLES: [&str; 1] = ["AUTH_RATE_LIMIT"];

/// Whether any `AUTH_*` variable is set among `vars` (name, value): tools offer development
/// mode only when none is. An `AUTH_*` name taskgate does not read, or an empty value, is an
/// error naming it, so a typo never falls back to development mode.
pub fn auth_variables_set(
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<bool, ConfigError> {
    let mut any = false;
    for (name, value) in vars {
        if !name.starts_with("AUTH_") || FRONT_END_AUTH_VARIABLES.contains(&name.as_str()) {
            continue;
        }
        let known = KEY_SOURCE_VARIABLES.iter().chain(&OTHER_AUTH_VARIABLES);
        if !known.clone().any(|known| *known == name) {
            let known: Vec<&str> = known.copied().collect();
            return Err(ConfigError::new(
                name,
                format!(
                    "is not a variable taskgate reads; the AUTH_* variables are {}",
                    known.join(", ")
                ),
            ));
        }
        if value.is_empty() {
            return Err(ConfigError::new(
                name,
                "is set but empty; give it a value or unset it",
            ));
        }
        any = true;
    }
    Ok(any)
}

fn key_source(env: impl Fn(&str) -> Option<String>) -> Result<KeySource, ConfigError> {
    let set: Vec<&str> = KEY_SOURCE_VARIABLES
        .into_iter()
        .filter(|name| env(name).is_some())
        .collect();
    let previous = env("AUTH_HS256_PREVIOUS_SECRET");
    let value = |name| env(name).unwrap_or_default();
    match set.as_slice() {
        ["AUTH_JWKS_URL"] => jwks_url(&value("AUTH_JWKS_URL")).map(KeySource::jwks_url),
        ["AUTH_JWKS"] => Ok(KeySource::JwksInline(value("AUTH_JWKS"))),
        ["AUTH_HS256_SECRET"] => Ok(KeySource::Hs256 {
            secret: hs256_secret("AUTH_HS256_SECRET", value("AUTH_HS256_SECRET").into_bytes())?,
            previous: previous
                .map(|s| hs256_secret("AUTH_HS256_PREVIOUS_SECRET", s.into_bytes()))
                .transpose()?,
        }),
        ["AUTH_HS256_SECRET_ID"] if previous.is_some() => Err(ConfigError::new(
            "AUTH_HS256_PREVIOUS_SECRET",
            "is not used with AUTH_HS256_SECRET_ID: the secret's AWSPREVIOUS stage verifies during a rotation",
        )),
        ["AUTH_HS256_SECRET_ID"] => Ok(KeySource::hs256_secret_id(value("AUTH_HS256_SECRET_ID"))),
        [] => Err(ConfigError::new(
            "AUTH_JWKS_URL",
            "no verification keys: set AUTH_JWKS_URL (recommended), AUTH_JWKS, AUTH_HS256_SECRET_ID or AUTH_HS256_SECRET",
        )),
        [first, ..] => Err(ConfigError::new(
            *first,
            format!(
                "set exactly one of {}; found {}",
                KEY_SOURCE_VARIABLES.join(", "),
                set.join(" and ")
            ),
        )),
    }
}

/// The JWKS URL, parsed: https, or http only when the host is a loopback address (local
/// development); no user info, no fragment.
fn jwks_url(raw: &str) -> Result<Url, ConfigError> {
    let error = |reason: &str| ConfigError::new("AUTH_JWKS_URL", reason);
    let url = Url::parse(raw).map_err(|e| error(&format!("is not a URL: {e}")))?;
    let loopback = match url.host() {
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(error("must not carry user info (user:password@)"));
    }
    if url.fragment().is_some() {
        return Err(error("must not have a #fragment"));
    }
    if !(url.scheme() == "https" || url.scheme() == "http" && loopback) {
        return Err(error(
            "must be an https:// URL (http:// only on a loopback host)",
        ));
    }
    if HeaderValue::from_str(url.as_str()).is_err() {
        return Err(error("is not a valid request URL"));
    }
    Ok(url)
}

/// An HS256 secret, whatever its source: at least 32 bytes, and not a published default.
pub fn hs256_secret(variable: &'static str, secret: Vec<u8>) -> Result<Vec<u8>, ConfigError> {
    if secret.len() < MIN_HS256_SECRET_BYTES {
        return Err(ConfigError::new(
            variable,
            format!(
                "must be at least {MIN_HS256_SECRET_BYTES} bytes, got {} (generate one with `openssl rand -base64 32`)",
                secret.len()
            ),
        ));
    }
    if KNOWN_DEFAULT_SECRETS
        .iter()
        .any(|known| known.as_bytes() == secret)
    {
        return Err(ConfigError::new(
            variable,
            "is Better Auth's built-in default secret, which anyone can read; generate one with `openssl rand -base64 32`",
        ));
    }
    Ok(secret)
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

fn max_token_lifetime(raw: Option<String>) -> Result<Duration, ConfigError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_MAX_TOKEN_LIFETIME);
    };
    let (min, max) = TOKEN_LIFETIME_BOUNDS;
    match raw.trim().parse::<u64>().map(Duration::from_secs) {
        Ok(lifetime) if (min..=max).contains(&lifetime) => Ok(lifetime),
        _ => Err(ConfigError::new(
            "AUTH_MAX_TOKEN_LIFETIME_SECONDS",
            format!(
                "must be a whole number of seconds from {} to {} (a week), got {raw:?}; it must \
                 be at least the lifetime of the tokens your issuer mints (Better Auth: 900)",
                min.as_secs(),
                max.as_secs()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::lookup;

    const ISS: [(&str, &str); 2] = [
        ("AUTH_ISSUER", "http://localhost:3000"),
        ("AUTH_AUDIENCE", "http://localhost:3000"),
    ];

    fn error(vars: &[(&str, &str)]) -> ConfigError {
        AuthConfig::from_lookup(lookup(vars)).unwrap_err()
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

    fn jwks_url_error(url: &str) -> String {
        let err = error(&[ISS[0], ISS[1], ("AUTH_JWKS_URL", url)]);
        assert_eq!(err.variable, "AUTH_JWKS_URL", "{url}");
        err.reason
    }

    #[test]
    fn jwks_url_must_be_https_off_loopback() {
        for url in [
            "https://auth.example.com/api/auth/jwks",
            "http://localhost:3000/api/auth/jwks",
            "http://127.0.0.1:3000/api/auth/jwks",
            "http://[::1]:3000/api/auth/jwks",
        ] {
            let config = AuthConfig::from_lookup(lookup(&[ISS[0], ISS[1], ("AUTH_JWKS_URL", url)]));
            assert!(config.is_ok(), "{url}");
        }
        for url in [
            "http://auth.example.com/jwks",
            "http://localhost.evil.com/jwks",
            "http://127.0.0.1.evil.com/jwks",
            "ftp://localhost/jwks",
            "localhost:3000/jwks",
        ] {
            assert!(jwks_url_error(url).contains("https"), "{url}");
        }
    }

    #[test]
    fn jwks_url_has_no_user_info_or_fragment() {
        for url in [
            "http://localhost:1@evil.example/jwks",
            "https://user:pass@auth.example.com/jwks",
        ] {
            assert!(jwks_url_error(url).contains("user info"), "{url}");
        }
        assert!(jwks_url_error("https://auth.example.com/jwks#k").contains("fragment"));
        assert!(jwks_url_error("not a url").contains("not a URL"));
    }

    #[test]
    fn a_jwks_ca_bundle_goes_with_a_jwks_url_only() {
        let bundle = ("AUTH_JWKS_CA_BUNDLE", "/etc/taskgate/issuer-ca.pem");
        let with_url = [ISS[0], ISS[1], ("AUTH_JWKS_URL", "https://a/jwks"), bundle];
        assert!(AuthConfig::from_lookup(lookup(&with_url)).is_ok());
        let inline = [ISS[0], ISS[1], ("AUTH_JWKS", "{}"), bundle];
        let err = error(&inline);
        assert_eq!(err.variable, "AUTH_JWKS_CA_BUNDLE");
        assert!(err.reason.contains("AUTH_JWKS_URL"), "{err}");
        assert_eq!(
            auth_variables_set(vars(&[bundle])),
            Ok(true),
            "a variable taskgate reads"
        );
    }

    #[test]
    fn the_secret_comes_from_one_place() {
        let both = [
            ISS[0],
            ISS[1],
            ("AUTH_HS256_SECRET", "0123456789abcdef0123456789abcdef"),
            ("AUTH_HS256_SECRET_ID", "taskgate/hs256"),
        ];
        let err = error(&both);
        assert!(
            err.reason
                .contains("AUTH_HS256_SECRET and AUTH_HS256_SECRET_ID"),
            "{err}"
        );
        let with_previous = [
            ISS[0],
            ISS[1],
            ("AUTH_HS256_SECRET_ID", "taskgate/hs256"),
            (
                "AUTH_HS256_PREVIOUS_SECRET",
                "0123456789abcdef0123456789abcdef",
            ),
        ];
        assert_eq!(error(&with_previous).variable, "AUTH_HS256_PREVIOUS_SECRET");
        let config =
            AuthConfig::from_lookup(lookup(&[ISS[0], ISS[1], ("AUTH_HS256_SECRET_ID", "arn:x")]))
                .unwrap();
        assert!(matches!(
            config.keys,
            KeySource::Hs256SecretId { ref id, refresh } if id == "arn:x" && refresh == RefreshPolicy::SECRET
        ));
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
        let config = AuthConfig::from_lookup(lookup(&ok)).unwrap();
        assert_eq!(config.leeway, MAX_LEEWAY);
    }

    #[test]
    fn the_longest_token_lifetime_defaults_to_a_day_and_is_bounded() {
        let with = |value: &'static str| {
            let vars = [
                ISS[0],
                ISS[1],
                ("AUTH_JWKS", "{}"),
                ("AUTH_MAX_TOKEN_LIFETIME_SECONDS", value),
            ];
            AuthConfig::from_lookup(lookup(&vars))
        };
        let default = AuthConfig::from_lookup(lookup(&[ISS[0], ISS[1], ("AUTH_JWKS", "{}")]));
        assert_eq!(
            default.unwrap().max_token_lifetime,
            DEFAULT_MAX_TOKEN_LIFETIME
        );
        assert_eq!(
            with("900").unwrap().max_token_lifetime,
            Duration::from_secs(900)
        );
        assert_eq!(
            with("604800").unwrap().max_token_lifetime.as_secs(),
            604_800
        );
        for bad in ["59", "604801", "-1", "1.5", "a day"] {
            let error = with(bad).unwrap_err();
            assert_eq!(error.variable, "AUTH_MAX_TOKEN_LIFETIME_SECONDS", "{bad}");
            assert!(error.reason.contains("from 60 to 604800"), "{error}");
        }
        assert_eq!(
            auth_variables_set(vars(&[("AUTH_MAX_TOKEN_LIFETIME_SECONDS", "900")])),
            Ok(true),
            "a variable taskgate reads"
        );
    }

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn development_mode_only_without_any_auth_variable() {
        let unrelated = [
            ("PATH", "/bin"),
            ("AUTHOR", "x"),
            ("AUTH_RATE_LIMIT", "off"),
        ];
        assert_eq!(auth_variables_set(vars(&unrelated)), Ok(false));
        assert_eq!(auth_variables_set(vars(&[("AUTH_ISSUER", "x")])), Ok(true));
        let empty = auth_variables_set(vars(&[("AUTH_HS256_SECRET", "")])).unwrap_err();
        assert_eq!(empty.variable, "AUTH_HS256_SECRET");
        assert!(empty.reason.contains("empty"), "{empty}");
        let typo = auth_variables_set(vars(&[
            ("AUTH_ISSUER", "x"),
            ("AUTH_JWKS_URI", "https://a/jwks"),
        ]))
        .unwrap_err();
        assert_eq!(typo.variable, "AUTH_JWKS_URI");
        assert!(typo.to_string().contains("AUTH_JWKS_URL"), "{typo}");
    }

    #[test]
    fn some_auth_variables_without_a_key_source_name_what_is_missing() {
        assert_eq!(error(&[("AUTH_ISSUER", "x")]).variable, "AUTH_JWKS_URL");
    }
}
