//! The parts of a JWS compact token, read strictly: three canonical base64url segments, a header
//! that asks for nothing we do not do, and typed claims.

use base64_simd::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::Value;

use super::algorithm::Algorithm;
use super::json::from_slice_unique;
use super::{AuthError, Claims};

/// A token split into its segments, with its header read and its payload decoded.
pub struct Token<'a> {
    /// `header.payload`: what the signature covers.
    pub signing_input: &'a str,
    pub signature: &'a str,
    pub header: Header,
    payload: Vec<u8>,
}

/// The header fields that matter; anything that would change how the token is read is refused.
#[derive(Debug)]
pub struct Header {
    pub alg: Algorithm,
    pub kid: Option<String>,
}

/// Every registered header we read, so that serde refuses a duplicate of any of them.
#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
    /// Headers that would make us trust a key or a format the token picks itself.
    jwk: Option<Value>,
    jku: Option<Value>,
    x5u: Option<Value>,
    x5c: Option<Value>,
    crit: Option<Value>,
    b64: Option<Value>,
    zip: Option<Value>,
    cty: Option<Value>,
    enc: Option<Value>,
}

impl<'a> Token<'a> {
    /// Splits and reads a compact token. No signature is checked here. An empty payload is a
    /// well-formed JWS; it fails later, as claims.
    pub fn parse(token: &'a str) -> Result<Self, AuthError> {
        let mut segments = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) = (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) else {
            return Err(AuthError::MalformedToken);
        };
        if header.is_empty() || signature.is_empty() {
            return Err(AuthError::MalformedToken);
        }
        let raw: RawHeader =
            from_slice_unique(&decode_segment(header)?).map_err(|_| AuthError::MalformedToken)?;
        Ok(Self {
            signing_input: &token[..header.len() + 1 + payload.len()],
            signature,
            header: Header::check(raw)?,
            payload: decode_segment(payload)?,
        })
    }

    /// The claims, read after the signature was verified (in one pass that refuses duplicate
    /// keys, as [`from_slice_unique`] does).
    pub fn claims(&self) -> Result<Claims, AuthError> {
        serde_json::from_slice(&self.payload).map_err(|_| AuthError::InvalidClaims)
    }
}

/// Decodes canonical unpadded base64url; padding and stray trailing bits are refused.
fn decode_segment(segment: &str) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD
        .decode_to_vec(segment)
        .map_err(|_| AuthError::MalformedToken)
}

impl Header {
    fn check(raw: RawHeader) -> Result<Self, AuthError> {
        let refused = [
            ("jwk", raw.jwk.is_some()),
            ("jku", raw.jku.is_some()),
            ("x5u", raw.x5u.is_some()),
            ("x5c", raw.x5c.is_some()),
            ("crit", raw.crit.is_some()),
            ("b64", raw.b64.is_some()),
            ("zip", raw.zip.is_some()),
            ("cty", raw.cty.is_some()),
            ("enc", raw.enc.is_some()),
        ];
        if let Some((name, _)) = refused.iter().find(|(_, present)| *present) {
            return Err(AuthError::UnsupportedHeader(name));
        }
        if let Some(typ) = &raw.typ {
            let typ = typ.to_ascii_lowercase();
            let typ = typ.strip_prefix("application/").unwrap_or(&typ);
            if typ != "jwt" && typ != "at+jwt" {
                return Err(AuthError::UnsupportedHeader("typ"));
            }
        }
        let alg = Algorithm::parse(&raw.alg).ok_or(AuthError::UnsupportedAlgorithm)?;
        Ok(Self { alg, kid: raw.kid })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(json: &str) -> String {
        URL_SAFE_NO_PAD.encode_to_string(json)
    }

    fn parse_header(json: &str) -> Result<Header, AuthError> {
        let token = format!("{}.{}.c2ln", b64(json), b64("{}"));
        Token::parse(&token).map(|t| t.header)
    }

    #[test]
    fn reads_alg_and_kid() {
        let header = parse_header(r#"{"alg":"EdDSA","kid":"k1"}"#).unwrap();
        assert_eq!(header.alg, Algorithm::EdDSA);
        assert_eq!(header.kid.as_deref(), Some("k1"));
        assert!(parse_header(r#"{"alg":"RS256","typ":"JWT"}"#).is_ok());
        assert!(parse_header(r#"{"alg":"RS256","typ":"at+jwt"}"#).is_ok());
        let es512 = parse_header(r#"{"alg":"ES512","kid":"p"}"#).unwrap();
        assert_eq!(es512.alg, Algorithm::ES512);
    }

    #[test]
    fn refuses_none_and_unknown_algorithms() {
        for alg in [
            "none", "None", "NONE", "HS257", "HS384", "HS512", "es512", "",
        ] {
            let header = format!(r#"{{"alg":"{alg}"}}"#);
            assert_eq!(
                parse_header(&header).unwrap_err(),
                AuthError::UnsupportedAlgorithm
            );
        }
    }

    #[test]
    fn refuses_headers_that_pick_keys_or_formats() {
        for field in [
            "jwk", "jku", "x5u", "x5c", "crit", "b64", "zip", "cty", "enc",
        ] {
            let header = format!(r#"{{"alg":"ES256","{field}":"x"}}"#);
            assert!(
                matches!(parse_header(&header), Err(AuthError::UnsupportedHeader(_))),
                "{field}"
            );
        }
        let jose = parse_header(r#"{"alg":"ES256","typ":"JOSE+JSON"}"#);
        assert_eq!(jose.unwrap_err(), AuthError::UnsupportedHeader("typ"));
    }

    #[test]
    fn refuses_malformed_segments() {
        let header = b64(r#"{"alg":"ES256"}"#);
        for token in [
            format!("{header}.e30"),
            format!("{header}.e30.c2ln.c2ln"),
            format!("{header}.e30."),
            ".e30.c2ln".to_string(),
            format!("{header}.AB.c2ln"),
            format!("{header}=.e30.c2ln"),
            format!("{}.e30.c2ln", b64(r#"{"alg":"ES256","alg":"ES256"}"#)),
            "e30.e30.c2ln".to_string(),
        ] {
            assert!(Token::parse(&token).is_err(), "{token}");
        }
    }
}
