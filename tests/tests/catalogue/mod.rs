//! The attack catalogue of issue 3, one function per numbered item. Each runs its attacks
//! through the real handlers, in HS256 mode and in JWKS mode where the item applies, and asserts
//! the status (and that a good token is accepted, so no rejection passes by accident).
//! `attacks.rs` runs each item as a test; `logs.rs` runs them all and reads the logs.

pub mod keys;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use lambda_http::http::Method;
use serde_json::{Map, Value, json};
use taskgate::Route;
use taskgate::auth::{AuthError, Authenticator, Claims};
use taskgate::config::{AuthConfig, Config, KeySource};
use taskgate::revocation::{Revocation, RevocationState, RevocationStore};
use taskgate::tasks::memory::MemoryStore;
use taskgate::tasks::{Created, ListQuery, Page, StoreError, Task, TaskChanges, TaskId, TaskStore};
use taskgate_tests::{
    ISSUER, OTHER_USER, SECRET, TestApp, TestResponse, USER, claims_for, hs256_config, now,
    spawn_app_with,
};

use keys::{ATTACKER, SigningKey, TRUSTED, b64, sign, sign_raw};
use taskgate_tests::jwks_server::JwksServer;

/// How the app under attack verifies tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `AUTH_HS256_SECRET`: [`SECRET`].
    Hs256,
    /// `AUTH_JWKS`: the [`TRUSTED`] keys, inline.
    Jwks,
}

const MODES: [Mode; 2] = [Mode::Hs256, Mode::Jwks];

/// The HS256 mode's signing key: the app's own secret.
static OUR_SECRET: LazyLock<SigningKey> = LazyLock::new(|| SigningKey::Hmac(SECRET.to_vec()));

/// Every Authorization value and secret the catalogue used, for the log check.
static SENSITIVE: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn remember(value: &str) {
    SENSITIVE.lock().unwrap().push(value.to_string());
}

/// Every token, header value and secret the catalogue has used so far.
#[allow(dead_code)] // read by logs.rs, which shares this module with attacks.rs
pub fn sensitive_strings() -> Vec<String> {
    let mut all = SENSITIVE.lock().unwrap().clone();
    all.push(String::from_utf8_lossy(SECRET).into_owned());
    all
}

fn jwks_config(keys: KeySource) -> AuthConfig {
    AuthConfig {
        keys,
        ..hs256_config()
    }
}

/// An app in `mode` and the trusted key that signs its tokens.
pub struct Target {
    pub mode: Mode,
    pub app: TestApp,
    key: &'static SigningKey,
    kid: Option<&'static str>,
}

impl Target {
    pub async fn new(mode: Mode) -> Self {
        Self::with_store(mode, Arc::new(MemoryStore::new())).await
    }

    async fn with_store<S>(mode: Mode, store: Arc<S>) -> Self
    where
        S: TaskStore + RevocationStore + 'static,
    {
        let (config, key, kid) = match mode {
            Mode::Hs256 => (hs256_config(), &*OUR_SECRET, None),
            Mode::Jwks => (
                jwks_config(KeySource::JwksInline(TRUSTED.jwks())),
                &TRUSTED.ed25519,
                Some("ed"),
            ),
        };
        let app = spawn_app_with(config, store).await;
        Self {
            mode,
            app,
            key,
            kid,
        }
    }

    /// The header our issuer writes, with `extra` fields merged in.
    fn header(&self, extra: Value) -> Value {
        let mut header = json!({"alg": self.key.alg(), "typ": "JWT"});
        if let Some(kid) = self.kid {
            header["kid"] = json!(kid);
        }
        if let (Value::Object(header), Value::Object(extra)) = (&mut header, extra) {
            header.extend(extra);
        }
        header
    }

    /// A token signed by the trusted key, with these claims.
    fn token(&self, claims: &Value) -> String {
        sign(self.key, &self.header(json!({})), claims)
    }

    /// A token signed by the trusted key, with `extra` header fields.
    fn token_with_header(&self, extra: Value, claims: &Value) -> String {
        sign(self.key, &self.header(extra), claims)
    }

    /// A token signed by the trusted key over exactly this header and payload text.
    fn raw_token(&self, header: &str, payload: &str) -> String {
        sign_raw(self.key, header, payload)
    }

    fn valid(&self) -> String {
        self.token(&claims_for(USER))
    }

    /// `GET /api/{USER}/tasks` with this `Authorization` value.
    async fn send(&self, authorization: Option<&str>) -> TestResponse {
        let mut call = self.app.call(Method::GET, &format!("/api/{USER}/tasks"));
        if let Some(value) = authorization {
            remember(value);
            call = call.header("authorization", value);
        }
        call.send().await
    }

    /// What the verifier itself says about this `Authorization` value: the precise reason the
    /// log carries, which the client's 401 never shows.
    async fn verify(&self, authorization: &str) -> Result<Claims, AuthError> {
        self.app
            .app
            .authenticator()
            .verify(Some(authorization.as_bytes()))
            .await
    }

    async fn accepts(&self, token: &str, what: &str) {
        let response = self.send(Some(&format!("Bearer {token}"))).await;
        assert_eq!(
            response.status, 200,
            "{:?}: {what}: {}",
            self.mode, response.body
        );
    }

    async fn rejects(&self, token: &str, what: &str) {
        let response = self.send(Some(&format!("Bearer {token}"))).await;
        assert_unauthorized(&response, &format!("{:?}: {what}", self.mode));
    }
}

/// A 401 problem with RFC 6750's `invalid_token` challenge.
fn assert_unauthorized(response: &TestResponse, what: &str) {
    assert_eq!(response.status, 401, "{what}: {}", response.body);
    response.assert_problem(401);
    assert_eq!(
        response.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\""),
        "{what}"
    );
}

/// Valid claims for [`USER`], changed by `edit`.
fn claims(edit: impl FnOnce(&mut Map<String, Value>)) -> Value {
    let mut claims = claims_for(USER);
    edit(claims.as_object_mut().expect("claims object"));
    claims
}

