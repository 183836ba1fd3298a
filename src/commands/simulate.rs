//! `fargate-sim simulate`: decide requests the way IAM would, one at a time or in batches.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use iam_sim::cases::{context_value, parse_case};
use iam_sim::explain::{Explanation, Reason, explain};
use iam_sim::{CompiledPolicy, Context, ContextValue, Decision, PolicySet, Request};
use serde_json::json;

use crate::exit::Exit;
use crate::render;

/// Options of `fargate-sim simulate`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Examples:
  fargate-sim simulate --trust examples/role-trust-policy.json \\
      --principal eks-fargate-pods.amazonaws.com --action sts:AssumeRole \\
      --resource arn:aws:iam::111122223333:role/s3-read \\
      --context aws:SourceArn=arn:aws:eks:eu-west-1:111122223333:fargateprofile/demo/test/1a2b
  fargate-sim simulate --cases iam-sim/tests/corpus/spec-eval.jsonl

With --cases: one JSON line per case, then a summary line (docs/cases.md). Exit status 0 when
every asserted case got its expected decision, 1 when one did not, 2 when the file or a line
could not be read. For one request: 0 Allow, 1 ExplicitDeny or ImplicitDeny, 2 bad input.")]
pub struct Args {
    /// Decide every case of a JSON Lines file (the case schema); `-` reads stdin.
    #[arg(long, value_name = "FILE.jsonl", conflicts_with_all = ["principal", "action"])]
    pub cases: Option<PathBuf>,
    /// The role's trust policy (for sts:AssumeRole*).
    #[arg(long, value_name = "FILE")]
    pub trust: Option<PathBuf>,
    /// An identity-based policy of the caller (repeat for several).
    #[arg(long, value_name = "FILE")]
    pub identity: Vec<PathBuf>,
    /// A resource-based policy (an S3 bucket policy).
    #[arg(long, value_name = "FILE")]
    pub resource_policy: Option<PathBuf>,
    /// The caller's permissions boundary.
    #[arg(long, value_name = "FILE")]
    pub boundary: Option<PathBuf>,
    /// The session policy passed when the role was assumed.
    #[arg(long, value_name = "FILE")]
    pub session: Option<PathBuf>,
    /// A service control policy (repeat for several).
    #[arg(long, value_name = "FILE")]
    pub scp: Vec<PathBuf>,
    /// A resource control policy (repeat for several).
    #[arg(long, value_name = "FILE")]
    pub rcp: Vec<PathBuf>,
    /// Who asks: a service principal, an IAM ARN, an OIDC provider ARN, an account id, or `anonymous`.
    #[arg(long, required_unless_present = "cases")]
    pub principal: Option<String>,
    /// The action, e.g. `sts:AssumeRole` or `s3:GetObject`.
    #[arg(long, required_unless_present = "cases")]
    pub action: Option<String>,
    /// The resource ARN (default `*`).
    #[arg(long, value_name = "ARN")]
    pub resource: Option<String>,
    /// The account that owns the resource (default: the ARN's account, else the caller's).
    #[arg(long, value_name = "ID")]
    pub resource_account: Option<String>,
    /// A condition key: `key=value`; repeat a key or write `key=["a","b"]` for several values.
    #[arg(long, value_name = "KEY=VALUE")]
    pub context: Vec<String>,
    /// Output format.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

/// How to print results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people (the default for one request).
    Human,
    /// JSON (the default, one line per case, for --cases).
    Json,
}

pub fn run(args: &Args) -> Exit {
    match &args.cases {
        Some(path) => run_cases(path, args.format.unwrap_or(Format::Json)),
        None => run_one(args, args.format.unwrap_or(Format::Human)),
    }
}

