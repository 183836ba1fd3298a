//! `fargate-sim validate`: lint policy files (role trust policies first) like IAM and Access
//! Analyzer would, plus the trust semantics neither checks.

use std::path::{Path, PathBuf};

use iam_sim::codes::Code;
use iam_sim::policy::{not_utf8, too_large};
use iam_sim::validate::{Options, PolicyType, Purpose, validate};
use iam_sim::{Diagnostic, LineIndex, Severity};
use serde_json::json;

use crate::exit::Exit;
use crate::input::{self, Content, InputError};
use crate::{output, render};

/// Options of `fargate-sim validate`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Examples:
  fargate-sim validate examples/role-trust-policy.json
  fargate-sim validate --role fargate-pod-execution --cluster fargate-sim --region eu-west-1 \\
      --account 000000000000 examples/role-trust-policy.json
  fargate-sim validate --format sarif policies/ > results.sarif

Every finding has a stable code (IAM0xx: IAM rejects the document; AA1xx: what Access Analyzer
reports; FS2xx: trust semantics), a severity (error, security-warning, warning, suggestion) and a
page in docs/findings.md. Malformed JSON in one file is a finding for that file; the others are
still checked.

Exit status: 0 no finding at or above --fail-on; 1 findings at or above it; 2 the tool could not
run (unreadable path, bad flag).")]
pub struct Args {
    /// Policy files, directories (every *.json below them), or `-` for stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The policy type (default: detect; a document with Principal and sts: actions is a trust policy).
    #[arg(long, value_enum)]
    pub policy_type: Option<TypeArg>,
    /// Check the trust policy against the role's purpose.
    #[arg(long, value_enum)]
    pub role: Option<RoleArg>,
    /// The EKS cluster (for --role fargate-pod-execution: its profiles' ARNs must match aws:SourceArn).
    #[arg(long)]
    pub cluster: Option<String>,
    /// The cluster's region.
    #[arg(long)]
    pub region: Option<String>,
    /// The cluster's account.
    #[arg(long)]
    pub account: Option<String>,
    /// The cluster's IAM OIDC provider ARN (for --role irsa).
    #[arg(long, value_name = "ARN")]
    pub oidc_provider: Option<String>,
    /// The service account's namespace (for --role irsa).
    #[arg(long)]
    pub namespace: Option<String>,
    /// The service account (for --role irsa).
    #[arg(long)]
    pub service_account: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// The lowest severity that makes the exit status 1.
    #[arg(long, value_enum, default_value = "warning")]
    pub fail_on: FailOn,
    /// The role trust policy quota, in characters without whitespace.
    #[arg(long, default_value_t = 2048, value_name = "N")]
    pub trust_policy_quota: usize,
    /// Leave out findings with these codes (comma-separated, repeatable), e.g. `--ignore AA111`
    /// for an action newer than the bundled service catalogue. They are counted, not shown, and
    /// do not set the exit status.
    #[arg(long, value_name = "CODE[,CODE]", value_delimiter = ',', value_parser = parse_code)]
    pub ignore: Vec<Code>,
    /// Show the findings --ignore left out, marked as suppressed (in JSON `"suppressed": true`,
    /// in SARIF a `suppressions` entry).
    #[arg(long)]
    pub show_suppressed: bool,
}

/// A finding code for `--ignore`.
fn parse_code(text: &str) -> Result<Code, String> {
    let text = text.trim();
    Code::parse(&text.to_ascii_uppercase()).ok_or_else(|| {
        let codes: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        let names: Vec<&str> = Code::ALL.iter().map(|c| c.name()).collect();
        let hint = Code::ALL
            .iter()
            .find(|c| c.name() == text)
            .map(|c| format!("; `{text}` is the name of {c}, write `{c}`"))
            .or_else(|| {
                iam_sim::policy::did_you_mean(text, &codes)
                    .or_else(|| iam_sim::policy::did_you_mean(text, &names))
                    .map(|m| format!("; did you mean `{m}`?"))
            })
            .unwrap_or_default();
        format!("`{text}` is not a finding code (docs/findings.md lists them){hint}")
    })
}

