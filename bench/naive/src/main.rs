//! Cold-start baseline: the init work of `list-tasks` written the way the SDK and jsonwebtoken
//! documentation show it: `aws_config::load_defaults`, a DynamoDB client, the key parsed from the
//! inline JWK, one `DescribeTable` to open the connection; then a handler that verifies the
//! token with `jsonwebtoken::decode` and lists the path user's tasks with one Query.

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::types::AttributeValue;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode};
use lambda_http::{Body, Error, Request, RequestExt, Response, run, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = std::env::var("TASKS_TABLE")?;
    let jwks: JwkSet = serde_json::from_str(&std::env::var("AUTH_JWKS")?)?;
    let jwk = jwks.keys.first().ok_or("AUTH_JWKS has no key")?;
    let key = DecodingKey::from_jwk(jwk)?;
    let mut validation = Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_issuer(&[std::env::var("AUTH_ISSUER")?]);
    validation.set_audience(&[std::env::var("AUTH_AUDIENCE")?]);
    client.describe_table().table_name(&table).send().await?;

    run(service_fn(|request: Request| {
        let (client, table, key, validation) = (&client, &table, &key, &validation);
        async move {
            let token = request
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or_default();
            let Ok(claims) = decode::<Value>(token, key, validation) else {
                return Ok::<_, Error>(Response::builder().status(401).body(Body::Empty)?);
            };
            let user = request
                .path_parameters_ref()
                .and_then(|p| p.first("user_id"))
                .unwrap_or_default()
                .to_string();
            if claims.claims["sub"] != user.as_str() {
                return Ok(Response::builder().status(403).body(Body::Empty)?);
            }
            let output = client
                .query()
                .table_name(table)
                .key_condition_expression("user_id = :u")
                .expression_attribute_values(":u", AttributeValue::S(user))
                .scan_index_forward(false)
                .limit(50)
                .send()
                .await?;
            let body = format!("{{\"count\":{}}}", output.count());
            Ok(Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(Body::Text(body))?)
        }
    }))
    .await
}
