//! `fargate-sim eksctl …`: the eksctl commands the chapter uses (eksctl itself cannot be
//! installed here), as a client of the EKS API at `AWS_ENDPOINT_URL_EKS` / `AWS_ENDPOINT_URL`
//! — `fargate-sim up`'s endpoint.

use std::path::{Path, PathBuf};

use emulator::eksctl::{Eksctl, Line, Waiting};
use s3_harness::eks::types::FargateProfile;
use s3_harness::{Clients, Creds};
use scheduler::eksctl::{ClusterConfig, parse_config};

use crate::exit::Exit;
use crate::output;

/// eksctl's verbs.
#[derive(Debug, clap::Subcommand)]
#[command(after_long_help = "\
The endpoint is AWS_ENDPOINT_URL_EKS, else AWS_ENDPOINT_URL (what `eval \"$(fargate-sim up
--detach)\"` sets); it must be on this machine unless --allow-real-aws. Credentials and region
come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and the config's
metadata.region (else AWS_REGION). Like eksctl, the config is not expanded: the chapter pipes
`envsubst` into `-f -`.

Where eksctl makes CloudFormation stacks, this makes the same IAM roles directly:
eksctl-CLUSTER-cluster-ServiceRole (trusting eks.amazonaws.com, AmazonEKSClusterPolicy) and, for
profiles that name no podExecutionRoleARN, eksctl-CLUSTER-cluster-FargatePodExecutionRole
(trusting eks-fargate-pods.amazonaws.com for the cluster's profiles,
AmazonEKSFargatePodExecutionRolePolicy); `delete cluster` removes them.

Exit status: 0 done; 1 EKS or IAM refused a call (the error is eksctl's `Error: …` line);
2 the config, the endpoint or the credentials cannot be used.")]
pub enum Command {
    /// Create a cluster or Fargate profiles.
    #[command(subcommand)]
    Create(Create),
    /// List Fargate profiles.
    #[command(subcommand)]
    Get(Get),
    /// Delete a Fargate profile or a cluster.
    #[command(subcommand)]
    Delete(Delete),
}

/// `create …`.
#[derive(Debug, clap::Subcommand)]
pub enum Create {
    /// Create the cluster of a ClusterConfig, with its Fargate profiles.
    Cluster(FileArgs),
    /// Create the Fargate profiles of a ClusterConfig.
    #[command(name = "fargateprofile")]
    FargateProfile(FileArgs),
}

/// `get …`.
#[derive(Debug, clap::Subcommand)]
pub enum Get {
    /// List a cluster's Fargate profiles.
    #[command(name = "fargateprofile")]
    FargateProfile(GetArgs),
}

/// `delete …`.
#[derive(Debug, clap::Subcommand)]
pub enum Delete {
    /// Delete a Fargate profile.
    #[command(name = "fargateprofile")]
    FargateProfile(DeleteProfileArgs),
    /// Delete a cluster, its Fargate profiles first.
    Cluster(DeleteClusterArgs),
}

/// The options every verb shares.
#[derive(Debug, clap::Args)]
pub struct Common {
    /// Allow an endpoint that is not on this machine.
    #[arg(long)]
    pub allow_real_aws: bool,
}

/// `-f FILE`.
#[derive(Debug, clap::Args)]
pub struct FileArgs {
    /// The ClusterConfig (`-` reads standard input).
    #[arg(short = 'f', long = "config-file", value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub common: Common,
}

/// Output formats of `get`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// A table.
    Table,
    /// JSON.
    Json,
    /// YAML.
    Yaml,
}

/// `get fargateprofile`.
#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// The cluster.
    #[arg(long, short = 'c')]
    pub cluster: String,
    /// Only this profile.
    #[arg(long)]
    pub name: Option<String>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// The region (default: AWS_REGION).
    #[arg(long)]
    pub region: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

/// `delete fargateprofile`.
#[derive(Debug, clap::Args)]
pub struct DeleteProfileArgs {
    /// The profile.
    #[arg(long)]
    pub name: String,
    /// The cluster.
    #[arg(
        long,
        short = 'c',
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    pub cluster: Option<String>,
    /// A ClusterConfig naming the cluster.
    #[arg(short = 'f', long = "config-file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Wait until the profile is gone.
    #[arg(long)]
    pub wait: bool,
    /// The region (default: the config's, else AWS_REGION).
    #[arg(long)]
    pub region: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

/// `delete cluster`.
#[derive(Debug, clap::Args)]
pub struct DeleteClusterArgs {
    /// The cluster.
    #[arg(
        long,
        short = 'n',
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    pub name: Option<String>,
    /// A ClusterConfig naming the cluster.
    #[arg(short = 'f', long = "config-file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Wait until the cluster is gone.
    #[arg(long, short = 'w')]
    pub wait: bool,
    /// The region (default: the config's, else AWS_REGION).
    #[arg(long)]
    pub region: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

/// A failure: the message and the exit status.
struct Failed(String, Exit);

fn unusable(m: impl Into<String>) -> Failed {
    Failed(m.into(), Exit::Error)
}

/// Runs an eksctl command.
#[allow(clippy::print_stderr, reason = "the CLI owns the terminal")]
pub fn run(cmd: &Command) -> Exit {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error: {e}");
            return Exit::Error;
        }
    };
    match runtime.block_on(dispatch(cmd)) {
        Ok(exit) => exit,
        Err(Failed(message, exit)) => {
            eprintln!("Error: {}", output::visible(&message));
            exit
        }
    }
}