/// 1. Missing header, other schemes, empty token, 2 or 4 segments, whitespace tricks: 401;
///    `bearer` in lower case accepted.
pub async fn item_01_bearer_header() {
    for mode in MODES {
        let target = Target::new(mode).await;
        let token = target.valid();
        let missing = target.send(None).await;
        missing.assert_problem(401);
        assert_eq!(missing.header("www-authenticate"), Some("Bearer"));
        let (two, _) = token.rsplit_once('.').unwrap();
        for value in [
            "Basic dXNlcjpwYXNzd29yZA==".to_string(),
            format!("Token {token}"),
            format!("JWT {token}"),
            "Bearer".to_string(),
            "Bearer ".to_string(),
            format!("Bearer {two}"),
            format!("Bearer {token}.{}", b64("x")),
            format!("Bearer  {token}"),
            format!("Bearer\t{token}"),
            format!(" Bearer {token}"),
            format!("Bearer {token} "),
            format!("Bearer {token},Bearer {token}"),
            format!("Bearer{token}"),
            format!("Bearer \"{token}\""),
        ] {
            let response = target.send(Some(&value)).await;
            assert_eq!(response.status, 401, "{mode:?}: {value:?}");
            response.assert_problem(401);
        }
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            let response = target.send(Some(&format!("{scheme} {token}"))).await;
            assert_eq!(response.status, 200, "{mode:?}: scheme {scheme}");
        }
    }
}

/// 2. `alg` `none`/`None`/`NONE`, with or without a signature: 401.
pub async fn item_02_alg_none() {
    for mode in MODES {
        let target = Target::new(mode).await;
        let payload = claims_for(USER).to_string();
        for alg in ["none", "None", "NONE", "nOnE"] {
            let header = json!({"alg": alg, "typ": "JWT"}).to_string();
            let unsigned = format!("{}.{}.", b64(&header), b64(&payload));
            target
                .rejects(&unsigned, &format!("alg {alg}, no signature"))
                .await;
            let signed = target.raw_token(&header, &payload);
            target.rejects(&signed, &format!("alg {alg}, signed")).await;
        }
        target.accepts(&target.valid(), "control").await;
    }
}

/// 3. Key confusion: an HS256 token whose secret is our public key (raw bytes, PEM, JWK
///    text): 401; an ES512 token under the P-256 key's kid, and ES256 under the P-521 key's:
///    401. In HS256 mode, tokens in other algorithms are refused the same way.
pub async fn item_03_key_confusion() {
    let target = Target::new(Mode::Jwks).await;
    for (kid, key) in TRUSTED.all() {
        let jwk = key.public_jwk(kid);
        let secrets = [
            key.public_bytes(),
            key.public_pem().into_bytes(),
            jwk.to_string().into_bytes(),
            serde_json::to_vec_pretty(&jwk).unwrap(),
            TRUSTED.jwks().into_bytes(),
        ];
        for secret in secrets {
            let hmac = SigningKey::Hmac(secret);
            for header in [
                json!({"alg": "HS256", "typ": "JWT", "kid": kid}),
                json!({"alg": "HS256", "typ": "JWT"}),
            ] {
                let token = sign(&hmac, &header, &claims_for(USER));
                target
                    .rejects(&token, &format!("HS256 with {kid}'s public key"))
                    .await;
            }
        }
    }
    // One key, one algorithm: the P-256 key's kid under ES512, the P-521 key's under ES256,
    // each signed by the trusted key of the algorithm it names.
    for (kid, key) in [("ec", &TRUSTED.p521), ("ec521", &TRUSTED.p256)] {
        let header = json!({"alg": key.alg(), "typ": "JWT", "kid": kid});
        let token = sign(key, &header, &claims_for(USER));
        target
            .rejects(&token, &format!("{} under kid {kid}", key.alg()))
            .await;
        let verified = target.verify(&format!("Bearer {token}")).await;
        assert_eq!(verified, Err(AuthError::AlgorithmMismatch), "{kid}");
    }
    target.accepts(&target.valid(), "control").await;

    let target = Target::new(Mode::Hs256).await;
    for (kid, key) in ATTACKER.all() {
        for header in [
            json!({"alg": key.alg(), "typ": "JWT", "kid": kid}),
            json!({"alg": key.alg(), "typ": "JWT"}),
        ] {
            let token = sign(key, &header, &claims_for(USER));
            target
                .rejects(&token, &format!("{} in HS256 mode", key.alg()))
                .await;
        }
    }
    let payload = claims_for(USER).to_string();
    for alg in ["HS384", "HS512"] {
        let header = json!({"alg": alg, "typ": "JWT"}).to_string();
        let token = target.raw_token(&header, &payload);
        target
            .rejects(&token, &format!("{alg} label on our secret"))
            .await;
    }
    target.accepts(&target.valid(), "control").await;
}

/// 4. Embedded `jwk`, `jku`, `x5u`, `x5c` headers pointing at an attacker's key: 401, and no
///    network fetch happens.
pub async fn item_04_embedded_keys() {
    let attacker_server = JwksServer::start(ATTACKER.jwks(), 0).await;
    let trusted_server = JwksServer::start(TRUSTED.jwks(), 0).await;
    let remote = spawn_app_with(
        jwks_config(KeySource::jwks_url(
            trusted_server.url.parse().expect("URL"),
        )),
        Arc::new(MemoryStore::new()),
    )
    .await;
    assert_eq!(trusted_server.fetches(), 1, "the cold-start prefetch");
    let remote = Target {
        mode: Mode::Jwks,
        app: remote,
        key: &TRUSTED.ed25519,
        kid: Some("ed"),
    };
    let hs256 = Target::new(Mode::Hs256).await;
    let inline = Target::new(Mode::Jwks).await;

    let evil = &ATTACKER.ed25519;
    let x5c = b64(evil.public_bytes());
    let embedded = [
        json!({"jwk": evil.public_jwk("ed")}),
        json!({"jku": attacker_server.url}),
        json!({"x5u": attacker_server.url}),
        json!({"x5c": [x5c]}),
    ];
    for target in [&hs256, &inline, &remote] {
        for header in &embedded {
            let mut forged = json!({"alg": "EdDSA", "typ": "JWT", "kid": "evil"});
            forged
                .as_object_mut()
                .unwrap()
                .extend(header.as_object().unwrap().clone());
            let token = sign(evil, &forged, &claims_for(USER));
            target
                .rejects(&token, &format!("attacker-signed {header}"))
                .await;
            let token = target.token_with_header(header.clone(), &claims_for(USER));
            target
                .rejects(&token, &format!("trusted-signed {header}"))
                .await;
        }
        target.accepts(&target.valid(), "control").await;
    }
    assert_eq!(
        attacker_server.fetches(),
        0,
        "no key was fetched from a token's URL"
    );
    assert_eq!(
        trusted_server.fetches(),
        1,
        "no refresh was caused by the headers"
    );
}

