//! `fargate-sim`: EKS Fargate profiles, IAM and S3 against LocalStack, with IAM enforced.
//!
//! The binary parses flags, calls the libraries, renders, and picks an exit code; see
//! `ARCHITECTURE.md`.

mod commands;
mod exit;
mod input;
mod output;
mod progress;
mod render;

use clap::{Parser, Subcommand};

use crate::exit::Exit;

/// mimalloc instead of the system allocator: parsing and compiling policies makes many small,
/// short-lived allocations, and mimalloc serves them in a fraction of glibc's time (see
/// `docs/performance.md`, "Allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// EKS-on-Fargate pod execution roles without an AWS account.
///
/// Fargate profiles decide where pods run, IAM decides who may assume the execution role and
/// what it may read, and a pod reads an object from S3 — against a real LocalStack, with IAM
/// actually enforced.
#[derive(Debug, Parser)]
#[command(name = "fargate-sim", version, propagate_version = true, after_long_help = exit::TABLE)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the tutorial chapter end to end against LocalStack (pod execution role, S3 read).
    Demo(commands::demo::Args),
    /// Check IAM policies — files, Terraform plans, CloudFormation templates — like IAM and Access Analyzer would, and more.
    Validate(Box<commands::validate::Args>),
    /// Decide requests the way AWS IAM would, and say why.
    Simulate(Box<commands::simulate::Args>),
    /// Place the pods of Kubernetes manifests on a cluster's Fargate profiles, as EKS would.
    Schedule(commands::schedule::Args),
    /// Serve one local AWS endpoint (S3, STS, IAM, EKS) with IAM enforced, in front of LocalStack.
    Up(commands::up::Args),
    /// Stop what `up --detach` started.
    Down,
    /// Say whether a detached `up` runs, and where (exit 1 when none does).
    Status {
        /// Print JSON.
        #[arg(long, value_name = "FORMAT", value_parser = ["human", "json"], default_value = "human")]
        format: String,
    },
    /// The eksctl commands the chapter uses, against `up`'s EKS endpoint.
    #[command(subcommand)]
    Eksctl(commands::eksctl::Command),
    /// Find, start or install the LocalStack this tool uses.
    #[command(subcommand)]
    Localstack(commands::localstack::Command),
}

fn main() -> Exit {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo(args) => commands::demo::run(&args),
        Command::Validate(args) => commands::validate::run(&args),
        Command::Simulate(args) => commands::simulate::run(&args),
        Command::Schedule(args) => commands::schedule::run(&args),
        Command::Up(args) => commands::up::run(&args),
        Command::Down => commands::up::down(),
        Command::Status { format } => commands::up::status(format == "json"),
        Command::Eksctl(cmd) => commands::eksctl::run(&cmd),
        Command::Localstack(cmd) => commands::localstack::run(&cmd),
    }
}
