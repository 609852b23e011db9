//! Environment -> [`Config`], parsed once at cold start. Every error names the variable. Each
//! part is defined next to what it configures: auth in `auth`, the revocation cache's age bound
//! in `revocation`, limits and data isolation here.

mod isolation;
mod limits;

use std::borrow::Cow;
use std::time::Duration;

pub use crate::auth::config::{
    AuthConfig, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_LIFETIME, KeySource, auth_variables_set,
};
pub use crate::auth::refresh::RefreshPolicy;
pub use crate::revocation::{DEFAULT_REVOCATION_TTL, revocation_ttl};
pub use isolation::DataIsolation;
pub use limits::{DEFAULT_REQUEST_DEADLINE, DEFAULT_TASK_QUOTA, Limits};

/// Everything the functions and the local server read from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub auth: AuthConfig,
    /// `TASKS_TABLE`: the DynamoDB table; `None` selects the in-memory store.
    pub tasks_table: Option<String>,
    /// `DATA_ISOLATION`: who keeps users apart in DynamoDB.
    pub isolation: DataIsolation,
    /// `TASK_QUOTA` and `REQUEST_DEADLINE_MS`: what one user and one request may cost.
    pub limits: Limits,
    /// `REVOCATION_TTL_S`: how long an instance may use a user's revocation state before
    /// reading it again; the bound on how late a sign-out reaches every instance.
    pub revocation_ttl: Duration,
}

/// A configuration problem, naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {variable}: {reason}")]
pub struct ConfigError {
    pub variable: Cow<'static, str>,
    pub reason: String,
}

impl ConfigError {
    pub fn new(variable: impl Into<Cow<'static, str>>, reason: impl Into<String>) -> Self {
        Self {
            variable: variable.into(),
            reason: reason.into(),
        }
    }
}

impl Config {
    /// Reads the process environment; an unknown or empty `AUTH_*` variable is an error.
    pub fn from_env() -> Result<Self, ConfigError> {
        auth_variables_set(process_vars())?;
        Self::from_lookup(process_env)
    }

    /// Reads configuration through `env`, which returns a variable's value or `None`.
    pub fn from_lookup(env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let tasks_table = env("TASKS_TABLE");
        if tasks_table.is_none() && in_lambda(&env) {
            return Err(ConfigError::new(
                "TASKS_TABLE",
                "is not set; a Lambda function needs its DynamoDB table",
            ));
        }
        Ok(Self {
            auth: AuthConfig::from_lookup(&env)?,
            isolation: DataIsolation::from_lookup(&env, tasks_table.is_some())?,
            limits: Limits::from_lookup(&env)?,
            revocation_ttl: revocation_ttl(&env)?,
            tasks_table,
        })
    }
}

/// Whether this process runs inside AWS Lambda.
pub fn in_lambda(env: impl Fn(&str) -> Option<String>) -> bool {
    [
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_EXECUTION_ENV",
    ]
    .iter()
    .any(|name| env(name).is_some())
}

/// The process environment, with empty values treated as unset.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The process environment as (name, value) pairs, values that are not UTF-8 made lossy.
pub fn process_vars() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().map(|(name, value)| {
        (
            name.to_string_lossy().into_owned(),
            value.to_string_lossy().into_owned(),
        )
    })
}

/// An environment holding only `vars`, for tests.
#[cfg(test)]
pub(crate) fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTH: [(&str, &str); 3] = [
        ("AUTH_ISSUER", "http://localhost:3000"),
        ("AUTH_AUDIENCE", "http://localhost:3000"),
        ("AUTH_JWKS", "{}"),
    ];

    #[test]
    fn a_configuration_is_auth_table_isolation_and_limits() {
        let mut vars = AUTH.to_vec();
        vars.extend([("TASKS_TABLE", "t"), ("TASK_QUOTA", "3")]);
        let config = Config::from_lookup(lookup(&vars)).unwrap();
        assert_eq!(config.auth.issuer, "http://localhost:3000");
        assert_eq!(config.tasks_table.as_deref(), Some("t"));
        assert_eq!(config.isolation, DataIsolation::App);
        assert_eq!(config.limits.task_quota, 3);
        let in_memory = Config::from_lookup(lookup(&AUTH)).unwrap();
        assert_eq!(in_memory.tasks_table, None);
        assert_eq!(in_memory.limits, Limits::default());
        assert_eq!(in_memory.revocation_ttl, DEFAULT_REVOCATION_TTL);
    }

    #[test]
    fn each_part_reports_its_own_variable() {
        let error = |extra: (&'static str, &'static str)| {
            let mut vars = AUTH.to_vec();
            vars.push(extra);
            Config::from_lookup(lookup(&vars)).unwrap_err().variable
        };
        assert_eq!(error(("AUTH_LEEWAY_SECONDS", "x")), "AUTH_LEEWAY_SECONDS");
        assert_eq!(error(("DATA_ISOLATION", "iam")), "DATA_ISOLATION");
        assert_eq!(error(("TASK_QUOTA", "0")), "TASK_QUOTA");
        assert_eq!(error(("REVOCATION_TTL_S", "301")), "REVOCATION_TTL_S");
    }

    #[test]
    fn lambda_needs_a_table() {
        let mut vars = AUTH.to_vec();
        vars.push(("AWS_LAMBDA_FUNCTION_NAME", "f"));
        let error = Config::from_lookup(lookup(&vars)).unwrap_err();
        assert_eq!(error.variable, "TASKS_TABLE");
    }
}
