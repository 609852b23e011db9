//! Log lines as Lambda's advanced logging controls ask for them, set up once per process.

use std::io::IsTerminal;

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::process_env;

/// Logs to stdout, without timestamps (CloudWatch adds its own) and colours only on a terminal,
/// as JSON when
/// `AWS_LAMBDA_LOG_FORMAT` is `JSON`, at the level of `AWS_LAMBDA_LOG_LEVEL`, else the
/// directives of `RUST_LOG`, else INFO (see `filter`).
pub fn init() {
    let directives = process_env("AWS_LAMBDA_LOG_LEVEL").or_else(|| process_env("RUST_LOG"));
    let (filter, refused) = filter(directives.as_deref());
    let format = tracing_subscriber::fmt::layer()
        .with_target(false)
        .without_time()
        .with_ansi(std::io::stdout().is_terminal());
    let json = process_env("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let registry = tracing_subscriber::registry().with(filter);
    match json {
        true => registry.with(format.json()).init(),
        false => registry.with(format).init(),
    }
    if let Some(directives) = refused {
        tracing::warn!(
            directives,
            "log level directives not understood; logging at INFO"
        );
    }
}

/// The filter of `directives`: a level (`debug`), or per-target levels with an optional default
/// (`warn,taskgate=debug`); INFO when unset. Directives it cannot read (`RUST_LOG`'s span and
/// field filters) give INFO, and are returned to be reported.
fn filter(directives: Option<&str>) -> (Targets, Option<&str>) {
    let info = Targets::new().with_default(LevelFilter::INFO);
    match directives.map(str::parse::<Targets>) {
        None => (info, None),
        Some(Ok(targets)) => (targets, None),
        Some(Err(_)) => (info, directives),
    }
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::*;

    #[test]
    fn levels_and_per_target_directives_are_understood() {
        let (unset, _) = filter(None);
        assert!(unset.would_enable("taskgate", &Level::INFO));
        assert!(!unset.would_enable("taskgate", &Level::DEBUG));
        let (lambda, _) = filter(Some("DEBUG"));
        assert!(lambda.would_enable("aws_smithy_runtime", &Level::DEBUG));
        let (targets, refused) = filter(Some("warn,taskgate=debug"));
        assert_eq!(refused, None);
        assert!(targets.would_enable("taskgate::auth", &Level::DEBUG));
        assert!(!targets.would_enable("aws_smithy_runtime", &Level::INFO));
        let (fallback, refused) = filter(Some("taskgate[span{user=x}]=debug"));
        assert_eq!(refused, Some("taskgate[span{user=x}]=debug"));
        assert!(fallback.would_enable("taskgate", &Level::INFO));
    }
}
