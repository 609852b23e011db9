//! Verification keys, each bound to one algorithm at load: a token's `alg` only selects a key
//! when it equals that key's algorithm. JWKS keys are filtered at load; refused ones are logged.

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self as aws, ParsedPublicKey, RsaPublicKeyComponents};
use base64_simd::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::algorithm::Algorithm;
use super::json::from_slice_unique;

/// The keys a JWKS may hold, as errors name them: each binds one algorithm.
const ACCEPTED_KEYS: &str = "Ed25519 (EdDSA), P-256 (ES256), P-384 (ES384), P-521 (ES512), or \
     RSA (RS256, or RS384, RS512, PS256, PS384, PS512 by the key's alg)";

/// Fewest bits an RSA modulus may have.
const MIN_RSA_BITS: usize = 2048;
/// Most bits an RSA modulus may have; larger keys only cost verification time.
const MAX_RSA_BITS: usize = 8192;

/// The encodings of Ed25519's small-order points (including non-canonical ones): a public key
/// equal to one of these lets anyone forge signatures that verify.
const ED25519_SMALL_ORDER: [[u8; 32]; 14] = small_order_points();

/// One key and the one algorithm it verifies.
pub struct VerificationKey {
    pub kid: Option<String>,
    pub algorithm: Algorithm,
    key: PreparedKey,
}

/// A key made ready for aws-lc-rs once, at load, with the verification algorithm of its `alg`
/// (the one jsonwebtoken's aws-lc backend uses, which would parse the key again on every call).
enum PreparedKey {
    /// Boxed: an HMAC key is over a kilobyte.
    Hmac(Box<hmac::Key>),
    Public(ParsedPublicKey),
}

impl VerificationKey {
    /// Whether `signature` (base64url) is this key's signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &str) -> bool {
        let Ok(signature) = URL_SAFE_NO_PAD.decode_to_vec(signature) else {
            return false;
        };
        match &self.key {
            PreparedKey::Hmac(key) => hmac::verify(key, message, &signature).is_ok(),
            PreparedKey::Public(key) => key.verify_sig(message, &signature).is_ok(),
        }
    }
}

/// The keys a verifier trusts.
#[derive(Default)]
pub struct KeySet {
    keys: Vec<VerificationKey>,
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Value>,
}

impl KeySet {
    /// HS256 with the current secret and, during a rotation, the previous one.
    pub fn hs256(secret: &[u8], previous: Option<&[u8]>) -> Result<Self, String> {
        let keys = std::iter::once(secret)
            .chain(previous)
            .map(|secret| {
                if secret.is_empty() {
                    return Err("the HS256 secret is empty".to_string());
                }
                Ok(VerificationKey {
                    kid: None,
                    algorithm: Algorithm::HS256,
                    key: PreparedKey::Hmac(Box::new(hmac::Key::new(hmac::HMAC_SHA256, secret))),
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Self { keys })
    }

    /// The usable signing keys of a JWKS document. Unusable keys are skipped with a warning;
    /// a document that is not a JWKS, or has no usable key, is an error that says why.
    pub fn from_jwks(json: &[u8]) -> Result<Self, String> {
        let jwks: Jwks =
            from_slice_unique(json).map_err(|e| format!("not a JWKS document: {e}"))?;
        let mut keys = Vec::new();
        let mut skipped = Vec::new();
        for value in jwks.keys {
            let kid = value.get("kid").and_then(Value::as_str).map(str::to_string);
            match signing_key(value) {
                Ok(key) => keys.push(key),
                Err(reason) => {
                    tracing::warn!(kid, reason, "JWKS key skipped");
                    skipped.push(format!(
                        "key {}: {reason}",
                        kid.as_deref().unwrap_or("(no kid)")
                    ));
                }
            }
        }
        if keys.is_empty() {
            return Err(format!(
                "no usable signing key in the JWKS (accepted: {ACCEPTED_KEYS}){}{}",
                if skipped.is_empty() { "" } else { ": " },
                skipped.join("; ")
            ));
        }
        Ok(Self { keys })
    }

    /// The keys that may have signed a token with this `kid`. HS256 secrets have no kid and
    /// are all candidates; a JWKS key must match the kid, or be the only key when there is none.
    pub fn candidates<'a>(
        &'a self,
        kid: Option<&'a str>,
    ) -> impl Iterator<Item = &'a VerificationKey> + 'a {
        let secrets = self.keys.iter().all(|k| k.algorithm == Algorithm::HS256);
        let only_key = self.keys.len() == 1;
        self.keys.iter().filter(move |key| match kid {
            _ if secrets => true,
            Some(kid) => key.kid.as_deref() == Some(kid),
            None => only_key,
        })
    }
}

/// A JWK as a verification key, or why it cannot be one.
fn signing_key(value: Value) -> Result<VerificationKey, String> {
    let Value::Object(fields) = &value else {
        return Err("not a JSON object".into());
    };
    let text = |name: &str| fields.get(name).and_then(Value::as_str);
    if let Some(usage) = fields.get("use")
        && usage != "sig"
    {
        return Err(format!("use is {usage}, not sig"));
    }
    if let Some(ops) = fields.get("key_ops")
        && !ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op == "verify"))
    {
        return Err(format!("key_ops is {ops}, without verify"));
    }
    if fields.contains_key("d") {
        return Err("contains private key material".into());
    }
    let algorithm = match (text("kty"), text("crv")) {
        (Some("OKP"), Some("Ed25519")) => check_ed25519(fields).map(|_| Algorithm::EdDSA)?,
        (Some("EC"), Some("P-256")) => check_ec(fields, 32).map(|_| Algorithm::ES256)?,
        (Some("EC"), Some("P-384")) => check_ec(fields, 48).map(|_| Algorithm::ES384)?,
        (Some("EC"), Some("P-521")) => check_ec(fields, 66).map(|_| Algorithm::ES512)?,
        (Some("RSA"), _) => check_rsa(fields).map(|_| Algorithm::RS256)?,
        (Some("oct"), _) => return Err("symmetric (oct) keys are never trusted from a JWKS".into()),
        (kty, crv) => return Err(format!("unsupported key type {kty:?} / curve {crv:?}")),
    };
    let algorithm = match text("alg") {
        None => algorithm,
        Some(alg) => declared_algorithm(alg, algorithm)?,
    };
    // What jsonwebtoken's JWK type refuses is refused too.
    serde_json::from_value::<Jwk>(value.clone()).map_err(|e| format!("bad JWK: {e}"))?;
    Ok(VerificationKey {
        kid: text("kid").map(str::to_string),
        algorithm,
        key: PreparedKey::Public(public_key(fields, algorithm)?),
    })
}

