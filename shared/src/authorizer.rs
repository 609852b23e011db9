//! The API Gateway HTTP API Lambda authorizer (payload format 2.0, simple responses): the routes'
//! verifier and revocation check, offered to any route of the API in any language. A good token
//! gets `{"isAuthorized": true, "context": {"sub": ..., "sid": ...}}`; anything else gets
//! `{"isAuthorized": false}`: a bad or revoked token, an event it cannot read, keys or revocation
//! states it cannot get (fail closed), a deadline, even a panic. Never an invocation error, which
//! API Gateway would answer with a 500. How to put a route behind it: docs/auth.md.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use lambda_http::Context;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use lambda_http::http::header::AUTHORIZATION;
use serde::Serialize;
use tracing::Instrument;

use crate::app::{
    AUTHORIZER_ITEM_ACCESS, authenticator_beside, isolated, tenant_connection_primed,
};
use crate::auth::{AuthError, Authenticator, Claims};
use crate::config::{Config, ConfigError, DEFAULT_REQUEST_DEADLINE, DEFAULT_REVOCATION_TTL};
use crate::handlers::{log_revoked, log_verdict, time_allowed};
use crate::lambda::panic_message;
use crate::metrics::{self, Metric};
use crate::revocation::{MemoryRevocations, RevocationStore, Revocations};
use crate::tasks::StoreError;
use crate::tasks::dynamodb::DynamoDbStore;

/// The verifier and the revocation check of the Lambda authorizer, built once per cold start.
pub struct Authorizer {
    authenticator: Authenticator,
    revocations: Revocations,
    request_deadline: Duration,
}

/// The authorizer's answer: API Gateway's simple response. Its `Serialize` is the wire format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    pub is_authorized: bool,
    /// Who is calling, for an authorized request only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<Caller>,
}

/// Who is calling, as a route behind the authorizer reads it from
/// `requestContext.authorizer.lambda`: the user id and, when the token names one, its session.
/// Nothing secret, never the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Caller {
    pub sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

impl Answer {
    /// `isAuthorized: false`, with no context.
    const REFUSED: Self = Self {
        is_authorized: false,
        context: None,
    };

    fn allowed(claims: Claims) -> Self {
        Self {
            is_authorized: true,
            context: Some(Caller {
                sub: claims.sub,
                sid: claims.sid,
            }),
        }
    }
}

impl Authorizer {
    /// The authorizer on `authenticator` and the revocation states of `store`, with the default
    /// request deadline and revocation TTL.
    pub fn new(authenticator: Authenticator, store: Arc<dyn RevocationStore>) -> Self {
        Self {
            authenticator,
            revocations: Revocations::new(store, DEFAULT_REVOCATION_TTL),
            request_deadline: DEFAULT_REQUEST_DEADLINE,
        }
    }

    /// The authorizer, using a user's revocation state for at most `ttl` before reading it again.
    pub fn with_revocation_ttl(self, ttl: Duration) -> Self {
        Self {
            revocations: self.revocations.with_ttl(ttl),
            ..self
        }
    }

    /// The authorizer, refusing any request it has not decided within `deadline`.
    pub fn with_request_deadline(self, deadline: Duration) -> Self {
        Self {
            request_deadline: deadline,
            ..self
        }
    }

