//! Keys the tests generate (aws-lc-rs, independent of the verifier's library) and tokens signed
//! over exactly the header and payload text given, so that malformed tokens can be signed too.

use std::sync::LazyLock;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

/// A key that signs tokens, and the `alg` its tokens carry.
pub enum SigningKey {
    Hmac(Vec<u8>),
    Ed25519(Ed25519KeyPair),
    P256(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

impl SigningKey {
    pub fn ed25519() -> Self {
        Self::Ed25519(Ed25519KeyPair::generate().expect("Ed25519 key"))
    }

    pub fn p256() -> Self {
        Self::P256(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("P-256 key"))
    }

    pub fn rsa() -> Self {
        Self::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key"))
    }

    pub fn alg(&self) -> &'static str {
        match self {
            Self::Hmac(_) => "HS256",
            Self::Ed25519(_) => "EdDSA",
            Self::P256(_) => "ES256",
            Self::Rsa(_) => "RS256",
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
            Self::P256(key) => key.sign(&rng, message).expect("sign").as_ref().to_vec(),
            Self::Rsa(key) => {
                let mut signature = vec![0; key.public_modulus_len()];
                key.sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature)
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
            Self::P256(key) => {
                let point = key.public_key().as_ref();
                json!({
                    "kty": "EC", "crv": "P-256", "alg": "ES256", "kid": kid,
                    "x": b64(&point[1..33]), "y": b64(&point[33..]),
                })
            }
            Self::Rsa(key) => json!({
                "kty": "RSA", "alg": "RS256", "kid": kid,
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
            Self::P256(key) => key.public_key().as_ref().to_vec(),
            Self::Rsa(key) => key.public_key().as_ref().to_vec(),
        }
    }

    /// The public key as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo), the classic confusion secret.
    pub fn public_pem(&self) -> String {
        let der = match self {
            Self::Ed25519(key) => key.public_key().as_der().expect("DER").as_ref().to_vec(),
            Self::P256(key) => key.public_key().as_der().expect("DER").as_ref().to_vec(),
            Self::Rsa(key) => key.public_key().as_der().expect("DER").as_ref().to_vec(),
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
    pub rsa: SigningKey,
}

/// The trusted JWKS keys, with kids `ed`, `ec` and `rsa`.
pub static TRUSTED: LazyLock<IssuerKeys> = LazyLock::new(|| IssuerKeys {
    ed25519: SigningKey::ed25519(),
    p256: SigningKey::p256(),
    rsa: SigningKey::rsa(),
});

/// An attacker's keys, never in any JWKS we trust.
pub static ATTACKER: LazyLock<IssuerKeys> = LazyLock::new(|| IssuerKeys {
    ed25519: SigningKey::ed25519(),
    p256: SigningKey::p256(),
    rsa: SigningKey::rsa(),
});

impl IssuerKeys {
    /// Each key with its kid.
    pub fn all(&self) -> [(&'static str, &SigningKey); 3] {
        [
            ("ed", &self.ed25519),
            ("ec", &self.p256),
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
