//! This project's side of the comparison, timed in process like the peers: evaluation of the
//! case lines, and validation of the trust-policy files.

use std::time::Instant;

use iam_sim::Severity;
use iam_sim::cases::{CaseText, parse_case, read_case};
use iam_sim::validate::{Options, Purpose, validate};
use serde_json::{Value, json};

/// One timed round of evaluation, in three modes, each in whole passes over the cases until
/// [`MIN_SECONDS`] have gone by (the decisions come from the first pass):
/// - `policies from text`: each case's policy documents parsed from their JSON text, compiled
///   and decided, with the request built beforehand — the same inputs and the same work as a
///   peer's call (iam-simulate and moto get the request prepared before their clocks start,
///   and the policies as parsed objects and as JSON text respectively);
/// - `case lines`: the whole case line read as well (the request and its context from JSON),
///   which is what `fargate-sim simulate --cases` does per line;
/// - `compiled`: decisions on policies compiled beforehand (how the IAM gateway uses `iam-sim`:
///   policies are compiled once and answer many requests).
///
/// Returns one result object per mode.
pub fn eval_round(lines: &[String]) -> Vec<Value> {
    let texts: Vec<Option<CaseText<'_>>> = lines.iter().map(|l| read_case(l).ok()).collect();
    let from_text = timed(&texts, |t| {
        t.as_ref()
            .and_then(|t| Some(t.policy_set().ok()?.decide(&t.request)))
    });
    let case_lines = timed(lines, |line| {
        parse_case(line).ok().map(|c| c.set.decide(&c.request))
    });
    let parsed: Vec<_> = lines.iter().map(|l| parse_case(l).ok()).collect();
    let compiled = timed(&parsed, |c| c.as_ref().map(|c| c.set.decide(&c.request)));
    [("policies from text", from_text), ("case lines", case_lines), ("compiled", compiled)]
        .into_iter()
        .map(|(mode, (n, seconds, decisions))| {
            json!({"tool": "fargate-sim", "mode": mode, "kind": "eval", "n": n, "cases": lines.len(), "seconds": seconds, "decisions": decisions})
        })
        .collect()
}

/// Decides every item (`None`: the case could not be read) in whole passes until
/// [`MIN_SECONDS`] have gone by. Returns (decisions made, seconds, the first pass's decisions).
fn timed<T>(
    items: &[T],
    decide: impl Fn(&T) -> Option<iam_sim::Decision>,
) -> (usize, f64, Vec<&'static str>) {
    let name = |d: Option<iam_sim::Decision>| d.map_or("Error", iam_sim::Decision::as_str);
    let started = Instant::now();
    let decisions: Vec<&'static str> = items.iter().map(|i| name(decide(i))).collect();
    let mut passes = 1usize;
    while started.elapsed().as_secs_f64() < MIN_SECONDS {
        for i in items {
            std::hint::black_box(decide(i));
        }
        passes += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    (items.len() * passes, seconds, decisions)
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
                if passes == 0 && v.findings.iter().any(|d| d.severity() >= Severity::Warning) {
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
