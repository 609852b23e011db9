//! The AWS SDK settings every client runs with, loaded once per cold start and shared by the
//! DynamoDB store and the Secrets Manager key source.

mod trust;

use std::time::Duration;

use aws_config::environment::EnvironmentVariableRegionProvider;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::ProfileFileRegionProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};

use crate::config::{ConfigError, process_env};
use trust::AMAZON_ROOTS;

/// The standard environment (region, credentials, `AWS_ENDPOINT_URL_<SERVICE>`), standard
/// retries with short backoff, timeouts well inside a Lambda function's (1 s to connect, 2 s
/// per attempt, 3 s per call with its retries), and HTTPS trusting the Amazon roots only
/// (`aws/trust.rs`).
pub fn sdk_config_loader() -> ConfigLoader {
    with_roots(AMAZON_ROOTS)
}

/// The settings of [`sdk_config_loader`], trusting the CA certificates of `roots` (PEM).
fn with_roots(roots: &[u8]) -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(trust::https_client(roots))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_attempt_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(3))
                .build(),
        )
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(50))
                .with_max_backoff(Duration::from_secs(1)),
        )
}

/// The settings of [`sdk_config_loader`] with the roots of `AWS_CA_BUNDLE` if set, and the
/// region from the environment or the profile only: never from EC2's instance metadata (Lambda
/// sets `AWS_REGION`), so a missing region is one clear error, printed before the SDK could log
/// metadata timeouts.
pub async fn load_default() -> Result<SdkConfig, ConfigError> {
    let roots = trust::roots(process_env("AWS_CA_BUNDLE").as_deref())?;
    let region = RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
        .or_else(ProfileFileRegionProvider::new())
        .region()
        .await
        .ok_or_else(no_region)?;
    load(with_roots(&roots).region(region)).await
}

/// Loads the settings (no network call); a missing region is a configuration error.
pub async fn load(loader: ConfigLoader) -> Result<SdkConfig, ConfigError> {
    let config = loader.load().await;
    if config.region().is_none() {
        return Err(no_region());
    }
    Ok(config)
}

fn no_region() -> ConfigError {
    ConfigError::new(
        "AWS_REGION",
        "is not set; the AWS clients need a region (Lambda sets it)",
    )
}