/// 5. Unknown `kid`, path-traversal or 10 KB `kid`: 401, with at most one JWKS refresh per
///    cooldown across 100 such requests.
pub async fn item_05_unknown_kid() {
    // The cold-start fetch fails, so the first unknown kid may refresh; the cooldown allows
    // that one refresh and no other.
    let server = JwksServer::start(TRUSTED.jwks(), 1).await;
    let app = spawn_app_with(
        jwks_config(KeySource::jwks_url(server.url.parse().expect("URL"))),
        Arc::new(MemoryStore::new()),
    )
    .await;
    assert_eq!(server.fetches(), 1);
    let target = Arc::new(Target {
        mode: Mode::Jwks,
        app,
        key: &TRUSTED.ed25519,
        kid: Some("ed"),
    });
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..100 {
        let target = target.clone();
        requests.spawn(async move {
            let kid = match i % 3 {
                0 => format!("unknown-{i}"),
                1 => format!("../../../../etc/passwd{i}"),
                _ => format!("..%2F..%2F{i}%00"),
            };
            let token = target.token_with_header(json!({ "kid": kid }), &claims_for(USER));
            target.rejects(&token, &format!("kid {kid}")).await;
        });
    }
    while let Some(done) = requests.join_next().await {
        done.expect("request task");
    }
    assert_eq!(server.fetches(), 2, "one refresh for 100 unknown kids");
    target
        .accepts(&target.valid(), "a known kid after the refresh")
        .await;
    assert_eq!(server.fetches(), 2);

    for mode in MODES {
        let target = Target::new(mode).await;
        let huge = "k".repeat(10 * 1024);
        let token = target.token_with_header(json!({ "kid": huge }), &claims_for(USER));
        target.rejects(&token, "10 KB kid").await;
        let attacker = SigningKey::Hmac(b"an attacker's secret, 32 bytes or more".to_vec());
        remember("an attacker's secret, 32 bytes or more");
        let token = sign(
            &attacker,
            &json!({"alg": "HS256", "kid": "../../../../dev/null"}),
            &claims_for(USER),
        );
        target.rejects(&token, "path traversal kid").await;
    }
    let inline = Target::new(Mode::Jwks).await;
    let token = inline.token_with_header(json!({"kid": "not-in-the-jwks"}), &claims_for(USER));
    inline.rejects(&token, "unknown kid, inline JWKS").await;
}

/// 6. `crit` with unknown entries, or `b64: false`: 401.
pub async fn item_06_crit_and_b64() {
    for mode in MODES {
        let target = Target::new(mode).await;
        for extra in [
            json!({"crit": ["urn:example:unknown"], "urn:example:unknown": true}),
            json!({"crit": ["exp"]}),
            json!({"crit": []}),
            json!({"b64": false, "crit": ["b64"]}),
            json!({"b64": false}),
            json!({"b64": true}),
        ] {
            let token = target.token_with_header(extra.clone(), &claims_for(USER));
            target.rejects(&token, &format!("header {extra}")).await;
        }
        // An unencoded payload (RFC 7797), signed over the raw claims.
        let header = target.header(json!({"b64": false, "crit": ["b64"]}));
        let payload = claims_for(USER).to_string();
        let input = format!("{}.{payload}", b64(header.to_string()));
        let token = format!(
            "{}..{}",
            b64(header.to_string()),
            b64(target.key.sign(input.as_bytes()))
        );
        target.rejects(&token, "detached unencoded payload").await;
    }
}

/// 7. ES256 and ES512 signatures r = s = 0 (CVE-2022-21449), ES512 signatures of the wrong
///    size or by another P-521 key, and Ed25519 signatures with S + L: 401.
pub async fn item_07_signature_edge_cases() {
    for mode in MODES {
        let target = Target::new(mode).await;
        let payload = claims_for(USER).to_string();
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": "ec"}).to_string();
        let zero = format!("{}.{}.{}", b64(&header), b64(&payload), b64([0u8; 64]));
        target.rejects(&zero, "ES256 r = s = 0").await;
        let header = json!({"alg": "ES512", "typ": "JWT", "kid": "ec521"}).to_string();
        let zero = format!("{}.{}.{}", b64(&header), b64(&payload), b64([0u8; 132]));
        target.rejects(&zero, "ES512 r = s = 0").await;
        let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": "ed"}).to_string();
        let zero = format!("{}.{}.{}", b64(&header), b64(&payload), b64([0u8; 64]));
        target.rejects(&zero, "EdDSA all zero").await;
    }
    let target = Target::new(Mode::Jwks).await;
    let es512_header = json!({"alg": "ES512", "typ": "JWT", "kid": "ec521"});
    let es512 = sign(&TRUSTED.p521, &es512_header, &claims_for(USER));
    target.accepts(&es512, "a genuine ES512 token").await;
    let (input, signature) = es512.rsplit_once('.').unwrap();
    let signature = base64_decode(signature);
    assert_eq!(signature.len(), 132, "r || s, 66 bytes each");
    let (r, s) = signature.split_at(66);
    for (what, bad) in [
        ("ES512 r = s = 0", vec![0u8; 132]),
        ("ES512 without its last byte", signature[..131].to_vec()),
        ("ES512 with a byte more", [&signature[..], &[0]].concat()),
        ("ES512 with r and s swapped", [s, r].concat()),
        ("ES512 of r only, as ES256's size", r[2..].to_vec()),
    ] {
        target.rejects(&format!("{input}.{}", b64(bad)), what).await;
    }
    let by_another_key = sign(&ATTACKER.p521, &es512_header, &claims_for(USER));
    target
        .rejects(&by_another_key, "ES512 by another P-521 key under our kid")
        .await;
    assert_eq!(
        target.verify(&format!("Bearer {by_another_key}")).await,
        Err(AuthError::BadSignature)
    );
    let target = Target::new(Mode::Jwks).await;
    let es256 = sign(
        &TRUSTED.p256,
        &json!({"alg": "ES256", "typ": "JWT", "kid": "ec"}),
        &claims_for(USER),
    );
    target.accepts(&es256, "a genuine ES256 token").await;
    let (input, _) = es256.rsplit_once('.').unwrap();
    target
        .rejects(&format!("{input}.{}", b64([0u8; 64])), "ES256 r = s = 0")
        .await;

    let eddsa = target.valid();
    target.accepts(&eddsa, "a genuine EdDSA token").await;
    let (input, signature) = eddsa.rsplit_once('.').unwrap();
    let mut signature = base64_decode(signature);
    add_group_order(&mut signature[32..]);
    target
        .rejects(&format!("{input}.{}", b64(&signature)), "Ed25519 S + L")
        .await;
}

