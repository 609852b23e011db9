//! `GET /openapi.json` on the real binary: the repository's `openapi.yaml` as JSON, without a
//! token, with the headers every answer carries.

mod server;

use serde_json::Value;

#[tokio::test]
async fn the_document_is_served_as_json_without_a_token() {
    // Development mode: the token it prints is not needed here.
    let server = server::start(server::command());
    assert!(
        server.banner.contains("DEVELOPMENT MODE"),
        "{}",
        server.banner
    );
    let url = format!("{}/openapi.json", server.base_url);
    let client = reqwest::Client::new();

    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let served: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    let yaml = include_str!("../../openapi.yaml");
    let document: Value = serde_norway::from_str(yaml).unwrap();
    assert_eq!(served, document);
    assert!(served["paths"]["/api/{user_id}/tasks"]["get"].is_object());

    // Any other method is the API's, which has no such route.
    let response = client.post(&url).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
}
