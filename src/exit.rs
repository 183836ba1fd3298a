//! Exit codes, shared by every subcommand and printed in `--help`.

use std::process::{ExitCode, Termination};

use crate::output::Closed;

/// What a run of `fargate-sim` ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: it worked, and the answer is the good one (allowed, clean, scheduled, demo passed).
    Success,
    /// 1: it worked, and the answer is the bad one (a case mismatched, findings at or above
    /// `--fail-on`, a demo step failed as the scenario did not expect).
    Failure,
    /// 2: it could not run (bad flag, unreadable input, no LocalStack).
    Error,
    /// 3: `validate` only: a Terraform plan or CloudFormation template held no IAM policy, and
    /// nothing else failed.
    NothingChecked,
    /// 130: interrupted by SIGINT (Ctrl-C), SIGTERM or SIGHUP (after cleaning up).
    Interrupted,
    /// 141: standard output was closed by its reader (`| head`); the run stopped there, after
    /// cleaning up. 141 is what a shell reports for a tool ended by SIGPIPE.
    PipeClosed,
}

/// The table shown at the end of `--help`.
pub const TABLE: &str = "\
Exit status:
  0    success: the run worked and the answer is the good one
  1    the run worked and the answer is the bad one (mismatched cases, findings, failed demo)
  2    the tool could not run (bad flag, unreadable input, LocalStack unavailable)
  3    validate: a Terraform plan or CloudFormation template held no IAM policy to check
  130  interrupted (SIGINT/Ctrl-C, SIGTERM, SIGHUP); what was created was cleaned up first
  141  standard output was closed by its reader (`| head`); cleaned up first, nothing more printed";

impl Termination for Exit {
    fn report(self) -> ExitCode {
        ExitCode::from(match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Error => 2,
            Exit::NothingChecked => 3,
            Exit::Interrupted => 130,
            Exit::PipeClosed => 141,
        })
    }
}

impl From<Closed> for Exit {
    fn from(_: Closed) -> Self {
        Exit::PipeClosed
    }
}
