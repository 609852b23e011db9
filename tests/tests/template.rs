//! `template.yaml` and the `cargo lambda watch` router against the code: the same routes and
//! functions as the route table, least-privilege roles, and the table the store and the test
//! harness use.

use std::collections::BTreeSet;

use serde_norway::Value;
use taskgate::Route;
use taskgate::app::{AUTHORIZER_ITEM_ACCESS, item_access, item_access_of};
use taskgate::http::routes::ROUTES;
use taskgate::metrics::{Metric, Metrics};
use taskgate::tasks::dynamodb::{ItemAccess, USER_TAG, session_policy};
use taskgate_tests::dynamodb_local::{
    self, IndexDefinition, TableDefinition, table_definition, template,
};
use taskgate_tests::repo_path;

/// (route key, function name) for every route of the route table.
fn route_table() -> BTreeSet<(String, String)> {
    ROUTES
        .into_iter()
        .map(|route: Route| (route.route_key(), route.function_name().to_string()))
        .collect()
}

/// The Python example route behind the authorizer (examples/whoami).
const WHOAMI: &str = "WhoamiFunction";
/// The Lambda authorizer's function.
const AUTHORIZER: &str = "AuthorizerFunction";

/// Every `AWS::Serverless::Function` of the template, by logical id.
fn all_functions(template: &Value) -> Vec<(String, Value)> {
    template["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, resource)| resource["Type"] == "AWS::Serverless::Function")
        .map(|(id, resource)| (id.as_str().unwrap().to_string(), resource.clone()))
        .collect()
}

/// The Rust functions (built by cargo lambda): every route's, and the authorizer.
fn functions(template: &Value) -> Vec<(String, Value)> {
    all_functions(template)
        .into_iter()
        .filter(|(id, _)| id != WHOAMI)
        .collect()
}

/// The route functions: every Rust function but the authorizer.
fn route_functions(template: &Value) -> Vec<(String, Value)> {
    functions(template)
        .into_iter()
        .filter(|(id, _)| id != AUTHORIZER)
        .collect()
}

fn binary(function: &Value) -> &str {
    function["Metadata"]["BuildProperties"]["Binary"]
        .as_str()
        .expect("BuildProperties.Binary")
}

/// A CloudFormation short-form function (`!Ref X`, `!GetAtt X.Arn`) as `("!Ref", value)`.
fn tagged(value: &Value) -> Option<(String, &Value)> {
    match value {
        Value::Tagged(tagged) => Some((tagged.tag.to_string(), &tagged.value)),
        _ => None,
    }
}

fn is_tagged(value: &Value, tag: &str, target: &str) -> bool {
    tagged(value).is_some_and(|(t, v)| t == tag && v == target)
}

#[test]
fn the_templates_routes_are_the_route_table() {
    let template = template();
    let mut routes = BTreeSet::new();
    for (id, function) in route_functions(&template) {
        let events = function["Properties"]["Events"]
            .as_mapping()
            .unwrap_or_else(|| panic!("{id} has no events"));
        for event in events.values() {
            assert_eq!(event["Type"], "HttpApi", "{id}");
            let properties = &event["Properties"];
            assert!(is_tagged(&properties["ApiId"], "!Ref", "HttpApi"), "{id}");
            assert_eq!(properties["PayloadFormatVersion"], "2.0", "{id}");
            // taskgate's own routes verify in their functions (docs/deploy.md for putting them
            // behind the authorizer too).
            assert!(properties.get("Auth").is_none(), "{id}");
            let key = format!(
                "{} {}",
                properties["Method"].as_str().unwrap(),
                properties["Path"].as_str().unwrap()
            );
            assert!(routes.insert((key, binary(&function).to_string())), "{id}");
        }
    }
    assert_eq!(routes, route_table());
}

#[test]
fn every_function_is_a_workspace_binary_built_by_cargo_lambda() {
    let template = template();
    let workspace: toml::Table = std::fs::read_to_string(repo_path("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let members = workspace["workspace"]["members"].as_array().unwrap();
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"][0], "arm64");
    assert_eq!(globals["Architectures"].as_sequence().unwrap().len(), 1);
    assert_eq!(globals["MemorySize"], 128);
    assert_eq!(globals["Handler"], "bootstrap");
    assert_eq!(globals["LoggingConfig"]["LogFormat"], "JSON");

    let functions = functions(&template);
    assert_eq!(
        functions.len(),
        ROUTES.len() + 1,
        "the routes and the authorizer"
    );
    assert_eq!(
        all_functions(&template).len(),
        functions.len() + 1,
        "and the Python example"
    );
    for (id, function) in &functions {
        assert_eq!(
            function["Metadata"]["BuildMethod"], "rust-cargolambda",
            "{id}"
        );
        for setting in ["Runtime", "Architectures", "MemorySize", "CodeUri"] {
            assert!(
                function["Properties"].get(setting).is_none(),
                "{id} overrides the global {setting}"
            );
        }
        let name = binary(function);
        let manifest = repo_path(&format!("functions/{name}/Cargo.toml"));
        let package: toml::Table = std::fs::read_to_string(&manifest)
            .unwrap_or_else(|e| panic!("{id}: {}: {e}", manifest.display()))
            .parse()
            .unwrap();
        assert_eq!(package["package"]["name"].as_str(), Some(name), "{id}");
        assert!(repo_path(&format!("functions/{name}/src/main.rs")).is_file());
        assert!(
            members
                .iter()
                .any(|m| m.as_str() == Some(&format!("functions/{name}"))),
            "{name} is not a workspace member"
        );
    }
}

/// `!If [condition, !Ref policy, !Ref AWS::NoValue]`: a managed policy attached under a condition.
fn is_conditional_policy(policy: &Value, condition: &str, name: &str) -> bool {
    tagged(policy).is_some_and(|(tag, choice)| {
        tag == "!If"
            && choice[0] == condition
            && is_tagged(&choice[1], "!Ref", name)
            && is_tagged(&choice[2], "!Ref", "AWS::NoValue")
    })
}

fn is_secret_policy(policy: &Value) -> bool {
    is_conditional_policy(policy, "UseHs256Secret", "ReadAuthSecretPolicy")
}

/// The status index's ARN, as the template writes it.
const STATUS_INDEX_ARN: &str = "${TasksTable.Arn}/index/by_status";

/// The actions of an inline statement, which must be on the table's ARN only (and for a list,
/// the status index's), and its condition as JSON.
fn table_access(id: &str, statement: &Value) -> (BTreeSet<String>, Option<serde_json::Value>) {
    assert_eq!(statement["Effect"], "Allow");
    let resource = &statement["Resource"];
    let table_only = is_tagged(resource, "!GetAtt", "TasksTable.Arn");
    let table_and_index = resource.as_sequence().is_some_and(|list| {
        matches!(list.as_slice(), [table, index]
            if is_tagged(table, "!GetAtt", "TasksTable.Arn")
                && is_tagged(index, "!Sub", STATUS_INDEX_ARN))
    });
    let lists = statement["Action"] == "dynamodb:Query"
        || statement["Action"].as_sequence().map(Vec::as_slice)
            == Some(&[Value::from("dynamodb:Query")]);
    assert!(
        table_only || (lists && table_and_index),
        "{id}: resource must be the table's ARN only (a list's also the status index's): {resource:?}",
    );
    let actions = match &statement["Action"] {
        Value::String(action) => BTreeSet::from([action.clone()]),
        actions => actions
            .as_sequence()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect(),
    };
    let condition = statement
        .get("Condition")
        .map(|condition| serde_json::to_value(condition).expect("a condition without tags"));
    (actions, condition)
}

fn set(actions: &[&str]) -> BTreeSet<String> {
    actions.iter().map(|a| a.to_string()).collect()
}

/// An [`ItemAccess`] as the template's statement of it reads: its actions and condition.
fn expected(access: &ItemAccess) -> (BTreeSet<String>, Option<serde_json::Value>) {
    (set(access.actions), access.condition())
}

/// A Rust function's role (a route's or the authorizer's): `DescribeTable` (its cold-start call)
/// on the table in both isolation modes; `needed` (the same list its session policy uses) only
/// in `app` isolation; in `iam` isolation only the policy that assumes the tenant role; and the
/// secret's policy in HS256 mode. No other managed policy, no SAM policy template (e.g.
/// DynamoDBCrudPolicy).
fn assert_table_access_only(id: &str, function: &Value, needed: &[ItemAccess]) {
    let policies = function["Properties"]["Policies"].as_sequence().unwrap();
    let [inline, assume, secret] = policies.as_slice() else {
        panic!("{id}: three policies: {policies:?}");
    };
    assert!(is_secret_policy(secret), "{id}");
    assert!(
        is_conditional_policy(assume, "IamIsolation", "AssumeTenantRolePolicy"),
        "{id}"
    );
    assert_eq!(inline.as_mapping().unwrap().len(), 1, "{id}: {inline:?}");
    let [describe, app_only @ ..] = inline["Statement"].as_sequence().unwrap().as_slice() else {
        panic!("{id}: statements");
    };
    assert_eq!(
        (set(&["dynamodb:DescribeTable"]), None),
        table_access(id, describe)
    );
    let granted: Vec<_> = app_only
        .iter()
        .map(|statement| {
            let (tag, choice) = tagged(statement).expect("!If");
            assert_eq!(tag, "!If");
            assert_eq!(choice[0], "IamIsolation");
            assert!(
                is_tagged(&choice[1], "!Ref", "AWS::NoValue"),
                "{id}: no item access in iam"
            );
            table_access(id, &choice[2])
        })
        .collect();
    let needed: Vec<_> = needed.iter().map(expected).collect();
    assert_eq!(granted, needed, "{id}");
}

/// Each route's role: its route's item access (its own actions, and the attribute-restricted
/// access to the revocation item), as [`assert_table_access_only`] checks it.
#[test]
fn each_function_may_call_only_what_its_route_needs_on_the_table_only() {
    let template = template();
    let functions = functions(&template);
    for route in ROUTES {
        let (id, function) = functions
            .iter()
            .find(|(_, f)| binary(f) == route.function_name())
            .unwrap_or_else(|| panic!("no function for {route:?}"));
        assert_table_access_only(id, function, item_access(route));
    }
}

/// The authorizer's role, like a route's: `DescribeTable` (its cold-start call, which reveals
/// the table's metadata, never an item) and, in `app` isolation only, the attribute-restricted
/// read of the revocation item and nothing else of the table; in `iam` isolation the policy
/// that assumes the tenant role; and the secret's policy in HS256 mode. The Python route behind
/// it has no policy at all: no table, no secret, no tenant role.
#[test]
fn the_authorizer_may_only_read_the_revocation_state_and_whoami_nothing() {
    let template = template();
    let resources = &template["Resources"];
    let authorizer = &resources[AUTHORIZER];
    assert_eq!(binary(authorizer), "authorizer");
    assert_table_access_only(AUTHORIZER, authorizer, AUTHORIZER_ITEM_ACCESS);

    let whoami = &resources[WHOAMI];
    assert!(
        whoami["Properties"].get("Policies").is_none(),
        "whoami gets Lambda's basic execution role only"
    );
}

/// The Python route: a supported Python runtime (3.12 or newer) on the global arm64, its code
/// in `examples/whoami/src/`, its one route behind the authorizer.
#[test]
fn whoami_is_a_python_route_behind_the_authorizer() {
    let template = template();
    let whoami = &template["Resources"][WHOAMI]["Properties"];
    let runtime = whoami["Runtime"].as_str().expect("Runtime");
    let minor: u32 = runtime
        .strip_prefix("python3.")
        .and_then(|minor| minor.parse().ok())
        .unwrap_or_else(|| panic!("not a Python 3 runtime: {runtime}"));
    assert!(minor >= 12, "{runtime}");
    assert!(whoami.get("Architectures").is_none(), "the global arm64");
    assert_eq!(whoami["Handler"], "app.handler");
    let code = whoami["CodeUri"].as_str().unwrap();
    assert!(repo_path(code).join("app.py").is_file(), "{code}app.py");
    let events = whoami["Events"].as_mapping().unwrap();
    let [event] = events.values().collect::<Vec<_>>()[..] else {
        panic!("one event");
    };
    let properties = &event["Properties"];
    assert_eq!(event["Type"], "HttpApi");
    assert!(is_tagged(&properties["ApiId"], "!Ref", "HttpApi"));
    assert_eq!(properties["Method"], "GET");
    assert_eq!(properties["Path"], "/api/{user_id}/whoami");
    assert_eq!(properties["PayloadFormatVersion"], "2.0");
    assert_eq!(properties["Auth"]["Authorizer"], "TaskgateAuthorizer");
}

/// The tenant role: trusted by the nine Rust function roles (the routes' and the authorizer's)
/// only, with the user tag; its one policy allows exactly the item actions the routes need, on
/// the table, only on the partition named by the session's tag. (`tests/iam/` evaluates these
/// policies with a real IAM evaluator.)
#[test]
fn the_tenant_role_allows_the_routes_actions_on_the_tagged_partition_only() {
    let template = template();
    let role = &template["Resources"]["TenantDataRole"];
    assert_eq!(role["Condition"], "IamIsolation");
    let properties = &role["Properties"];
    let functions: BTreeSet<String> = functions(&template)
        .into_iter()
        .map(|(id, _)| format!("{id}Role.Arn"))
        .collect();
    for statement in properties["AssumeRolePolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
    {
        let principals: BTreeSet<String> = statement["Principal"]["AWS"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|p| match tagged(p) {
                Some((tag, target)) if tag == "!GetAtt" => target.as_str().unwrap().to_string(),
                _ => panic!("principal {p:?}"),
            })
            .collect();
        assert_eq!(principals, functions);
        assert!(!principals.contains(&format!("{WHOAMI}Role.Arn")));
        assert_eq!(
            statement["Condition"]["StringLike"][format!("aws:RequestTag/{USER_TAG}")],
            "?*"
        );
    }
    let [policy] = properties["Policies"].as_sequence().unwrap().as_slice() else {
        panic!("one policy");
    };
    let [statement, index_statement] = policy["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
        .as_slice()
    else {
        panic!("two statements: the table, and Query on the status index");
    };
    let all_routes: BTreeSet<String> = item_access_of(&ROUTES)
        .iter()
        .flat_map(|access| access.actions)
        .map(|a| a.to_string())
        .collect();
    let actions: BTreeSet<String> = statement["Action"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert_eq!(actions, all_routes);
    assert!(is_tagged(
        &statement["Resource"],
        "!GetAtt",
        "TasksTable.Arn"
    ));
    let condition = &statement["Condition"];
    assert_eq!(
        condition["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"][0],
        format!("${{aws:PrincipalTag/{USER_TAG}}}")
    );
    assert_eq!(condition["Null"]["dynamodb:LeadingKeys"], "false");
    assert_eq!(index_statement["Effect"], "Allow");
    assert_eq!(index_statement["Action"], "dynamodb:Query");
    assert!(is_tagged(
        &index_statement["Resource"],
        "!Sub",
        STATUS_INDEX_ARN
    ));
    assert_eq!(
        &index_statement["Condition"], condition,
        "the same partition condition"
    );

    let variables = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert!(is_tagged(
        &variables["DATA_ISOLATION"],
        "!Ref",
        "DataIsolation"
    ));
    assert_eq!(template["Parameters"]["DataIsolation"]["Default"], "iam");
    let (_, choice) = tagged(&variables["TENANT_ROLE_ARN"]).expect("!If");
    assert_eq!(choice[0], "IamIsolation");
    assert!(is_tagged(&choice[1], "!GetAtt", "TenantDataRole.Arn"));
}

/// What `tests/iam/` evaluates as each function's tenant session policy: the one the store builds
/// for the routes of that function. `TASKGATE_BLESS=1` writes the file from the code.
#[test]
fn tests_iam_evaluates_the_session_policies_the_code_builds() {
    let path = repo_path("tests/iam/session-policies.json");
    let mut policies = serde_json::Map::new();
    for route in ROUTES {
        let policy: serde_json::Value =
            serde_json::from_str(&session_policy(&item_access_of(&[route]))).unwrap();
        policies.insert(route.function_name().into(), policy);
    }
    let authorizer: serde_json::Value =
        serde_json::from_str(&session_policy(AUTHORIZER_ITEM_ACCESS)).unwrap();
    policies.insert("authorizer".into(), authorizer);
    let expected = serde_json::to_string_pretty(&policies).unwrap() + "\n";
    if std::env::var_os("TASKGATE_BLESS").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        stored == expected,
        "{} is not the session policies the code builds; run \
         `TASKGATE_BLESS=1 cargo test -p taskgate-tests --test template` to write it:\n{expected}",
        path.display()
    );
}

#[test]
fn the_functions_get_only_the_hs256_secrets_arn_and_may_read_only_that_secret() {
    let template = template();
    let variables = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert!(
        variables.get("AUTH_HS256_SECRET").is_none(),
        "the secret's value is never in the configuration"
    );
    let (tag, choice) = tagged(&variables["AUTH_HS256_SECRET_ID"]).expect("!If");
    assert_eq!(tag, "!If");
    assert_eq!(choice[0], "UseHs256Secret");
    assert!(is_tagged(&choice[1], "!Ref", "AuthHs256SecretArn"));
    assert!(is_tagged(&choice[2], "!Ref", "AWS::NoValue"));

    let policy = &template["Resources"]["ReadAuthSecretPolicy"];
    assert_eq!(policy["Type"], "AWS::IAM::ManagedPolicy");
    assert_eq!(policy["Condition"], "UseHs256Secret");
    let statements = policy["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap();
    let [read, decrypt] = statements.as_slice() else {
        panic!("two statements: {statements:?}");
    };
    assert_eq!(read["Effect"], "Allow");
    assert_eq!(read["Action"], "secretsmanager:GetSecretValue");
    assert!(is_tagged(&read["Resource"], "!Ref", "AuthHs256SecretArn"));
    let (tag, choice) = tagged(decrypt).expect("!If");
    assert_eq!(tag, "!If");
    assert_eq!(choice[0], "UseSecretKmsKey");
    assert_eq!(choice[1]["Action"], "kms:Decrypt");
    assert!(is_tagged(
        &choice[1]["Resource"],
        "!Ref",
        "AuthHs256SecretKmsKeyArn"
    ));
    assert!(tagged(&choice[1]["Condition"]["StringEquals"]["kms:ViaService"]).is_some());
    assert!(is_tagged(&choice[2], "!Ref", "AWS::NoValue"));

    // No parameter carries a secret value itself.
    let parameters = template["Parameters"].as_mapping().unwrap();
    for (name, parameter) in parameters {
        let name = name.as_str().unwrap();
        assert!(
            !name.to_lowercase().contains("secret") || name.ends_with("Arn"),
            "{name}"
        );
        assert!(parameter["Type"].as_str().is_some(), "{name}");
    }
    for name in [
        "AuthJwksUrl",
        "AuthIssuer",
        "AuthAudience",
        "AllowedOrigins",
        "AuthHs256SecretArn",
        "AuthHs256SecretKmsKeyArn",
    ] {
        assert!(parameters.contains_key(name), "{name}");
    }
}

#[test]
fn the_http_api_has_cors_throttling_and_json_access_logs() {
    let template = template();
    let api = &template["Resources"]["HttpApi"];
    assert_eq!(api["Type"], "AWS::Serverless::HttpApi");
    let properties = &api["Properties"];
    // CORS when AllowedOrigins is set: the whole configuration is one `!If` (see the template).
    let (tag, choice) = tagged(&properties["CorsConfiguration"]).expect("!If");
    assert_eq!(tag, "!If");
    assert_eq!(choice[0], "HasAllowedOrigins");
    let allowed = &template["Parameters"]["AllowedOrigins"];
    assert_eq!(allowed["Default"], "", "no CORS unless origins are given");
    let cors = &choice[1];
    let (tag, split) = tagged(&cors["AllowOrigins"]).expect("!Split");
    assert_eq!(tag, "!Split");
    assert_eq!(split[0], ",");
    assert!(is_tagged(&split[1], "!Ref", "AllowedOrigins"));
    let list = |value: &Value| -> Vec<String> {
        value
            .as_sequence()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        list(&cors["AllowHeaders"]),
        [
            "Authorization",
            "Content-Type",
            "If-Match",
            "Idempotency-Key"
        ]
    );
    assert_eq!(list(&cors["ExposeHeaders"]), ["ETag", "Location"]);
    let methods = list(&cors["AllowMethods"]);
    for route in ROUTES {
        assert!(methods.contains(&route.method().to_string()));
    }
    let throttling = &properties["DefaultRouteSettings"];
    assert!(throttling.get("ThrottlingBurstLimit").is_some());
    assert!(throttling.get("ThrottlingRateLimit").is_some());
    let format = properties["AccessLogSettings"]["Format"].as_str().unwrap();
    let log: serde_json::Value = serde_json::from_str(format).expect("access log format is JSON");
    assert_eq!(log["requestId"], "$context.requestId");
    assert_eq!(log["routeKey"], "$context.routeKey");
    let outputs = template["Outputs"].as_mapping().unwrap();
    assert!(
        properties["Auth"].get("DefaultAuthorizer").is_none(),
        "no route behind the authorizer unless it names it"
    );
    assert!(outputs.contains_key("ApiUrl") && outputs.contains_key("TasksTableName"));
}

/// The HTTP API's Lambda authorizer: the authorizer function, payload 2.0 with simple
/// responses, the Authorization header as identity source, its cache a parameter that defaults
/// to 0 (a cached allow outlives a sign-out), and the permission for the API to invoke it.
#[test]
fn the_http_api_declares_the_lambda_authorizer() {
    let template = template();
    let authorizers = &template["Resources"]["HttpApi"]["Properties"]["Auth"]["Authorizers"];
    let authorizer = &authorizers["TaskgateAuthorizer"];
    assert_eq!(authorizers.as_mapping().unwrap().len(), 1);
    // The live alias, as the routes' integrations (tests/iam/aliases.test.mjs checks both in
    // the transformed template).
    assert!(is_tagged(
        &authorizer["FunctionArn"],
        "!Ref",
        &format!("{AUTHORIZER}.Alias")
    ));
    assert_eq!(authorizer["AuthorizerPayloadFormatVersion"], "2.0");
    assert_eq!(authorizer["EnableSimpleResponses"], true);
    assert_eq!(authorizer["EnableFunctionDefaultPermissions"], true);
    let identity = &authorizer["Identity"];
    assert_eq!(identity["Headers"], Value::from(vec!["Authorization"]));
    assert!(is_tagged(
        &identity["ReauthorizeEvery"],
        "!Ref",
        "AuthorizerCacheTtlSeconds"
    ));
    let ttl = &template["Parameters"]["AuthorizerCacheTtlSeconds"];
    assert_eq!(ttl["Type"], "Number");
    assert_eq!(ttl["Default"], 0, "every request asks the authorizer");
    assert_eq!(ttl["MinValue"], 0);
    assert_eq!(ttl["MaxValue"], 3600, "API Gateway's longest");
}

#[test]
fn the_table_is_durable_and_keyed_as_the_store_expects() {
    let template = template();
    let table = &template["Resources"]["TasksTable"];
    assert_eq!(table["DeletionPolicy"], "Retain");
    assert_eq!(table["UpdateReplacePolicy"], "Retain");
    let properties = &table["Properties"];
    assert_eq!(
        properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(properties["SSESpecification"]["SSEEnabled"], true);
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        table_definition(),
        TableDefinition {
            attributes: vec![
                pair("user_id", "S"),
                pair("task_id", "S"),
                pair("status_task", "S")
            ],
            keys: vec![pair("user_id", "HASH"), pair("task_id", "RANGE")],
            billing_mode: "PAY_PER_REQUEST".into(),
            ttl_attribute: Some("expires_at".into()),
            local_indexes: vec![IndexDefinition {
                name: "by_status".into(),
                keys: vec![pair("user_id", "HASH"), pair("status_task", "RANGE")],
                projection: "ALL".into(),
            }],
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_harness_creates_the_table_the_template_declares() {
    let local = dynamodb_local::shared();
    let name = local.new_table().await;
    let client = local.client().await;
    let described = client
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .unwrap();
    let table = described.table.unwrap();
    let attributes: Vec<(String, String)> = table
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_string(),
                a.attribute_type().as_str().to_string(),
            )
        })
        .collect();
    let keys: Vec<(String, String)> = table
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_string(),
                k.key_type().as_str().to_string(),
            )
        })
        .collect();
    let billing_mode = table
        .billing_mode_summary()
        .and_then(|summary| summary.billing_mode())
        .map(|mode| mode.as_str().to_string());
    let ttl = client
        .describe_time_to_live()
        .table_name(&name)
        .send()
        .await
        .unwrap();
    let ttl_attribute = ttl
        .time_to_live_description()
        .and_then(|d| d.attribute_name())
        .map(str::to_string);
    let local_indexes = table
        .local_secondary_indexes()
        .iter()
        .map(|index| IndexDefinition {
            name: index.index_name().unwrap_or_default().to_string(),
            keys: index
                .key_schema()
                .iter()
                .map(|k| {
                    (
                        k.attribute_name().to_string(),
                        k.key_type().as_str().to_string(),
                    )
                })
                .collect(),
            projection: index
                .projection()
                .and_then(|p| p.projection_type())
                .map(|p| p.as_str().to_string())
                .unwrap_or_default(),
        })
        .collect();
    let created = TableDefinition {
        attributes,
        keys,
        billing_mode: billing_mode.unwrap_or_default(),
        ttl_attribute,
        local_indexes,
    };
    assert_eq!(created, table_definition());
}

#[test]
fn the_watch_router_is_the_route_table() {
    let workspace: toml::Table = std::fs::read_to_string(repo_path("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let router = workspace["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .expect("[workspace.metadata.lambda.watch.router]");
    let mut routes = BTreeSet::new();
    // cargo lambda (matchit 0.8) writes path parameters as `{name}`, like API Gateway.
    for (path, entries) in router {
        for entry in entries.as_array().unwrap() {
            let key = format!("{} {path}", entry["method"].as_str().unwrap());
            let function = entry["function"].as_str().unwrap().to_string();
            assert!(routes.insert((key, function)));
        }
    }
    assert_eq!(routes, route_table());
}

#[test]
fn make_watch_serves_on_loopback_only() {
    let makefile = std::fs::read_to_string(repo_path("Makefile")).unwrap();
    let recipe = makefile
        .split("\nwatch:")
        .nth(1)
        .expect("a watch target")
        .lines()
        .nth(1)
        .expect("the watch recipe");
    assert!(
        recipe.ends_with("cargo lambda watch --invoke-address 127.0.0.1"),
        "{recipe}"
    );
}

// ---- operations: metrics, alarms, dashboard, tracing, canary deployments --------------------

/// The namespace the template gives the functions' metrics.
const METRICS_NAMESPACE: &str = "${MetricsNamespace}/${AWS::StackName}";

/// Every `AWS::CloudWatch::Alarm` of the template, by logical id.
fn alarms(template: &Value) -> Vec<(String, Value)> {
    template["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, resource)| resource["Type"] == "AWS::CloudWatch::Alarm")
        .map(|(id, resource)| (id.as_str().unwrap().to_string(), resource.clone()))
        .collect()
}

/// The alarm that rolls back `function`'s deployment on its own errors.
fn errors_alarm(function: &str) -> String {
    format!("{}ErrorsAlarm", function.trim_end_matches("Function"))
}

#[test]
fn every_function_is_traced_published_behind_an_alias_and_deployed_by_canary() {
    let template = template();
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Tracing"], "Active");
    assert_eq!(globals["AutoPublishAlias"], "live");
    let preference = &globals["DeploymentPreference"];
    assert_eq!(preference["Type"], "Canary10Percent5Minutes");
    let shared: Vec<&Value> = preference["Alarms"].as_sequence().unwrap().iter().collect();
    assert_eq!(shared.len(), 1);
    assert!(is_tagged(shared[0], "!Ref", "ApiServerErrorsAlarm"));
    let functions = all_functions(&template);
    assert_eq!(
        functions.len(),
        ROUTES.len() + 2,
        "the routes, the authorizer, whoami"
    );
    for (id, function) in functions {
        let properties = &function["Properties"];
        for inherited in ["Tracing", "AutoPublishAlias"] {
            assert!(
                properties.get(inherited).is_none(),
                "{id} overrides {inherited}"
            );
        }
        let preference = &properties["DeploymentPreference"];
        assert!(preference.get("Type").is_none(), "{id}: the Globals' type");
        assert!(preference.get("Enabled").is_none(), "{id}: never disabled");
        let own = preference["Alarms"].as_sequence().expect("its own alarms");
        assert_eq!(own.len(), 1, "{id}");
        assert!(is_tagged(&own[0], "!Ref", &errors_alarm(&id)), "{id}");
        let alarm = &template["Resources"][errors_alarm(&id).as_str()]["Properties"];
        assert_eq!(alarm["Namespace"], "AWS/Lambda", "{id}");
        assert_eq!(alarm["MetricName"], "Errors", "{id}");
        assert_eq!(alarm["Dimensions"][0]["Name"], "FunctionName", "{id}");
        assert!(
            is_tagged(&alarm["Dimensions"][0]["Value"], "!Ref", &id),
            "{id}"
        );
        assert_eq!(alarm["Threshold"], 1, "{id}: any error");
    }
}

#[test]
fn the_functions_get_a_metrics_namespace_of_their_stack() {
    let template = template();
    let variables = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert!(is_tagged(
        &variables["METRICS_NAMESPACE"],
        "!Sub",
        METRICS_NAMESPACE
    ));
    let parameter = &template["Parameters"]["MetricsNamespace"];
    assert_eq!(parameter["Default"], "taskgate");
    let namespace = format!("{}/a-stack-name", parameter["Default"].as_str().unwrap());
    let metrics = Metrics::from_lookup(
        |name| (name == "METRICS_NAMESPACE").then(|| namespace.clone()),
        "list-tasks",
    );
    assert!(metrics.is_ok(), "the functions accept it: {metrics:?}");
}

#[test]
fn the_alarms_watch_what_the_issue_asks_and_notify_the_optional_topic() {
    let template = template();
    let alarms = alarms(&template);
    let ids: BTreeSet<&str> = alarms.iter().map(|(id, _)| id.as_str()).collect();
    for required in [
        "ApiServerErrorsAlarm",
        "FunctionThrottlesAlarm",
        "FunctionDurationAlarm",
        "UnauthorizedSpikeAlarm",
        "CrossUserAlarm",
        "StsFailuresAlarm",
        "KeySourceFailuresAlarm",
    ] {
        assert!(ids.contains(required), "{required}");
    }
    for (id, _) in all_functions(&template) {
        assert!(ids.contains(errors_alarm(&id).as_str()), "{id}");
    }
    for (id, alarm) in &alarms {
        let properties = &alarm["Properties"];
        for actions in ["AlarmActions", "OKActions"] {
            let (tag, value) = tagged(&properties[actions]).expect("!If");
            assert_eq!(tag, "!If", "{id} {actions}");
            assert_eq!(value[0], "HasAlarmTopic", "{id} {actions}");
            assert!(is_tagged(&value[1][0], "!Ref", "AlarmTopicArn"), "{id}");
            assert!(is_tagged(&value[2], "!Ref", "AWS::NoValue"), "{id}");
        }
        assert_eq!(properties["TreatMissingData"], "notBreaching", "{id}");
        let description = properties["AlarmDescription"].as_str().unwrap();
        assert!(
            description.contains("docs/operations.md#"),
            "{id}: says where to read what to do"
        );
    }
    let cross_user = &template["Resources"]["CrossUserAlarm"]["Properties"];
    assert_eq!(cross_user["MetricName"], Metric::AuthCrossUser.name());
    assert_eq!(cross_user["Threshold"], 1, "any cross-user 403");
    let topic = &template["Parameters"]["AlarmTopicArn"];
    assert_eq!(topic["Default"], "", "no topic unless given");
}

#[test]
fn the_alarms_and_the_dashboard_read_only_metrics_the_functions_emit() {
    let template = template();
    let emitted: BTreeSet<&str> = Metric::ALL.iter().map(|metric| metric.name()).collect();
    let mut read = 0;
    let mut check = |namespace: &Value, name: &Value, what: &str| {
        let ours = is_tagged(namespace, "!Sub", METRICS_NAMESPACE)
            || namespace.as_str() == Some(METRICS_NAMESPACE);
        if ours {
            let name = name.as_str().expect("a metric name");
            assert!(
                emitted.contains(name),
                "{what} reads {name}, which no function emits"
            );
            read += 1;
        }
    };
    for (id, alarm) in alarms(&template) {
        let properties = &alarm["Properties"];
        check(&properties["Namespace"], &properties["MetricName"], &id);
        for query in properties["Metrics"].as_sequence().into_iter().flatten() {
            let metric = &query["MetricStat"]["Metric"];
            check(&metric["Namespace"], &metric["MetricName"], &id);
        }
    }
    let body = &template["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"];
    let (tag, body) = tagged(body).expect("!Sub");
    assert_eq!(tag, "!Sub");
    let body: serde_json::Value = serde_json::from_str(body.as_str().unwrap()).expect("JSON");
    let widgets = body["widgets"].as_array().expect("widgets");
    for widget in widgets {
        for metric in widget["properties"]["metrics"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let namespace = Value::from(metric[0].as_str().unwrap());
            let name = Value::from(metric[1].as_str().unwrap());
            check(&namespace, &name, "the dashboard");
        }
    }
    assert!(
        read > 20,
        "the alarms and the dashboard read the functions' metrics"
    );
    let alarm_widget = widgets
        .iter()
        .find(|widget| widget["type"] == "alarm")
        .expect("an alarm widget");
    let shown = alarm_widget["properties"]["alarms"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        shown,
        alarms(&template).len(),
        "every alarm on the dashboard"
    );
}
