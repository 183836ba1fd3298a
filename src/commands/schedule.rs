//! `fargate-sim schedule`: place the pods of manifests on a cluster's Fargate profiles.

use std::path::{Path, PathBuf};

use scheduler::eksctl::{envsubst, parse_config};
use scheduler::{Cluster, Placement, SeqIds, parse_manifests};
use serde_json::json;

use crate::exit::Exit;
use crate::{input, output};

/// Options of `fargate-sim schedule`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Every profile of the cluster config is taken as ACTIVE; each pod is placed as EKS would at
admission: the first profile by name whose selector matches (namespace and every label, `*` and
`?` allowed), unless the pod's eks.amazonaws.com/fargate-profile label pins one. `${VAR}` in the
config is expanded from the environment, as `envsubst` would; an unset variable is an error.

Examples:
  fargate-sim schedule --cluster examples/new-namespace-cluster.yaml --pods examples/test-pod.yaml
  ROLE_ARN=arn:aws:iam::000000000000:role/s3-read \\
    fargate-sim schedule --cluster examples/execution-role-cluster.yaml --pods examples/s3-pod.yaml --format json

Exit status: 0 when every pod was decided (on Fargate, Pending, or left to the default
scheduler); 2 when a file cannot be read or is invalid.")]
pub struct Args {
    /// The eksctl ClusterConfig (`apiVersion: eksctl.io/v1alpha5`); `-` reads stdin.
    #[arg(long, short = 'f', value_name = "FILE")]
    pub cluster: PathBuf,
    /// Kubernetes manifests (Pod, Deployment, ReplicaSet, StatefulSet, Job, CronJob, DaemonSet); `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    pub pods: Vec<PathBuf>,
    /// The AWS account in profile ARNs.
    #[arg(long, default_value = "000000000000")]
    pub account: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// How to print placements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for people.
    Table,
    /// One JSON object per pod, in an array.
    Json,
}

fn read(path: &Path) -> Result<String, String> {
    input::read_text(path, input::MAX_MANIFEST_BYTES)
}

fn build(args: &Args) -> Result<(Cluster, Vec<Placement>, Vec<String>), String> {
    let text = read(&args.cluster)?;
    let shown = args.cluster.display();
    let expanded =
        envsubst(&text, &|k| std::env::var(k).ok()).map_err(|e| format!("{shown}: {e}"))?;
    let config = parse_config(&expanded).map_err(|e| match e.line {
        Some(l) => format!("{shown}:{l}: {}", e.message),
        None => format!("{shown}: {}", e.message),
    })?;
    let mut cluster = Cluster::new(
        &config.name,
        &config.region,
        &args.account,
        config.subnets.clone(),
        Box::new(SeqIds::new(1)),
    );
    for p in &config.profiles {
        cluster.adopt_profile(p, 0.0).map_err(|e| {
            format!(
                "{shown}: Fargate profile `{}`: {:?}: {}",
                p.fargate_profile_name, e.kind, e.message
            )
        })?;
    }
    let mut placements = Vec::new();
    let mut skipped = Vec::new();
    for path in &args.pods {
        let text = read(path)?;
        let m = parse_manifests(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        skipped.extend(m.skipped);
        for pod in m.pods {
            placements.push(cluster.apply_pod(pod, 0.0));
        }
    }
    Ok((cluster, placements, skipped))
}

pub fn run(args: &Args) -> Exit {
    let (cluster, placements, skipped) = match build(args) {
        Ok(x) => x,
        Err(e) => {
            output::note(&format!("error: {e}"));
            return Exit::Error;
        }
    };
    let written = match args.format {
        Format::Json => {
            let rows: Vec<serde_json::Value> = placements
                .iter()
                .map(|p| {
                    json!({
                        "namespace": p.namespace,
                        "name": p.name,
                        "profile": p.profile,
                        "pending": p.pending,
                        "reason": p.reason,
                        "capacityProvisioned": p.capacity_provisioned,
                        "node": p.node,
                        "events": p.events,
                    })
                })
                .collect();
            output::raw(&(serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n"))
        }
        Format::Table => {
            let mut rows = vec![[
                "POD".to_owned(),
                "PROFILE".into(),
                "NODE".into(),
                "CAPACITY".into(),
                "REASON".into(),
            ]];
            for p in &placements {
                rows.push([
                    format!("{}/{}", p.namespace, p.name),
                    p.profile.clone().unwrap_or_else(|| "-".into()),
                    p.node.clone().unwrap_or_else(|| {
                        if p.pending {
                            "Pending".into()
                        } else {
                            "-".into()
                        }
                    }),
                    p.capacity_provisioned.clone().unwrap_or_else(|| "-".into()),
                    p.reason.clone(),
                ]);
            }
            let widths: Vec<usize> = (0..4)
                .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
                .collect();
            let mut table = String::new();
            for r in &rows {
                table.push_str(&format!(
                    "{:w0$}  {:w1$}  {:w2$}  {:w3$}  {}\n",
                    r[0],
                    r[1],
                    r[2],
                    r[3],
                    r[4],
                    w0 = widths[0],
                    w1 = widths[1],
                    w2 = widths[2],
                    w3 = widths[3]
                ));
            }
            if placements.is_empty() {
                let names: Vec<String> =
                    cluster.active_profiles().map(|p| p.name.clone()).collect();
                output::note(&format!(
                    "no pods given (--pods FILE); cluster `{}` has profiles: {}",
                    cluster.name,
                    if names.is_empty() {
                        "none".into()
                    } else {
                        names.join(", ")
                    }
                ));
            }
            for s in skipped {
                output::note(&format!("note: skipped {s} (holds no pod)"));
            }
            output::human(&table)
        }
    };
    match written {
        Ok(()) => Exit::Success,
        Err(closed) => closed.into(),
    }
}
