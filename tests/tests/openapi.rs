//! `openapi.yaml` held to the code: its paths, methods, operation ids, parameters and request
//! bodies are the route table's (`shared/src/http/routes.rs`); each operation's statuses and
//! problem types are its route's success and declared problem kinds; every problem kind of the
//! code (`shared/src/http/problem.rs`) is in the document and nothing else is; the headers the
//! code always sends are declared; and the limits are the code's. A route, a status or a kind
//! added to the code fails here until the document says it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use taskgate::http::ProblemKind;
use taskgate::http::problem::TYPE_PREFIX;
use taskgate::http::request::MAX_IDEMPOTENCY_KEY_CHARS;
use taskgate::http::routes::{ROUTES, Route, UNROUTED_PROBLEMS};
use taskgate::revocation::SessionId;
use taskgate::tasks::{PageLimit, StatusFilter, TaskDescription, TaskId, TaskTitle};

/// The document as JSON (what `taskgate-local` serves).
fn document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml");
    let text = std::fs::read_to_string(path).expect("openapi.yaml at the repository's root");
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("openapi.yaml is not YAML: {e}"))
}

/// `value`, or what its `$ref` (`#/...`, within the document) points at.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.strip_prefix('#').expect("a local $ref");
            doc.pointer(pointer)
                .unwrap_or_else(|| panic!("{reference} points at nothing"))
        }
        None => value,
    }
}

fn operation(doc: &Value, route: Route) -> &Value {
    let method = route.method().as_str().to_ascii_lowercase();
    doc["paths"][route.path()]
        .get(&method)
        .unwrap_or_else(|| panic!("{} is not in openapi.yaml", route.route_key()))
}

/// The problem kinds a problem response declares in its `type` enum, after checking that its
/// `status` const is `status`.
fn problem_kinds(response: &Value, status: u16, context: &str) -> BTreeSet<String> {
    let schema = &response["content"]["application/problem+json"]["schema"];
    let own = &schema["allOf"][1]["properties"];
    assert_eq!(
        schema["allOf"][0]["$ref"], "#/components/schemas/Problem",
        "{context}: a problem response is allOf [Problem, {{type enum, status const}}]"
    );
    assert_eq!(own["status"]["const"], status, "{context}: status const");
    own["type"]["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("{context}: no type enum"))
        .iter()
        .map(|kind| {
            let kind = kind.as_str().expect("a string type");
            let name = kind.strip_prefix(TYPE_PREFIX);
            name.unwrap_or_else(|| panic!("{context}: {kind} is not a taskgate problem type"))
                .to_string()
        })
        .collect()
}

/// The names of a response's headers, lower case.
fn header_names(response: &Value) -> BTreeSet<String> {
    response["headers"]
        .as_object()
        .map(|headers| {
            headers
                .keys()
                .map(|name| name.to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default()
}

fn names(kinds: impl IntoIterator<Item = ProblemKind>) -> BTreeSet<String> {
    kinds.into_iter().map(|k| k.name().to_string()).collect()
}

#[test]
fn the_paths_and_methods_are_the_route_tables() {
    let doc = document();
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            let methods = item.as_object().expect("a path item").keys();
            methods
                .filter(|key| *key != "parameters")
                .map(|method| (path.clone(), method.to_ascii_uppercase()))
        })
        .collect();
    let routes: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.path().to_string(), r.method().to_string()))
        .collect();
    assert_eq!(documented, routes);
    for route in ROUTES {
        assert_eq!(
            operation(&doc, route)["operationId"],
            route.function_name(),
            "{}: the operation id is the function's name",
            route.route_key()
        );
    }
}