/// The key parsed for `algorithm`; ECDSA signatures are the fixed-size `r || s` of JWS (RFC 7518
/// 3.4).
fn public_key(
    fields: &Map<String, Value>,
    algorithm: Algorithm,
) -> Result<ParsedPublicKey, String> {
    use Algorithm::*;
    let ec_point = || -> Result<Vec<u8>, String> {
        let (x, y) = (base64_field(fields, "x")?, base64_field(fields, "y")?);
        Ok([&[4][..], &x, &y].concat())
    };
    let rsa = |params: &'static aws::RsaParameters| {
        let n = base64_field(fields, "n")?;
        let e = base64_field(fields, "e")?;
        RsaPublicKeyComponents { n, e }
            .to_parsed_public_key(params)
            .map_err(|e| e.to_string())
    };
    let parsed = |alg, bytes: Vec<u8>| ParsedPublicKey::new(alg, bytes).map_err(|e| e.to_string());
    match algorithm {
        EdDSA => parsed(&aws::ED25519, base64_field(fields, "x")?),
        ES256 => parsed(&aws::ECDSA_P256_SHA256_FIXED, ec_point()?),
        ES384 => parsed(&aws::ECDSA_P384_SHA384_FIXED, ec_point()?),
        ES512 => parsed(&aws::ECDSA_P521_SHA512_FIXED, ec_point()?),
        RS256 => rsa(&aws::RSA_PKCS1_2048_8192_SHA256),
        RS384 => rsa(&aws::RSA_PKCS1_2048_8192_SHA384),
        RS512 => rsa(&aws::RSA_PKCS1_2048_8192_SHA512),
        PS256 => rsa(&aws::RSA_PSS_2048_8192_SHA256),
        PS384 => rsa(&aws::RSA_PSS_2048_8192_SHA384),
        PS512 => rsa(&aws::RSA_PSS_2048_8192_SHA512),
        HS256 => Err("HS256 has no public key".into()),
    }
    .map_err(|e| format!("bad JWK: {e}"))
}

/// The key's `alg`, which must belong to its key type (an RSA key may say RS* or PS*).
fn declared_algorithm(alg: &str, from_type: Algorithm) -> Result<Algorithm, String> {
    use Algorithm::*;
    let declared = Algorithm::parse(alg).ok_or_else(|| format!("unsupported alg {alg}"))?;
    let fits = match from_type {
        RS256 => matches!(declared, RS256 | RS384 | RS512 | PS256 | PS384 | PS512),
        other => declared == other,
    };
    if fits {
        Ok(declared)
    } else {
        Err(format!("alg {alg} does not fit the key type"))
    }
}

