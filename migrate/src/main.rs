//! `taskgate-migrate --from OLD --to NEW`: copies a table made before the status index into a
//! new one that has it, resumably, and verifies the copy (docs/deploy.md). AWS settings come
//! from the environment (`AWS_REGION`, credentials, `AWS_ENDPOINT_URL_DYNAMODB`). Exit status:
//! 0 copied and verified, 1 copied but something differs (or an item could not be read), 2 the
//! migration could not run or stopped (run it again to resume).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use taskgate_migrate::{Options, client, run};

/// Copies a taskgate table made before the status index into a new table that has it.
#[derive(Parser)]
#[command(name = "taskgate-migrate", version)]
struct Args {
    /// The table made before the status index (only read).
    #[arg(long = "from", value_name = "TABLE")]
    source: String,
    /// The new table, created from template.yaml (with the by_status index).
    #[arg(long = "to", value_name = "TABLE")]
    target: String,
    /// Where the copy's progress is kept; an interrupted run goes on from it.
    #[arg(long, default_value = "taskgate-migrate.checkpoint.json")]
    checkpoint: PathBuf,
    /// Read and check everything, write nothing (not even the checkpoint).
    #[arg(long)]
    dry_run: bool,
    /// Items per Scan page (default: DynamoDB's 1 MB pages).
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..))]
    page_size: Option<i32>,
    /// Puts in flight at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let options = Options {
        source: args.source,
        target: args.target,
        checkpoint: args.checkpoint,
        dry_run: args.dry_run,
        page_size: args.page_size,
        concurrency: usize::from(args.concurrency),
    };
    let config = match taskgate::aws::load_default().await {
        Ok(config) => config,
        Err(error) => {
            eprintln!("taskgate-migrate: {error}");
            return ExitCode::from(2);
        }
    };
    match run(&client(&config), &options, &mut std::io::stdout()).await {
        Ok(outcome) if outcome.verified() => ExitCode::SUCCESS,
        Ok(_) => {
            eprintln!("taskgate-migrate: the copy differs from the source (see above)");
            ExitCode::from(1)
        }
        Err(error) => {
            eprintln!("taskgate-migrate: {error}; run it again to resume");
            ExitCode::from(2)
        }
    }
}
