//! What the DynamoDB client's own retries hide: every attempt after the first of a request
//! ([`Metric::DynamoDbRetries`]) and every attempt DynamoDB refused for throughput
//! ([`Metric::DynamoDbThrottles`]), counted by an interceptor on each client the store builds.

use aws_sdk_dynamodb::config::interceptors::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use serde::Deserialize;

use super::error::THROTTLING_CODES;
use crate::metrics::{self, Metric};

/// Counts the retries and throttles of each DynamoDB request.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientMetrics;

impl Intercept for ClientMetrics {
    fn name(&self) -> &'static str {
        "taskgate::ClientMetrics"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg
            .load::<RequestAttempts>()
            .is_some_and(|attempts| attempts.attempts() > 1)
        {
            metrics::count(Metric::DynamoDbRetries);
        }
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let throttled = context.response().is_some_and(|response| {
            response.status().as_u16() == 400
                && response.body().bytes().is_some_and(is_throttling_error)
        });
        if throttled {
            metrics::count(Metric::DynamoDbThrottles);
        }
        Ok(())
    }
}

/// Whether a DynamoDB error body (`{"__type": "com.amazonaws.dynamodb.v20120810#<code>", ...}`)
/// names a throttling error.
fn is_throttling_error(body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct ErrorBody<'a> {
        #[serde(rename = "__type", borrow)]
        kind: Option<&'a str>,
    }
    serde_json::from_slice::<ErrorBody<'_>>(body)
        .ok()
        .and_then(|body| body.kind)
        .and_then(|kind| kind.rsplit('#').next())
        .is_some_and(|code| THROTTLING_CODES.contains(&code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_errors_are_told_by_their_type() {
        let throttled = br#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}"#;
        assert!(is_throttling_error(throttled));
        assert!(is_throttling_error(
            br#"{"__type":"com.amazon.coral.availability#ThrottlingException"}"#
        ));
        let failed =
            br#"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"}"#;
        assert!(!is_throttling_error(failed));
        assert!(!is_throttling_error(b"not json"));
        assert!(!is_throttling_error(b"{}"));
    }
}
