//! `fargate-sim validate`: lint IAM policies where they live — policy files, Terraform plans,
//! CloudFormation templates — like IAM and Access Analyzer would, plus the trust semantics
//! neither checks; report for people, scripts, Access Analyzer's scripts and code scanning.

mod check;
mod docs;
mod report;
mod sarif;
mod settings;

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use iam_sim::Severity;
use iam_sim::codes::Code;
use iam_sim::validate::{Context, Options, PolicyType, Purpose};
use policy_sources::{InputType, Pseudo};

use crate::exit::Exit;
use crate::input::{self, InputError};
use crate::output;
use check::{Checked, Source, Suppressed};
use settings::{Baseline, Config};

/// Options of `fargate-sim validate`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Examples:
  fargate-sim validate examples/role-trust-policy.json
  fargate-sim validate --role fargate-pod-execution --cluster fargate-sim --region eu-west-1 \\
      --account 000000000000 examples/role-trust-policy.json
  terraform show -json plan.out > plan.json && fargate-sim validate plan.json
  fargate-sim validate --account 111122223333 --region eu-west-1 template.yaml
  fargate-sim validate --format sarif policies/ > results.sarif
  fargate-sim validate --write-baseline .fargate-sim-baseline.json policies/

Inputs are told apart by content (--input-type overrides): a policy document, a Terraform plan
(`terraform show -json`; every policy of every module, values unknown until apply reported as
such), or a CloudFormation template (JSON or YAML with !Sub, !GetAtt, !Ref, !Join, !If; values
not known until deploy are not read as text). Directories are walked for *.json, and for *.yaml,
*.yml and *.template files that are CloudFormation templates.

A trust policy gets the Fargate checks when it trusts eks-fargate-pods.amazonaws.com, and the
IRSA checks when it trusts an oidc.eks.* provider; --role narrows to one, and --cluster,
--region, --account and the IRSA flags sharpen them. A role that a Fargate profile of the same
plan or template uses gets the Fargate checks with that profile's cluster.

Every finding has a stable code (IAM0xx: IAM rejects the document; AA1xx: what Access Analyzer
reports; FS2xx: trust semantics; FS3xx: plans and templates), a severity (error,
security-warning, warning, suggestion) and a page in docs/findings.md. Malformed JSON in one file
is a finding for that file; the others are still checked.

Defaults come from fargate-sim.toml, found from the working directory upward (--config names
one): its [validate] table takes the flags' names, and [[validate.suppress]] rules leave out
findings by path, resource and code (docs/validate.md#configuration).

Exit status: 0 no finding at or above --fail-on; 1 findings at or above it; 2 the tool could not
run (unreadable path, bad flag, bad configuration); 3 a Terraform plan or CloudFormation template
held no IAM policy (FS302) and nothing else failed.")]
pub struct Args {
    /// Policy files, Terraform plans, CloudFormation templates, directories, or `-` for stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// What the inputs are (default: detect from each file's content).
    #[arg(long, value_enum)]
    pub input_type: Option<InputTypeArg>,
    /// The policy type (default: in plans and templates the attribute's; else detected: a
    /// document with Principal and sts: actions is a trust policy).
    #[arg(long, value_enum)]
    pub policy_type: Option<TypeArg>,
    /// Check the trust policy against this purpose only (default: each trust policy's purpose
    /// is inferred from its principals: the Fargate pods service principal, an oidc.eks.*
    /// provider; and from a Fargate profile of the same plan or template that uses the role).
    #[arg(long, value_enum)]
    pub role: Option<RoleArg>,
    /// The EKS cluster (for the Fargate checks: its profiles' ARNs must match aws:SourceArn).
    #[arg(long)]
    pub cluster: Option<String>,
    /// The cluster's region; in templates, `AWS::Region`.
    #[arg(long)]
    pub region: Option<String>,
    /// The cluster's account; in templates, `AWS::AccountId`.
    #[arg(long)]
    pub account: Option<String>,
    /// The cluster's IAM OIDC provider ARN (for the IRSA checks).
    #[arg(long, value_name = "ARN")]
    pub oidc_provider: Option<String>,
    /// The service account's namespace (for the IRSA checks).
    #[arg(long)]
    pub namespace: Option<String>,
    /// The service account (for the IRSA checks).
    #[arg(long)]
    pub service_account: Option<String>,
    /// Output format [default: human].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// The lowest severity that makes the exit status 1 [default: warning].
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// The role trust policy quota, in characters without whitespace [default: 2048].
    #[arg(long, value_name = "N")]
    pub trust_policy_quota: Option<usize>,
    /// Leave out findings with these codes (comma-separated, repeatable), e.g. `--ignore AA111`
    /// for an action newer than the bundled service catalogue. They are counted, not shown, and
    /// do not set the exit status.
    #[arg(long, value_name = "CODE[,CODE]", value_delimiter = ',', value_parser = settings::parse_code)]
    pub ignore: Vec<Code>,
    /// Show the suppressed findings (--ignore, fargate-sim.toml, --baseline), marked (in JSON
    /// `"suppressed": true`, in SARIF a `suppressions` entry).
    #[arg(long)]
    pub show_suppressed: bool,
    /// The configuration file (default: fargate-sim.toml in the working directory or above).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Report only findings that are not in this baseline (written by --write-baseline); the
    /// others are counted as suppressed.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Write the findings that count to FILE as a baseline, then report as usual.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
}

/// `--input-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputTypeArg {
    /// A policy document.
    Policy,
    /// A Terraform plan as `terraform show -json` writes it.
    TerraformPlan,
    /// A CloudFormation template, JSON or YAML.
    Cloudformation,
}