fn base64_decode(segment: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .expect("base64url")
}

/// Adds L, the order of Ed25519's base point, to the little-endian scalar `s`.
fn add_group_order(s: &mut [u8]) {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for (byte, l) in s.iter_mut().zip(L) {
        let sum = *byte as u16 + l as u16 + carry;
        *byte = sum as u8;
        carry = sum >> 8;
    }
}

/// 8. Weak or malformed JWKS keys (Ed25519 `x` not 32 bytes, small-order or identity keys,
///    P-521 coordinates not 66 bytes, an EC key declared with another curve's `alg`, `kty: oct`,
///    `use: enc`): filtered at load with a log line, never a panic, never trusted.
pub async fn item_08_weak_jwks_keys() {
    let enc_key = SigningKey::ed25519();
    let oct_secret = b"a JWKS must never hand us a shared secret".to_vec();
    remember(&b64(&oct_secret));
    let small_order = "xxdqcD1N2E-6PAt2DRBnDyogU_osOczGTsf9d5KsA3o";
    let identity = b64({
        let mut point = [0u8; 32];
        point[0] = 1;
        point
    });
    let mut enc_jwk = enc_key.public_jwk("enc");
    enc_jwk["use"] = json!("enc");
    let mut ops_jwk = enc_key.public_jwk("ops");
    ops_jwk["key_ops"] = json!(["encrypt"]);
    // P-521 coordinates are exactly 66 bytes: without the leading zero byte some encoders drop,
    // or with one more, the key is refused; so is a P-521 key declared with another alg, and a
    // P-256 key declared ES512.
    let p521 = ATTACKER.p521.public_jwk("p521");
    let point = ATTACKER.p521.public_bytes();
    let with_x = |kid: &str, x: Vec<u8>| {
        let mut jwk = p521.clone();
        jwk["kid"] = json!(kid);
        jwk["x"] = json!(b64(x));
        jwk
    };
    let p521_x_of_65_bytes = with_x("p521-short", point[2..67].to_vec());
    let p521_x_of_67_bytes = with_x("p521-long", [&[0], &point[1..67]].concat());
    let mut p521_as_es256 = ATTACKER.p521.public_jwk("p521-as-es256");
    p521_as_es256["alg"] = json!("ES256");
    let mut p256_as_es512 = ATTACKER.p256.public_jwk("p256-as-es512");
    p256_as_es512["alg"] = json!("ES512");
    let weak = [
        json!({"kty": "OKP", "crv": "Ed25519", "kid": "short", "x": b64([7u8; 31])}),
        json!({"kty": "OKP", "crv": "Ed25519", "kid": "long", "x": b64([7u8; 33])}),
        json!({"kty": "OKP", "crv": "Ed25519", "kid": "small", "x": small_order}),
        json!({"kty": "OKP", "crv": "Ed25519", "kid": "identity", "x": identity}),
        json!({"kty": "OKP", "crv": "Ed25519", "kid": "garbage", "x": "!!not base64!!"}),
        json!({"kty": "OKP", "crv": "X25519", "kid": "x25519", "x": b64([9u8; 32])}),
        json!({"kty": "oct", "kid": "oct", "alg": "HS256", "k": b64(&oct_secret)}),
        json!({"kty": "RSA", "kid": "rsa512", "n": b64([0xc5u8; 64]), "e": "AQAB"}),
        json!({"kty": "RSA", "kid": "e1", "n": b64([0xc5u8; 256]), "e": "AQ"}),
        json!({"kty": "EC", "crv": "P-256", "kid": "ec-short", "x": "AA", "y": "AA"}),
        json!({"kty": "EC", "crv": "P-521", "kid": "p521", "x": "AA", "y": "AA"}),
        p521_x_of_65_bytes,
        p521_x_of_67_bytes,
        p521_as_es256,
        p256_as_es512,
        json!({"kid": "no-kty"}),
        json!("not an object"),
        enc_jwk,
        ops_jwk,
    ];
    let mut keys: Vec<Value> = weak.to_vec();
    keys.push(TRUSTED.ed25519.public_jwk("ed"));
    let config = jwks_config(KeySource::JwksInline(json!({ "keys": keys }).to_string()));
    let target = Target {
        mode: Mode::Jwks,
        app: spawn_app_with(config, Arc::new(MemoryStore::new())).await,
        key: &TRUSTED.ed25519,
        kid: Some("ed"),
    };
    target.accepts(&target.valid(), "the one good key").await;

    // A forgery that any verifier trusting a small-order key would accept: R = identity, S = 0.
    let mut forged_signature = [0u8; 64];
    forged_signature[0] = 1;
    let payload = b64(claims_for(USER).to_string());
    for kid in [
        "short", "long", "small", "identity", "garbage", "x25519", "no-kty",
    ] {
        let header = b64(json!({"alg": "EdDSA", "kid": kid}).to_string());
        let token = format!("{header}.{payload}.{}", b64(forged_signature));
        target
            .rejects(&token, &format!("forgery under weak key {kid}"))
            .await;
    }
    for (kid, key, alg) in [
        ("p521-short", &ATTACKER.p521, "ES512"),
        ("p521-long", &ATTACKER.p521, "ES512"),
        ("p521-as-es256", &ATTACKER.p521, "ES512"),
        ("p521-as-es256", &ATTACKER.p521, "ES256"),
        ("p256-as-es512", &ATTACKER.p256, "ES512"),
        ("p256-as-es512", &ATTACKER.p256, "ES256"),
    ] {
        let token = sign(key, &json!({"alg": alg, "kid": kid}), &claims_for(USER));
        target
            .rejects(&token, &format!("{alg} under the refused key {kid}"))
            .await;
    }
    let oct = SigningKey::Hmac(oct_secret);
    let token = sign(
        &oct,
        &json!({"alg": "HS256", "kid": "oct"}),
        &claims_for(USER),
    );
    target.rejects(&token, "HS256 under a JWKS oct key").await;
    for kid in ["enc", "ops"] {
        let token = sign(
            &enc_key,
            &json!({"alg": "EdDSA", "kid": kid}),
            &claims_for(USER),
        );
        target
            .rejects(&token, &format!("signed by the {kid} key"))
            .await;
    }

    let only_weak = jwks_config(KeySource::JwksInline(json!({ "keys": weak }).to_string()));
    let error = Authenticator::new(&only_weak)
        .await
        .err()
        .expect("a JWKS without a usable key is a configuration error");
    assert_eq!(error.variable, "AUTH_JWKS");
    assert!(
        error
            .reason
            .contains("key small: Ed25519 x is a small-order point"),
        "{error}"
    );
    assert!(error.reason.contains("key oct: symmetric"), "{error}");
    assert!(error.reason.contains("key enc: use is \"enc\""), "{error}");
}

