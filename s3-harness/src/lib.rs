//! LocalStack and the AWS SDK: the plumbing under everything of fargate-sim that talks to the
//! network (the endpoint and the demo are in the `emulator` crate).
//!
//! - [`localstack`]: find or start a healthy LocalStack (given endpoint, Docker, or host mode
//!   from a hash-pinned Python environment), and stop what it started.
//! - [`client`]: AWS SDK for Rust clients (S3, IAM, STS, EKS) configured for an endpoint.
//!
//! Nothing here prints: slow steps report [`localstack::Progress`] to a callback chosen by
//! the caller, and failures are [`HarnessError`] values whose messages say what to do.

pub mod client;
#[cfg(feature = "docker")]
mod docker;
pub mod localstack;

use std::path::PathBuf;

pub use client::{Clients, Creds};

pub use localstack::{LocalStack, Progress};
/// The SDK crates, re-exported so that callers name the same versions.
pub use {aws_sdk_eks as eks, aws_sdk_iam as iam, aws_sdk_s3 as s3, aws_sdk_sts as sts};

/// Everything that can go wrong while finding, starting or using LocalStack.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    /// The endpoint could not listen on its loopback port.
    #[error("{reason}")]
    Listen {
        /// What went wrong, naming the port and the flag that changes it.
        reason: String,
    },
    /// The endpoint URL cannot be used at all.
    #[error("`{endpoint}` is not a usable endpoint: {reason}")]
    BadEndpoint {
        /// The URL as given.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The endpoint is not on this machine and remote endpoints were not allowed.
    #[error(
        "refusing `{endpoint}` (from {origin}): it is not a loopback address (127.0.0.0/8, ::1 or localhost; \
         other names are not looked up); this tool creates and deletes buckets and roles, so it only talks to \
         a LocalStack on this machine unless you pass --allow-real-aws"
    )]
    RemoteEndpoint {
        /// The URL.
        endpoint: String,
        /// Where it came from.
        origin: localstack::EndpointSource,
    },
    /// Nothing answered at the endpoint.
    #[error("LocalStack at `{endpoint}`{} is not reachable: {reason}; {}", origin.map(|o| format!(" (from {o})")).unwrap_or_default(), unreachable_hint(*origin))]
    Unreachable {
        /// The URL.
        endpoint: String,
        /// Where it came from, when the user named it.
        origin: Option<localstack::EndpointSource>,
        /// The connection error.
        reason: String,
    },
    /// Something answered but is not a healthy LocalStack with S3, IAM and STS.
    #[error("`{endpoint}` is not a healthy LocalStack: {reason}")]
    Unhealthy {
        /// The URL.
        endpoint: String,
        /// What the health check saw.
        reason: String,
    },
    /// Host mode needs Python 3.10 or 3.11 and none was found.
    #[error(
        "LocalStack needs Python 3.10 or 3.11 and none was found ({}); install Python 3.11, or start Docker, \
         or set FARGATE_SIM_LOCALSTACK_URL to a running LocalStack",
        tried.join("; ")
    )]
    NoPython {
        /// What was tried and why it did not fit.
        tried: Vec<String>,
    },
    /// The Python environment for host mode could not be built.
    #[error("cannot prepare the LocalStack environment: {reason}{}", log.as_ref().map(|l| format!(" (see {})", l.display())).unwrap_or_default())]
    Environment {
        /// What failed.
        reason: String,
        /// The log with details, when there is one.
        log: Option<PathBuf>,
    },
    /// LocalStack did not come up.
    #[error("LocalStack did not start: {reason}{}", if log.as_os_str().is_empty() { String::new() } else { format!(" (log: {})", log.display()) })]
    StartFailed {
        /// Its log file (empty when there is none).
        log: PathBuf,
        /// What happened.
        reason: String,
    },
    /// The run journal could not be written (nothing is created without it).
    #[error("cannot write the run journal: {reason}")]
    Journal {
        /// What failed.
        reason: String,
    },
    /// An AWS API call failed.
    #[error("{operation} failed: {message}")]
    Aws {
        /// The operation, with the resource it acted on.
        operation: String,
        /// The service's error code and message.
        message: String,
    },
}

fn unreachable_hint(origin: Option<localstack::EndpointSource>) -> String {
    match origin {
        Some(localstack::EndpointSource::Env(var)) => {
            format!("start it, or unset {var} to let fargate-sim start one")
        }
        Some(localstack::EndpointSource::Flag) => {
            "start it, or leave out --endpoint to let fargate-sim start one".into()
        }
        None => "is it still running?".into(),
    }
}

impl HarnessError {
    /// Wraps an SDK error with the operation that failed, keeping the service's code and message.
    pub fn aws<E>(operation: impl Into<String>, err: &aws_sdk_s3::error::SdkError<E>) -> Self
    where
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        let message = match err {
            aws_sdk_s3::error::SdkError::ServiceError(se) => {
                let e = se.err();
                match (e.code(), e.message()) {
                    (Some(code), Some(m)) => format!("{code}: {m}"),
                    (Some(code), None) => code.to_owned(),
                    // An answer the SDK could not read as the service's error: say what came.
                    (None, _) => format!(
                        "HTTP {} with no error the SDK could read",
                        se.raw().status().as_u16()
                    ),
                }
            }
            other @ (aws_sdk_s3::error::SdkError::TimeoutError(_)
            | aws_sdk_s3::error::SdkError::DispatchFailure(_)) => describe_transport(other),
            other => format!("{}", aws_sdk_s3::error::DisplayErrorContext(other)),
        };
        Self::Aws {
            operation: operation.into(),
            message,
        }
    }
}

/// A transport failure in words: no answer in time (LocalStack stalled), or no connection
/// (LocalStack stopped), with the SDK's own detail.
pub fn describe_transport<E, R>(err: &aws_sdk_s3::error::SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_s3::error::SdkError;
    match err {
        SdkError::TimeoutError(_) => {
            "no answer in time, retries included (LocalStack is stalled or overloaded)".into()
        }
        SdkError::DispatchFailure(d) if d.is_timeout() => {
            "no answer in time (LocalStack is stalled or overloaded)".into()
        }
        SdkError::DispatchFailure(d) if d.is_io() => format!(
            "cannot connect (LocalStack is not running there any more?): {}",
            aws_sdk_s3::error::DisplayErrorContext(err)
        ),
        other => format!("{}", aws_sdk_s3::error::DisplayErrorContext(other)),
    }
}