#[test]
fn each_operation_has_its_routes_parameters_and_body() {
    let doc = document();
    for route in ROUTES {
        let path_item = &doc["paths"][route.path()];
        let operation = operation(&doc, route);
        let shared = path_item["parameters"].as_array().into_iter().flatten();
        let own = operation["parameters"].as_array().into_iter().flatten();
        let documented: BTreeSet<(String, String)> = shared
            .chain(own)
            .map(|parameter| {
                let parameter = resolve(&doc, parameter);
                let place = parameter["in"].as_str().expect("in").to_string();
                let name = parameter["name"].as_str().expect("name");
                (place, name.to_ascii_lowercase())
            })
            .collect();
        let path_parameters = route
            .path()
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| ("path", name));
        let query = route.query_parameters().iter().map(|name| ("query", *name));
        let headers = route.request_headers().iter().map(|name| ("header", *name));
        let expected: BTreeSet<(String, String)> = path_parameters
            .chain(query)
            .chain(headers)
            .map(|(place, name)| (place.to_string(), name.to_ascii_lowercase()))
            .collect();
        assert_eq!(documented, expected, "{}", route.route_key());

        let body = operation.get("requestBody").map(|body| resolve(&doc, body));
        assert_eq!(body.is_some(), route.takes_body(), "{}", route.route_key());
        if let Some(body) = body {
            assert_eq!(body["required"], true, "{}", route.route_key());
            let media_types: Vec<&String> = body["content"].as_object().unwrap().keys().collect();
            assert_eq!(media_types, ["application/json"], "{}", route.route_key());
        }
    }
}

#[test]
fn each_operation_answers_its_routes_statuses_and_problem_types() {
    let doc = document();
    for route in ROUTES {
        let key = route.route_key();
        let mut expected: BTreeMap<u16, BTreeSet<String>> = BTreeMap::new();
        expected.insert(route.success().as_u16(), BTreeSet::new());
        for kind in route.problems() {
            let kinds = expected.entry(kind.status().as_u16()).or_default();
            kinds.insert(kind.name().to_string());
        }
        let responses = operation(&doc, route)["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{key}: no responses"));
        let documented: BTreeMap<u16, BTreeSet<String>> = responses
            .iter()
            .map(|(status, response)| {
                let status: u16 = status.parse().expect("a status code, not a range");
                let response = resolve(&doc, response);
                let context = format!("{key} {status}");
                let kinds = match status == route.success().as_u16() {
                    true => BTreeSet::new(),
                    false => problem_kinds(response, status, &context),
                };
                (status, kinds)
            })
            .collect();
        assert_eq!(documented, expected, "{key}: statuses and problem kinds");
    }
}

#[test]
fn every_problem_kind_is_documented_and_nothing_else_is() {
    let doc = document();
    let referenced: BTreeSet<&str> = ROUTES
        .iter()
        .flat_map(|route| {
            operation(&doc, *route)["responses"]
                .as_object()
                .unwrap()
                .values()
        })
        .filter_map(|response| response["$ref"].as_str())
        .collect();
    let mut documented = BTreeSet::new();
    let mut unrouted = BTreeSet::new();
    for (name, response) in doc["components"]["responses"].as_object().unwrap() {
        if response
            .pointer("/content/application~1problem+json")
            .is_none()
        {
            continue;
        }
        let context = format!("components.responses.{name}");
        let schema = &response["content"]["application/problem+json"]["schema"];
        let status = schema["allOf"][1]["properties"]["status"]["const"]
            .as_u64()
            .unwrap_or_else(|| panic!("{context}: no status const"));
        let kinds = problem_kinds(response, status as u16, &context);
        for kind in &kinds {
            let code = ProblemKind::ALL.iter().find(|k| k.name() == kind);
            let code = code.unwrap_or_else(|| panic!("{context}: {kind} is no kind of the code"));
            assert_eq!(
                u64::from(code.status().as_u16()),
                status,
                "{context}: {kind}"
            );
        }
        if !referenced.contains(format!("#/components/responses/{name}").as_str()) {
            unrouted.extend(kinds.iter().cloned());
        }
        documented.extend(kinds);
    }
    assert_eq!(documented, names(ProblemKind::ALL));
    assert_eq!(
        unrouted,
        names(UNROUTED_PROBLEMS),
        "the responses no operation names are those of requests that match no route"
    );
}

