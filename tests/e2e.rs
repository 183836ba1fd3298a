//! End-to-end tests: the binary, and the flow against a real LocalStack.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod support;

mod cli;
mod demo;
mod eksctl;
mod endpoint;
mod example;
mod gateway;
mod hostile;
mod kubectl;
mod localstack;
mod validate;
