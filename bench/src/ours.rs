//! This project's side of the comparison, timed in process like the peers: evaluation of the
//! case lines, and validation of the trust-policy files.

use std::time::Instant;

use iam_sim::Severity;
use iam_sim::cases::parse_case;
use iam_sim::validate::{Options, Purpose, validate};
use serde_json::{Value, json};

/// One timed round of evaluation, in two modes:
/// - `end-to-end`: each case's policies parsed, compiled and decided (what a peer does per
///   call, since their APIs take policy documents);
/// - `compiled`: decisions on policies compiled beforehand (how `iam-sim` is used when the
///   same policies answer many requests).
///
/// Returns one result object per mode, each with the decisions in case order.
pub fn eval_round(lines: &[String]) -> Vec<Value> {
    let started = Instant::now();
    let mut decisions = Vec::with_capacity(lines.len());
    for line in lines {
        decisions.push(match parse_case(line) {
            Ok(c) => c.set.decide(&c.request).as_str().to_owned(),
            Err(_) => "Error".to_owned(),
        });
    }
    let end_to_end = started.elapsed().as_secs_f64();

    let parsed: Vec<_> = lines.iter().map(|l| parse_case(l).ok()).collect();
    let started = Instant::now();
    let mut allowed = 0usize;
    for c in parsed.iter().flatten() {
        allowed += usize::from(c.set.decide(&c.request) == iam_sim::Decision::Allow);
    }
    let compiled = started.elapsed().as_secs_f64();
    std::hint::black_box(allowed);
    vec![
        json!({"tool": "fargate-sim", "mode": "end-to-end", "kind": "eval", "n": lines.len(), "seconds": end_to_end, "decisions": decisions}),
        json!({"tool": "fargate-sim", "mode": "compiled", "kind": "eval", "n": lines.len(), "seconds": compiled}),
    ]
}

/// A file to validate, with what its manifest says it is for.
pub struct File {
    /// File name.
    pub name: String,
    /// Text.
    pub text: String,
    /// The purpose options (`--role …` with cluster, region, account).
    pub purpose: Option<Purpose>,
    /// No planted defect: an AWS-recommended policy.
    pub clean: bool,
}

/// Shortest timed run of a validation round, in seconds (every harness uses the same).
pub const MIN_SECONDS: f64 = 0.25;

/// One timed round of validation: with the purpose checks a user turns on with `--role`, and
/// plain (no `--role`). A file counts as flagged when it has a finding at or above `warning`
/// (the CLI's default `--fail-on`).
pub fn validate_round(files: &[File]) -> Vec<Value> {
    let clean: Vec<&File> = files.iter().filter(|f| f.clean).collect();
    let all: Vec<&File> = files.iter().collect();
    let mut out = Vec::new();
    for (set, files) in [("all", &all), ("clean", &clean)] {
        out.extend(validate_set(files, set));
    }
    out
}

fn validate_set(files: &[&File], set: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for (mode, with_purpose) in [("plain", false), ("with --role", true)] {
        let opts: Vec<Options> = files
            .iter()
            .map(|f| Options {
                purpose: if with_purpose {
                    f.purpose.clone()
                } else {
                    None
                },
                ..Options::default()
            })
            .collect();
        // Whole passes over the files until a quarter of a second has gone by, so that the
        // rate does not rest on a few milliseconds; the flags come from the first pass.
        let started = Instant::now();
        let mut flagged = Vec::new();
        let mut passes = 0usize;
        while passes == 0 || started.elapsed().as_secs_f64() < MIN_SECONDS {
            for (f, o) in files.iter().zip(&opts) {
                let v = validate(&f.text, o);
                if passes == 0 && v.findings.iter().any(|d| d.severity >= Severity::Warning) {
                    flagged.push(f.name.clone());
                }
            }
            passes += 1;
        }
        let seconds = started.elapsed().as_secs_f64();
        out.push(json!({"tool": "fargate-sim", "mode": mode, "kind": "validate", "set": set, "n": files.len() * passes, "files": files.len(), "seconds": seconds, "flagged": flagged}));
    }
    out
}
