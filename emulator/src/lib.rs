//! What fargate-sim serves and runs, on top of LocalStack (found or started by `s3-harness`):
//!
//! - [`gateway`]: the local AWS endpoint — one HTTP server on loopback that authenticates every
//!   request, decides it with `iam-sim`, forwards S3, STS and IAM to LocalStack and serves EKS
//!   from the `scheduler` control plane through the `endpoint` crate's adapter.
//! - [`Emulator`]: LocalStack and the endpoint together, as `fargate-sim up` and users' own
//!   tests start them.
//! - [`eksctl`]: the eksctl commands the chapter uses, as a client of the endpoint's EKS.
//! - [`flow`]: the chapter — profiles, bucket, role, the S3-reading pod — with a ledger of what
//!   it created and a cleanup that always runs (`fargate-sim demo`); [`journal`] keeps it on
//!   disk, so that a killed run's leftovers are found and removed.
//!
//! Nothing here prints: events go to callbacks and subscribers chosen by the caller.

pub mod eksctl;
pub mod flow;
pub mod gateway;
mod instance;
pub mod journal;
pub mod kubectl;

pub use instance::{ACCOUNT, Emulator, Options};
pub use s3_harness::{Clients, Creds, HarnessError, LocalStack, Progress};
/// The SDK crates, re-exported so that callers name the same versions.
pub use s3_harness::{eks, iam, s3, sts};
