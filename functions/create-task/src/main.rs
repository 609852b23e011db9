//! `POST /api/{user_id}/tasks`: one Lambda function, all logic in the shared crate.

use lambda_http::{Error, run, service_fn};
use lambda_runtime::tracing;
use taskgate::{App, Route, handlers};

/// The one route this function serves.
const ROUTE: Route = Route::CreateTask;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let app = App::from_env_or_exit(&[ROUTE]).await;
    run(service_fn(|request| async {
        Ok::<_, Error>(handlers::handle(&app, ROUTE, request).await)
    }))
    .await
}
