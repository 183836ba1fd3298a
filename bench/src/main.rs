//! `fargate-sim-bench`: the Rust half of `bench/run` (see `docs/performance.md`, "Peer comparison").
//!
//! ```text
//! fargate-sim-bench gen --out DIR [--seed N] [--cases N] [--files N]
//! fargate-sim-bench eval --cases FILE            one timed round, JSON lines on stdout
//! fargate-sim-bench validate --dir DIR           one timed round, JSON lines on stdout
//! fargate-sim-bench report --work DIR --docs DIR write the tables and the differential report
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use fargate_sim_bench::{ours, read_jsonl, report, workload};
use iam_sim::validate::Purpose;

/// The same allocator as the `fargate-sim` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fargate-sim-bench: {e}");
            ExitCode::from(2)
        }
    }
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn number(args: &[String], name: &str, default: u64) -> Result<u64, String> {
    flag(args, name).map_or(Ok(default), |v| {
        v.parse()
            .map_err(|_| format!("{name} needs a number, got `{v}`"))
    })
}

fn required<'a>(args: &'a [String], name: &str) -> Result<&'a str, String> {
    flag(args, name).ok_or_else(|| format!("{name} is required (see docs/performance.md)"))
}

fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("gen") => {
            let out = PathBuf::from(required(args, "--out")?);
            let seed = number(args, "--seed", 20_261_125)?;
            let n_cases = usize::try_from(number(args, "--cases", 12_000)?).unwrap_or(12_000);
            let n_files = usize::try_from(number(args, "--files", 1_200)?).unwrap_or(1_200);
            write_workload(&out, seed, n_cases, n_files)
        }
        Some("eval") => {
            let path = Path::new(required(args, "--cases")?);
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let lines: Vec<String> = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned)
                .collect();
            for r in ours::eval_round(&lines) {
                println!("{r}");
            }
            Ok(())
        }
        Some("validate") => {
            let dir = Path::new(required(args, "--dir")?);
            let files = load_files(dir)?;
            for r in ours::validate_round(&files) {
                println!("{r}");
            }
            Ok(())
        }
        Some("report") => {
            let work = Path::new(required(args, "--work")?);
            let docs = Path::new(required(args, "--docs")?);
            report::write(work, docs)
        }
        _ => Err(
            "usage: fargate-sim-bench gen|eval|validate|report … (see docs/performance.md)".into(),
        ),
    }
}

fn write_workload(out: &Path, seed: u64, n_cases: usize, n_files: usize) -> Result<(), String> {
    let io = |e: std::io::Error, p: &Path| format!("cannot write {}: {e}", p.display());
    let files_dir = out.join("files");
    std::fs::create_dir_all(&files_dir).map_err(|e| io(e, &files_dir))?;
    let cases: Vec<String> = workload::cases(seed, n_cases)
        .iter()
        .map(ToString::to_string)
        .collect();
    let path = out.join("cases.jsonl");
    std::fs::write(&path, cases.join("\n") + "\n").map_err(|e| io(e, &path))?;
    let mut manifest = Vec::new();
    for f in workload::trust_files(seed, n_files) {
        let p = files_dir.join(&f.name);
        std::fs::write(&p, &f.text).map_err(|e| io(e, &p))?;
        manifest.push(
            serde_json::json!({
                "name": f.name, "purpose": f.purpose, "defect": f.defect,
                "cluster": f.cluster, "region": f.region, "account": f.account,
            })
            .to_string(),
        );
    }
    let path = out.join("files.jsonl");
    std::fs::write(&path, manifest.join("\n") + "\n").map_err(|e| io(e, &path))?;
    println!(
        "wrote {n_cases} cases and {n_files} trust-policy files to {} (seed {seed})",
        out.display()
    );
    Ok(())
}

fn load_files(dir: &Path) -> Result<Vec<ours::File>, String> {
    let manifest = read_jsonl(&dir.join("files.jsonl"))?;
    manifest
        .iter()
        .map(|m| {
            let name = m["name"].as_str().unwrap_or_default().to_owned();
            let path = dir.join("files").join(&name);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let s = |k: &str| m[k].as_str().map(str::to_owned);
            let purpose = match m["purpose"].as_str() {
                Some("fargate") => Some(Purpose::FargatePodExecution {
                    cluster: s("cluster"),
                    region: s("region"),
                    account: s("account"),
                }),
                Some("irsa") => Some(Purpose::Irsa {
                    oidc_provider: None,
                    namespace: Some("default".into()),
                    service_account: Some("my-service-account".into()),
                }),
                _ => None,
            };
            Ok(ours::File {
                name,
                text,
                purpose,
                clean: m["defect"].is_null(),
            })
        })
        .collect()
}