async fn dispatch(cmd: &Command) -> Result<Exit, Failed> {
    let refused = |e: emulator::eksctl::EksctlError| Failed(e.0, Exit::Failure);
    match cmd {
        Command::Create(Create::Cluster(a)) => {
            let cfg = read_config(&a.file)?;
            let eksctl = connect(Some(&cfg.region), &a.common).await?;
            eksctl.create_cluster(&cfg, &say).await.map_err(refused)?;
        }
        Command::Create(Create::FargateProfile(a)) => {
            let cfg = read_config(&a.file)?;
            let eksctl = connect(Some(&cfg.region), &a.common).await?;
            eksctl.create_profiles(&cfg, &say).await.map_err(refused)?;
        }
        Command::Get(Get::FargateProfile(a)) => {
            let eksctl = connect(a.region.as_deref(), &a.common).await?;
            let profiles = eksctl
                .get_profiles(&a.cluster, a.name.as_deref())
                .await
                .map_err(refused)?;
            let text = render(&profiles, a.output);
            if output::raw(&text).is_err() {
                return Ok(Exit::PipeClosed);
            }
        }
        Command::Delete(Delete::FargateProfile(a)) => {
            let (cluster, region) = target(a.cluster.as_deref(), a.file.as_deref(), &a.region)?;
            let eksctl = connect(region.as_deref(), &a.common).await?;
            eksctl
                .delete_profile(&cluster, &a.name, a.wait, &say)
                .await
                .map_err(refused)?;
        }
        Command::Delete(Delete::Cluster(a)) => {
            let (cluster, region) = target(a.name.as_deref(), a.file.as_deref(), &a.region)?;
            let eksctl = connect(region.as_deref(), &a.common).await?;
            eksctl
                .delete_cluster(&cluster, a.wait, &say)
                .await
                .map_err(refused)?;
        }
    }
    Ok(Exit::Success)
}

/// The cluster named by a flag or by a config file, and the region.
fn target(
    name: Option<&str>,
    file: Option<&Path>,
    region: &Option<String>,
) -> Result<(String, Option<String>), Failed> {
    match (name, file) {
        (Some(n), _) => Ok((n.to_owned(), region.clone())),
        (None, Some(f)) => {
            let cfg = read_config(f)?;
            Ok((cfg.name, region.clone().or(Some(cfg.region))))
        }
        (None, None) => Err(unusable("--cluster or -f must be given")),
    }
}

/// One of eksctl's lines, on standard error: `2026-12-06 17:58:01 [ℹ]  text`.
#[allow(clippy::print_stderr, reason = "the CLI owns the terminal")]
fn say(line: Line) {
    let (mark, text) = match &line {
        Line::Info(t) => ("ℹ", t),
        Line::Done(t) => ("✔", t),
    };
    eprintln!(
        "{} [{mark}]  {}",
        timestamp(std::time::SystemTime::now()),
        output::visible(text)
    );
}

/// `YYYY-MM-DD HH:MM:SS` (UTC).
fn timestamp(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    endpoint::time::Utc::from_unix(i64::try_from(secs).unwrap_or(i64::MAX)).plain()
}

fn read_config(file: &Path) -> Result<ClusterConfig, Failed> {
    let text = crate::input::read_text(file, crate::input::MAX_MANIFEST_BYTES).map_err(unusable)?;
    let shown = if file == Path::new("-") {
        "standard input".to_owned()
    } else {
        file.display().to_string()
    };
    let cfg = parse_config(&text).map_err(|e| match e.line {
        Some(l) => unusable(format!("{shown}:{l}: {}", e.message)),
        None => unusable(format!("{shown}: {}", e.message)),
    })?;
    if let Some(p) = cfg
        .profiles
        .iter()
        .find(|p| p.pod_execution_role_arn.contains("${"))
    {
        return Err(unusable(format!(
            "{shown}: podExecutionRoleARN of Fargate profile \"{}\" is `{}`: the variable was not expanded; pipe the file through envsubst first (`envsubst < FILE | fargate-sim eksctl … -f -`)",
            p.fargate_profile_name, p.pod_execution_role_arn
        )));
    }
    Ok(cfg)
}

