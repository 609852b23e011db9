//! The claims every API token must carry, and their checks.

use std::fmt;

use serde::de::{Error as _, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::AuthError;
use super::json::{Key, UniqueKeys, all_different};

/// Longest `sub` accepted.
const MAX_SUBJECT_CHARS: usize = 255;
/// Longest `sid` accepted.
const MAX_SESSION_CHARS: usize = 255;
/// Largest NumericDate accepted, either side of the epoch: the end of year 9999.
const MAX_NUMERIC_DATE: f64 = 253_402_300_799.0;

/// The verified claims of a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    pub iss: String,
    /// A string or an array of strings in the token.
    pub aud: Vec<String>,
    /// Times are NumericDates in whole seconds (a fraction is dropped).
    pub exp: i64,
    pub nbf: Option<i64>,
    pub iat: Option<i64>,
    /// The session the token was issued for (Better Auth's session id), when it names one.
    pub sid: Option<String>,
}

/// What every token must satisfy besides its signature.
#[derive(Debug, Clone)]
pub(super) struct Expected {
    pub issuer: String,
    pub audience: String,
    /// Allowed clock skew, in seconds.
    pub leeway: i64,
    /// Most seconds `exp` may be after `iat`.
    pub max_lifetime: i64,
}

/// A JSON object read in one pass that, like `json::from_slice_unique`, refuses a key
/// twice at any depth: the claims are most of a token, and a second pass over them most of the
/// cost of verifying an HMAC one.
impl<'de> Deserialize<'de> for Claims {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ClaimsVisitor)
    }
}

struct ClaimsVisitor;

impl<'de> Visitor<'de> for ClaimsVisitor {
    type Value = Claims;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JWT claims object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Claims, A::Error> {
        #[derive(Deserialize)]
        struct Date(#[serde(deserialize_with = "numeric_date")] i64);
        #[derive(Deserialize)]
        struct Audience(#[serde(deserialize_with = "one_or_many")] Vec<String>);
        let (mut sub, mut iss, mut aud, mut exp, mut nbf, mut iat, mut sid) =
            (None, None, None, None, None, None, None);
        let mut keys = Vec::new();
        while let Some(Key(key)) = map.next_key()? {
            match &*key {
                "sub" => sub = Some(map.next_value()?),
                "iss" => iss = Some(map.next_value()?),
                "aud" => aud = Some(map.next_value::<Audience>()?.0),
                "exp" => exp = Some(map.next_value::<Date>()?.0),
                "nbf" => nbf = map.next_value::<Option<Date>>()?.map(|Date(d)| d),
                "iat" => iat = map.next_value::<Option<Date>>()?.map(|Date(d)| d),
                // A string, never null or anything else.
                "sid" => sid = Some(map.next_value::<String>()?),
                _ => {
                    map.next_value::<UniqueKeys>()?;
                }
            }
            keys.push(key);
        }
        all_different(keys)?;
        let missing = A::Error::missing_field;
        Ok(Claims {
            sub: sub.ok_or_else(|| missing("sub"))?,
            iss: iss.ok_or_else(|| missing("iss"))?,
            aud: aud.ok_or_else(|| missing("aud"))?,
            exp: exp.ok_or_else(|| missing("exp"))?,
            nbf,
            iat,
            sid,
        })
    }
}

/// A NumericDate (RFC 7519 2): seconds since the epoch as a JSON number, integer or not, at
/// most year 9999 either way; anything else does not parse.
fn numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let seconds = f64::deserialize(d)?;
    if seconds.is_nan() || seconds.abs() > MAX_NUMERIC_DATE {
        return Err(D::Error::custom("a NumericDate out of range"));
    }
    Ok(seconds.floor() as i64)
}

/// `aud` may be a string or an array of strings (RFC 7519 4.1.3).
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Audience {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Audience::deserialize(d)? {
        Audience::One(aud) => vec![aud],
        Audience::Many(auds) => auds,
    })
}

