//! A session id as the revoke-one-session route takes it from the path.

use std::fmt;

/// Longest session id accepted.
const MAX_BYTES: usize = 255;

/// A session id: 1 to 255 visible ASCII characters (`!` to `~`), exactly as the path carries
/// it (never decoded), so it is compared byte for byte with the tokens' `sid` claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionId(String);

impl SessionId {
    /// `raw`, if it is a session id.
    pub fn parse(raw: &str) -> Option<Self> {
        let visible = raw.bytes().all(|b| b.is_ascii_graphic());
        ((1..=MAX_BYTES).contains(&raw.len()) && visible).then(|| Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_id_is_1_to_255_visible_ascii_characters() {
        for ok in ["s", "Ab3_-.~!%20", &"x".repeat(255), "a%2Fb"] {
            assert_eq!(
                SessionId::parse(ok).map(|id| id.to_string()),
                Some(ok.into())
            );
        }
        for bad in ["", " ", "a b", "a\tb", "é", "a\u{7f}", &"x".repeat(256)] {
            assert_eq!(SessionId::parse(bad), None, "{bad:?}");
        }
    }
}