#[allow(clippy::print_stderr, reason = "the CLI owns the terminal")]
fn run_cases(path: &Path, format: Format) -> Exit {
    let reader: Box<dyn BufRead> = if path == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        match std::fs::File::open(path) {
            Ok(f) => Box::new(std::io::BufReader::new(f)),
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", path.display());
                return Exit::Error;
            }
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut cases, mut ok, mut mismatched, mut unasserted, mut bad) =
        (0usize, 0usize, 0usize, 0usize, 0usize);
    for (n, line) in reader.lines().enumerate() {
        let line_no = n + 1;
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: `{}` line {line_no}: {e}", path.display());
                return Exit::Error;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let record = match parse_case(&line) {
            Err(message) => {
                bad += 1;
                json!({"line": line_no, "error": message})
            }
            Ok(case) => {
                cases += 1;
                let response = case.set.evaluate(&case.request);
                let ex = explain(&case.set, &case.request, &response);
                let verdict = case.expected.map(|e| e == response.decision);
                match verdict {
                    Some(true) => ok += 1,
                    Some(false) => mismatched += 1,
                    None => unasserted += 1,
                }
                json!({
                    "id": case.id,
                    "decision": response.decision,
                    "expected": case.expected,
                    "ok": verdict,
                    "summary": ex.summary,
                    "reasons": ex.deciding,
                    "notApplied": ex.not_applied,
                })
            }
        };
        let written = match format {
            Format::Json => writeln!(out, "{record}"),
            Format::Human => writeln!(out, "{}", human_case_line(&record)),
        };
        if written.is_err() {
            // A closed pipe (`| head`) is not an error of ours.
            return Exit::Success;
        }
    }
    let summary = json!({"summary": {"cases": cases, "ok": ok, "mismatched": mismatched, "unasserted": unasserted, "unreadable": bad}});
    let _ = match format {
        Format::Json => writeln!(out, "{summary}"),
        Format::Human => writeln!(
            out,
            "simulate: {ok} passed, {mismatched} failed, {unasserted} unasserted, {bad} unreadable"
        ),
    };
    let _ = out.flush();
    if bad > 0 {
        Exit::Error
    } else if mismatched > 0 {
        Exit::Failure
    } else {
        Exit::Success
    }
}

fn human_case_line(record: &serde_json::Value) -> String {
    if let Some(err) = record.get("error") {
        return format!(
            "ERROR line {}: {}",
            record["line"],
            err.as_str().unwrap_or("")
        );
    }
    let mark = match record["ok"].as_bool() {
        Some(true) => "ok      ",
        Some(false) => "MISMATCH",
        None => "-       ",
    };
    let id = record["id"].as_str().unwrap_or("?");
    let expected = record["expected"]
        .as_str()
        .map(|e| format!(" (expected {e})"))
        .unwrap_or_default();
    format!(
        "{mark} {id:<24} {}{expected}",
        record["decision"].as_str().unwrap_or("")
    )
}

struct Loaded {
    set: PolicySet,
    files: Vec<(iam_sim::PolicyKind, usize, PathBuf)>,
}

#[allow(clippy::print_stderr, reason = "the CLI owns the terminal")]
fn load(args: &Args) -> Result<Loaded, String> {
    use iam_sim::PolicyKind as K;
    let mut files = Vec::new();
    let mut read = |kind: K, idx: usize, path: &Path| -> Result<CompiledPolicy, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        let p = CompiledPolicy::parse(&text)
            .map_err(|e| render::diagnostic(&e.diagnostic, path, &text))?;
        for d in &p.policy().diagnostics {
            eprint!("{}", render::diagnostic(d, path, &text));
            eprintln!(
                "  note: the engine fails closed on this statement: it never allows, and a Deny still applies\n"
            );
        }
        files.push((kind, idx, path.to_owned()));
        Ok(p)
    };
    let mut set = PolicySet::default();
    for (i, p) in args.identity.iter().enumerate() {
        set.identity.push(read(K::Identity, i, p)?);
    }
    if let Some(p) = &args.trust {
        set.trust = Some(read(K::Trust, 0, p)?);
    }
    if let Some(p) = &args.resource_policy {
        set.resource = Some(read(K::Resource, 0, p)?);
    }
    if let Some(p) = &args.boundary {
        set.boundary.push(read(K::Boundary, 0, p)?);
    }
    if let Some(p) = &args.session {
        set.session = Some(read(K::Session, 0, p)?);
    }
    for (i, p) in args.scp.iter().enumerate() {
        set.scp.push(read(K::Scp, i, p)?);
    }
    for (i, p) in args.rcp.iter().enumerate() {
        set.rcp.push(read(K::Rcp, i, p)?);
    }
    Ok(Loaded { set, files })
}