/// 9. `exp` past leeway, missing, a string, negative, 1e300; `nbf` in the future; `iat` in
///    the future beyond leeway: 401. Inside the leeway, and fractional NumericDates: accepted.
pub async fn item_09_times() {
    for mode in MODES {
        let target = Target::new(mode).await;
        let now = now();
        // (what, claim, value); `None` removes the claim.
        let rejected = [
            ("exp past leeway", "exp", Some(json!(now - 40))),
            ("exp missing", "exp", None),
            ("exp a string", "exp", Some(json!((now + 900).to_string()))),
            ("exp negative", "exp", Some(json!(-1))),
            ("exp 1e300", "exp", Some(json!(1e300))),
            ("exp null", "exp", Some(Value::Null)),
            (
                "exp fractional, past leeway",
                "exp",
                Some(json!(now as f64 - 40.5)),
            ),
            (
                "iat fractional, in the future",
                "iat",
                Some(json!(now as f64 + 40.5)),
            ),
            ("nbf in the future", "nbf", Some(json!(now + 40))),
            ("nbf a string", "nbf", Some(json!(now.to_string()))),
            ("iat in the future", "iat", Some(json!(now + 40))),
        ];
        let accepted = [
            ("exp inside leeway", "exp", Some(json!(now - 20))),
            ("nbf inside leeway", "nbf", Some(json!(now + 20))),
            ("iat inside leeway", "iat", Some(json!(now + 20))),
            ("no iat", "iat", None),
            (
                "exp fractional (RFC 7519 NumericDate)",
                "exp",
                Some(json!(now as f64 + 900.5)),
            ),
            ("nbf fractional", "nbf", Some(json!(now as f64 - 0.5))),
            ("iat fractional", "iat", Some(json!(now as f64 - 0.25))),
        ];
        let token = |claim: &str, value: &Option<Value>| {
            target.token(&claims(|c| match value {
                Some(value) => {
                    c.insert(claim.into(), value.clone());
                }
                None => {
                    c.remove(claim);
                }
            }))
        };
        for (what, claim, value) in &rejected {
            target.rejects(&token(claim, value), what).await;
        }
        for (what, claim, value) in &accepted {
            target.accepts(&token(claim, value), what).await;
        }
    }
}

/// 10. `iss` or `aud` wrong, missing, wrong type, `aud: []`: 401; `aud` array containing
///     ours: accepted.
pub async fn item_10_issuer_and_audience() {
    for mode in MODES {
        let target = Target::new(mode).await;
        for (field, value) in [
            ("iss", json!("http://evil.example")),
            ("iss", json!("http://localhost:3000/")),
            ("iss", json!("HTTP://LOCALHOST:3000")),
            ("iss", json!(1)),
            ("iss", json!([ISSUER])),
            ("iss", Value::Null),
            ("aud", json!("http://evil.example")),
            ("aud", json!(1)),
            ("aud", json!([])),
            ("aud", json!(["http://evil.example"])),
            ("aud", json!([1])),
            ("aud", json!({"aud": ISSUER})),
            ("aud", Value::Null),
        ] {
            let token = target.token(&claims(|c| {
                c.insert(field.into(), value.clone());
            }));
            target.rejects(&token, &format!("{field} = {value}")).await;
        }
        for field in ["iss", "aud"] {
            let token = target.token(&claims(|c| {
                c.remove(field);
            }));
            target.rejects(&token, &format!("{field} missing")).await;
        }
        for aud in [json!(["http://other.example", ISSUER]), json!([ISSUER])] {
            let token = target.token(&claims(|c| {
                c.insert("aud".into(), aud.clone());
            }));
            target.accepts(&token, &format!("aud {aud}")).await;
        }
    }
}

/// 11. `sub` missing, empty, not a string, over 255 characters: 401.
pub async fn item_11_subject() {
    for mode in MODES {
        let target = Target::new(mode).await;
        for value in [
            json!(""),
            json!(1),
            json!(null),
            json!([USER]),
            json!("u".repeat(256)),
        ] {
            let token = target.token(&claims(|c| {
                c.insert("sub".into(), value.clone());
            }));
            target.rejects(&token, &format!("sub {value:.40}")).await;
        }
        let token = target.token(&claims(|c| {
            c.remove("sub");
        }));
        target.rejects(&token, "sub missing").await;

        let longest = "u".repeat(255);
        let token = target.token(&claims_for(&longest));
        let response = target
            .app
            .call(Method::GET, &format!("/api/{longest}/tasks"))
            .token(&token)
            .send()
            .await;
        remember(&token);
        assert_eq!(response.status, 200, "{mode:?}: a 255-character sub");
    }
}

