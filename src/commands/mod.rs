//! One module per subcommand.

pub mod demo;
pub mod eksctl;
pub mod localstack;
pub mod schedule;
pub mod simulate;
pub mod up;
pub mod validate;
