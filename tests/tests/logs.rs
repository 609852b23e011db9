//! The logs of a run of the whole attack catalogue: auth outcomes are structured events at the
//! right levels (accepted at debug, rejected at info with a reason code, and `sub` for a revoked
//! token, forbidden at warn with `sub` and the path user), and no token, signature segment or
//! secret ever appears.

mod catalogue;

use std::collections::BTreeSet;

use lambda_http::http::Method;
use serde_json::{Value, json};
use taskgate_tests::log_capture::LogCapture;
use taskgate_tests::{SECRET, USER, claims_for, hs256_token, now, spawn_app, token_for};

/// Every reason code `AuthError::reason` can return.
const REASONS: [&str; 18] = [
    "missing_token",
    "malformed_authorization",
    "token_in_query",
    "token_too_large",
    "malformed_token",
    "unsupported_header",
    "unsupported_algorithm",
    "unknown_key",
    "algorithm_mismatch",
    "bad_signature",
    "invalid_claims",
    "expired",
    "not_yet_valid",
    "issued_in_future",
    "wrong_issuer",
    "wrong_audience",
    "lifetime_too_long",
    "revoked",
];

/// Runs every catalogue item on this thread with a JSON subscriber at TRACE; returns the logs.
fn logs_of_the_catalogue() -> String {
    let (capture, subscriber) = LogCapture::json_trace();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            catalogue::item_01_bearer_header().await;
            catalogue::item_02_alg_none().await;
            catalogue::item_03_key_confusion().await;
            catalogue::item_04_embedded_keys().await;
            catalogue::item_05_unknown_kid().await;
            catalogue::item_06_crit_and_b64().await;
            catalogue::item_07_signature_edge_cases().await;
            catalogue::item_08_weak_jwks_keys().await;
            catalogue::item_09_times().await;
            catalogue::item_10_issuer_and_audience().await;
            catalogue::item_11_subject().await;
            catalogue::item_12_duplicates_and_encoding().await;
            catalogue::item_13_typ_zip_cty_enc().await;
            catalogue::item_14_query_and_size().await;
            catalogue::item_15_session_cookie_token().await;
            catalogue::item_16_weak_hs256_secrets().await;
            catalogue::item_17_path_user_is_not_sub().await;
            catalogue::item_18_revocation().await;
        });
    });
    capture.text()
}

#[test]
fn the_catalogue_logs_each_auth_outcome_and_never_a_token_signature_or_secret() {
    let logs = logs_of_the_catalogue();
    let events: Vec<Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON event per line"))
        .collect();

    let auth: Vec<&Value> = events
        .iter()
        .filter(|e| e["fields"]["message"] == "auth")
        .collect();
    let with_outcome = |outcome: &str| -> Vec<&Value> {
        auth.iter()
            .copied()
            .filter(|e| e["fields"]["outcome"] == outcome)
            .collect()
    };
    let (accepted, rejected, forbidden) = (
        with_outcome("accepted"),
        with_outcome("rejected"),
        with_outcome("forbidden"),
    );
    assert!(!accepted.is_empty() && !rejected.is_empty() && !forbidden.is_empty());
    assert_eq!(
        accepted.len() + rejected.len() + forbidden.len(),
        auth.len()
    );
    for event in &auth {
        let span = &event["span"];
        assert_eq!(
            span["name"], "request",
            "auth events carry the request span: {event}"
        );
        assert!(span["route"].is_string(), "{event}");
        assert!(span.get("request_id").is_some(), "{event}");
    }
    for event in &accepted {
        assert_eq!(event["level"], "DEBUG", "{event}");
        assert!(event["fields"]["sub"].is_string(), "{event}");
    }
    let mut reasons = BTreeSet::new();
    for event in &rejected {
        assert_eq!(event["level"], "INFO", "{event}");
        let reason = event["fields"]["reason"].as_str().expect("a reason code");
        assert!(REASONS.contains(&reason), "unknown reason {reason}");
        reasons.insert(reason);
        if reason == "revoked" {
            assert_eq!(
                event["fields"]["sub"], USER,
                "a revoked token's user: {event}"
            );
        }
    }
    assert_eq!(
        reasons,
        REASONS.into_iter().collect(),
        "every reason code was seen"
    );
    for event in &forbidden {
        assert_eq!(event["level"], "WARN", "{event}");
        assert!(event["fields"]["sub"].is_string(), "{event}");
        assert!(event["fields"]["path_user"].is_string(), "{event}");
    }

    let skipped: Vec<&Value> = events
        .iter()
        .filter(|e| e["fields"]["message"] == "JWKS key skipped")
        .collect();
    for kid in ["short", "small", "identity", "oct", "enc", "ops"] {
        let line = skipped
            .iter()
            .find(|e| e["fields"]["kid"] == kid)
            .unwrap_or_else(|| panic!("no log line for the skipped key {kid}"));
        assert_eq!(line["level"], "WARN");
        assert!(line["fields"]["reason"].is_string());
    }

    assert!(
        !logs.contains("eyJ"),
        "a base64url JSON segment (token part) was logged"
    );
    for sensitive in catalogue::sensitive_strings() {
        assert!(!logs.contains(&sensitive), "logged: {sensitive:.20}...");
        for part in sensitive.split([' ', '.', ',', '\t', '"']) {
            if part.len() >= 16 {
                assert!(
                    !logs.contains(part),
                    "a token segment was logged: {part:.20}..."
                );
            }
        }
    }
}