/// `--policy-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TypeArg {
    /// A role trust policy.
    Trust,
    /// An identity-based policy.
    Identity,
    /// A resource-based policy (S3 bucket policy).
    Resource,
}

/// `--role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoleArg {
    /// An EKS Fargate pod execution role.
    FargatePodExecution,
    /// An IAM role for a Kubernetes service account.
    Irsa,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people: file:line:col, the source line underlined, the help.
    Human,
    /// One JSON array of findings.
    Json,
    /// SARIF 2.1.0, for code-scanning tools.
    Sarif,
}

/// `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Errors only.
    Error,
    /// Security warnings and errors.
    SecurityWarning,
    /// Warnings and above.
    Warning,
    /// Everything.
    Suggestion,
}

impl FailOn {
    fn severity(self) -> Severity {
        match self {
            FailOn::Error => Severity::Error,
            FailOn::SecurityWarning => Severity::SecurityWarning,
            FailOn::Warning => Severity::Warning,
            FailOn::Suggestion => Severity::Suggestion,
        }
    }
}

/// The documentation page of a finding.
pub fn doc_url(code: Code) -> String {
    format!("docs/findings.md#{}", code.as_str().to_ascii_lowercase())
}

/// A file and its findings.
pub struct Checked {
    /// The path as shown.
    pub path: String,
    /// Its text (empty when it could not be read as text).
    pub text: String,
    /// Findings.
    pub findings: Vec<Diagnostic>,
    /// Findings `--ignore` left out.
    pub suppressed: Vec<Diagnostic>,
}

/// One input to validate: its shown path and what it held.
pub struct Source {
    path: String,
    /// The text, or `Err(size)` for a file over the limit (its size when known).
    content: Result<Content, Option<u64>>,
}

/// Reads every path: files, directories (every `*.json` below them; links followed, loops and
/// non-regular files skipped with a note), `-` for standard input (once). A file over the limit
/// or not in UTF-8 is a finding about that file; a path that cannot be read stops the run.
fn collect(paths: &[PathBuf]) -> Result<(Vec<Source>, Vec<String>), String> {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    let one = |p: &Path, shown: String, out: &mut Vec<Source>| -> Result<(), String> {
        let content = match input::read_content(p, input::MAX_POLICY_BYTES) {
            Ok(c) => Ok(c),
            Err(InputError::TooLarge { size, .. }) => Err(size),
            Err(e) => return Err(e.to_string()),
        };
        out.push(Source {
            path: shown,
            content,
        });
        Ok(())
    };
    for p in paths {
        if p != Path::new("-")
            && std::fs::metadata(p)
                .map_err(|e| format!("cannot read `{}`: {e}", p.display()))?
                .is_dir()
        {
            let walk = input::walk(p, "json");
            notes.extend(walk.skipped);
            for f in walk.files {
                one(&f, f.display().to_string(), &mut out)?;
            }
        } else {
            one(p, p.display().to_string(), &mut out)?;
        }
    }
    Ok((out, notes))
}

fn options(args: &Args) -> Options {
    let policy_type = args.policy_type.map(|t| match t {
        TypeArg::Trust => PolicyType::Trust,
        TypeArg::Identity => PolicyType::Identity,
        TypeArg::Resource => PolicyType::Resource,
    });
    let purpose = args.role.map(|r| match r {
        RoleArg::FargatePodExecution => Purpose::FargatePodExecution {
            cluster: args.cluster.clone(),
            region: args.region.clone(),
            account: args.account.clone(),
        },
        RoleArg::Irsa => Purpose::Irsa {
            oidc_provider: args.oidc_provider.clone(),
            namespace: args.namespace.clone(),
            service_account: args.service_account.clone(),
        },
    });
    let policy_type = if purpose.is_some() && policy_type.is_none() {
        Some(PolicyType::Trust)
    } else {
        policy_type
    };
    Options {
        policy_type,
        purpose,
        trust_policy_quota: args.trust_policy_quota,
    }
}

