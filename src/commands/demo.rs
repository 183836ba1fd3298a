//! `fargate-sim demo`: the tutorial chapter end to end.

use crate::exit::Exit;

/// Options of `fargate-sim demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Leave everything the demo created in LocalStack, for inspection.
    #[arg(long)]
    pub keep: bool,
    /// Use this LocalStack endpoint instead of finding or starting one.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
}

#[allow(clippy::print_stderr, reason = "the CLI owns the terminal")]
pub fn run(_args: &Args) -> Exit {
    eprintln!(
        "fargate-sim demo: the S3-reading pod flow is not built yet (issue 6); nothing was done"
    );
    Exit::Success
}
