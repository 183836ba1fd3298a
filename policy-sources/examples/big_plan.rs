//! Writes the benchmark's large Terraform plan to standard output:
//! `cargo run --release -p policy-sources --example big_plan -- 2000 > plan.json`.

#[path = "../benches/support/plan.rs"]
mod generator;

use std::io::Write;

fn main() -> std::io::Result<()> {
    let n = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    std::io::stdout().write_all(generator::plan(n).as_bytes())
}