/// Validates every file.
pub fn check(files: Vec<Source>, opts: &Options) -> Vec<Checked> {
    files
        .into_iter()
        .map(|Source { path, content }| {
            let (text, findings) = match content {
                Ok(Content::Text(text)) => {
                    let findings = validate(&text, opts).findings;
                    (text, findings)
                }
                Ok(Content::NotUtf8 { offset, byte }) => {
                    (String::new(), vec![not_utf8(offset, byte)])
                }
                Err(size) => (String::new(), vec![too_large(size)]),
            };
            Checked {
                path,
                text,
                findings,
                suppressed: Vec::new(),
            }
        })
        .collect()
}

pub fn run(args: &Args) -> Exit {
    if args.role == Some(RoleArg::Irsa)
        && (args.namespace.is_some() != args.service_account.is_some())
    {
        output::note("error: --namespace and --service-account go together");
        return Exit::Error;
    }
    let (files, notes) = match collect(&args.paths) {
        Ok(f) => f,
        Err(e) => {
            output::note(&format!("error: {e}"));
            return Exit::Error;
        }
    };
    for n in &notes {
        output::note(&format!("note: {n}"));
    }
    let mut checked = check(files, &options(args));
    for c in &mut checked {
        let (left_out, kept): (Vec<Diagnostic>, Vec<Diagnostic>) = std::mem::take(&mut c.findings)
            .into_iter()
            .partition(|d| args.ignore.contains(&d.code));
        c.findings = kept;
        c.suppressed = left_out;
    }
    let show = args.show_suppressed;
    let written = match args.format {
        Format::Human => output::human(&human(&checked, show)),
        Format::Json => output::raw(
            &(serde_json::to_string_pretty(&json_findings(&checked, show)).unwrap_or_default()
                + "\n"),
        ),
        Format::Sarif => output::raw(
            &(serde_json::to_string_pretty(&sarif(&checked, show)).unwrap_or_default() + "\n"),
        ),
    };
    if let Err(closed) = written {
        return closed.into();
    }
    let threshold = args.fail_on.severity();
    if checked
        .iter()
        .flat_map(|c| &c.findings)
        .any(|d| d.severity() >= threshold)
    {
        Exit::Failure
    } else {
        Exit::Success
    }
}

/// The human report; with `show_suppressed`, the findings `--ignore` left out too, marked.
pub fn human(checked: &[Checked], show_suppressed: bool) -> String {
    let mut s = String::new();
    let mut counts = [0usize; 4];
    let suppressed: usize = checked.iter().map(|c| c.suppressed.len()).sum();
    for c in checked {
        let idx = LineIndex::new(&c.text);
        if show_suppressed {
            for d in &c.suppressed {
                s.push_str(&render::diagnostic(d, Path::new(&c.path), &c.text, &idx));
                s.push_str(&format!(
                    "  suppressed: --ignore {}\n  docs: {}\n\n",
                    d.code,
                    doc_url(d.code)
                ));
            }
        }
        for d in &c.findings {
            s.push_str(&render::diagnostic(d, Path::new(&c.path), &c.text, &idx));
            s.push_str(&format!("  docs: {}\n\n", doc_url(d.code)));
            counts[match d.severity() {
                Severity::Error => 0,
                Severity::SecurityWarning => 1,
                Severity::Warning => 2,
                Severity::Suggestion => 3,
            }] += 1;
        }
    }
    let total: usize = counts.iter().sum();
    let files = checked.len();
    let noun = if files == 1 { "file" } else { "files" };
    let left_out = if suppressed == 0 {
        String::new()
    } else {
        format!(" ({suppressed} suppressed by --ignore)")
    };
    if total == 0 {
        s.push_str(&format!("{files} {noun} checked, no findings{left_out}\n"));
    } else {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        s.push_str(&format!(
            "{files} {noun} checked: {}, {}, {}, {}{left_out}\n",
            plural(counts[0], "error", "errors"),
            plural(counts[1], "security warning", "security warnings"),
            plural(counts[2], "warning", "warnings"),
            plural(counts[3], "suggestion", "suggestions")
        ));
    }
    s
}

fn position(idx: &LineIndex, text: &str, offset: usize) -> serde_json::Value {
    let lc = idx.line_col(text, offset);
    json!({"line": lc.line, "column": lc.column, "offset": offset})
}