impl Claims {
    /// Checks subject, session, issuer, audience, times and lifetime against `now`.
    pub(super) fn check(&self, expected: &Expected, now: i64) -> Result<(), AuthError> {
        let leeway = expected.leeway;
        if self.sub.is_empty() || self.sub.chars().count() > MAX_SUBJECT_CHARS {
            return Err(AuthError::InvalidClaims);
        }
        if let Some(sid) = &self.sid {
            // A session id without an issue time could outlive its revocation (see
            // docs/sessions.md): both or neither.
            let chars = sid.chars().count();
            if chars == 0 || chars > MAX_SESSION_CHARS || self.iat.is_none() {
                return Err(AuthError::InvalidClaims);
            }
        }
        if self.iss != expected.issuer {
            return Err(AuthError::WrongIssuer);
        }
        if !self.aud.contains(&expected.audience) {
            return Err(AuthError::WrongAudience);
        }
        if now >= self.exp.saturating_add(leeway) {
            return Err(AuthError::Expired);
        }
        if self.nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
            return Err(AuthError::NotYetValid);
        }
        if let Some(iat) = self.iat {
            if iat > now.saturating_add(leeway) {
                return Err(AuthError::IssuedInFuture);
            }
            if self.exp.saturating_sub(iat) > expected.max_lifetime {
                return Err(AuthError::LifetimeTooLong);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(json: &str) -> Result<Claims, serde_json::Error> {
        serde_json::from_str(json)
    }

    const OK: &str = r#"{"sub":"u1","iss":"i","aud":"a","exp":1000,"iat":100}"#;

    /// Issuer `i`, audience `a`, `leeway` seconds, tokens of at most a day.
    fn expected(leeway: i64) -> Expected {
        Expected {
            issuer: "i".into(),
            audience: "a".into(),
            leeway,
            max_lifetime: 86_400,
        }
    }

    #[test]
    fn accepts_a_token_inside_its_window_and_leeway() {
        let c = claims(OK).unwrap();
        assert_eq!(c.check(&expected(0), 999), Ok(()));
        assert_eq!(c.check(&expected(30), 1029), Ok(()));
        assert_eq!(c.check(&expected(30), 1030), Err(AuthError::Expired));
        assert_eq!(c.check(&expected(30), 69), Err(AuthError::IssuedInFuture));
    }

    #[test]
    fn audience_may_be_an_array_containing_ours() {
        let c = claims(r#"{"sub":"u","iss":"i","aud":["x","a"],"exp":9}"#).unwrap();
        assert_eq!(c.check(&expected(0), 0), Ok(()));
        let empty = claims(r#"{"sub":"u","iss":"i","aud":[],"exp":9}"#).unwrap();
        assert_eq!(empty.check(&expected(0), 0), Err(AuthError::WrongAudience));
    }

    #[test]
    fn numeric_dates_may_have_fractions() {
        let c = claims(r#"{"sub":"u","iss":"i","aud":"a","exp":1000.75,"nbf":99.5,"iat":null}"#)
            .unwrap();
        assert_eq!((c.exp, c.nbf, c.iat), (1000, Some(99), None));
        assert_eq!(c.check(&expected(0), 999), Ok(()));
        assert_eq!(c.check(&expected(0), 1000), Err(AuthError::Expired));
        let big = claims(r#"{"sub":"u","iss":"i","aud":"a","exp":253402300799}"#).unwrap();
        assert_eq!(big.exp, 253_402_300_799);
    }

    #[test]
    fn a_token_may_live_at_most_the_maximum_lifetime() {
        let day = claims(r#"{"sub":"u","iss":"i","aud":"a","iat":100,"exp":86500}"#).unwrap();
        assert_eq!(day.check(&expected(0), 200), Ok(()));
        let longer = claims(r#"{"sub":"u","iss":"i","aud":"a","iat":100,"exp":86501}"#).unwrap();
        assert_eq!(
            longer.check(&expected(0), 200),
            Err(AuthError::LifetimeTooLong)
        );
        // Without `iat` the lifetime is unknown; such a token is refused once its user has any
        // revocation state (revocation::RevocationState).
        let no_iat = claims(r#"{"sub":"u","iss":"i","aud":"a","exp":900000}"#).unwrap();
        assert_eq!(no_iat.check(&expected(0), 200), Ok(()));
    }

    #[test]
    fn a_session_id_is_a_string_of_1_to_255_characters_with_an_issue_time() {
        let with = |sid: &str| {
            claims(&format!(
                r#"{{"sub":"u","iss":"i","aud":"a","iat":1,"exp":9,"sid":{sid}}}"#
            ))
        };
        let c = with(r#""s1""#).unwrap();
        assert_eq!(c.sid.as_deref(), Some("s1"));
        assert_eq!(c.check(&expected(0), 2), Ok(()));
        let longest = with(&format!(r#""{}""#, "é".repeat(255))).unwrap();
        assert_eq!(longest.check(&expected(0), 2), Ok(()));
        for refused in [String::from(r#""""#), format!(r#""{}""#, "x".repeat(256))] {
            let c = with(&refused).unwrap();
            assert_eq!(c.check(&expected(0), 2), Err(AuthError::InvalidClaims));
        }
        for unparsable in ["null", "1", "true", r#"["s1"]"#, r#"{"id":"s1"}"#] {
            assert!(with(unparsable).is_err(), "{unparsable}");
        }
        let twice = r#"{"sub":"u","iss":"i","aud":"a","iat":1,"exp":9,"sid":"a","sid":"b"}"#;
        assert!(claims(twice).is_err());
        let no_iat = claims(r#"{"sub":"u","iss":"i","aud":"a","exp":9,"sid":"s1"}"#).unwrap();
        assert_eq!(no_iat.check(&expected(0), 2), Err(AuthError::InvalidClaims));
    }

    #[test]
    fn malformed_claims_do_not_parse() {
        for bad in [
            r#"{"iss":"i","aud":"a","exp":9}"#,
            r#"{"sub":1,"iss":"i","aud":"a","exp":9}"#,
            r#"{"sub":"u","iss":"i","aud":"a","exp":"9"}"#,
            r#"{"sub":"u","iss":"i","aud":"a","exp":1e300}"#,
            r#"{"sub":"u","iss":"i","aud":"a","exp":-1e300}"#,
            r#"{"sub":"u","iss":"i","aud":"a","exp":253402300800}"#,
            r#"{"sub":"u","iss":"i","aud":"a","exp":18446744073709551615}"#,
            r#"{"sub":"u","iss":"i","aud":"a","exp":"NaN"}"#,
            r#"{"sub":"u","iss":"i","aud":"a","exp":true}"#,
            r#"{"sub":"u","iss":"i","aud":"a","exp":[9]}"#,
            r#"{"sub":"u","iss":"i","aud":"a","exp":9,"iat":1e20}"#,
            r#"{"sub":"u","iss":"i","aud":"a","exp":9,"nbf":"1"}"#,
            r#"{"sub":"u","iss":"i","aud":1,"exp":9}"#,
            r#"{"sub":"u","aud":"a","exp":9}"#,
            r#"["u","i","a",9]"#,
            // A key twice, also escaped or nested in a claim nobody reads.
            r#"{"sub":"u","sub":"v","iss":"i","aud":"a","exp":9}"#,
            r#"{"sub":"u","s\u0075b":"v","iss":"i","aud":"a","exp":9}"#,
            r#"{"sub":"u","iss":"i","aud":"a","exp":9,"x":1,"x":2}"#,
            r#"{"sub":"u","iss":"i","aud":"a","exp":9,"x":[{"c":1,"c":2}]}"#,
        ] {
            assert!(claims(bad).is_err(), "{bad}");
        }
    }
}