    /// Builds the authorizer from the process environment, as the routes read it.
    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::from_config(&Config::from_env()?).await
    }

    /// Builds the authorizer from configuration: the routes' verifier, and revocation states
    /// read from DynamoDB when `TASKS_TABLE` is set (in `iam` isolation through the tenant role,
    /// whose session may only read them), else kept in memory. As for the routes, the keys load
    /// while the AWS settings load and the DynamoDB connections (and in `iam` isolation the STS
    /// one) are primed, so that the first answer finds them open.
    pub async fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let (authenticator, store) = authenticator_beside(config, |aws| async move {
            let store: Arc<dyn RevocationStore> = match (config.tasks_table.as_ref(), aws) {
                (Some(table), Some(aws)) => {
                    let store = DynamoDbStore::connect(&aws, table);
                    let store = isolated(store, config, &aws, AUTHORIZER_ITEM_ACCESS);
                    tokio::join!(store.primed(), tenant_connection_primed(config, &aws));
                    Arc::new(store)
                }
                _ => {
                    tracing::warn!("TASKS_TABLE is not set: revocation states are kept in memory");
                    Arc::new(MemoryRevocations::default())
                }
            };
            store
        })
        .await?;
        tracing::info!(
            auth = config.auth.keys.mode(),
            isolation = config.isolation.mode(),
            revocation_ttl_s = config.revocation_ttl.as_secs(),
            "taskgate authorizer ready"
        );
        Ok(Self::new(authenticator, store)
            .with_revocation_ttl(config.revocation_ttl)
            .with_request_deadline(config.limits.request_deadline))
    }

    /// The answer to one authorizer event (its JSON text), within the Lambda `invocation`'s
    /// deadline when there is one.
    pub async fn answer(&self, event: &str, invocation: Option<&Context>) -> Answer {
        answer(
            &self.authenticator,
            &self.revocations,
            self.request_deadline,
            event,
            invocation,
        )
        .await
    }
}

/// The answer to one authorizer event with a verifier and a revocation check held elsewhere
/// (`taskgate-local` answers with its app's); see [`Authorizer::answer`].
pub async fn answer(
    authenticator: &Authenticator,
    revocations: &Revocations,
    deadline: Duration,
    event: &str,
    invocation: Option<&Context>,
) -> Answer {
    let request = serde_json::from_str::<ApiGatewayV2CustomAuthorizerV2Request>(event)
        .ok()
        .filter(|request| request.version.as_deref() == Some("2.0"));
    let context = request.as_ref().map(|request| &request.request_context);
    let request_id = context
        .and_then(|context| context.request_id.as_deref())
        .or(invocation.map(|invocation| invocation.request_id.as_str()))
        .unwrap_or_default();
    let route_key = request.as_ref().and_then(|r| r.route_key.as_deref());
    let span = tracing::info_span!("request", route = "authorizer", request_id, route_key);
    let deadline = time_allowed(deadline, invocation);
    let decide = |header| decide(authenticator, revocations, header);
    let answer = decided(request.as_ref(), deadline, decide)
        .instrument(span)
        .await;
    if !answer.is_authorized {
        metrics::count(Metric::Unauthorized);
    }
    answer
}