/// Runs `work` on this thread under `subscriber`; returns what it wrote.
fn capture_logs<F: Future<Output = ()>>(json: bool, work: F) -> String {
    let capture = LogCapture::default();
    let writer = capture.clone();
    let builder = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone());
    let subscriber: Box<dyn tracing::Subscriber + Send + Sync> = match json {
        true => Box::new(builder.json().finish()),
        false => Box::new(builder.finish()),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || runtime.block_on(work));
    capture.text()
}

#[test]
fn a_refused_token_gets_a_generic_detail_and_its_precise_reason_in_the_log() {
    let expired = {
        let mut claims = claims_for(USER);
        claims["exp"] = json!(now() - 3600);
        hs256_token(&claims, SECRET)
    };
    let wrong_issuer = {
        let mut claims = claims_for(USER);
        claims["iss"] = json!("https://evil.example");
        hs256_token(&claims, SECRET)
    };
    let forged = hs256_token(&claims_for(USER), b"another-secret-0123456789-abcdefghijkl");
    let cases = [
        (expired, "expired"),
        (wrong_issuer, "wrong_issuer"),
        (forged, "bad_signature"),
        ("not.a.jwt".to_string(), "malformed_token"),
    ];
    for (token, reason) in cases {
        let logs = capture_logs(true, async {
            let app = spawn_app().await;
            let response = app
                .call(Method::GET, &format!("/api/{USER}/tasks"))
                .token(&token)
                .send()
                .await;
            assert_eq!(response.status, 401, "{reason}");
            assert_eq!(response.body["detail"], "invalid token", "{reason}");
        });
        let logged: Vec<Value> = logs
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .filter(|e: &Value| e["fields"]["outcome"] == "rejected")
            .collect();
        assert_eq!(logged.len(), 1, "{logs}");
        assert_eq!(logged[0]["fields"]["reason"], reason, "{logs}");
    }
}

#[test]
fn values_from_tokens_and_paths_cannot_forge_a_text_log_line() {
    let sub = "evil\nERROR forged=1 \u{1b}[31mred\r";
    let logs = capture_logs(false, async {
        let app = spawn_app().await;
        let response = app
            .call(Method::GET, &format!("/api/{USER}/tasks"))
            .token(&token_for(sub))
            .send()
            .await;
        assert_eq!(response.status, 403, "{}", response.body);
    });
    assert!(
        logs.contains(r#"sub="evil\nERROR forged=1 \u{1b}[31mred\r""#),
        "{logs}"
    );
    assert!(!logs.contains('\u{1b}') && !logs.contains('\r'), "{logs}");
    for line in logs.lines() {
        assert!(
            !line.starts_with("ERROR") && !line.starts_with("forged"),
            "a forged line: {line}"
        );
    }
    let forbidden = logs.lines().find(|l| l.contains("outcome=\"forbidden\""));
    let forbidden = forbidden.unwrap_or_else(|| panic!("no forbidden event:\n{logs}"));
    assert!(
        forbidden.contains(&format!("path_user=\"{USER}\"")),
        "{forbidden}"
    );
}
