//! What a request costs: token verification per algorithm (real Better Auth tokens), and whole
//! requests through the real handlers with the in-memory store. `make bench` runs it.

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use lambda_http::http::Method;
use serde_json::{Value, json};
use taskgate::auth::Authenticator;
use taskgate::config::{AuthConfig, KeySource};
use taskgate::tasks::memory::MemoryStore;
use taskgate_tests::{USER, hs256_config, repo_path, spawn_app, spawn_app_with, token_for};
use tokio::runtime::Runtime;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn fixture(alg: &str, file: &str) -> String {
    let path = repo_path(&format!("tests/fixtures/better-auth/{alg}/{file}"));
    std::fs::read_to_string(path).expect("fixture")
}

fn verification(c: &mut Criterion) {
    let rt = runtime();
    for alg in ["eddsa", "es256", "rs256", "ps256"] {
        let payload: Value = serde_json::from_str(&fixture(alg, "payload.json")).unwrap();
        let issuer = payload["iss"].as_str().unwrap().to_string();
        let config = AuthConfig {
            keys: KeySource::JwksInline(fixture(alg, "jwks.json")),
            issuer: issuer.clone(),
            audience: issuer,
            leeway: Duration::from_secs(30),
        };
        let auth = rt.block_on(Authenticator::new(&config)).unwrap();
        let header = format!("Bearer {}", fixture(alg, "token.txt").trim());
        let now = payload["iat"].as_i64().unwrap() + 1;
        c.bench_function(&format!("verify/{alg}"), |b| {
            b.iter(|| {
                rt.block_on(auth.verify_at(Some(header.as_bytes()), now))
                    .unwrap()
            })
        });
    }
    let app = rt.block_on(spawn_app());
    let header = format!("Bearer {}", token_for(USER));
    c.bench_function("verify/hs256", |b| {
        b.iter(|| {
            rt.block_on(app.app.authenticator.verify(Some(header.as_bytes())))
                .unwrap()
        })
    });
}

fn requests(c: &mut Criterion) {
    let rt = runtime();
    // The create benchmark makes far more tasks than the default per-user quota.
    let store = MemoryStore::new().with_quota(u64::MAX);
    let app = rt.block_on(spawn_app_with(hs256_config(), Arc::new(store)));
    let token = token_for(USER);
    for n in 0..50 {
        rt.block_on(app.create_task(USER, &format!("task {n}")));
    }
    let task = rt.block_on(app.create_task(USER, "the one"));
    let task_path = format!("/api/{USER}/tasks/{}", task["id"].as_str().unwrap());

    c.bench_function("request/get-task", |b| {
        b.iter(|| {
            let response = rt.block_on(app.call(Method::GET, &task_path).token(&token).send());
            assert_eq!(response.status, 200);
        })
    });
    c.bench_function("request/list-tasks-50", |b| {
        b.iter(|| {
            let path = format!("/api/{USER}/tasks?limit=50");
            let response = rt.block_on(app.call(Method::GET, &path).token(&token).send());
            assert_eq!(response.status, 200);
        })
    });
    c.bench_function("request/create-task", |b| {
        b.iter(|| {
            let path = format!("/api/{USER}/tasks");
            let call = app.call(Method::POST, &path).token(&token);
            let response = rt.block_on(call.json(json!({"title": "benchmark"})).send());
            assert_eq!(response.status, 201);
        })
    });
}

criterion_group!(benches, verification, requests);
criterion_main!(benches);
