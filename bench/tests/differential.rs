//! The differential on a small sample: this project against the generated decisions (always),
//! and against the peers when `bench/run --install-only` has installed them (CI does); without
//! them that part is skipped with a notice.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use fargate_sim_bench::diff::group;
use fargate_sim_bench::workload;

const SEED: u64 = 7;
const N: usize = 400;

fn sample(dir: &Path) -> (PathBuf, Vec<serde_json::Value>, Vec<String>) {
    let cases = workload::cases(SEED, N);
    let path = dir.join("cases.jsonl");
    let text: Vec<String> = cases.iter().map(ToString::to_string).collect();
    std::fs::write(&path, text.join("\n")).unwrap();
    let ours = text
        .iter()
        .map(|l| {
            let c = iam_sim::cases::parse_case(l).unwrap();
            c.set.decide(&c.request).as_str().to_owned()
        })
        .collect();
    (path, cases, ours)
}

fn tmp(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fargate-sim-bench-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn this_project_decides_every_sample_case_as_generated() {
    let dir = tmp("generated");
    let (_, cases, ours) = sample(&dir);
    let wrong: Vec<_> = cases
        .iter()
        .zip(&ours)
        .filter(|(c, o)| c["expected"].as_str() != Some(o.as_str()))
        .map(|(c, o)| format!("{}: expected {}, got {o}", c["id"], c["expected"]))
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
    // The sample covers every family.
    for g in [
        "fargate-trust",
        "irsa-trust",
        "s3-identity",
        "s3-deny",
        "not-elements",
        "bucket-policy",
        "conditions",
    ] {
        assert!(
            cases.iter().any(|c| c["group"] == g),
            "no {g} case in the sample"
        );
    }
}

#[test]
fn the_timed_modes_decide_every_sample_case_alike() {
    let cases = workload::cases(SEED + 1, 300);
    let lines: Vec<String> = cases.iter().map(ToString::to_string).collect();
    let results = fargate_sim_bench::ours::eval_round(&lines);
    let modes: Vec<&str> = results
        .iter()
        .map(|r| r["mode"].as_str().unwrap())
        .collect();
    assert_eq!(modes, ["policies from text", "case lines", "compiled"]);
    let expected: Vec<&str> = cases
        .iter()
        .map(|c| c["expected"].as_str().unwrap())
        .collect();
    for r in &results {
        let got: Vec<&str> = r["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect();
        assert_eq!(got, expected, "mode {}", r["mode"]);
        // Whole passes: the count is a multiple of the cases, and at least one pass was made.
        let n = r["n"].as_u64().unwrap();
        assert!(n >= 300 && n % 300 == 0, "mode {}: n = {n}", r["mode"]);
    }
}

/// Runs a peer harness; `None` (with a printed notice) when the peer is not installed.
fn peer(program: &str, args: &[&str], installed: &Path) -> Option<Vec<serde_json::Value>> {
    if !installed.exists() {
        eprintln!(
            "skipped: {} is not installed; `bench/run --install-only` installs the peers",
            installed.display()
        );
        return None;
    }
    let out = Command::new(program).args(args).output();
    let Ok(out) = out else {
        eprintln!("skipped: `{program}` cannot be run");
        return None;
    };
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
    )
}

fn check_all_explained(
    results: &[serde_json::Value],
    cases: &[serde_json::Value],
    ours: &[String],
) {
    for r in results {
        let label = format!(
            "{} ({})",
            r["tool"].as_str().unwrap(),
            r["mode"].as_str().unwrap()
        );
        let Some(theirs) = r["decisions"].as_array() else {
            continue;
        };
        let groups = group(&label, cases, ours, theirs);
        if let Some(items) = groups.get("unexplained") {
            panic!(
                "{label}: {} disagreements no cause explains, e.g. {:?}",
                items.len(),
                &items[..items.len().min(3)]
            );
        }
        // Wherever a peer disagrees, this project has the generated decision.
        for items in groups.values() {
            for d in items {
                assert_eq!(d.ours, d.expected, "{label}: {}", d.id);
            }
        }
        eprintln!(
            "{label}: every disagreement explained ({:?})",
            groups.keys().collect::<Vec<_>>()
        );
    }
}

#[test]
fn every_disagreement_with_the_peers_has_a_known_cause() {
    let bench = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tmp("peers");
    let (path, cases, ours) = sample(&dir);
    let path = path.to_str().unwrap();
    if let Some(results) = peer(
        "node",
        &[
            bench.join("iam-simulate.mjs").to_str().unwrap(),
            "eval",
            path,
        ],
        &bench.join("peers/node/.installed"),
    ) {
        check_all_explained(&results, &cases, &ours);
    }
    if let Some(results) = peer(
        bench.join("peers/venv/bin/python").to_str().unwrap(),
        &[bench.join("peers.py").to_str().unwrap(), "moto-eval", path],
        &bench.join("peers/venv/.installed"),
    ) {
        check_all_explained(&results, &cases, &ours);
    }
}
