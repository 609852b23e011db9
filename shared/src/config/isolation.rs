//! Who keeps users apart in DynamoDB: `DATA_ISOLATION` and, for `iam`, `TENANT_ROLE_ARN`.

use super::ConfigError;

/// Who keeps users apart in DynamoDB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataIsolation {
    /// `app` (the default outside the template): the code alone, on the function's own role.
    App,
    /// `iam`: IAM itself, through per-user sessions of `TENANT_ROLE_ARN` whose policy allows
    /// only the user's partition (`dynamodb:LeadingKeys`).
    Iam { tenant_role_arn: String },
}

impl DataIsolation {
    /// Reads `DATA_ISOLATION` (`app` when unset) and, for `iam`, `TENANT_ROLE_ARN`; `iam` needs
    /// a table (`has_table`).
    pub fn from_lookup(
        env: impl Fn(&str) -> Option<String>,
        has_table: bool,
    ) -> Result<Self, ConfigError> {
        match env("DATA_ISOLATION").as_deref() {
            None | Some("app") => Ok(Self::App),
            Some("iam") if !has_table => Err(ConfigError::new(
                "DATA_ISOLATION",
                "iam needs TASKS_TABLE (the in-memory store has no IAM)",
            )),
            Some("iam") => match env("TENANT_ROLE_ARN") {
                Some(arn) if arn.starts_with("arn:") && arn.contains(":role/") => Ok(Self::Iam {
                    tenant_role_arn: arn,
                }),
                Some(_) => Err(ConfigError::new(
                    "TENANT_ROLE_ARN",
                    "must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)",
                )),
                None => Err(ConfigError::new(
                    "TENANT_ROLE_ARN",
                    "is not set; DATA_ISOLATION=iam assumes this role for each user",
                )),
            },
            Some(other) => Err(ConfigError::new(
                "DATA_ISOLATION",
                format!("must be iam or app, got {other:?}"),
            )),
        }
    }

    /// A name for logs.
    pub fn mode(&self) -> &'static str {
        match self {
            Self::App => "app",
            Self::Iam { .. } => "iam",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::lookup;

    #[test]
    fn iam_isolation_needs_a_table_and_a_role() {
        let isolation = |vars: &[(&str, &str)]| DataIsolation::from_lookup(lookup(vars), true);
        assert_eq!(isolation(&[]), Ok(DataIsolation::App));
        assert_eq!(
            isolation(&[("DATA_ISOLATION", "app")]),
            Ok(DataIsolation::App)
        );
        let refused = |vars: &[(&str, &str)]| isolation(vars).unwrap_err().variable;
        assert_eq!(refused(&[("DATA_ISOLATION", "iam")]), "TENANT_ROLE_ARN");
        assert_eq!(
            refused(&[("DATA_ISOLATION", "iam"), ("TENANT_ROLE_ARN", "tenant")]),
            "TENANT_ROLE_ARN"
        );
        assert_eq!(refused(&[("DATA_ISOLATION", "IAM")]), "DATA_ISOLATION");
        let role = "arn:aws:iam::123456789012:role/taskgate-tenant-data";
        assert_eq!(
            isolation(&[("DATA_ISOLATION", "iam"), ("TENANT_ROLE_ARN", role)]),
            Ok(DataIsolation::Iam {
                tenant_role_arn: role.into()
            })
        );
        let no_table = DataIsolation::from_lookup(lookup(&[("DATA_ISOLATION", "iam")]), false);
        assert_eq!(no_table.unwrap_err().variable, "DATA_ISOLATION");
    }
}
