//! Keys the tests generate (aws-lc-rs, independent of the verifier's library) and tokens signed
//! over exactly the header and payload text given, so that malformed tokens can be signed too.

use std::sync::LazyLock;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING,
    ECDSA_P521_SHA512_FIXED_SIGNING, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair,
    RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PKCS1_SHA512, RSA_PSS_SHA256, RSA_PSS_SHA384,
    RSA_PSS_SHA512, RsaEncoding, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

/// A key that signs tokens, and the `alg` its tokens carry.
pub enum SigningKey {
    Hmac(Vec<u8>),
    Ed25519(Ed25519KeyPair),
    /// A P-256, P-384 or P-521 key and its `alg` (ES256, ES384, ES512).
    Ec(EcdsaKeyPair, &'static str),
    /// An RSA key and the `alg` it signs with (RS256 ... PS512).
    Rsa(RsaKeyPair, &'static str),
}

/// Each ECDSA `alg`, its curve's name and its signing algorithm.
const EC_ALGS: [(&str, &str, &EcdsaSigningAlgorithm); 3] = [
    ("ES256", "P-256", &ECDSA_P256_SHA256_FIXED_SIGNING),
    ("ES384", "P-384", &ECDSA_P384_SHA384_FIXED_SIGNING),
    ("ES512", "P-521", &ECDSA_P521_SHA512_FIXED_SIGNING),
];

/// Each RSA `alg` and its padding.
const RSA_ALGS: [(&str, &dyn RsaEncoding); 6] = [
    ("RS256", &RSA_PKCS1_SHA256),
    ("RS384", &RSA_PKCS1_SHA384),
    ("RS512", &RSA_PKCS1_SHA512),
    ("PS256", &RSA_PSS_SHA256),
    ("PS384", &RSA_PSS_SHA384),
    ("PS512", &RSA_PSS_SHA512),
];

impl SigningKey {
    pub fn ed25519() -> Self {
        Self::Ed25519(Ed25519KeyPair::generate().expect("Ed25519 key"))
    }

    pub fn p256() -> Self {
        Self::ec("ES256")
    }

    pub fn p521() -> Self {
        Self::ec("ES512")
    }

    /// A new ECDSA key for `alg` (ES256, ES384 or ES512).
    pub fn ec(alg: &'static str) -> Self {
        let (_, _, signing) = ec_alg(alg);
        Self::Ec(EcdsaKeyPair::generate(signing).expect("ECDSA key"), alg)
    }

    pub fn rsa() -> Self {
        Self::rsa_for("RS256")
    }

    /// A new RSA-2048 key that signs with `alg` (RS256 ... PS512).
    pub fn rsa_for(alg: &'static str) -> Self {
        assert!(RSA_ALGS.iter().any(|(a, _)| *a == alg), "{alg}");
        Self::Rsa(
            RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key"),
            alg,
        )
    }

    /// A new key for `alg`, any algorithm the verifier accepts but HS256.
    #[allow(dead_code)] // used by tests/authorizer.rs, not by every binary that shares this file
    pub fn for_alg(alg: &'static str) -> Self {
        match alg {
            "EdDSA" => Self::ed25519(),
            "ES256" | "ES384" | "ES512" => Self::ec(alg),
            _ => Self::rsa_for(alg),
        }
    }

    pub fn alg(&self) -> &'static str {
        match self {
            Self::Hmac(_) => "HS256",
            Self::Ed25519(_) => "EdDSA",
            Self::Ec(_, alg) | Self::Rsa(_, alg) => alg,
        }
    }

    /// The raw signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            Self::Hmac(secret) => {
                let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
                hmac::sign(&key, message).as_ref().to_vec()
            }
            Self::Ed25519(key) => key.sign(message).as_ref().to_vec(),
            Self::Ec(key, _) => key.sign(&rng, message).expect("sign").as_ref().to_vec(),
            Self::Rsa(key, alg) => {
                let (_, padding) = RSA_ALGS.iter().find(|(a, _)| a == alg).expect("RSA alg");
                let mut signature = vec![0; key.public_modulus_len()];
                key.sign(*padding, &rng, message, &mut signature)
                    .expect("sign");
                signature
            }
        }
    }

    /// The public key as a JWK, as Better Auth serves it (`alg` and `kid`, no `use`).
    pub fn public_jwk(&self, kid: &str) -> Value {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        match self {
            Self::Hmac(_) => panic!("an HMAC secret has no public key"),
            Self::Ed25519(key) => json!({
                "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": kid,
                "x": b64(key.public_key().as_ref()),
            }),
            Self::Ec(key, alg) => {
                let (_, crv, _) = ec_alg(alg);
                let point = key.public_key().as_ref();
                let size = (point.len() - 1) / 2;
                json!({
                    "kty": "EC", "crv": crv, "alg": alg, "kid": kid,
                    "x": b64(&point[1..1 + size]), "y": b64(&point[1 + size..]),
                })
            }
            Self::Rsa(key, alg) => json!({
                "kty": "RSA", "alg": alg, "kid": kid,
                "n": b64(key.public_key().modulus().big_endian_without_leading_zero()),
                "e": b64(key.public_key().exponent().big_endian_without_leading_zero()),
            }),
        }
    }

    /// The raw public key bytes (Ed25519 `x`, the uncompressed EC point, or RSA's DER).
    pub fn public_bytes(&self) -> Vec<u8> {
        match self {
            Self::Hmac(_) => panic!("an HMAC secret has no public key"),
            Self::Ed25519(key) => key.public_key().as_ref().to_vec(),
            Self::Ec(key, _) => key.public_key().as_ref().to_vec(),
            Self::Rsa(key, _) => key.public_key().as_ref().to_vec(),
        }
    }

    /// The public key as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo), the classic confusion secret.
    pub fn public_pem(&self) -> String {
        let der = match self {
            Self::Ed25519(key) => key.public_key().as_der().expect("DER").as_ref().to_vec(),
            Self::Ec(key, _) => key.public_key().as_der().expect("DER").as_ref().to_vec(),
            Self::Rsa(key, _) => key.public_key().as_der().expect("DER").as_ref().to_vec(),
            Self::Hmac(_) => panic!("an HMAC secret has no public key"),
        };
        let body = STANDARD.encode(der);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).expect("base64"))
            .collect();
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        )
    }
}