/// Clients for the endpoint, with the environment's credentials.
async fn connect(region: Option<&str>, common: &Common) -> Result<Eksctl, Failed> {
    let endpoint = ["AWS_ENDPOINT_URL_EKS", "AWS_ENDPOINT_URL"]
        .into_iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()))
        .ok_or_else(|| {
            unusable(
                "no EKS endpoint: start one with `eval \"$(fargate-sim up --detach)\"`, or set AWS_ENDPOINT_URL_EKS",
            )
        })?;
    let parsed = s3_harness::localstack::parse_endpoint(endpoint.trim())
        .map_err(|e| unusable(e.to_string()))?;
    if !parsed.is_loopback() && !common.allow_real_aws {
        return Err(unusable(format!(
            "refusing the EKS endpoint `{endpoint}`: it is not on this machine (pass --allow-real-aws to use it)"
        )));
    }
    let creds = match (
        std::env::var("AWS_ACCESS_KEY_ID"),
        std::env::var("AWS_SECRET_ACCESS_KEY"),
    ) {
        (Ok(id), Ok(secret)) if !id.is_empty() && !secret.is_empty() => Creds {
            access_key_id: id,
            secret_access_key: secret,
            session_token: std::env::var("AWS_SESSION_TOKEN")
                .ok()
                .filter(|t| !t.is_empty()),
        },
        _ => {
            return Err(unusable(
                "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (`fargate-sim up` prints them)",
            ));
        }
    };
    let region = region
        .map(str::to_owned)
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .ok_or_else(|| unusable("no region: set metadata.region, --region or AWS_REGION"))?;
    let clients = Clients::new(endpoint.trim(), &region, &creds).await;
    Ok(Eksctl::new(clients, Waiting::default()))
}

/// `get fargateprofile`'s output: eksctl's table (a row per selector), or a list of
/// `{name, podExecutionRoleARN, selectors, subnets, tags, status}` in JSON (4-space indents)
/// or YAML.
fn render(profiles: &[FargateProfile], format: OutputFormat) -> String {
    use serde_json::{Map, Value, json};
    let view: Vec<Value> = profiles
        .iter()
        .map(|p| {
            let selectors: Vec<Value> = p
                .selectors()
                .iter()
                .map(|s| {
                    let mut m = Map::new();
                    m.insert("namespace".into(), json!(s.namespace().unwrap_or_default()));
                    if let Some(l) = s.labels().filter(|l| !l.is_empty()) {
                        let sorted: std::collections::BTreeMap<_, _> = l.iter().collect();
                        m.insert("labels".into(), json!(sorted));
                    }
                    Value::Object(m)
                })
                .collect();
            let mut m = Map::new();
            m.insert("name".into(), json!(p.fargate_profile_name()));
            m.insert(
                "podExecutionRoleARN".into(),
                json!(p.pod_execution_role_arn()),
            );
            m.insert("selectors".into(), Value::Array(selectors));
            m.insert("subnets".into(), json!(p.subnets()));
            if let Some(t) = p.tags().filter(|t| !t.is_empty()) {
                let sorted: std::collections::BTreeMap<_, _> = t.iter().collect();
                m.insert("tags".into(), json!(sorted));
            }
            m.insert(
                "status".into(),
                json!(p.status().map(|s| s.as_str()).unwrap_or_default()),
            );
            Value::Object(m)
        })
        .collect();
    match format {
        OutputFormat::Json => {
            let mut buf = Vec::new();
            let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
            let _ = serde::Serialize::serialize(&view, &mut ser);
            let mut s = String::from_utf8_lossy(&buf).into_owned();
            s.push('\n');
            s
        }
        OutputFormat::Yaml => serde_yaml_ng::to_string(&view).unwrap_or_default(),
        OutputFormat::Table => {
            let mut rows = vec![[
                "NAME".to_owned(),
                "SELECTOR_NAMESPACE".to_owned(),
                "SELECTOR_LABELS".to_owned(),
                "POD_EXECUTION_ROLE_ARN".to_owned(),
                "SUBNETS".to_owned(),
                "TAGS".to_owned(),
                "STATUS".to_owned(),
            ]];
            let pairs = |m: Option<&std::collections::HashMap<String, String>>| {
                let mut v: Vec<String> = m
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                v.sort();
                if v.is_empty() {
                    "<none>".to_owned()
                } else {
                    v.join(",")
                }
            };
            for p in profiles {
                for s in p.selectors() {
                    rows.push([
                        p.fargate_profile_name().unwrap_or_default().to_owned(),
                        s.namespace().unwrap_or_default().to_owned(),
                        pairs(s.labels()),
                        p.pod_execution_role_arn().unwrap_or_default().to_owned(),
                        p.subnets().join(","),
                        pairs(p.tags()),
                        p.status()
                            .map(|s| s.as_str())
                            .unwrap_or_default()
                            .to_owned(),
                    ]);
                }
            }
            let widths: Vec<usize> = (0..7)
                .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
                .collect();
            let mut out = String::new();
            for r in &rows {
                let line: Vec<String> = r
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        if i == 6 {
                            c.clone()
                        } else {
                            format!("{c:<w$}", w = widths[i])
                        }
                    })
                    .collect();
                out.push_str(line.join("  ").trim_end());
                out.push('\n');
            }
            out
        }
    }
}