/// The findings of a file to report: the suppressed ones first when shown, flagged `true`.
fn reported(c: &Checked, show_suppressed: bool) -> impl Iterator<Item = (&Diagnostic, bool)> {
    let shown: &[Diagnostic] = if show_suppressed { &c.suppressed } else { &[] };
    shown
        .iter()
        .map(|d| (d, true))
        .chain(c.findings.iter().map(|d| (d, false)))
}

/// The JSON report: one object per finding.
pub fn json_findings(checked: &[Checked], show_suppressed: bool) -> serde_json::Value {
    let mut all = Vec::new();
    for c in checked {
        let idx = LineIndex::new(&c.text);
        for (d, suppressed) in reported(c, show_suppressed) {
            let mut finding = json!({
                "file": c.path,
                "code": d.code,
                "name": d.name(),
                "severity": d.severity().as_str(),
                "message": d.message,
                "help": d.help,
                "path": d.path,
                "span": {"start": position(&idx, &c.text, d.span.start), "end": position(&idx, &c.text, d.span.end)},
                "url": doc_url(d.code),
            });
            if suppressed && let Some(obj) = finding.as_object_mut() {
                obj.insert("suppressed".into(), json!(true));
            }
            all.push(finding);
        }
    }
    serde_json::Value::Array(all)
}

/// The SARIF 2.1.0 log.
pub fn sarif(checked: &[Checked], show_suppressed: bool) -> serde_json::Value {
    let level = |s: Severity| match s {
        Severity::Error => "error",
        Severity::SecurityWarning | Severity::Warning => "warning",
        Severity::Suggestion => "note",
    };
    // Only the rules the results use, so that a clean run stays small.
    let used: Vec<Code> = checked
        .iter()
        .flat_map(|c| reported(c, show_suppressed).map(|(d, _)| d.code))
        .collect();
    let table: Vec<Code> = Code::ALL
        .iter()
        .copied()
        .filter(|c| used.contains(c))
        .collect();
    let rules: Vec<serde_json::Value> = table
        .iter()
        .map(|&code| {
            let sev = code.severity();
            json!({
                "id": code,
                "name": code.name(),
                "shortDescription": {"text": code.summary()},
                "helpUri": doc_url(code),
                "defaultConfiguration": {"level": level(sev)},
                "properties": {"tags": if sev == Severity::SecurityWarning { vec!["security"] } else { vec![] }},
            })
        })
        .collect();
    let mut results = Vec::new();
    for c in checked {
        let idx = LineIndex::new(&c.text);
        for (d, suppressed) in reported(c, show_suppressed) {
            let (s, e) = (
                idx.line_col(&c.text, d.span.start),
                idx.line_col(&c.text, d.span.end),
            );
            let rule_index = table.iter().position(|code| *code == d.code);
            let message = match &d.help {
                Some(h) => format!("{} ({h})", d.message),
                None => d.message.clone(),
            };
            let mut result = json!({
                "ruleId": d.code,
                "ruleIndex": rule_index,
                "level": level(d.severity()),
                "message": {"text": message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": artifact_uri(&c.path)},
                        "region": {"startLine": s.line, "startColumn": s.column, "endLine": e.line, "endColumn": e.column.max(s.column + 1)},
                    },
                    "logicalLocations": [{"fullyQualifiedName": d.path}],
                }],
            });
            if suppressed && let Some(obj) = result.as_object_mut() {
                obj.insert(
                    "suppressions".into(),
                    json!([{"kind": "external", "justification": format!("--ignore {}", d.code)}]),
                );
            }
            results.push(result);
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "fargate-sim", "version": env!("CARGO_PKG_VERSION"), "rules": rules}},
            // Columns count Unicode scalar values (LineIndex), not UTF-16 code units.
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

/// Characters kept as they are in a SARIF artifact URI (a relative URI reference, RFC 3986):
/// unreserved characters and `/`; everything else is percent-encoded (UTF-8), so `#`, `?`,
/// `%` and spaces in file names survive.
const URI_PATH: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// The SARIF `artifactLocation.uri` of a shown path: separators as `/`, percent-encoded.
pub fn artifact_uri(path: &str) -> String {
    let slashed = path.replace('\\', "/");
    percent_encoding::utf8_percent_encode(&slashed, URI_PATH).to_string()
}
