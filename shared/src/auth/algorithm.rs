//! The `alg` values the verifier accepts. Each key is bound to one of them when it is loaded;
//! a token's `alg` only selects a key whose algorithm it names.

/// A JWS algorithm the verifier accepts, named as the JOSE registry names it (RFC 7518, RFC
/// 8037): every algorithm Better Auth's jwt plugin signs with (EdDSA, ES256, ES512, RS256,
/// PS256), the other ECDSA and RSA variants a JWK may declare, and HS256 for the shared secret.
#[allow(clippy::upper_case_acronyms)] // the registry's names
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    EdDSA,
    ES256,
    ES384,
    ES512,
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    HS256,
}

/// Every accepted algorithm.
const ALGORITHMS: [Algorithm; 11] = [
    Algorithm::EdDSA,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::ES512,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::HS256,
];

impl Algorithm {
    /// The algorithm `alg` names, spelt exactly as the registry spells it; `None` for any
    /// other value (`none` and HS384 included).
    pub fn parse(alg: &str) -> Option<Self> {
        ALGORITHMS
            .into_iter()
            .find(|algorithm| algorithm.name() == alg)
    }

    /// The registry's name, as a token's `alg` carries it.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::EdDSA => "EdDSA",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::ES512 => "ES512",
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::HS256 => "HS256",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_name_parses_back_and_nothing_else_parses() {
        for algorithm in ALGORITHMS {
            assert_eq!(Algorithm::parse(algorithm.name()), Some(algorithm));
        }
        for refused in [
            "none", "None", "", "es512", "ES512 ", "HS384", "HS512", "ES256K", "Ed25519", "RSA1_5",
        ] {
            assert_eq!(Algorithm::parse(refused), None, "{refused:?}");
        }
    }
}
