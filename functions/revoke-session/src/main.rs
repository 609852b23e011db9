//! `DELETE /api/{user_id}/sessions/{session_id}`: one Lambda function, all logic in the shared crate.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    taskgate::lambda::run(taskgate::Route::RevokeSession).await
}