fn base64_field(fields: &Map<String, Value>, name: &str) -> Result<Vec<u8>, String> {
    let text = fields
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing {name}"))?;
    URL_SAFE_NO_PAD
        .decode_to_vec(text)
        .map_err(|_| format!("{name} is not base64url"))
}

fn check_ed25519(fields: &Map<String, Value>) -> Result<(), String> {
    let x: [u8; 32] = base64_field(fields, "x")?
        .try_into()
        .map_err(|_| "Ed25519 x is not 32 bytes".to_string())?;
    if ED25519_SMALL_ORDER.contains(&x) {
        return Err("Ed25519 x is a small-order point".into());
    }
    Ok(())
}

/// EC coordinates are exactly the curve's size (RFC 7518 6.2.1.2).
fn check_ec(fields: &Map<String, Value>, bytes: usize) -> Result<(), String> {
    for name in ["x", "y"] {
        if base64_field(fields, name)?.len() != bytes {
            return Err(format!("EC {name} is not {bytes} bytes"));
        }
    }
    Ok(())
}

fn check_rsa(fields: &Map<String, Value>) -> Result<(), String> {
    let n = base64_field(fields, "n")?;
    let e = base64_field(fields, "e")?;
    let leading_zeros = n.iter().take_while(|b| **b == 0).count();
    let bits = (n.len() - leading_zeros) * 8;
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
        return Err(format!(
            "RSA modulus of {bits} bits is outside {MIN_RSA_BITS}..={MAX_RSA_BITS}"
        ));
    }
    let exponent = e.iter().fold(0u64, |acc, b| {
        acc.saturating_mul(256).saturating_add(*b as u64)
    });
    if exponent < 3 || exponent % 2 == 0 || e.len() > 4 {
        return Err("RSA exponent is not a sane odd value".into());
    }
    Ok(())
}

