//! Cold-start baseline: `list-tasks` written the way the SDK, jsonwebtoken and hyper-rustls
//! documentation show it, configured by the same variables. At init: `aws_config::load_defaults`,
//! a DynamoDB client, the keys (the inline `AUTH_JWKS`, or the JWKS at `AUTH_JWKS_URL` fetched
//! over HTTPS trusting the system's root certificates, plus `AUTH_JWKS_CA_BUNDLE` when set), one
//! `DescribeTable` to open the connection. Per request: the token verified with
//! `jsonwebtoken::decode`, then with `DATA_ISOLATION=iam` the user's credentials (`AssumeRole`
//! of `TENANT_ROLE_ARN` tagged with the user, once per user), then one Query of the user's
//! tasks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sts::types::Tag;
use http_body_util::{BodyExt, Empty};
use hyper_rustls::HttpsConnectorBuilder;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode};
use lambda_http::{Body, Error, Request, RequestExt, Response, run, service_fn};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = std::env::var("TASKS_TABLE")?;
    let jwks: JwkSet = match std::env::var("AUTH_JWKS_URL") {
        Ok(url) => fetch_jwks(&url).await?,
        Err(_) => serde_json::from_str(&std::env::var("AUTH_JWKS")?)?,
    };
    let jwk = jwks.keys.first().ok_or("the JWKS has no key")?;
    let key = DecodingKey::from_jwk(jwk)?;
    let mut validation = Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_issuer(&[std::env::var("AUTH_ISSUER")?]);
    validation.set_audience(&[std::env::var("AUTH_AUDIENCE")?]);
    let tenant_role = match std::env::var("DATA_ISOLATION").as_deref() {
        Ok("iam") => Some(std::env::var("TENANT_ROLE_ARN")?),
        _ => None,
    };
    let sts = aws_sdk_sts::Client::new(&config);
    let tenants: Arc<Mutex<HashMap<String, aws_sdk_dynamodb::Client>>> = Arc::default();
    client.describe_table().table_name(&table).send().await?;

    run(service_fn(|request: Request| {
        let (config, client, table, key, validation) =
            (&config, &client, &table, &key, &validation);
        let (tenant_role, sts, tenants) = (&tenant_role, &sts, &tenants);
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
            let client = match tenant_role {
                None => client.clone(),
                Some(role) => {
                    let cached = tenants.lock().unwrap().get(&user).cloned();
                    match cached {
                        Some(client) => client,
                        None => {
                            let client = assume_role(config, sts, role, &user).await?;
                            tenants.lock().unwrap().insert(user.clone(), client.clone());
                            client
                        }
                    }
                }
            };
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

/// The JWKS at `url`, over HTTPS trusting the system's roots (and `AUTH_JWKS_CA_BUNDLE`).
async fn fetch_jwks(url: &str) -> Result<JwkSet, Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Ok(bundle) = std::env::var("AUTH_JWKS_CA_BUNDLE") {
        for certificate in CertificateDer::pem_file_iter(bundle)? {
            roots.add(certificate?)?;
        }
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let https = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .build();
    let client = HttpClient::builder(TokioExecutor::new()).build::<_, Empty<bytes::Bytes>>(https);
    let response = client.get(url.parse()?).await?;
    let body = response.into_body().collect().await?.to_bytes();
    Ok(serde_json::from_slice(&body)?)
}

/// A DynamoDB client acting as `user`: `AssumeRole` of `role`, tagged with the user id.
async fn assume_role(
    config: &aws_config::SdkConfig,
    sts: &aws_sdk_sts::Client,
    role: &str,
    user: &str,
) -> Result<aws_sdk_dynamodb::Client, Error> {
    let assumed = sts
        .assume_role()
        .role_arn(role)
        .role_session_name("naive")
        .tags(Tag::builder().key("taskgate_user").value(user).build()?)
        .send()
        .await?;
    let credentials = assumed
        .credentials()
        .ok_or("AssumeRole gave no credentials")?;
    let credentials = Credentials::new(
        credentials.access_key_id(),
        credentials.secret_access_key(),
        Some(credentials.session_token().to_string()),
        None,
        "AssumeRole",
    );
    let tenant = aws_sdk_dynamodb::config::Builder::from(config)
        .credentials_provider(credentials)
        .build();
    Ok(aws_sdk_dynamodb::Client::from_conf(tenant))
}