#[test]
fn every_answer_declares_the_headers_the_code_sends() {
    let doc = document();
    let mut responses: Vec<(String, &Value)> = doc["components"]["responses"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, response)| (name.clone(), response))
        .collect();
    for route in ROUTES {
        for (status, response) in operation(&doc, route)["responses"].as_object().unwrap() {
            responses.push((format!("{} {status}", route.route_key()), response));
        }
    }
    for (context, response) in responses {
        let response = resolve(&doc, response);
        let headers = header_names(response);
        for always in ["cache-control", "x-content-type-options"] {
            assert!(headers.contains(always), "{context}: {always}");
        }
        let kinds = response
            .pointer("/content/application~1problem+json/schema/allOf/1/properties/type/enum")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>();
        for (kind, header) in [
            (ProblemKind::Unauthorized, "www-authenticate"),
            (ProblemKind::Unavailable, "retry-after"),
            (ProblemKind::MethodNotAllowed, "allow"),
        ] {
            if kinds.contains(&kind.type_uri().as_str()) {
                assert!(headers.contains(header), "{context}: {header}");
            }
        }
    }
    for route in [Route::GetTask, Route::UpdateTask, Route::CompleteTask] {
        let ok = resolve(&doc, &operation(&doc, route)["responses"]["200"]);
        assert!(header_names(ok).contains("etag"), "{}", route.route_key());
    }
    let created = resolve(
        &doc,
        &operation(&doc, Route::CreateTask)["responses"]["201"],
    );
    let expected = ["etag", "location", "idempotent-replayed"];
    assert!(header_names(created).is_superset(&expected.map(String::from).into()));
}

#[test]
fn the_limits_are_the_codes() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    let parameters = &doc["components"]["parameters"];

    let longest = |schema: &Value| schema["maxLength"].as_u64().expect("maxLength") as usize;
    let title = longest(&schemas["Title"]);
    assert_eq!(schemas["Title"]["minLength"], 1);
    assert!(TaskTitle::parse(&"a".repeat(title)).is_ok());
    assert!(TaskTitle::parse(&"a".repeat(title + 1)).is_err());
    assert!(TaskTitle::parse(" ").is_err());
    let description = longest(&schemas["Description"]);
    assert!(TaskDescription::parse(&"a".repeat(description)).is_ok());
    assert!(TaskDescription::parse(&"a".repeat(description + 1)).is_err());

    let limit = &parameters["limit"]["schema"];
    assert_eq!(limit["minimum"], 1);
    assert_eq!(limit["maximum"], PageLimit::MAX);
    assert_eq!(limit["default"], PageLimit::DEFAULT.get());
    assert!(PageLimit::new(0).is_none() && PageLimit::new(PageLimit::MAX + 1).is_none());

    let status = &parameters["status"]["schema"];
    for value in status["enum"].as_array().unwrap() {
        let value = value.as_str().unwrap();
        assert!(value.parse::<StatusFilter>().is_ok(), "{value}");
    }
    assert_eq!(status["default"], "all");
    assert_eq!(
        "all".parse::<StatusFilter>().ok(),
        Some(StatusFilter::default())
    );

    let key = &parameters["Idempotency-Key"]["schema"];
    assert_eq!(key["maxLength"], MAX_IDEMPOTENCY_KEY_CHARS);

    let session = longest(&parameters["session_id"]["schema"]);
    assert!(SessionId::parse(&"s".repeat(session)).is_some());
    assert!(SessionId::parse(&"s".repeat(session + 1)).is_none());

    let example = &schemas["TaskId"]["examples"][0];
    assert!(example.as_str().unwrap().parse::<TaskId>().is_ok());
}