impl From<InputTypeArg> for InputType {
    fn from(a: InputTypeArg) -> Self {
        match a {
            InputTypeArg::Policy => InputType::Policy,
            InputTypeArg::TerraformPlan => InputType::TerraformPlan,
            InputTypeArg::Cloudformation => InputType::CloudFormation,
        }
    }
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
    /// IAM Access Analyzer's ValidatePolicy answer: {"findings": [...]}.
    AccessAnalyzer,
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

/// The largest plan or template read (policy documents keep their own limit, 1 MiB).
pub const MAX_SOURCE_BYTES: u64 = 256 << 20;

/// Extensions of CloudFormation templates in YAML.
const YAML_EXTENSIONS: &[&str] = &["yaml", "yml", "template"];

fn is_yaml(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| YAML_EXTENSIONS.contains(&e))
}

/// Reads every path: files, directories (every `*.json` below them, and the `*.yaml`, `*.yml`
/// and `*.template` files that are CloudFormation templates; links followed, loops and
/// non-regular files skipped with a note), `-` for standard input (once). A file over the limit
/// or not in UTF-8 is a finding about that file; a path that cannot be read stops the run.
fn collect(
    paths: &[PathBuf],
    forced: Option<InputType>,
) -> Result<(Vec<Source>, Vec<String>), String> {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    // A policy is read up to 1 MiB; a file whose first bytes say it may be a plan or a
    // template (or every file, with --input-type terraform-plan or cloudformation) up to
    // 256 MiB.
    let large_ok = |prefix: &[u8]| match forced {
        Some(InputType::Policy) => false,
        Some(_) => true,
        None => InputType::may_be_large(prefix),
    };
    let read = |p: &Path| match input::read_sniffed(
        p,
        input::MAX_POLICY_BYTES,
        MAX_SOURCE_BYTES,
        large_ok,
    ) {
        Ok(c) => Ok(Ok(c)),
        Err(InputError::TooLarge { size, limit, .. }) => Ok(Err((size, limit))),
        Err(e) => Err(e.to_string()),
    };
    for p in paths {
        if p != Path::new("-")
            && std::fs::metadata(p)
                .map_err(|e| format!("cannot read `{}`: {e}", p.display()))?
                .is_dir()
        {
            let walk = input::walk(p, &["json", "yaml", "yml", "template"]);
            notes.extend(walk.skipped);
            for f in walk.files {
                let content = read(&f)?;
                // In a folder, YAML that is not a template (a Kubernetes manifest, a CI file)
                // is someone else's.
                if is_yaml(&f)
                    && forced.is_none()
                    && let Ok(input::Content::Text(t)) = &content
                    && InputType::detect(t) != InputType::CloudFormation
                {
                    continue;
                }
                out.push(Source {
                    path: f.display().to_string(),
                    content,
                    yaml: is_yaml(&f),
                });
            }
        } else {
            out.push(Source {
                path: p.display().to_string(),
                content: read(p)?,
                yaml: is_yaml(p),
            });
        }
    }
    Ok((out, notes))
}

/// The run's settings: the flags, then fargate-sim.toml, then the defaults.
struct Settings {
    format: Format,
    fail_on: FailOn,
    show_suppressed: bool,
    ignore: Vec<Code>,
    baseline: Option<PathBuf>,
    setup: check::Setup,
}

fn enum_setting<T: ValueEnum>(
    file: &Config,
    key: &str,
    value: Option<&String>,
) -> Result<Option<T>, String> {
    value
        .map(|v| {
            T::from_str(v, false).map_err(|_| {
                let names: Vec<String> = T::value_variants()
                    .iter()
                    .filter_map(|x| x.to_possible_value().map(|p| p.get_name().to_owned()))
                    .collect();
                format!(
                    "`{}`: {key} = \"{v}\" is not one of {}",
                    file.path
                        .as_deref()
                        .unwrap_or(Path::new(settings::CONFIG_NAME))
                        .display(),
                    names.join(", ")
                )
            })
        })
        .transpose()
}

