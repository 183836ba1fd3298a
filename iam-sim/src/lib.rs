//! AWS IAM policy language: parse with spans, evaluate as AWS does, validate.
//!
//! ```
//! use iam_sim::{CompiledPolicy, Context, ContextValue, Decision, PolicySet, Request};
//!
//! let trust = CompiledPolicy::parse(r#"{
//!   "Version": "2012-10-17",
//!   "Statement": [{
//!     "Effect": "Allow",
//!     "Principal": {"Service": "eks-fargate-pods.amazonaws.com"},
//!     "Action": "sts:AssumeRole",
//!     "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:eks:eu-west-1:111122223333:fargateprofile/demo/*"}}
//!   }]
//! }"#).unwrap();
//! let set = PolicySet { trust: Some(trust), ..PolicySet::default() };
//! let mut ctx = Context::new();
//! ctx.insert("aws:SourceArn", ContextValue::Single(
//!     "arn:aws:eks:eu-west-1:111122223333:fargateprofile/demo/test/1a2b".into()));
//! let req = Request::new("eks-fargate-pods.amazonaws.com", "sts:AssumeRole",
//!     "arn:aws:iam::111122223333:role/s3-read", None, ctx);
//! assert_eq!(set.decide(&req), Decision::Allow);
//! ```
//!
//! Modules: [`policy`] (the model and its parser, spans on every element), [`eval`] (compiled
//! policies and the decision procedure), [`condition`] (operators), [`glob`] (wildcards),
//! [`explain`] (reasons in words), [`cases`] (the JSON Lines case schema). Nothing here does IO
//! or prints.

pub mod arn;
pub mod cases;
pub mod catalog;
pub mod codes;
pub mod condition;
pub mod diag;
pub mod eval;
pub mod explain;
mod fastjson;
pub mod glob;
pub mod policy;
mod tape;
pub mod template;
pub mod validate;

pub use diag::{Diagnostic, LineCol, LineIndex, Severity, Span};
pub use eval::{
    CompiledPolicy, Context, ContextValue, Decision, PolicyKind, PolicySet, PolicySetRef, Request,
    Response,
};
pub use policy::{ParseError, Policy};
