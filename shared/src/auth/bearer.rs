//! `Authorization: Bearer <token>` extraction (RFC 6750), before any crypto.

use super::AuthError;

/// Longest token accepted; larger ones are refused unread.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The token in an `Authorization` header value. The scheme is case-insensitive; exactly one
/// space follows it; the token is JWS compact serialization characters only.
pub fn token(authorization: Option<&[u8]>) -> Result<&str, AuthError> {
    let value = authorization.ok_or(AuthError::MissingToken)?;
    if value.len() > MAX_TOKEN_BYTES + "Bearer ".len() {
        return Err(AuthError::TokenTooLarge);
    }
    let (scheme, token) = value
        .split_at_checked(6)
        .ok_or(AuthError::MalformedAuthorization)?;
    let token = token
        .strip_prefix(b" ")
        .filter(|_| scheme.eq_ignore_ascii_case(b"bearer"))
        .ok_or(AuthError::MalformedAuthorization)?;
    let token = std::str::from_utf8(token).map_err(|_| AuthError::MalformedAuthorization)?;
    if token.is_empty() || !jws_chars(token) {
        return Err(AuthError::MalformedAuthorization);
    }
    Ok(token)
}

/// Whether every byte is base64url or `.`.
fn jws_chars(token: &str) -> bool {
    token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_bearer_in_any_case() {
        assert_eq!(token(Some(b"Bearer a.b.c")), Ok("a.b.c"));
        assert_eq!(token(Some(b"bearer a.b.c")), Ok("a.b.c"));
        assert_eq!(token(Some(b"BEARER a.b.c")), Ok("a.b.c"));
    }

    #[test]
    fn refuses_other_schemes_and_whitespace_tricks() {
        for bad in [
            &b"Basic YTpi"[..],
            b"Token a.b.c",
            b"Bearer",
            b"Bearer ",
            b"Bearer  a.b.c",
            b"Bearer\ta.b.c",
            b" Bearer a.b.c",
            b"Bearer a.b.c ",
            b"Bearer a.b\nc",
            b"Bearera.b.c",
            b"Bearer a.b.c, Bearer d.e.f",
        ] {
            assert_eq!(
                token(Some(bad)),
                Err(AuthError::MalformedAuthorization),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(token(None), Err(AuthError::MissingToken));
    }

    #[test]
    fn refuses_oversized_tokens_unread() {
        let big = format!("Bearer {}", "a".repeat(MAX_TOKEN_BYTES + 1));
        assert_eq!(token(Some(big.as_bytes())), Err(AuthError::TokenTooLarge));
    }
}