fn settings(args: &Args, file: &Config) -> Result<Settings, String> {
    let v = &file.validate;
    let format = args
        .format
        .or(enum_setting(file, "format", v.format.as_ref())?)
        .unwrap_or(Format::Human);
    let fail_on = args
        .fail_on
        .or(enum_setting(file, "fail-on", v.fail_on.as_ref())?)
        .unwrap_or(FailOn::Warning);
    let mut ignore = args.ignore.clone();
    for c in &v.ignore {
        ignore.push(settings::parse_code(c)?);
    }
    let pick = |flag: &Option<String>, conf: &Option<String>| flag.clone().or_else(|| conf.clone());
    let context = Context {
        cluster: pick(&args.cluster, &v.cluster),
        region: pick(&args.region, &v.region),
        account: pick(&args.account, &v.account),
        oidc_provider: args.oidc_provider.clone(),
        namespace: args.namespace.clone(),
        service_account: args.service_account.clone(),
    };
    let policy_type = args.policy_type.map(|t| match t {
        TypeArg::Trust => PolicyType::Trust,
        TypeArg::Identity => PolicyType::Identity,
        TypeArg::Resource => PolicyType::Resource,
    });
    let purpose = args.role.map(|r| match r {
        RoleArg::FargatePodExecution => Purpose::FargatePodExecution {
            cluster: context.cluster.clone(),
            region: context.region.clone(),
            account: context.account.clone(),
        },
        RoleArg::Irsa => Purpose::Irsa {
            oidc_provider: context.oidc_provider.clone(),
            namespace: context.namespace.clone(),
            service_account: context.service_account.clone(),
        },
    });
    let policy_type = if purpose.is_some() && policy_type.is_none() {
        Some(PolicyType::Trust)
    } else {
        policy_type
    };
    let pseudo = Pseudo {
        account: context.account.clone(),
        region: context.region.clone(),
    };
    Ok(Settings {
        format,
        fail_on,
        show_suppressed: args.show_suppressed || v.show_suppressed.unwrap_or(false),
        ignore,
        baseline: args
            .baseline
            .clone()
            .or_else(|| v.baseline.as_deref().map(|b| file.resolve(b))),
        setup: check::Setup {
            options: Options {
                policy_type,
                infer_purpose: purpose.is_none(),
                purpose,
                context,
                trust_policy_quota: args
                    .trust_policy_quota
                    .or(v.trust_policy_quota)
                    .unwrap_or(2048),
            },
            input_type: args.input_type.map(InputType::from),
            pseudo,
        },
    })
}

pub fn run(args: &Args) -> Exit {
    match run_inner(args) {
        Ok(exit) => exit,
        Err(e) => {
            output::note(&format!("error: {e}"));
            Exit::Error
        }
    }
}

fn run_inner(args: &Args) -> Result<Exit, String> {
    if args.namespace.is_some() != args.service_account.is_some() {
        return Err("--namespace and --service-account go together".into());
    }
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;
    let config = Config::load(args.config.as_deref(), &cwd)?;
    let s = settings(args, &config)?;
    let baseline = s.baseline.as_deref().map(Baseline::load).transpose()?;
    let (sources, notes) = collect(&args.paths, s.setup.input_type)?;
    for n in &notes {
        output::note(&format!("note: {n}"));
    }
    let mut checked = check::check(sources, &s.setup);
    for c in &mut checked {
        for f in &mut c.findings {
            if s.ignore.contains(&f.d.code) {
                f.suppressed = Some(Suppressed::Ignored);
            }
        }
    }
    config.apply(&mut checked, &cwd);
    if let Some(b) = &baseline {
        b.apply(&mut checked);
    }
    if let Some(path) = &args.write_baseline {
        let b = Baseline::of(&checked);
        std::fs::write(path, pretty(&b))
            .map_err(|e| format!("cannot write the baseline `{}`: {e}", path.display()))?;
        output::note(&format!(
            "note: wrote {} finding(s) to the baseline `{}`",
            b.findings.len(),
            path.display()
        ));
    }
    let show = s.show_suppressed;
    let written = match s.format {
        Format::Human => output::human(&report::human(&checked, show)),
        Format::Json => output::raw(&pretty(&report::json(&checked, show))),
        Format::AccessAnalyzer => output::raw(&pretty(&report::access_analyzer(&checked, show))),
        Format::Sarif => output::raw(&pretty(&sarif::log(&checked, show, &cwd))),
    };
    if let Err(closed) = written {
        return Ok(closed.into());
    }
    Ok(verdict(&checked, s.fail_on.severity()))
}

/// 1 when a counted finding is at or above the threshold (FS302 aside), else 3 when a plan or
/// template held no policy, else 0.
fn verdict(checked: &[Checked], threshold: Severity) -> Exit {
    let counted = || checked.iter().flat_map(Checked::counted);
    if counted().any(|f| f.d.code != Code::NoPolicy && f.d.severity() >= threshold) {
        Exit::Failure
    } else if counted().any(|f| f.d.code == Code::NoPolicy) {
        Exit::NothingChecked
    } else {
        Exit::Success
    }
}

/// A report as pretty JSON, with a final line break.
fn pretty(report: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(report).unwrap_or_default() + "\n"
}
