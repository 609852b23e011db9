//! What a request costs, each figure next to its floor in the same run. `make bench` runs it.
//!
//! - `verify/<alg>`: the whole [`Authenticator`] on a real Better Auth token (HS256: the test
//!   token of the requests). `floor-signature/<alg>`: aws-lc-rs (the crypto under jsonwebtoken)
//!   checking that token's signature, key parsed and signature decoded beforehand.
//!   `floor-decode/<alg>`: a bare `jsonwebtoken::decode` of it. Targets: `verify` at most 1.2x
//!   `floor-signature` (EdDSA, ES256, RS256, PS256); `verify/hs256` at most 1.3x
//!   `floor-decode/hs256`.
//! - `request/<route>`: an `events/` fixture through its route's handler, memory store, next to
//!   `verify/hs256` of the same token: the difference is everything but auth. `request/list-50`
//!   sits next to `floor-serialize/list-50`, its 50 tasks as JSON by `serde_json`.
//! - `once/...`: what a function that built its state per request would pay: the same work,
//!   plus what a cold start does once (reading the configuration, parsing the keys, building the
//!   app). `once/verify-fresh/<alg>` builds the `Authenticator` from its configuration, then
//!   verifies; `once/app-per-request/create` reads the configuration, builds the app, then
//!   creates. Minus `verify/<alg>` or `request/create`, that is the work done once; the floors
//!   show the per-request figures do not carry it.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ED25519, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256,
    RSA_PSS_2048_8192_SHA256, RsaPublicKeyComponents,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use lambda_http::http::request::Parts;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use taskgate::auth::Authenticator;
use taskgate::config::{AuthConfig, Config, KeySource};
use taskgate::tasks::memory::MemoryStore;
use taskgate::tasks::{ListQuery, PageLimit, StatusFilter};
use taskgate::{App, Route, handlers};
use taskgate_tests::{
    ISSUER, SECRET, TOKEN_PLACEHOLDER, USER, hs256_config, hs256_token, now, repo_path,
    spawn_app_with,
};
use tokio::runtime::Runtime;

/// The Better Auth fixtures: `tests/fixtures/better-auth/<alg>/`.
const BETTER_AUTH: [&str; 4] = ["eddsa", "es256", "rs256", "ps256"];

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(repo_path(relative)).expect(relative)
}

/// A Better Auth fixture: its token, its JWKS, and its claims.
struct Fixture {
    token: String,
    jwks: String,
    algorithm: Algorithm,
    issuer: String,
    iat: i64,
}

impl Fixture {
    fn load(alg: &str) -> Self {
        let file = |name: &str| read(&format!("tests/fixtures/better-auth/{alg}/{name}"));
        let header: Value = serde_json::from_str(&file("header.json")).unwrap();
        let payload: Value = serde_json::from_str(&file("payload.json")).unwrap();
        Self {
            token: file("token.txt").trim().to_string(),
            jwks: file("jwks.json"),
            algorithm: Algorithm::from_str(header["alg"].as_str().unwrap()).unwrap(),
            issuer: payload["iss"].as_str().unwrap().to_string(),
            iat: payload["iat"].as_i64().unwrap(),
        }
    }

    /// The API's configuration for this issuer (also the audience, as Better Auth's).
    fn config(&self) -> AuthConfig {
        AuthConfig {
            keys: KeySource::JwksInline(self.jwks.clone()),
            issuer: self.issuer.clone(),
            audience: self.issuer.clone(),
            leeway: Duration::from_secs(30),
            max_token_lifetime: taskgate::config::DEFAULT_MAX_TOKEN_LIFETIME,
        }
    }

    /// The JWKS's one key.
    fn jwk(&self) -> Value {
        let jwks: Value = serde_json::from_str(&self.jwks).unwrap();
        jwks["keys"][0].clone()
    }

    /// The key parsed once by aws-lc-rs, for the algorithm jsonwebtoken's aws-lc backend
    /// verifies the token's `alg` with.
    fn parsed_key(&self) -> ParsedPublicKey {
        let jwk = self.jwk();
        let field = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap();
        let rsa = || RsaPublicKeyComponents {
            n: field("n"),
            e: field("e"),
        };
        match self.algorithm {
            Algorithm::EdDSA => ParsedPublicKey::new(&ED25519, field("x")),
            Algorithm::ES256 => {
                let point = [&[4][..], &field("x"), &field("y")].concat();
                ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
            }
            Algorithm::RS256 => rsa().to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256),
            Algorithm::PS256 => rsa().to_parsed_public_key(&RSA_PSS_2048_8192_SHA256),
            other => panic!("no floor for {other:?}"),
        }
        .expect("key")
    }
}