fn ec_alg(alg: &str) -> (&'static str, &'static str, &'static EcdsaSigningAlgorithm) {
    *EC_ALGS
        .iter()
        .find(|(a, _, _)| *a == alg)
        .expect("ECDSA alg")
}

/// base64url without padding.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A compact JWS over exactly this header and payload text, signed by `key`.
pub fn sign_raw(key: &SigningKey, header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", b64(signature))
}

/// A compact JWS with this header and these claims, signed by `key`.
pub fn sign(key: &SigningKey, header: &Value, claims: &Value) -> String {
    sign_raw(key, &header.to_string(), &claims.to_string())
}

/// The keys of the tests' JWKS issuer, generated once per test binary.
pub struct IssuerKeys {
    pub ed25519: SigningKey,
    pub p256: SigningKey,
    pub p521: SigningKey,
    pub rsa: SigningKey,
}

impl IssuerKeys {
    fn generate() -> Self {
        Self {
            ed25519: SigningKey::ed25519(),
            p256: SigningKey::p256(),
            p521: SigningKey::p521(),
            rsa: SigningKey::rsa(),
        }
    }
}

/// The trusted JWKS keys, with kids `ed`, `ec`, `ec521` and `rsa`.
pub static TRUSTED: LazyLock<IssuerKeys> = LazyLock::new(IssuerKeys::generate);

/// An attacker's keys, never in any JWKS we trust.
pub static ATTACKER: LazyLock<IssuerKeys> = LazyLock::new(IssuerKeys::generate);

impl IssuerKeys {
    /// Each key with its kid.
    pub fn all(&self) -> [(&'static str, &SigningKey); 4] {
        [
            ("ed", &self.ed25519),
            ("ec", &self.p256),
            ("ec521", &self.p521),
            ("rsa", &self.rsa),
        ]
    }

    /// The JWKS document of these keys.
    pub fn jwks(&self) -> String {
        let keys: Vec<Value> = self
            .all()
            .iter()
            .map(|(kid, key)| key.public_jwk(kid))
            .collect();
        json!({ "keys": keys }).to_string()
    }
}