/// What `decide` answers for the event's `Authorization` header within `deadline`; refused for
/// an event that is not a payload 2.0 authorizer request, a deadline passed, or a panic.
async fn decided<'a, D, F>(
    request: Option<&'a ApiGatewayV2CustomAuthorizerV2Request>,
    deadline: Duration,
    decide: D,
) -> Answer
where
    D: FnOnce(Result<Option<&'a [u8]>, AuthError>) -> F,
    F: Future<Output = Answer>,
{
    let Some(request) = request else {
        tracing::warn!(outcome = "rejected", reason = "invalid_event", "auth");
        return Answer::REFUSED;
    };
    // A token in the URL is refused as the routes refuse it (RFC 6750 5.3): it ends up in logs.
    let header = match request.query_string_parameters.contains_key("access_token") {
        true => Err(AuthError::TokenInQuery),
        false => Ok(request.headers.get(AUTHORIZATION).map(|v| v.as_bytes())),
    };
    let decision = AssertUnwindSafe(tokio::time::timeout(deadline, decide(header)));
    match decision.catch_unwind().await {
        Ok(Ok(answer)) => answer,
        Ok(Err(_)) => {
            let deadline_ms = deadline.as_millis() as u64;
            tracing::error!(
                outcome = "unavailable",
                reason = "deadline",
                deadline_ms,
                "auth"
            );
            Answer::REFUSED
        }
        Err(panic) => {
            tracing::error!(panic = ?panic_message(&*panic), "the authorizer panicked");
            Answer::REFUSED
        }
    }
}

/// The token of `header` verified, then checked against its user's revocation state; every
/// refusal logged as the routes log it.
async fn decide(
    authenticator: &Authenticator,
    revocations: &Revocations,
    header: Result<Option<&[u8]>, AuthError>,
) -> Answer {
    let verdict = match header {
        Ok(header) => authenticator.verify(header).await,
        Err(refused) => Err(refused),
    };
    log_verdict(&verdict);
    let Ok(claims) = verdict else {
        return Answer::REFUSED;
    };
    let sub = claims.sub.as_str();
    match revocations.refuses(&claims).await {
        Ok(false) => Answer::allowed(claims),
        Ok(true) => {
            log_revoked(sub);
            Answer::REFUSED
        }
        Err(StoreError::UserNotIsolable) => {
            tracing::warn!(
                outcome = "rejected",
                reason = "user_not_isolable",
                sub,
                "auth"
            );
            Answer::REFUSED
        }
        Err(error) => {
            let (reason, error) = ("revocation_unavailable", error.to_string());
            tracing::error!(outcome = "unavailable", reason, sub, error, "auth");
            Answer::REFUSED
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: serde_json::Value) -> ApiGatewayV2CustomAuthorizerV2Request {
        serde_json::from_value(json).expect("an authorizer request")
    }

    fn minimal(headers: serde_json::Value) -> ApiGatewayV2CustomAuthorizerV2Request {
        request(serde_json::json!({
            "version": "2.0", "type": "REQUEST", "routeKey": "GET /x", "headers": headers,
            "requestContext": {"requestId": "r1", "http": {"method": "GET", "path": "/x"}}
        }))
    }

    #[test]
    fn answers_are_api_gateways_simple_responses() {
        let refused = serde_json::to_value(Answer::REFUSED).unwrap();
        assert_eq!(refused, serde_json::json!({"isAuthorized": false}));
        let allowed = Answer {
            is_authorized: true,
            context: Some(Caller {
                sub: "u1".into(),
                sid: Some("s1".into()),
            }),
        };
        assert_eq!(
            serde_json::to_value(allowed).unwrap(),
            serde_json::json!({"isAuthorized": true, "context": {"sub": "u1", "sid": "s1"}})
        );
        let without_sid = Answer {
            is_authorized: true,
            context: Some(Caller {
                sub: "u1".into(),
                sid: None,
            }),
        };
        assert_eq!(
            serde_json::to_value(without_sid).unwrap()["context"],
            serde_json::json!({"sub": "u1"})
        );
    }

    #[tokio::test]
    async fn a_panic_while_deciding_is_a_refusal_not_an_error() {
        let event = minimal(serde_json::json!({"authorization": "Bearer a.b.c"}));
        let answer = decided(Some(&event), Duration::from_secs(1), |_| async {
            panic!("a bug in the decision");
        })
        .await;
        assert_eq!(answer, Answer::REFUSED);
    }

    #[tokio::test]
    async fn a_decision_past_the_deadline_is_a_refusal() {
        let event = minimal(serde_json::json!({}));
        let answer = decided(Some(&event), Duration::from_millis(20), |_| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Answer::allowed(Claims {
                sub: "u".into(),
                iss: "i".into(),
                aud: vec![],
                exp: 0,
                nbf: None,
                iat: None,
                sid: None,
            })
        })
        .await;
        assert_eq!(answer, Answer::REFUSED);
    }

    #[tokio::test]
    async fn the_authorization_header_is_read_in_any_case_and_a_token_in_the_url_refused() {
        for name in ["authorization", "Authorization", "AUTHORIZATION"] {
            let event = minimal(serde_json::json!({ name: "Bearer a.b.c" }));
            let seen = decided(Some(&event), Duration::from_secs(1), |header| async move {
                assert_eq!(header, Ok(Some(&b"Bearer a.b.c"[..])), "{name}");
                Answer::REFUSED
            });
            seen.await;
        }
        let mut event = minimal(serde_json::json!({"authorization": "Bearer a.b.c"}));
        event
            .query_string_parameters
            .insert("access_token".into(), "a.b.c".into());
        let seen = decided(Some(&event), Duration::from_secs(1), |header| async move {
            assert_eq!(header, Err(AuthError::TokenInQuery));
            Answer::REFUSED
        });
        seen.await;
        let none = decided(None, Duration::from_secs(1), |_| async {
            unreachable!("an unreadable event is refused before any decision")
        });
        assert_eq!(none.await, Answer::REFUSED);
    }
}