/// A token's signing input (`header.payload`) and its decoded signature.
fn split(token: &str) -> (&[u8], Vec<u8>) {
    let (input, signature) = token.rsplit_once('.').unwrap();
    (input.as_bytes(), URL_SAFE_NO_PAD.decode(signature).unwrap())
}

/// What the Authenticator checks, for jsonwebtoken: the algorithm, issuer and audience, the
/// claims it requires, exp and nbf with `leeway` seconds.
fn validation(algorithm: Algorithm, issuer: &str, leeway: u64) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[issuer]);
    validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
    validation.validate_nbf = true;
    validation.leeway = leeway;
    validation
}

fn verification(c: &mut Criterion) {
    let rt = runtime();
    for alg in BETTER_AUTH {
        let fixture = Fixture::load(alg);
        let auth = rt.block_on(Authenticator::new(&fixture.config())).unwrap();
        let header = format!("Bearer {}", fixture.token);
        // The fixtures are long expired: the Authenticator verifies them at a time of their
        // window, and jsonwebtoken, which reads the clock itself, with a leeway reaching back to
        // that time (the same comparisons run).
        let at = fixture.iat + 1;
        c.bench_function(&format!("verify/{alg}"), |b| {
            b.iter(|| {
                rt.block_on(auth.verify_at(Some(header.as_bytes()), at))
                    .unwrap()
            });
        });

        let key = fixture.parsed_key();
        let (input, signature) = split(&fixture.token);
        c.bench_function(&format!("floor-signature/{alg}"), |b| {
            b.iter(|| key.verify_sig(input, &signature).unwrap());
        });

        let jwk: Jwk = serde_json::from_value(fixture.jwk()).unwrap();
        let key = DecodingKey::from_jwk(&jwk).unwrap();
        let leeway = (now() - at) as u64 + 30;
        let validation = validation(fixture.algorithm, &fixture.issuer, leeway);
        c.bench_function(&format!("floor-decode/{alg}"), |b| {
            b.iter(|| jsonwebtoken::decode::<Value>(&fixture.token, &key, &validation).unwrap());
        });

        let config = fixture.config();
        c.bench_function(&format!("once/verify-fresh/{alg}"), |b| {
            b.iter(|| {
                rt.block_on(async {
                    let auth = Authenticator::new(&config).await.unwrap();
                    auth.verify_at(Some(header.as_bytes()), at).await.unwrap()
                })
            });
        });
    }
}

/// An HS256 token for [`USER`] valid for a day (a full run outlasts Better Auth's 15 minutes).
fn token() -> String {
    let now = now();
    let claims =
        json!({"sub": USER, "iss": ISSUER, "aud": ISSUER, "iat": now, "exp": now + 86_400});
    hs256_token(&claims, SECRET)
}

/// An app on the in-memory store, with no task quota (the creates make many).
fn memory_app(rt: &Runtime) -> App {
    let store = MemoryStore::new().with_quota(u64::MAX);
    rt.block_on(spawn_app_with(hs256_config(), Arc::new(store)))
        .app
}

/// An `events/` fixture as the Lambda runtime hands it to the handler, with `token` and
/// `task_id` in it, split so that copies can be made.
fn event(name: &str, token: &str, task_id: &str) -> (Parts, Body) {
    let json = read(&format!("events/{name}"))
        .replace(TOKEN_PLACEHOLDER, token)
        .replace("REPLACE_WITH_TASK_ID", task_id);
    lambda_http::request::from_str(&json).unwrap().into_parts()
}

fn copy((parts, body): &(Parts, Body)) -> Request {
    let body = match body {
        Body::Empty => Body::Empty,
        Body::Text(text) => Body::Text(text.clone()),
        Body::Binary(bytes) => Body::Binary(bytes.clone()),
        _ => unreachable!("a fixture body is empty, text or binary"),
    };
    Request::from_parts(parts.clone(), body)
}

/// Requests timed together: copied before the clock starts, their responses dropped after it
/// stops, so that neither the copies nor the clock reads count, and the copies stay in cache
/// (as a freshly read event is).
const BATCH: u64 = 100;

