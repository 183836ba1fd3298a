//! `fargate-sim simulate`: decide requests the way IAM would, one at a time or in batches.

use std::path::{Path, PathBuf};

use iam_sim::cases::{context_value, parse_case};
use iam_sim::catalog::catalog;
use iam_sim::eval::check_request;
use iam_sim::explain::{Explanation, Reason, explain};
use iam_sim::{
    CompiledPolicy, Context, ContextValue, Decision, LineIndex, PolicyKind, PolicySet, Request,
};
use serde_json::json;

use crate::exit::Exit;
use crate::input::{self, Line, Lines};
use crate::{output, render};

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
    /// Under each statement, list the actions its wildcard action patterns cover (`s3:Get*` →
    /// s3:GetObject, …), from the AWS service catalogue.
    #[arg(long)]
    pub explain_actions: bool,
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

fn run_cases(path: &Path, format: Format) -> Exit {
    let mut lines = match Lines::open(path) {
        Ok(l) => l,
        Err(e) => {
            output::note(&format!("error: {e}"));
            return Exit::Error;
        }
    };
    let mut out = String::new();
    let (mut cases, mut ok, mut mismatched, mut unasserted, mut bad) =
        (0usize, 0usize, 0usize, 0usize, 0usize);
    let mut line_no = 0usize;
    loop {
        line_no += 1;
        let line = match lines.next_line() {
            Ok(Some(l)) => l,
            Ok(None) => break,
            Err(e) => {
                output::note(&format!("error: `{}` line {line_no}: {e}", path.display()));
                return Exit::Error;
            }
        };
        let parsed = match line {
            Line::Text(t) if t.trim().is_empty() => continue,
            Line::Text(t) => parse_case(&t),
            Line::TooLong => {
                output::note(&format!(
                    "error: `{}` line {line_no} is longer than {} bytes; a case is one policy set and one request on one line (is this a JSON Lines file?)",
                    path.display(),
                    input::MAX_LINE_BYTES
                ));
                let _ = flush(&mut out, format);
                return Exit::Error;
            }
            Line::NotUtf8 => Err("the line is not UTF-8 text".to_owned()),
        };
        let record = match parsed {
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
        match format {
            Format::Json => out.push_str(&record.to_string()),
            Format::Human => out.push_str(&human_case_line(&record)),
        }
        out.push('\n');
        if out.len() >= 64 << 10
            && let Err(closed) = flush(&mut out, format)
        {
            return closed.into();
        }
    }
    let summary = json!({"summary": {"cases": cases, "ok": ok, "mismatched": mismatched, "unasserted": unasserted, "unreadable": bad}});
    match format {
        Format::Json => out.push_str(&format!("{summary}\n")),
        Format::Human => out.push_str(&format!(
            "simulate: {ok} passed, {mismatched} failed, {unasserted} unasserted, {bad} unreadable\n"
        )),
    }
    if let Err(closed) = flush(&mut out, format) {
        return closed.into();
    }
    if bad > 0 {
        Exit::Error
    } else if mismatched > 0 {
        Exit::Failure
    } else {
        Exit::Success
    }
}

fn flush(out: &mut String, format: Format) -> Result<(), output::Closed> {
    let r = match format {
        Format::Json => output::raw(out),
        Format::Human => output::human(out),
    };
    out.clear();
    r
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
    files: Vec<LoadedFile>,
}

/// A policy file as read: which list it is in, its place there, its path and its text.
struct LoadedFile {
    kind: iam_sim::PolicyKind,
    index: usize,
    path: PathBuf,
    text: String,
}

fn load(args: &Args) -> Result<Loaded, String> {
    use iam_sim::PolicyKind as K;
    let mut files = Vec::new();
    let mut read = |kind: K, idx: usize, path: &Path| -> Result<CompiledPolicy, String> {
        let text = input::read_text(path, input::MAX_POLICY_BYTES)?;
        let lines = LineIndex::new(&text);
        let p = CompiledPolicy::parse(&text)
            .map_err(|e| render::diagnostic(&e.diagnostic, path, &text, &lines))?;
        for d in &p.policy().diagnostics {
            output::note(&format!(
                "{}  note: the engine fails closed on this statement: it never allows, and a Deny still applies\n",
                render::diagnostic(d, path, &text, &lines)
            ));
        }
        files.push(LoadedFile {
            kind,
            index: idx,
            path: path.to_owned(),
            text,
        });
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

fn run_one(args: &Args, format: Format) -> Exit {
    let (Some(principal), Some(action)) = (&args.principal, &args.action) else {
        output::note("error: --principal and --action are required (or --cases FILE)");
        return Exit::Error;
    };
    if args.trust.is_none() && args.identity.is_empty() && args.resource_policy.is_none() {
        output::note("error: give at least one policy: --trust, --identity or --resource-policy");
        return Exit::Error;
    }
    let resource = args.resource.clone().unwrap_or_else(|| "*".to_owned());
    if let Err(e) = check_request(action, &resource) {
        output::note(&format!("error: {e}"));
        return Exit::Error;
    }
    let loaded = match load(args) {
        Ok(l) => l,
        Err(e) => {
            output::note(e.strip_suffix('\n').unwrap_or(&e));
            return Exit::Error;
        }
    };
    let ctx = match parse_context(&args.context) {
        Ok(c) => c,
        Err(e) => {
            output::note(&format!("error: {e}"));
            return Exit::Error;
        }
    };
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
            .find(|f| f.kind.as_str() == r.policy && f.index == r.index)
    };
    let written = match format {
        Format::Json => {
            let with_files = |rs: &[Reason]| -> Vec<serde_json::Value> {
                rs.iter()
                    .map(|r| {
                        let mut v = serde_json::to_value(r).unwrap_or_default();
                        if let (Some(obj), Some(f)) = (v.as_object_mut(), file_of(r)) {
                            obj.insert("file".into(), json!(f.path.display().to_string()));
                        }
                        if let Some(obj) = v.as_object_mut()
                            && args.explain_actions
                        {
                            let covers: serde_json::Map<String, serde_json::Value> =
                                covered_actions(&loaded.set, r)
                                    .into_iter()
                                    .map(|c| (c.pattern, json!(c.actions)))
                                    .collect();
                            obj.insert("actionPatterns".into(), json!(covers));
                        }
                        v
                    })
                    .collect()
            };
            output::raw(&format!(
                "{}\n",
                json!({"decision": ex.decision, "summary": ex.summary, "reasons": with_files(&ex.deciding), "notApplied": with_files(&ex.not_applied)})
            ))
        }
        Format::Human => output::human(&human(&ex, &file_of, &|r: &Reason| {
            if args.explain_actions {
                covered_actions(&loaded.set, r)
            } else {
                Vec::new()
            }
        })),
    };
    if let Err(closed) = written {
        return closed.into();
    }
    match response.decision {
        Decision::Allow => Exit::Success,
        _ => Exit::Failure,
    }
}

/// A wildcard action pattern of a statement and the actions it covers.
struct Coverage {
    pattern: String,
    actions: Vec<String>,
}

/// The wildcard action patterns of the statement behind a reason, each with the actions it
/// covers.
fn covered_actions(set: &PolicySet, r: &Reason) -> Vec<Coverage> {
    let Some(statement) = PolicyKind::from_name(r.policy)
        .and_then(|k| set.policy(k, r.index))
        .and_then(|p| p.policy().statements.get(r.statement))
    else {
        return Vec::new();
    };
    let Some(actions) = &statement.action else {
        return Vec::new();
    };
    actions
        .items
        .iter()
        .filter(|a| a.value.contains(['*', '?']))
        .map(|a| Coverage {
            pattern: a.value.to_string(),
            actions: catalog().expand(&a.value),
        })
        .collect()
}

fn human<'f>(
    ex: &Explanation,
    file_of: &dyn Fn(&Reason) -> Option<&'f LoadedFile>,
    covers: &dyn Fn(&Reason) -> Vec<Coverage>,
) -> String {
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
            let loc = file.map_or_else(
                || format!("{}[{}]", r.policy, r.index),
                |f| f.path.display().to_string(),
            );
            s.push_str(&format!(
                "  {loc}:{}:{}  {} statement {}{sid} in the {} policy\n",
                r.line, r.column, r.effect, r.statement, r.policy
            ));
            if let Some(f) = file {
                s.push_str(&render::source_line(&f.text, r.line, r.column, 4));
            }
            s.push_str(&format!("    {}\n", r.detail));
            for Coverage { pattern, actions } in covers(r) {
                let what = if pattern.split_once(':').is_none() {
                    "every action of every service".to_owned()
                } else if actions.is_empty() {
                    "no action AWS has".to_owned()
                } else {
                    format!("{} actions: {}", actions.len(), actions.join(", "))
                };
                s.push_str(&format!("    `{pattern}` covers {what}\n"));
            }
        }
    };
    section("decided by:", &ex.deciding);
    section("did not apply:", &ex.not_applied);
    s
}
