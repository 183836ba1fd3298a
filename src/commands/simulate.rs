//! `fargate-sim simulate`.

use crate::exit::Exit;

/// Options of `fargate-sim simulate`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: &Args) -> Exit {
    Exit::Error
}