/// Times `iters` requests served by `serve` on the app `app` gives (a new one every 10,000
/// requests, so that creates do not fill the memory store), in batches of [`BATCH`].
fn time_requests<A>(
    event: &(Parts, Body),
    status: u16,
    iters: u64,
    app: impl Fn() -> A,
    serve: impl Fn(&A, Request) -> Response<Body>,
) -> Duration {
    let mut elapsed = Duration::ZERO;
    let mut current = app();
    let mut done = 0;
    while done < iters {
        let batch = BATCH.min(iters - done);
        let requests: Vec<Request> = (0..batch).map(|_| copy(event)).collect();
        let mut responses = Vec::with_capacity(requests.len());
        let start = Instant::now();
        for request in requests {
            responses.push(serve(&current, request));
        }
        elapsed += start.elapsed();
        assert!(responses.iter().all(|response| response.status() == status));
        done += batch;
        if done % 10_000 < batch {
            current = app();
        }
    }
    elapsed
}

fn requests(c: &mut Criterion) {
    let rt = runtime();
    let app = memory_app(&rt);
    let token = token();
    let header = format!("Bearer {token}");

    c.bench_function("verify/hs256", |b| {
        b.iter(|| {
            rt.block_on(app.authenticator().verify(Some(header.as_bytes())))
                .unwrap()
        });
    });
    let key = hmac::Key::new(hmac::HMAC_SHA256, SECRET);
    let (input, signature) = split(&token);
    c.bench_function("floor-signature/hs256", |b| {
        b.iter(|| hmac::verify(&key, input, &signature).unwrap());
    });
    let key = DecodingKey::from_secret(SECRET).unwrap();
    let validation = validation(Algorithm::HS256, ISSUER, 30);
    c.bench_function("floor-decode/hs256", |b| {
        b.iter(|| jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap());
    });
    c.bench_function("once/verify-fresh/hs256", |b| {
        b.iter(|| {
            rt.block_on(async {
                let auth = Authenticator::new(&hs256_config()).await.unwrap();
                auth.verify(Some(header.as_bytes())).await.unwrap()
            })
        });
    });

    let handle = |app: &App, route, request| rt.block_on(handlers::handle(app, route, request));
    let create = event("create-task/valid.json", &token, "");
    let shared = || ();
    // 51 tasks: the list of 50 has a next page.
    time_requests(&create, 201, 51, shared, |_, r| {
        handle(&app, Route::CreateTask, r)
    });
    let page = ListQuery {
        status: StatusFilter::All,
        limit: PageLimit::DEFAULT,
        after: None,
    };
    let tasks = rt.block_on(app.store().list(USER, page)).unwrap().items;

    let get = event("get-task/valid.json", &token, &tasks[0].id.to_string());
    c.bench_function("request/get", |b| {
        b.iter_custom(|n| {
            time_requests(&get, 200, n, shared, |_, r| handle(&app, Route::GetTask, r))
        });
    });
    c.bench_function("request/create", |b| {
        let fresh = || memory_app(&rt);
        b.iter_custom(|n| {
            time_requests(&create, 201, n, fresh, |app, r| {
                handle(app, Route::CreateTask, r)
            })
        });
    });
    let secret = String::from_utf8(SECRET.to_vec()).unwrap();
    let env = |name: &str| match name {
        "AUTH_HS256_SECRET" => Some(secret.clone()),
        "AUTH_ISSUER" | "AUTH_AUDIENCE" => Some(ISSUER.to_string()),
        _ => None,
    };
    c.bench_function("once/app-per-request/create", |b| {
        let serve = |_: &(), request| {
            let config = Config::from_lookup(env).unwrap();
            let app = rt.block_on(App::from_config(&config, &[Route::CreateTask]));
            rt.block_on(handlers::handle(&app.unwrap(), Route::CreateTask, request))
        };
        b.iter_custom(|n| time_requests(&create, 201, n, || (), serve));
    });
    let list = event("list-tasks/valid.json", &token, "");
    c.bench_function("request/list-50", |b| {
        b.iter_custom(|n| {
            time_requests(&list, 200, n, shared, |_, r| {
                handle(&app, Route::ListTasks, r)
            })
        });
    });
    c.bench_function("floor-serialize/list-50", |b| {
        b.iter(|| serde_json::to_string(&tasks).unwrap());
    });
}

criterion_group!(benches, verification, requests);
criterion_main!(benches);
