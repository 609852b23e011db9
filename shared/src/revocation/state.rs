//! A user's revocation state, what a revocation does to it, and the check of a token's claims
//! against it.

use std::collections::BTreeMap;

use super::SessionId;
use crate::auth::Claims;

/// Most revoked sessions kept per user: one more turns the revocation into a sign-out
/// everywhere, so one user's state stays small (27 KB at most, with 255-character ids).
pub const MAX_REVOKED_SESSIONS: usize = 100;

/// One user's revocation state. Times are Unix seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevocationState {
    /// Tokens issued (`iat`) before this second are refused; never moves backwards.
    pub not_before: Option<i64>,
    /// Revoked session id -> the second until which the entry is kept. An entry is ignored from
    /// that second on (by then every token of the session has expired) and pruned by the next
    /// revocation.
    pub revoked_sessions: BTreeMap<String, i64>,
}

/// What a sign-out revokes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every token of the user issued so far.
    Everywhere,
    /// Every token whose `sid` is this session.
    Session(SessionId),
}

/// One sign-out: what it revokes, when, and how long a revoked session must be remembered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub scope: Scope,
    /// When it happened, in Unix seconds (a fraction dropped).
    pub at: i64,
    /// How long after `at` a token issued by then may still be accepted, in seconds
    /// (`Authenticator::longest_acceptance`).
    pub keep_for: i64,
}

impl RevocationState {
    /// Whether the token of `claims` is revoked at `now`: issued before `not_before` (or with no
    /// `iat` while there is one), of a revoked session, or with no `iat` while the user has any
    /// revocation state (its age cannot be told).
    pub fn refuses(&self, claims: &Claims, now: i64) -> bool {
        if self
            .not_before
            .is_some_and(|not_before| claims.iat.is_none_or(|iat| iat < not_before))
        {
            return true;
        }
        let live = |until: &i64| *until > now;
        let session_revoked = claims
            .sid
            .as_ref()
            .and_then(|sid| self.revoked_sessions.get(sid))
            .is_some_and(live);
        session_revoked || claims.iat.is_none() && self.revoked_sessions.values().any(live)
    }

    /// Whether the state refuses nothing at `now`.
    pub fn is_empty(&self, now: i64) -> bool {
        self.not_before.is_none() && !self.revoked_sessions.values().any(|until| *until > now)
    }

