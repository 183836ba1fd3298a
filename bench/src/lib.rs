//! The peer comparison behind `bench/run`: the workload generator ([`workload`]), this project's
//! timed harness ([`ours`]), and the differential report ([`diff`]). The peers' harnesses are
//! `bench/iam-simulate.mjs` (Node) and `bench/peers.py` (Python); `bench/run.py` runs them all,
//! round after round, and calls `fargate-sim-bench report`.

pub mod diff;
pub mod ours;
pub mod report;
pub mod workload;

use std::path::Path;

/// Reads a JSON Lines file into values, skipping blank lines.
///
/// # Errors
/// The file cannot be read, or a line is not JSON (with its line number).
pub fn read_jsonl(path: &Path) -> Result<Vec<serde_json::Value>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| format!("{}:{}: not JSON: {e}", path.display(), i + 1))
        })
        .collect()
}
