//! SDK errors -> [`StoreError`]. Throttling, server errors, timeouts and connection failures are
//! `Unavailable` (503 with `Retry-After`); anything else is `Internal`, whose text is only logged.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::tasks::StoreError;

/// Error codes AWS uses when a request was throttled: DynamoDB's three, and STS's `Throttling`.
pub const THROTTLING_CODES: [&str; 4] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "Throttling",
];

/// Maps an SDK error the caller did not expect (after the SDK's own retries).
pub fn unexpected<E>(error: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let unavailable = match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(context) => {
            context.raw().status().is_server_error()
                || context
                    .err()
                    .code()
                    .is_some_and(|code| THROTTLING_CODES.contains(&code))
        }
        _ => false,
    };
    let detail = DisplayErrorContext(&error).to_string();
    if unavailable {
        tracing::warn!(error = %detail, "DynamoDB is throttled or unavailable");
        StoreError::Unavailable
    } else {
        StoreError::Internal(detail)
    }
}
