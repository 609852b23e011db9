//! Development mode: when no auth is configured, sign tokens with a random HS256 secret made at
//! start-up, and hand the newcomer a ready-to-paste `curl` line. Refused inside AWS Lambda.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header, encode};
use serde::Serialize;
use taskgate::config::{
    AuthConfig, ConfigError, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_LIFETIME, KeySource, in_lambda,
};

/// The issuer and audience of development tokens.
pub const DEV_ISSUER: &str = "taskgate-local-dev";
/// The demo user whose token is printed at start-up.
pub const DEMO_USER: &str = "demo-user";
/// How long the printed token is valid.
const TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// A development auth configuration and the demo user's token.
pub fn dev_auth(env: impl Fn(&str) -> Option<String>) -> Result<(AuthConfig, String), ConfigError> {
    if in_lambda(&env) {
        return Err(ConfigError::new(
            "AUTH_JWKS_URL",
            "no auth configured, and development mode is refused inside AWS Lambda",
        ));
    }
    let secret: [u8; 32] = rand::random();
    let config = AuthConfig {
        keys: KeySource::Hs256 {
            secret: secret.to_vec(),
            previous: None,
        },
        issuer: DEV_ISSUER.to_string(),
        audience: DEV_ISSUER.to_string(),
        leeway: DEFAULT_LEEWAY,
        max_token_lifetime: DEFAULT_MAX_TOKEN_LIFETIME,
    };
    let token = demo_token(&secret).map_err(|e| ConfigError::new("AUTH_HS256_SECRET", e))?;
    Ok((config, token))
}

#[derive(Serialize)]
struct DemoClaims<'a> {
    sub: &'a str,
    iss: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

fn demo_token(secret: &[u8]) -> Result<String, String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let claims = DemoClaims {
        sub: DEMO_USER,
        iss: DEV_ISSUER,
        aud: DEV_ISSUER,
        iat: now,
        exp: now + TOKEN_LIFETIME.as_secs(),
    };
    let key = EncodingKey::from_secret(secret).map_err(|e| e.to_string())?;
    encode(&Header::default(), &claims, &key).map_err(|e| e.to_string())
}

/// The banner printed in development mode (to the terminal, never to the logs).
pub fn banner(base_url: &str, token: &str) -> String {
    format!(
        "\n  taskgate-local is in DEVELOPMENT MODE: no AUTH_* variable is set, so tokens are\n  \
         signed with a random HS256 secret made at start-up. Never expose this server.\n\n  \
         Demo user `{DEMO_USER}`, token valid 24 h. Try:\n\n    \
         export TOKEN={token}\n    \
         curl -s -X POST -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\\n      \
         -d '{{\"title\":\"Try taskgate\"}}' {base_url}/api/{DEMO_USER}/tasks\n    \
         curl -s -H \"Authorization: Bearer $TOKEN\" {base_url}/api/{DEMO_USER}/tasks\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn development_mode_is_refused_in_lambda() {
        let lambda = |name: &str| (name == "AWS_LAMBDA_FUNCTION_NAME").then(|| "f".to_string());
        assert!(dev_auth(lambda).is_err());
        assert!(dev_auth(|_| None).is_ok());
    }
}
