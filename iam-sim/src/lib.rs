//! AWS IAM policy language: parse with spans, evaluate as AWS does, validate.
pub mod arn;
pub mod diag;
pub mod glob;
pub mod policy;
pub mod template;
