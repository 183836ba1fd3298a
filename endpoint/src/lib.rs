//! The serving side of fargate-sim, as protocol adapters that do no IO: each turns a request
//! (method, path, query, body) into a call on the cluster model and the call's result into the
//! answer the AWS service would give — status, error type and body. The HTTP server in
//! `s3-harness`'s gateway authenticates the caller, asks `iam-sim` about each [`Access`] a
//! call needs, and runs the call.
//!
//! - [`eks`]: the EKS API (REST-JSON, as botocore's `eks` model defines it) over
//!   [`scheduler::ControlPlane`].
//! - [`kube`]: the Kubernetes API as `kubectl` speaks it (discovery, namespaces) over a
//!   cluster's [`scheduler::kube::Kube`].

pub mod eks;
pub mod kube;

/// One authorization a call needs: an IAM action on a resource, with the request's condition
/// keys (`aws:RequestTag/…`, `aws:TagKeys`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// `eks:CreateCluster`, `iam:PassRole`, …
    pub action: std::borrow::Cow<'static, str>,
    /// The resource ARN, or `*`.
    pub resource: String,
    /// Condition keys and their values (several values for a multivalued key).
    pub context: Vec<(String, Vec<String>)>,
}
