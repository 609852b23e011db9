//! The token verifier on any `Authorization` value, in HS256 mode and in JWKS mode (Better
//! Auth's real keys): it returns a verdict, never panics.

#![no_main]

use std::sync::LazyLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use taskgate::auth::Authenticator;
use taskgate::config::{AuthConfig, KeySource};

/// Inside the Better Auth seed tokens' validity window.
const NOW: i64 = 1_795_937_300;

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
});

static VERIFIERS: LazyLock<Vec<Authenticator>> = LazyLock::new(|| {
    let jwks = [
        include_str!("../../../tests/fixtures/better-auth/eddsa/jwks.json"),
        include_str!("../../../tests/fixtures/better-auth/es256/jwks.json"),
        include_str!("../../../tests/fixtures/better-auth/es512/jwks.json"),
        include_str!("../../../tests/fixtures/better-auth/rs256/jwks.json"),
        include_str!("../../../tests/fixtures/better-auth/ps256/jwks.json"),
    ];
    let mut keys: Vec<KeySource> = jwks
        .iter()
        .map(|jwks| KeySource::JwksInline(jwks.to_string()))
        .collect();
    keys.push(KeySource::Hs256 {
        secret: b"taskgate-fuzz-secret-0123456789-abcdefghij".to_vec(),
        previous: None,
    });
    keys.into_iter()
        .map(|keys| {
            let config = AuthConfig {
                keys,
                issuer: "http://127.0.0.1:3765".into(),
                audience: "http://127.0.0.1:3765".into(),
                leeway: Duration::from_secs(30),
                // The seeds' tokens live until 2100, so that they stay valid: far past the longest
                // lifetime `AUTH_MAX_TOKEN_LIFETIME_SECONDS` allows.
                max_token_lifetime: Duration::from_secs(100 * 365 * 24 * 3600),
            };
            RUNTIME
                .block_on(Authenticator::new(&config))
                .expect("fuzz verifier config")
        })
        .collect()
});

fuzz_target!(|authorization: &[u8]| {
    let verifiers = &*VERIFIERS;
    RUNTIME.block_on(async {
        for verifier in verifiers {
            let _ = verifier.verify_at(Some(authorization), NOW).await;
            let _ = verifier.verify_signature_only(Some(authorization)).await;
        }
    });
});
