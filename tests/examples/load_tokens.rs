//! `scripts/load-run.sh`: the EdDSA configuration of its JWKS runs. A fresh Ed25519 key (Better
//! Auth's default), its public JWK as an inline `AUTH_JWKS`, the issuer and audience the tests
//! use, and a valid EdDSA token for the tests' user, printed as shell assignments for `eval`:
//!
//! ```sh
//! eval "$(cargo run -q -p taskgate-tests --example load_tokens)"
//! # AUTH_JWKS, AUTH_ISSUER, AUTH_AUDIENCE, LOAD_USER, LOAD_TOKEN (not exported)
//! ```
//!
//! The token carries `claims_for`'s claims (Better Auth's 15-minute lifetime) unless
//! `TOKEN_LIFETIME_SECONDS` asks for a longer one: a load run must not outlive its token.

#[allow(dead_code)]
#[path = "../tests/catalogue/keys.rs"]
mod keys;

use serde_json::json;
use taskgate_tests::{ISSUER, USER, claims_for};

use keys::{SigningKey, sign};

/// The `kid` of the key, as Better Auth's JWKS would carry one.
const KID: &str = "load-run";

fn main() {
    let key = SigningKey::ed25519();
    let jwks = json!({ "keys": [key.public_jwk(KID)] }).to_string();
    let mut claims = claims_for(USER);
    if let Ok(lifetime) = std::env::var("TOKEN_LIFETIME_SECONDS") {
        let lifetime: i64 = lifetime
            .trim()
            .parse()
            .ok()
            .filter(|seconds| *seconds > 0)
            .unwrap_or_else(|| {
                panic!("TOKEN_LIFETIME_SECONDS must be a positive number, got {lifetime:?}")
            });
        let issued_at = claims["iat"].as_i64().expect("claims_for sets iat");
        claims["exp"] = json!(issued_at + lifetime);
    }
    let token = sign(&key, &json!({"alg": "EdDSA", "kid": KID}), &claims);
    for (name, value) in [
        ("AUTH_JWKS", jwks.as_str()),
        ("AUTH_ISSUER", ISSUER),
        ("AUTH_AUDIENCE", ISSUER),
        ("LOAD_USER", USER),
        ("LOAD_TOKEN", token.as_str()),
    ] {
        println!("{name}={}", shell_quote(value));
    }
}

/// `value` as one single-quoted shell word.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}
