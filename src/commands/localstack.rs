//! `fargate-sim localstack …`: the LocalStack this tool finds or starts.

use s3_harness::LocalStack;
use s3_harness::localstack::{CacheDirs, EndpointSource, Options, ensure_environment};

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
    /// Check the endpoint named by --endpoint, else FARGATE_SIM_LOCALSTACK_URL or AWS_ENDPOINT_URL.
    Status {
        /// The endpoint to check.
        #[arg(long, value_name = "URL")]
        endpoint: Option<String>,
        /// Allow an endpoint that is not on this machine (it is refused otherwise, as `demo` refuses it).
        #[arg(long)]
        allow_real_aws: bool,
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
        Command::Status {
            endpoint,
            allow_real_aws,
        } => {
            let given = endpoint
                .clone()
                .map(|u| (u, EndpointSource::Flag))
                .or_else(|| {
                    s3_harness::localstack::env_endpoint()
                        .map(|(u, var)| (u, EndpointSource::Env(var)))
                });
            match given {
                Some((url, source)) => LocalStack::given(&url, source, *allow_real_aws, &progress)
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
