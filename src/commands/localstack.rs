//! `fargate-sim localstack …`: the LocalStack this tool finds or starts.

use s3_harness::LocalStack;
use s3_harness::localstack::{CacheDirs, Options, ensure_environment};

use crate::exit::Exit;
use crate::progress::printer;

/// What to do with LocalStack.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Build the host-mode Python environment now (it is otherwise built on first use).
    Install,
    /// Find or start LocalStack, print its endpoint, and keep it running until Ctrl-C.
    Start {
        /// Do not use Docker even if a daemon is reachable.
        #[arg(long)]
        no_docker: bool,
    },
    /// Check the endpoint named by FARGATE_SIM_LOCALSTACK_URL or AWS_ENDPOINT_URL (or --endpoint).
    Status {
        /// The endpoint to check.
        #[arg(long)]
        endpoint: Option<String>,
    },
}

#[allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the CLI owns the terminal"
)]
pub fn run(cmd: &Command) -> Exit {
    let progress = printer(false);
    let result = match cmd {
        Command::Install => CacheDirs::new()
            .and_then(|d| ensure_environment(&d, &progress))
            .map(|python| println!("LocalStack environment ready: {}", python.display())),
        Command::Start { no_docker } => LocalStack::obtain_with(
            &Options {
                no_docker: *no_docker,
                ..Options::default()
            },
            &progress,
        )
        .map(|ls| {
            println!("{}", ls.endpoint());
            eprintln!("· press Ctrl-C to stop");
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(async {
                    let _ = tokio::signal::ctrl_c().await;
                });
            }
            eprintln!("· stopping LocalStack");
            drop(ls);
        }),
        Command::Status { endpoint } => {
            let given = endpoint
                .clone()
                .or_else(|| s3_harness::localstack::env_endpoint().map(|(u, _)| u));
            match given {
                Some(url) => LocalStack::given(&url, "argument", true, &progress)
                    .map(|ls| println!("{} healthy", ls.endpoint())),
                None => {
                    eprintln!("no endpoint: pass --endpoint or set FARGATE_SIM_LOCALSTACK_URL");
                    return Exit::Error;
                }
            }
        }
    };
    match result {
        Ok(()) => Exit::Success,
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Error
        }
    }
}
