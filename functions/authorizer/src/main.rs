//! The HTTP API's Lambda authorizer: one Lambda function, all logic in the shared crate.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    taskgate::lambda::run_authorizer().await
}