    /// Applies `revocation`: entries past their time are pruned first. Everywhere: `not_before`
    /// becomes the second after `at` (rounded up, so a token minted in the same second is
    /// refused too), unless it is later already. A session: its entry is kept until `keep_for`
    /// after that second; past [`MAX_REVOKED_SESSIONS`] entries, the user is signed out
    /// everywhere instead and the entries are dropped.
    pub fn apply(&mut self, revocation: &Revocation) {
        let next_second = revocation.at.saturating_add(1);
        self.revoked_sessions
            .retain(|_, until| *until > revocation.at);
        let session = match &revocation.scope {
            Scope::Everywhere => None,
            Scope::Session(session) => Some(session),
        };
        if let Some(session) = session {
            let until = next_second.saturating_add(revocation.keep_for);
            let kept = self
                .revoked_sessions
                .entry(session.to_string())
                .or_insert(until);
            *kept = (*kept).max(until);
            if self.revoked_sessions.len() <= MAX_REVOKED_SESSIONS {
                return;
            }
            tracing::warn!(
                max = MAX_REVOKED_SESSIONS,
                "more revoked sessions than kept per user: signing the user out everywhere"
            );
            self.revoked_sessions.clear();
        }
        self.not_before = Some(
            self.not_before
                .map_or(next_second, |nb| nb.max(next_second)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    fn claims(iat: Option<i64>, sid: Option<&str>) -> Claims {
        Claims {
            sub: "u".into(),
            iss: "i".into(),
            aud: vec!["a".into()],
            exp: 2_000_000_000,
            nbf: None,
            iat,
            sid: sid.map(str::to_string),
        }
    }

    fn everywhere(at: i64) -> Revocation {
        Revocation {
            scope: Scope::Everywhere,
            at,
            keep_for: DAY,
        }
    }

    fn session(id: &str, at: i64) -> Revocation {
        Revocation {
            scope: Scope::Session(SessionId::parse(id).unwrap()),
            at,
            keep_for: DAY,
        }
    }

    fn applied(revocations: &[Revocation]) -> RevocationState {
        let mut state = RevocationState::default();
        for revocation in revocations {
            state.apply(revocation);
        }
        state
    }

    #[test]
    fn no_state_refuses_nothing() {
        let state = RevocationState::default();
        assert!(state.is_empty(0));
        for token in [
            claims(Some(5), None),
            claims(None, None),
            claims(Some(5), Some("s")),
        ] {
            assert!(!state.refuses(&token, 10));
        }
    }

    #[test]
    fn tokens_issued_before_not_before_are_refused_and_later_ones_accepted() {
        let state = applied(&[everywhere(1000)]);
        assert_eq!(state.not_before, Some(1001));
        assert!(state.refuses(&claims(Some(999), None), 1000));
        assert!(!state.refuses(&claims(Some(1001), None), 1001));
        assert!(!state.refuses(&claims(Some(5000), Some("s")), 5000));
    }

    #[test]
    fn a_token_minted_in_the_second_of_the_revocation_is_refused() {
        // `at` is the revocation's second with the fraction dropped (1000.9 s -> 1000): a token
        // minted at 1000.2 s carries iat 1000, and must not survive a revocation after it.
        let state = applied(&[everywhere(1000)]);
        assert!(state.refuses(&claims(Some(1000), None), 1000));
    }

    #[test]
    fn without_iat_a_token_is_refused_once_the_user_has_any_state() {
        let no_iat = claims(None, None);
        assert!(applied(&[everywhere(1000)]).refuses(&no_iat, 1000));
        let one_session = applied(&[session("s1", 1000)]);
        assert!(one_session.refuses(&no_iat, 1000));
        assert!(
            !one_session.refuses(&no_iat, 1001 + DAY),
            "the entry has expired: no state is left"
        );
    }

    #[test]
    fn a_revoked_session_is_refused_and_another_session_accepted() {
        let state = applied(&[session("s1", 1000)]);
        assert!(state.refuses(&claims(Some(999), Some("s1")), 1000));
        assert!(
            state.refuses(&claims(Some(1500), Some("s1")), 1500),
            "whatever its iat"
        );
        assert!(!state.refuses(&claims(Some(999), Some("s2")), 1000));
        assert!(!state.refuses(&claims(Some(999), None), 1000));
        assert_eq!(state.not_before, None);
    }

    #[test]
    fn an_entry_is_kept_for_the_longest_acceptance_then_ignored_and_pruned() {
        let state = applied(&[session("s1", 1000)]);
        let until = 1001 + DAY;
        assert_eq!(state.revoked_sessions["s1"], until);
        assert!(state.refuses(&claims(Some(999), Some("s1")), until - 1));
        assert!(!state.refuses(&claims(Some(999), Some("s1")), until));
        assert!(state.is_empty(until));
        let later = applied(&[session("s1", 1000), session("s2", until)]);
        assert_eq!(
            later.revoked_sessions.keys().collect::<Vec<_>>(),
            ["s2"],
            "pruned by the next revocation"
        );
    }

    #[test]
    fn not_before_never_moves_backwards_and_revocations_are_idempotent() {
        let state = applied(&[everywhere(2000), everywhere(1000)]);
        assert_eq!(state.not_before, Some(2001));
        assert_eq!(
            applied(&[everywhere(5), everywhere(5)]),
            applied(&[everywhere(5)])
        );
        let twice = applied(&[session("s1", 1000), session("s1", 1000)]);
        assert_eq!(twice, applied(&[session("s1", 1000)]));
        let renewed = applied(&[session("s1", 2000), session("s1", 1000)]);
        assert_eq!(
            renewed.revoked_sessions["s1"],
            2001 + DAY,
            "the later time stays"
        );
    }

    #[test]
    fn past_the_cap_a_session_revocation_signs_out_everywhere() {
        let mut state = RevocationState::default();
        for n in 0..MAX_REVOKED_SESSIONS {
            state.apply(&session(&format!("s{n}"), 1000));
        }
        assert_eq!(state.revoked_sessions.len(), MAX_REVOKED_SESSIONS);
        assert_eq!(state.not_before, None);
        state.apply(&session("one-more", 1005));
        assert!(state.revoked_sessions.is_empty());
        assert_eq!(state.not_before, Some(1006));
        assert!(state.refuses(&claims(Some(1005), Some("other")), 1005));
        assert!(!state.refuses(&claims(Some(1006), Some("other")), 1006));
    }

    #[test]
    fn expired_entries_do_not_count_against_the_cap() {
        let mut state = RevocationState::default();
        for n in 0..MAX_REVOKED_SESSIONS {
            state.apply(&session(&format!("old{n}"), 1000));
        }
        state.apply(&session("new", 1001 + DAY));
        assert_eq!(state.revoked_sessions.keys().collect::<Vec<_>>(), ["new"]);
        assert_eq!(state.not_before, None);
    }
}
