//! The HS256 secret read from AWS Secrets Manager: stage `AWSCURRENT` and, during a rotation,
//! `AWSPREVIOUS`, so Secrets Manager's standard rotation needs no redeploy.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;

use super::AuthError;
use super::config::hs256_secret;
use super::keys::KeySet;
use super::refresh::{Fetched, KeyFetcher};
use crate::config::ConfigError;
use crate::metrics::{self, Metric};

/// The stage that signs and verifies.
const CURRENT: &str = "AWSCURRENT";
/// The stage that still verifies during a rotation.
const PREVIOUS: &str = "AWSPREVIOUS";

/// Why the secret could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The service call failed (the message is the SDK's, which never holds the value).
    #[error("GetSecretValue {stage} failed: {message}")]
    Call {
        stage: &'static str,
        message: String,
    },
    #[error("stage {0} holds neither SecretString nor SecretBinary")]
    Empty(&'static str),
    #[error("stage {stage}: {error}")]
    Refused {
        stage: &'static str,
        #[source]
        error: ConfigError,
    },
}

/// One secret in Secrets Manager, by name or ARN.
pub struct SecretsManagerSecret {
    client: Client,
    id: String,
}

impl SecretsManagerSecret {
    pub fn new(client: Client, id: String) -> Self {
        Self { client, id }
    }

    /// The value of `stage`, or `None` when the secret has no version in that stage. Each read
    /// is counted, and a failed one counted again ([`Metric::SecretReads`],
    /// [`Metric::SecretFailures`]).
    async fn stage(&self, stage: &'static str) -> Result<Option<Vec<u8>>, SecretError> {
        metrics::count(Metric::SecretReads);
        let read = self.read_stage(stage).await;
        if read.is_err() {
            metrics::count(Metric::SecretFailures);
        }
        read
    }

    async fn read_stage(&self, stage: &'static str) -> Result<Option<Vec<u8>>, SecretError> {
        let output = match self
            .client
            .get_secret_value()
            .secret_id(&self.id)
            .version_stage(stage)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error)
                if stage == PREVIOUS
                    && matches!(
                        error.as_service_error(),
                        Some(GetSecretValueError::ResourceNotFoundException(_))
                    ) =>
            {
                return Ok(None);
            }
            Err(error) => {
                let message = match error.as_service_error() {
                    Some(service) => format!(
                        "{}: {}",
                        service.code().unwrap_or("error"),
                        service.message().unwrap_or_default()
                    ),
                    None => DisplayErrorContext(&error).to_string(),
                };
                return Err(SecretError::Call { stage, message });
            }
        };
        let value = match (output.secret_string, output.secret_binary) {
            (Some(text), _) => text.into_bytes(),
            (None, Some(blob)) => blob.into_inner(),
            (None, None) => return Err(SecretError::Empty(stage)),
        };
        hs256_secret("AUTH_HS256_SECRET_ID", value)
            .map(Some)
            .map_err(|error| SecretError::Refused { stage, error })
    }

    async fn fetch_secrets(&self) -> Result<Fetched, SecretError> {
        let current = self
            .stage(CURRENT)
            .await?
            .ok_or(SecretError::Empty(CURRENT))?;
        let previous = self.stage(PREVIOUS).await?;
        let keys = KeySet::hs256(&current, previous.as_deref()).map_err(|reason| {
            SecretError::Refused {
                stage: CURRENT,
                error: ConfigError::new("AUTH_HS256_SECRET_ID", reason),
            }
        })?;
        Ok(Fetched {
            keys,
            max_age: None,
        })
    }
}

#[async_trait::async_trait]
impl KeyFetcher for SecretsManagerSecret {
    async fn fetch(&self) -> Result<Fetched, Box<dyn std::error::Error + Send + Sync>> {
        Ok(self.fetch_secrets().await?)
    }

    fn describe(&self) -> &str {
        &self.id
    }

    /// A signature that no secret we hold verifies may come from a secret rotated in since.
    fn may_be_newer(&self, error: &AuthError) -> bool {
        *error == AuthError::BadSignature
    }
}