/// 12. Duplicate claims in header or payload; padded or non-canonical base64url: 401.
pub async fn item_12_duplicates_and_encoding() {
    for mode in MODES {
        let target = Target::new(mode).await;
        let header = target.header(json!({})).to_string();
        let alg = target.key.alg();
        let payload = claims_for(USER).to_string();
        let inner = &payload[1..payload.len() - 1];
        let duplicates = [
            (
                format!(r#"{{"alg":"{alg}","alg":"{alg}"}}"#),
                payload.clone(),
            ),
            (
                format!(r#"{{"alg":"{alg}","alg":"none"}}"#),
                payload.clone(),
            ),
            (
                header
                    .replacen('{', r#"{"kid":"x","#, 1)
                    .replacen('{', r#"{"kid":"ed","#, 1),
                payload.clone(),
            ),
            (
                header.clone(),
                format!(r#"{{"sub":"{OTHER_USER}",{inner}}}"#),
            ),
            (
                header.clone(),
                format!(r#"{{{inner},"sub":"{OTHER_USER}"}}"#),
            ),
            (header.clone(), format!(r#"{{{inner},"exp":9999999999}}"#)),
        ];
        for (header, payload) in duplicates {
            let token = target.raw_token(&header, &payload);
            target
                .rejects(&token, &format!("duplicate key: {header} {payload}"))
                .await;
        }

        let token = target.valid();
        let [h, p, s]: [&str; 3] = token.split('.').collect::<Vec<_>>().try_into().unwrap();
        for (what, bad) in [
            ("padded header", format!("{h}=.{p}.{s}")),
            ("padded payload", format!("{h}.{p}==.{s}")),
            ("padded signature", format!("{h}.{p}.{s}=")),
            ("standard alphabet +", format!("{h}.{p}.+{}", &s[1..])),
            ("standard alphabet /", format!("{h}.{p}/.{s}")),
            ("whitespace", format!("{h}.{p}.{s} ")),
        ] {
            let response = target.send(Some(&format!("Bearer {bad}"))).await;
            assert_eq!(response.status, 401, "{mode:?}: {what}");
        }
        // Same bytes, different text: set the unused low bits of a segment's last character,
        // then sign that text, so only the encoding is wrong.
        let odd_header = with_unused_bits(|pad| target.header(json!({ "x": pad })).to_string());
        let odd_payload = with_unused_bits(|pad| {
            claims(|c| {
                c.insert("x".into(), json!(pad));
            })
            .to_string()
        });
        for (header, payload) in [
            (non_canonical(&b64(&odd_header)), b64(&odd_payload)),
            (b64(&odd_header), non_canonical(&b64(&odd_payload))),
        ] {
            let input = format!("{header}.{payload}");
            let token = format!("{input}.{}", b64(target.key.sign(input.as_bytes())));
            target.rejects(&token, "non-canonical base64url").await;
        }
        let canonical = target.raw_token(&odd_header, &odd_payload);
        target
            .accepts(&canonical, "control with the same claims")
            .await;
        if mode == Mode::Hs256 {
            // A 32-byte MAC is 43 characters with 2 unused bits.
            let (input, mac) = canonical.rsplit_once('.').unwrap();
            target
                .rejects(
                    &format!("{input}.{}", non_canonical(mac)),
                    "non-canonical MAC",
                )
                .await;
        }
    }
}

/// The first of `make("")`, `make("a")`, `make("aa")` whose base64url has unused bits.
fn with_unused_bits(make: impl Fn(&str) -> String) -> String {
    ["", "a", "aa"]
        .into_iter()
        .map(make)
        .find(|text| b64(text).len() % 4 != 0)
        .expect("one of three lengths leaves unused bits")
}

/// The segment with its last character's unused bits set (the segment must have some).
fn non_canonical(segment: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let unused_bits = match segment.len() % 4 {
        2 => 4,
        3 => 2,
        _ => panic!("segment {segment} has no unused bits"),
    };
    let last = segment.as_bytes()[segment.len() - 1];
    let index = ALPHABET.iter().position(|c| *c == last).unwrap();
    let changed = ALPHABET[index | ((1 << unused_bits) - 1)] as char;
    assert_ne!(
        changed as u8, last,
        "choose a segment whose unused bits are clear"
    );
    format!("{}{changed}", &segment[..segment.len() - 1])
}

/// 13. `typ` other than absent or `JWT`/`at+jwt`; `zip`, `cty` or `enc` present: 401.
pub async fn item_13_typ_zip_cty_enc() {
    for mode in MODES {
        let target = Target::new(mode).await;
        for extra in [
            json!({"typ": "JOSE"}),
            json!({"typ": "JWS"}),
            json!({"typ": "JOSE+JSON"}),
            json!({"typ": "secevent+jwt"}),
            json!({"typ": ""}),
            json!({"typ": 1}),
            json!({"zip": "DEF"}),
            json!({"cty": "JWT"}),
            json!({"enc": "A128GCM"}),
        ] {
            let token = target.token_with_header(extra.clone(), &claims_for(USER));
            target.rejects(&token, &format!("header {extra}")).await;
        }
        for typ in ["JWT", "jwt", "at+jwt", "application/at+jwt"] {
            let token = target.token_with_header(json!({ "typ": typ }), &claims_for(USER));
            target.accepts(&token, &format!("typ {typ}")).await;
        }
        let header = json!({"alg": target.key.alg(), "kid": "ed"});
        let token = sign(target.key, &header, &claims_for(USER));
        target.accepts(&token, "no typ (as Better Auth)").await;
    }
}

/// 14. Token only in `?access_token=`: 401; a token over 8 KiB: 401 before any crypto.
pub async fn item_14_query_and_size() {
    for mode in MODES {
        let target = Target::new(mode).await;
        let token = target.valid();
        remember(&token);
        for query in [
            format!("access_token={token}"),
            format!("limit=5&access_token={token}"),
        ] {
            let response = target
                .app
                .call(Method::GET, &format!("/api/{USER}/tasks?{query}"))
                .send()
                .await;
            assert_unauthorized(&response, &format!("{mode:?}: ?{query:.30}"));
            assert!(response.body["detail"].as_str().unwrap().contains("URL"));
        }
        let big = target.token(&claims(|c| {
            c.insert("padding".into(), json!("p".repeat(8 * 1024)));
        }));
        let response = target.send(Some(&format!("Bearer {big}"))).await;
        assert_unauthorized(&response, &format!("{mode:?}: token over 8 KiB"));
        assert_eq!(
            response.body["detail"], "invalid token",
            "the detail is generic"
        );
        assert_eq!(
            target.verify(&format!("Bearer {big}")).await,
            Err(AuthError::TokenTooLarge),
            "refused by size, before any signature check"
        );
        let just_under = target.token(&claims(|c| {
            c.insert("padding".into(), json!("p".repeat(5 * 1024)));
        }));
        target
            .accepts(&just_under, "a large token under 8 KiB")
            .await;
    }
}

/// 15. Better Auth's HS256 session-cookie cache token presented as a Bearer token: 401 in
///     every mode, even when signed with the API's own HS256 secret.
pub async fn item_15_session_cookie_token() {
    let now = now();
    let cookie_payload = json!({
        "session": {
            "session": {
                "id": "s1", "userId": USER, "token": "opaque-session-token",
                "expiresAt": "2026-12-06T07:26:34.661Z", "ipAddress": "", "userAgent": "",
                "createdAt": "2026-11-29T07:26:34.661Z", "updatedAt": "2026-11-29T07:26:34.661Z"
            },
            "user": {
                "id": USER, "name": "Ada Lovelace", "email": "ada@example.com",
                "emailVerified": false, "image": null,
                "createdAt": "2026-11-29T07:26:34.661Z", "updatedAt": "2026-11-29T07:26:34.661Z"
            }
        },
        "expiresAt": (now + 300) * 1000,
        "iat": now,
        "exp": now + 300,
    });
    let master_secret = "the Better Auth master secret, not the API's";
    remember(master_secret);
    let master = SigningKey::Hmac(master_secret.as_bytes().to_vec());
    for mode in MODES {
        let target = Target::new(mode).await;
        for key in [&master, &*OUR_SECRET] {
            let token = sign(key, &json!({"alg": "HS256"}), &cookie_payload);
            target.rejects(&token, "session cookie cache token").await;
        }
    }
}

/// 16. HS256 mode refuses a secret under 32 bytes and Better Auth's built-in default secret.
pub async fn item_16_weak_hs256_secrets() {
    let config = |secret: &str| {
        let vars = [
            ("AUTH_ISSUER", ISSUER),
            ("AUTH_AUDIENCE", ISSUER),
            ("AUTH_HS256_SECRET", secret),
        ];
        Config::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    };
    for secret in [
        "short",
        "31-bytes-secret-0123456789abcde",
        "better-auth-secret-12345678901234567890",
        "better-auth-secret-123456789",
    ] {
        let error = config(secret).expect_err(secret);
        assert_eq!(error.variable, "AUTH_HS256_SECRET", "{secret}");
        assert!(
            !error.to_string().contains(secret),
            "the error never echoes the secret"
        );
    }
    assert!(config("32-bytes-secret-0123456789abcdef").is_ok());
}

/// A store that records every call, around the in-memory store.
#[derive(Default)]
pub struct RecordingStore {
    inner: MemoryStore,
    calls: AtomicUsize,
}

impl RecordingStore {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn record(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl TaskStore for RecordingStore {
    async fn create(&self, task: Task, key: Option<&str>) -> Result<Created, StoreError> {
        self.record();
        self.inner.create(task, key).await
    }
    async fn get(&self, user_id: &str, task_id: TaskId) -> Result<Task, StoreError> {
        self.record();
        self.inner.get(user_id, task_id).await
    }
    async fn list(&self, user_id: &str, query: ListQuery) -> Result<Page, StoreError> {
        self.record();
        self.inner.list(user_id, query).await
    }
    async fn update(
        &self,
        user_id: &str,
        task_id: TaskId,
        changes: &TaskChanges,
        expected: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<Task, StoreError> {
        self.record();
        self.inner
            .update(user_id, task_id, changes, expected, now)
            .await
    }
    async fn delete(
        &self,
        user_id: &str,
        task_id: TaskId,
        expected: Option<u64>,
    ) -> Result<(), StoreError> {
        self.record();
        self.inner.delete(user_id, task_id, expected).await
    }
    async fn toggle_completed(
        &self,
        user_id: &str,
        task_id: TaskId,
        expected: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<Task, StoreError> {
        self.record();
        self.inner
            .toggle_completed(user_id, task_id, expected, now)
            .await
    }
}

#[async_trait]
impl RevocationStore for RecordingStore {
    async fn revocation_state(&self, user_id: &str) -> Result<RevocationState, StoreError> {
        self.record();
        self.inner.revocation_state(user_id).await
    }
    async fn revoke(
        &self,
        user_id: &str,
        revocation: &Revocation,
    ) -> Result<RevocationState, StoreError> {
        self.record();
        self.inner.revoke(user_id, revocation).await
    }
}

/// 17. Path user not equal to `sub` (case variants, URL-encoded and Unicode look-alikes of the
///     same id): 403 and the store is never called, on every route (the revoke routes too: a
///     user can never sign another out).
pub async fn item_17_path_user_is_not_sub() {
    const TASK: &str = "01KB0000000000000000000000";
    let lookalike: String = USER.replace('K', "\u{039a}").replace('e', "\u{0435}");
    let fullwidth: String = USER
        .chars()
        .map(|c| match c {
            'a'..='z' => char::from_u32(c as u32 - 'a' as u32 + 0xff41).unwrap(),
            _ => c,
        })
        .collect();
    let percent = |s: &str| -> String { s.bytes().map(|b| format!("%{b:02X}")).collect() };
    let path_users = [
        OTHER_USER.to_string(),
        USER.to_uppercase(),
        USER.to_lowercase(),
        format!("U{}", &USER[1..]),
        format!("%75{}", &USER[1..]),
        percent(USER),
        percent(&lookalike),
        percent(&fullwidth),
        format!("{USER}%00"),
        format!("{USER}%20"),
        format!("%20{USER}"),
        format!("{USER}."),
    ];
    for mode in MODES {
        let store = Arc::new(RecordingStore::default());
        let target = Target::with_store(mode, store.clone()).await;
        let token = target.valid();
        remember(&token);
        for user in &path_users {
            for (method, path) in [
                (Method::GET, format!("/api/{user}/tasks")),
                (Method::POST, format!("/api/{user}/tasks")),
                (Method::GET, format!("/api/{user}/tasks/{TASK}")),
                (Method::PUT, format!("/api/{user}/tasks/{TASK}")),
                (Method::DELETE, format!("/api/{user}/tasks/{TASK}")),
                (Method::PATCH, format!("/api/{user}/tasks/{TASK}/complete")),
                (Method::DELETE, format!("/api/{user}/sessions")),
                (Method::DELETE, format!("/api/{user}/sessions/s1")),
            ] {
                let response = target
                    .app
                    .call(method.clone(), &path)
                    .token(&token)
                    .json(json!({"title": "not yours"}))
                    .send()
                    .await;
                response.assert_problem(403);
                assert_eq!(
                    store.calls(),
                    0,
                    "{mode:?}: {method} {path} reached the store"
                );
            }
        }
        // API Gateway delivers the raw path; Unicode look-alikes arrive unencoded there.
        for user in [&lookalike, &fullwidth] {
            let response = target
                .app
                .send_to(Route::ListTasks, list_event(user, &token))
                .await;
            response.assert_problem(403);
            assert_eq!(
                store.calls(),
                0,
                "{mode:?}: look-alike {user} reached the store"
            );
        }
        target
            .accepts(&token, "control: the token's own user")
            .await;
        assert_eq!(
            store.calls(),
            2,
            "the recorder sees the store calls it should: the list and the revocation state"
        );
    }
}

/// 18. Revocation and session claims: `sid` that is not a string of 1 to 255 characters, or
///     without `iat`: 401 (invalid claims); `exp` more than the longest lifetime after `iat`:
///     401. After "sign out everywhere", a token issued before it, or without `iat`, is 401
///     (reason `revoked`) though the verifier alone accepts it; one issued after is accepted.
///     After a session's sign-out, its tokens are 401 and another session's accepted. A revoked
///     token cannot revoke.
pub async fn item_18_revocation() {
    for mode in MODES {
        let target = Target::new(mode).await;
        let start = now();
        let with = |edit: &dyn Fn(&mut Map<String, Value>)| target.token(&claims(edit));
        for (what, sid) in [
            ("sid a number", json!(1)),
            ("sid null", Value::Null),
            ("sid an array", json!(["s1"])),
            ("sid an object", json!({"id": "s1"})),
            ("sid empty", json!("")),
            ("sid of 256 characters", json!("s".repeat(256))),
        ] {
            let token = with(&|c| {
                c.insert("sid".into(), sid.clone());
            });
            target.rejects(&token, what).await;
            let verified = target.verify(&format!("Bearer {token}")).await;
            assert_eq!(verified, Err(AuthError::InvalidClaims), "{mode:?}: {what}");
        }
        let sid_without_iat = with(&|c| {
            c.insert("sid".into(), json!("s1"));
            c.remove("iat");
        });
        target.rejects(&sid_without_iat, "sid without iat").await;
        let too_long = with(&|c| {
            c.insert("iat".into(), json!(start - 10));
            c.insert("exp".into(), json!(start - 10 + 86_401));
        });
        target
            .rejects(&too_long, "exp a day and a second after iat")
            .await;
        let verified = target.verify(&format!("Bearer {too_long}")).await;
        assert_eq!(verified, Err(AuthError::LifetimeTooLong), "{mode:?}");
        let a_day = with(&|c| {
            c.insert("iat".into(), json!(start - 10));
            c.insert("exp".into(), json!(start - 10 + 86_400));
        });
        target.accepts(&a_day, "exp exactly a day after iat").await;

        let session = |sid: &str, iat: i64| {
            with(&|c| {
                c.insert("sid".into(), json!(sid));
                c.insert("iat".into(), json!(iat));
            })
        };
        let (laptop, phone) = (session("laptop", start - 1), session("phone", start - 1));
        let revoke = |path: &'static str, token: String| {
            let app = &target.app;
            async move {
                app.call(Method::DELETE, &format!("/api/{USER}/{path}"))
                    .token(&token)
                    .send()
                    .await
            }
        };
        assert_eq!(revoke("sessions/laptop", phone.clone()).await.status, 204);
        target.rejects(&laptop, "a revoked session").await;
        assert!(target.verify(&format!("Bearer {laptop}")).await.is_ok());
        target.accepts(&phone, "another session").await;

        let no_iat = with(&|c| {
            c.remove("iat");
        });
        target
            .rejects(&no_iat, "no iat, once the user has revocation state")
            .await;
        assert_eq!(revoke("sessions", phone.clone()).await.status, 204);
        target
            .rejects(&phone, "issued before sign out everywhere")
            .await;
        let refused = revoke("sessions/phone", phone.clone()).await;
        assert_unauthorized(&refused, &format!("{mode:?}: a revoked token revoking"));
        let later = session("phone", now() + 1);
        target
            .accepts(&later, "issued after sign out everywhere")
            .await;
    }
}

/// An API Gateway event for `GET /api/{user}/tasks`, with the path exactly as given.
fn list_event(user: &str, token: &str) -> lambda_http::Request {
    let path = format!("/api/{user}/tasks");
    let event = json!({
        "version": "2.0",
        "routeKey": "GET /api/{user_id}/tasks",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"authorization": format!("Bearer {token}")},
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example",
            "domainPrefix": "api", "requestId": "attack-17", "routeKey": "GET /api/{user_id}/tasks",
            "stage": "$default", "time": "29/Nov/2025:09:25:55 +0000", "timeEpoch": 1764408355425u64,
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.1", "userAgent": "test"}
        },
        "pathParameters": {"user_id": user},
        "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).expect("API Gateway event")
}