fn parse_context(pairs: &[String]) -> Result<Context, String> {
    let mut ctx = Context::new();
    let mut multi: Vec<(String, Vec<String>)> = Vec::new();
    for pair in pairs {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("--context `{pair}` needs the form key=value"))?;
        if k.is_empty() {
            return Err(format!("--context `{pair}` has an empty key"));
        }
        if v.trim_start().starts_with('[') {
            let value: serde_json::Value = serde_json::from_str(v).map_err(|e| {
                format!("--context `{k}`: the value looks like a JSON array but is not one: {e}")
            })?;
            ctx.insert(
                k,
                context_value(&value).ok_or_else(|| {
                    format!("--context `{k}`: array values must be strings, numbers or booleans")
                })?,
            );
            continue;
        }
        match multi.iter_mut().find(|(mk, _)| mk.eq_ignore_ascii_case(k)) {
            Some((_, vs)) => vs.push(v.to_owned()),
            None => multi.push((k.to_owned(), vec![v.to_owned()])),
        }
    }
    for (k, mut vs) in multi {
        let value = if vs.len() == 1 {
            ContextValue::Single(vs.remove(0))
        } else {
            ContextValue::Multi(vs)
        };
        ctx.insert(&k, value);
    }
    Ok(ctx)
}

#[allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the CLI owns the terminal"
)]
fn run_one(args: &Args, format: Format) -> Exit {
    let (Some(principal), Some(action)) = (&args.principal, &args.action) else {
        eprintln!("error: --principal and --action are required (or --cases FILE)");
        return Exit::Error;
    };
    if args.trust.is_none() && args.identity.is_empty() && args.resource_policy.is_none() {
        eprintln!("error: give at least one policy: --trust, --identity or --resource-policy");
        return Exit::Error;
    }
    let loaded = match load(args) {
        Ok(l) => l,
        Err(e) => {
            eprint!("{e}");
            if !e.ends_with('\n') {
                eprintln!();
            }
            return Exit::Error;
        }
    };
    let ctx = match parse_context(&args.context) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Error;
        }
    };
    let resource = args.resource.clone().unwrap_or_else(|| "*".to_owned());
    let req = Request::new(
        principal,
        action,
        &resource,
        args.resource_account.as_deref(),
        ctx,
    );
    let response = loaded.set.evaluate(&req);
    let ex = explain(&loaded.set, &req, &response);
    let file_of = |r: &Reason| {
        loaded
            .files
            .iter()
            .find(|(k, i, _)| k.as_str() == r.policy && *i == r.index)
            .map(|(_, _, p)| p.clone())
    };
    match format {
        Format::Json => {
            let with_files = |rs: &[Reason]| -> Vec<serde_json::Value> {
                rs.iter()
                    .map(|r| {
                        let mut v = serde_json::to_value(r).unwrap_or_default();
                        if let (Some(obj), Some(f)) = (v.as_object_mut(), file_of(r)) {
                            obj.insert("file".into(), json!(f.display().to_string()));
                        }
                        v
                    })
                    .collect()
            };
            println!(
                "{}",
                json!({"decision": ex.decision, "summary": ex.summary, "reasons": with_files(&ex.deciding), "notApplied": with_files(&ex.not_applied)})
            );
        }
        Format::Human => print!("{}", human(&ex, &file_of)),
    }
    match response.decision {
        Decision::Allow => Exit::Success,
        _ => Exit::Failure,
    }
}

fn human(ex: &Explanation, file_of: &dyn Fn(&Reason) -> Option<PathBuf>) -> String {
    let mut s = format!("{}: {}\n", ex.decision, ex.summary);
    let mut section = |title: &str, rs: &[Reason]| {
        if rs.is_empty() {
            return;
        }
        s.push_str(&format!("\n{title}\n"));
        for r in rs {
            let file = file_of(r);
            let sid = r
                .sid
                .as_ref()
                .map(|x| format!(" (Sid {x})"))
                .unwrap_or_default();
            let loc = file.as_ref().map_or_else(
                || format!("{}[{}]", r.policy, r.index),
                |f| f.display().to_string(),
            );
            s.push_str(&format!(
                "  {loc}:{}:{}  {} statement {}{sid} in the {} policy\n",
                r.line, r.column, r.effect, r.statement, r.policy
            ));
            if let Some(text) = file.and_then(|f| std::fs::read_to_string(f).ok()) {
                s.push_str(&render::source_line(&text, r.line, r.column, 4));
            }
            s.push_str(&format!("    {}\n", r.detail));
        }
    };
    section("decided by:", &ex.deciding);
    section("did not apply:", &ex.not_applied);
    s
}