/// The 8 small-order points of edwards25519 in canonical form, and their non-canonical
/// encodings (y + p, and the sign bit set on x = 0), as listed in libsodium and RFC 8032 tests.
const fn small_order_points() -> [[u8; 32]; 14] {
    const fn hex(s: &str) -> [u8; 32] {
        let bytes = s.as_bytes();
        let mut out = [0u8; 32];
        let mut i = 0;
        while i < 32 {
            out[i] = (nibble(bytes[2 * i]) << 4) | nibble(bytes[2 * i + 1]);
            i += 1;
        }
        out
    }
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            _ => c - b'a' + 10,
        }
    }
    [
        // identity (0, 1), order 1
        hex("0100000000000000000000000000000000000000000000000000000000000000"),
        // (0, -1), order 2
        hex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        // order 4
        hex("0000000000000000000000000000000000000000000000000000000000000080"),
        hex("0000000000000000000000000000000000000000000000000000000000000000"),
        // order 8
        hex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
        hex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"),
        hex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
        hex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"),
        // non-canonical encodings of the points above
        hex("0100000000000000000000000000000000000000000000000000000000000080"),
        hex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
        hex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        hex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
        hex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        hex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skipped(jwk: &str) -> bool {
        let jwks = format!(r#"{{"keys":[{jwk}]}}"#);
        KeySet::from_jwks(jwks.as_bytes()).is_err()
    }

    const ED: &str =
        r#""kty":"OKP","crv":"Ed25519","x":"9bYfEACqDQqQ3LBa-qC31qqoefufKOemTOxRGFYbEbE""#;

    #[test]
    fn keeps_a_good_ed25519_key_and_binds_it_to_eddsa() {
        let jwks = format!(r#"{{"keys":[{{{ED},"kid":"a"}}]}}"#);
        let set = KeySet::from_jwks(jwks.as_bytes()).unwrap();
        let keys: Vec<_> = set.candidates(Some("a")).collect();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].algorithm, Algorithm::EdDSA);
        assert_eq!(set.candidates(Some("b")).count(), 0);
        assert_eq!(set.candidates(None).count(), 1);
    }

    #[test]
    fn skips_weak_and_foreign_keys() {
        assert!(skipped(&format!(r#"{{{ED},"use":"enc"}}"#)));
        assert!(skipped(&format!(r#"{{{ED},"key_ops":["encrypt"]}}"#)));
        assert!(!skipped(&format!(r#"{{{ED},"key_ops":["verify"]}}"#)));
        assert!(skipped(&format!(r#"{{{ED},"alg":"ES256"}}"#)));
        assert!(skipped(&format!(r#"{{{ED},"d":"AAAA"}}"#)));
        assert!(skipped(r#"{"kty":"OKP","crv":"Ed25519","x":"AAAA"}"#));
        assert!(skipped(
            r#"{"kty":"OKP","crv":"Ed25519","x":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#
        ));
        assert!(skipped(r#"{"kty":"oct","k":"c2VjcmV0"}"#));
        assert!(skipped(r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#));
        assert!(skipped(r#"{"kty":"EC","crv":"P-521","x":"AA","y":"AA"}"#));
        assert!(skipped(r#""not an object""#));
    }

    #[test]
    fn a_document_that_is_not_a_jwks_or_has_no_usable_key_is_an_error() {
        let short = r#"{"keys":[{"kty":"EC","crv":"P-521","x":"AA","y":"AA","kid":"k"}]}"#;
        let Err(error) = KeySet::from_jwks(short.as_bytes()) else {
            panic!("a JWKS with only a malformed key has no usable key");
        };
        assert!(error.contains("key k: EC x is not 66 bytes"), "{error}");
        for accepted in [
            "EdDSA", "ES256", "ES384", "ES512", "RS256", "RS512", "PS256", "PS512",
        ] {
            assert!(error.contains(accepted), "{accepted}: {error}");
        }
        assert!(KeySet::from_jwks(b"[]").is_err());
        assert!(KeySet::from_jwks(br#"{"keys":[],"keys":[]}"#).is_err());
    }

    /// A P-521 public key (Better Auth's, `tests/fixtures/better-auth/es512/jwks.json`).
    const P521_X: &str =
        "ARwRzY-wuVUJXscnBneVP9Gh_vdrkHLdXnXenO7ZNb1fiERDdctzR2dGr0TuUFL_zkWhSUPEWtMIa-6cOMqx1Jv5";
    const P521_Y: &str =
        "AFj-tlHJAoNZDBIhbqLzvQwkbxiw7OL8sIPZFSnUVk4I0f14rakcncwtj_u9msNrV-QfJdkwFNiK8hh0OMyksNaX";

    fn p521(x: &str, y: &str, extra: &str) -> String {
        format!(r#"{{"kty":"EC","crv":"P-521","x":"{x}","y":"{y}","kid":"p"{extra}}}"#)
    }

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode_to_string(bytes)
    }

    #[test]
    fn a_p521_key_is_bound_to_es512_with_or_without_its_alg() {
        for extra in ["", r#","alg":"ES512""#, r#","use":"sig""#] {
            let jwks = format!(r#"{{"keys":[{}]}}"#, p521(P521_X, P521_Y, extra));
            let set = KeySet::from_jwks(jwks.as_bytes()).unwrap();
            let keys: Vec<_> = set.candidates(Some("p")).collect();
            assert_eq!(keys.len(), 1, "{extra}");
            assert_eq!(keys[0].algorithm, Algorithm::ES512, "{extra}");
        }
    }

    #[test]
    fn p521_coordinates_must_be_66_bytes_on_the_curve() {
        let x = URL_SAFE_NO_PAD.decode_to_vec(P521_X).unwrap();
        let y = URL_SAFE_NO_PAD.decode_to_vec(P521_Y).unwrap();
        assert_eq!((x.len(), y.len()), (66, 66));
        let padded = |c: &[u8]| b64(&[&[0][..], c].concat());
        // A coordinate without its leading zero byte (as some encoders write it), or with one
        // more: the same number, the wrong length (RFC 7518 6.2.1.2).
        for (bad_x, bad_y, what) in [
            (b64(&x[1..]), P521_Y.to_string(), "x of 65 bytes"),
            (P521_X.to_string(), b64(&y[1..]), "y of 65 bytes"),
            (padded(&x), P521_Y.to_string(), "x of 67 bytes"),
            (P521_X.to_string(), padded(&y), "y of 67 bytes"),
            (b64(&[0; 66]), b64(&[0; 66]), "the point (0, 0)"),
            (
                P521_X.to_string(),
                b64(&{
                    let mut off = y.clone();
                    off[65] ^= 1;
                    off
                }),
                "a point off the curve",
            ),
            (P521_Y.to_string(), P521_X.to_string(), "x and y swapped"),
        ] {
            assert!(skipped(&p521(&bad_x, &bad_y, "")), "{what}");
        }
    }

    #[test]
    fn an_ec_key_declared_with_another_curves_alg_is_skipped() {
        for alg in [
            "ES256", "ES384", "RS256", "PS512", "EdDSA", "HS256", "ES512K",
        ] {
            let extra = format!(r#","alg":"{alg}""#);
            assert!(skipped(&p521(P521_X, P521_Y, &extra)), "P-521 as {alg}");
        }
        let p256 = r#"{"kty":"EC","crv":"P-256","alg":"ES512","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
        assert!(skipped(p256), "P-256 as ES512");
        let without = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
        assert!(!skipped(without), "the same P-256 key without alg");
    }
}
