//! Suites written elsewhere, through the verifier the API uses: Wycheproof's JWS vectors (every
//! case), its Ed25519 vectors and its ECDSA P-521/SHA-512 vectors (through the JWKS key path),
//! and real Better Auth tokens for every algorithm its jwt plugin offers.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use taskgate::auth::{AuthError, Authenticator, jwks_key_verifies};
use taskgate::config::{AuthConfig, KeySource};
use taskgate_tests::repo_path;

const LEEWAY: i64 = 30;

fn fixture(path: &str) -> String {
    let path = repo_path(&format!("tests/fixtures/{path}"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn fixture_json(path: &str) -> Value {
    serde_json::from_str(&fixture(path)).expect("fixture JSON")
}

fn config(keys: KeySource, issuer: &str) -> AuthConfig {
    AuthConfig {
        keys,
        issuer: issuer.into(),
        audience: issuer.into(),
        leeway: Duration::from_secs(LEEWAY as u64),
        max_token_lifetime: taskgate::config::DEFAULT_MAX_TOKEN_LIFETIME,
    }
}

/// Cases whose label a strict verifier is right to disagree with, and why.
const KNOWN_DISAGREEMENTS: [(u64, &str); 8] = [
    (
        367,
        "byte-identical to the valid tcId 357 but labelled invalid (defect in this snapshot)",
    ),
    (
        370,
        "byte-identical to the valid tcId 357 but labelled invalid (defect in this snapshot)",
    ),
    (
        372,
        "contains `?`, which is not base64url, yet labelled valid (defect in this snapshot)",
    ),
    (
        373,
        "contains `?`, which is not base64url, yet labelled valid (defect in this snapshot)",
    ),
    (
        346,
        "the key says alg PS256 and the token says PS384: one key, one algorithm (RFC 8725 3.1); \
         Wycheproof added `alg` to RFC 7520's key, which has none",
    ),
    (
        350,
        "the key says alg PS256 and the token says PS384: one key, one algorithm (RFC 8725 3.1); \
         Wycheproof added `alg` to RFC 7520's key, which has none",
    ),
    (
        347,
        "the key says alg ES521, which no registry defines; Wycheproof added `alg` to RFC 7520's \
         key, which has none (without it the case verifies as ES512: checked below)",
    ),
    (
        351,
        "the key says alg ES521, which no registry defines; Wycheproof added `alg` to RFC 7520's \
         key, which has none (without it the case verifies as ES512: checked below)",
    ),
];

/// The verifier's verdict on one JWS: its key loaded as the API loads keys (a JWKS key, or the
/// HS256 secret), then the header, key and signature checks of `Authenticator::verify`.
async fn jws_verdict(group: &Value, jws: &str) -> Result<(), String> {
    let keys = match &group["public"] {
        Value::Null => KeySource::Hs256 {
            secret: URL_SAFE_NO_PAD
                .decode(group["private"]["k"].as_str().expect("oct key"))
                .expect("base64url k"),
            previous: None,
        },
        public => KeySource::JwksInline(json!({ "keys": [public] }).to_string()),
    };
    let authenticator = Authenticator::new(&config(keys, "wycheproof"))
        .await
        .map_err(|e| format!("key refused at load: {e}"))?;
    authenticator
        .verify_signature_only(Some(format!("Bearer {jws}").as_bytes()))
        .await
        .map_err(|e| e.reason().to_string())
}

#[tokio::test]
async fn wycheproof_json_web_signature_cases_agree_apart_from_known_mislabels() {
    let suite = fixture_json("wycheproof/json_web_signature_test.json");
    let mut run = 0;
    let mut es512 = 0;
    let mut disagreements = BTreeMap::new();
    for group in suite["testGroups"].as_array().unwrap() {
        for case in group["tests"].as_array().unwrap() {
            run += 1;
            if group["public"]["crv"] == "P-521" {
                es512 += 1;
            }
            let id = case["tcId"].as_u64().unwrap();
            let expected_valid = case["result"] == "valid";
            let verdict = jws_verdict(group, case["jws"].as_str().unwrap()).await;
            if verdict.is_ok() != expected_valid {
                disagreements.insert(id, format!("labelled {}, got {verdict:?}", case["result"]));
            }
        }
    }
    assert_eq!(run, suite["numberOfTests"].as_u64().unwrap() as usize);
    assert_eq!(es512, 2, "the ES512 cases run too");
    for group in suite["testGroups"].as_array().unwrap() {
        if group["public"]["alg"] != "ES521" {
            continue;
        }
        let mut group = group.clone();
        group["public"].as_object_mut().unwrap().remove("alg");
        for case in group["tests"].as_array().unwrap() {
            let verdict = jws_verdict(&group, case["jws"].as_str().unwrap()).await;
            assert_eq!(verdict, Ok(()), "tcId {} with RFC 7520's key", case["tcId"]);
        }
    }
    let known: BTreeMap<u64, &str> = KNOWN_DISAGREEMENTS.into_iter().collect();
    let unexpected: Vec<_> = disagreements
        .iter()
        .filter(|(id, _)| !known.contains_key(id))
        .collect();
    assert!(unexpected.is_empty(), "disagreements: {unexpected:#?}");
    let missing: Vec<_> = known
        .iter()
        .filter(|(id, _)| !disagreements.contains_key(id))
        .collect();
    assert!(
        missing.is_empty(),
        "known disagreements that now agree: {missing:#?}"
    );
}

#[test]
fn wycheproof_ed25519_cases_agree_through_the_jwks_key_path() {
    let suite = fixture_json("wycheproof/ed25519_test.json");
    let hex = |s: &Value| -> Vec<u8> {
        let s = s.as_str().unwrap();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    };
    let mut run = 0;
    let mut disagreements = Vec::new();
    for group in suite["testGroups"].as_array().unwrap() {
        let jwks = json!({ "keys": [group["publicKeyJwk"]] }).to_string();
        for case in group["tests"].as_array().unwrap() {
            run += 1;
            let signature = URL_SAFE_NO_PAD.encode(hex(&case["sig"]));
            let verdict = jwks_key_verifies(&jwks, &hex(&case["msg"]), &signature);
            // A key refused at load rejects, as it would for a request.
            if (verdict == Ok(true)) != (case["result"] == "valid") {
                disagreements.push((case["tcId"].clone(), verdict));
            }
        }
    }
    assert_eq!(run, suite["numberOfTests"].as_u64().unwrap() as usize);
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

/// Wycheproof's ECDSA P-521/SHA-512 vectors with signatures as JWS writes them (`r || s`, 66
/// bytes each: IEEE P1363), from the `wycheproof` crate. Each group's public key goes through the
/// JWKS key path the API uses (a `P-521` JWK of the uncompressed point's `x` and `y`, filtered
/// and parsed as at load); each signature, base64url, through the key's verification. Valid
/// vectors must verify and invalid ones must not; "acceptable" ones may go either way, and are
/// counted.
#[test]
fn wycheproof_ecdsa_p521_sha512_p1363_cases_agree_through_the_jwks_key_path() {
    use wycheproof::TestResult;
    use wycheproof::ecdsa::{TestName, TestSet};

    let suite = TestSet::load(TestName::EcdsaSecp521r1Sha512P1363).expect("the P-521 vectors");
    let (mut run, mut acceptable, mut keys_refused) = (0, 0, 0);
    let mut disagreements = Vec::new();
    for group in &suite.test_groups {
        let point: &[u8] = group.key.key.as_ref();
        assert_eq!(
            (point.len(), point[0]),
            (133, 4),
            "an uncompressed P-521 point"
        );
        let jwk = json!({
            "kty": "EC", "crv": "P-521", "kid": "wycheproof",
            "x": URL_SAFE_NO_PAD.encode(&point[1..67]),
            "y": URL_SAFE_NO_PAD.encode(&point[67..]),
        });
        let jwks = json!({ "keys": [jwk] }).to_string();
        for case in &group.tests {
            run += 1;
            let signature = URL_SAFE_NO_PAD.encode(&case.sig);
            let verdict = jwks_key_verifies(&jwks, &case.msg, &signature);
            if verdict.is_err() {
                keys_refused += 1;
            }
            // A key refused at load rejects, as it would for a request.
            let verified = verdict == Ok(true);
            match case.result {
                TestResult::Valid if !verified => disagreements.push((case.tc_id, verdict)),
                TestResult::Invalid if verified => disagreements.push((case.tc_id, verdict)),
                TestResult::Acceptable => acceptable += 1,
                _ => {}
            }
        }
    }
    assert_eq!(run, suite.number_of_tests);
    assert!(disagreements.is_empty(), "{disagreements:#?}");
    println!(
        "P-521/SHA-512 P1363: {run} cases, {acceptable} acceptable, {keys_refused} under a key \
         refused at load"
    );
}

/// Flips the lowest bit of the signature's first byte.
fn flip_signature_bit(token: &str) -> String {
    let (input, signature) = token.rsplit_once('.').unwrap();
    let mut signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    signature[0] ^= 1;
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

#[tokio::test]
async fn better_auth_tokens_verify_in_their_window_and_not_after_or_tampered() {
    for alg in ["eddsa", "es256", "es512", "rs256", "ps256"] {
        let token = fixture(&format!("better-auth/{alg}/token.txt"));
        let token = token.trim();
        let payload = fixture_json(&format!("better-auth/{alg}/payload.json"));
        let keys = KeySource::JwksInline(fixture(&format!("better-auth/{alg}/jwks.json")));
        let issuer = payload["iss"].as_str().unwrap();
        let authenticator = Authenticator::new(&config(keys, issuer)).await.unwrap();
        let (iat, exp) = (
            payload["iat"].as_i64().unwrap(),
            payload["exp"].as_i64().unwrap(),
        );
        let header = format!("Bearer {token}");
        let verify = |now| authenticator.verify_at(Some(header.as_bytes()), now);
        for now in [iat, exp - 1, exp + LEEWAY - 1] {
            let claims = verify(now)
                .await
                .unwrap_or_else(|e| panic!("{alg} at {now}: {e}"));
            assert_eq!(claims.sub, payload["sub"].as_str().unwrap(), "{alg}");
        }
        assert_eq!(
            verify(exp + LEEWAY + 1).await,
            Err(AuthError::Expired),
            "{alg}"
        );
        let tampered = format!("Bearer {}", flip_signature_bit(token));
        assert_eq!(
            authenticator
                .verify_at(Some(tampered.as_bytes()), iat)
                .await,
            Err(AuthError::BadSignature),
            "{alg}"
        );
    }
}
