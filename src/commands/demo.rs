//! `fargate-sim demo`: the tutorial chapter end to end, narrated.

use s3_harness::LocalStack;
use s3_harness::flow::{self, FlowOptions, FlowReport, Scenario, Step};
use s3_harness::localstack::Options;
use serde_json::json;

use crate::exit::Exit;
use crate::progress::printer;

/// The fidelity note, printed once per run.
pub const FIDELITY_NOTE: &str = "Note: in real EKS the pod execution role is used by Fargate's own agents (image pull, \
logs) and is not handed to containers; application pods get AWS credentials through IAM roles for service accounts. \
This demo follows the chapter and gives the role's session to the pod.";

/// Options of `fargate-sim demo`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
The steps: the cluster (eksctl config) with its default profile; namespace `test`; test-pod.yaml
applied before any profile selects it (not on Fargate); profile `test` created (the pod stays
where it is); the pod deleted and applied again (on Fargate); bucket test-bucket-<unix time> with
a test object; role `s3-read` trusting eks-fargate-pods.amazonaws.com with AmazonS3ReadOnlyAccess;
profile `s3` with that execution role (EKS's trust check runs on the role as stored in IAM);
s3-pod.yaml applied; Fargate assumes the role through STS with the profile's aws:SourceArn; the
container's `aws s3 cp` runs with those credentials through the IAM gateway; `kubectl logs`.
Then everything is deleted in reverse order (also on failure or Ctrl-C) unless --keep.

Scenarios show failures as AWS would: no-s3-policy, bucket-deny, bad-trust, wrong-namespace.

Exit status: 0 the run ended as the scenario shows and was cleaned up; 1 it did not; 2 no
LocalStack or a setup call failed; 130 interrupted (after cleaning up).")]
pub struct Args {
    /// Leave everything the demo created in LocalStack, for inspection.
    #[arg(long)]
    pub keep: bool,
    /// Use this LocalStack endpoint instead of finding or starting one.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Allow an endpoint that is not on this machine (this command creates and deletes buckets and roles).
    #[arg(long)]
    pub allow_real_aws: bool,
    /// Run a failing variant instead of the chapter.
    #[arg(long, value_enum, default_value = "chapter")]
    pub scenario: ScenarioArg,
    /// Output: narrated steps, or one JSON object per step.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
}

/// `--scenario`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScenarioArg {
    /// The chapter: the pod prints the object.
    Chapter,
    /// The role has no S3 policy: AccessDenied in the pod log, pod Failed.
    NoS3Policy,
    /// A bucket policy denies s3:GetObject: AccessDenied, pod Failed.
    BucketDeny,
    /// The trust policy trusts eks.amazonaws.com: profile creation rejected.
    BadTrust,
    /// The pod is in a namespace no profile selects: not on Fargate.
    WrongNamespace,
}

impl From<ScenarioArg> for Scenario {
    fn from(s: ScenarioArg) -> Self {
        match s {
            ScenarioArg::Chapter => Scenario::Chapter,
            ScenarioArg::NoS3Policy => Scenario::NoS3Policy,
            ScenarioArg::BucketDeny => Scenario::BucketDeny,
            ScenarioArg::BadTrust => Scenario::BadTrust,
            ScenarioArg::WrongNamespace => Scenario::WrongNamespace,
        }
    }
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Narrated steps for people.
    Human,
    /// One JSON object per line: the note, each step, then the report.
    Json,
}

#[allow(clippy::print_stdout, reason = "the CLI owns the terminal")]
fn print_step(s: &Step, format: Format, total_hint: usize) {
    match format {
        Format::Json => println!("{}", json!({"event": "step", "step": s})),
        Format::Human => {
            let mark = if s.ok { " " } else { "!" };
            println!("{mark}[{}/{total_hint}] {}", s.index, s.title);
            println!("    $ {}", s.command);
            for l in &s.lines {
                println!("      {l}");
            }
        }
    }
}

#[allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the CLI owns the terminal"
)]
pub fn run(args: &Args) -> Exit {
    let progress = printer(false);
    let options = Options {
        endpoint: args.endpoint.clone(),
        allow_remote: args.allow_real_aws,
        no_docker: false,
    };
    let localstack = match LocalStack::obtain_with(&options, &progress) {
        Ok(ls) => ls,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Error;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::Error;
        }
    };
    let scenario: Scenario = args.scenario.into();
    let opts = FlowOptions {
        scenario,
        keep: args.keep,
        ..FlowOptions::default()
    };
    let format = args.format;
    match format {
        Format::Human => println!("{FIDELITY_NOTE}\n"),
        Format::Json => println!(
            "{}",
            json!({"event": "note", "note": FIDELITY_NOTE, "scenario": scenario.name()})
        ),
    }
    let total = match scenario {
        Scenario::BadTrust => 10,
        Scenario::WrongNamespace => 10,
        Scenario::BucketDeny => 13,
        _ => 12,
    };
    let mut emit = |s: &Step| print_step(s, format, total);
    let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = interrupted.clone();
    let result = runtime.block_on(async {
        let cancel = async move {
            let _ = tokio::signal::ctrl_c().await;
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        };
        flow::run(localstack.endpoint(), &opts, &mut emit, cancel).await
    });
    drop(localstack);
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Error;
        }
    };
    render_report(&report, format, args.keep);
    if interrupted.load(std::sync::atomic::Ordering::SeqCst) {
        return Exit::Interrupted;
    }
    if report.as_expected && (report.cleaned_up || args.keep) {
        Exit::Success
    } else {
        Exit::Failure
    }
}

#[allow(clippy::print_stdout, reason = "the CLI owns the terminal")]
fn render_report(r: &FlowReport, format: Format, keep: bool) {
    match format {
        Format::Json => println!("{}", json!({"event": "report", "report": r})),
        Format::Human => {
            let verdict = if r.as_expected {
                "as the scenario shows"
            } else {
                "NOT as the scenario expects"
            };
            println!("\n{}: {} ({verdict})", r.scenario.name(), r.outcome);
            if keep {
                println!(
                    "kept for inspection: {} resources (bucket {}, role {})",
                    r.created.len(),
                    r.bucket,
                    r.role
                );
            } else if r.cleaned_up {
                println!(
                    "cleaned up {} resources: pods, profiles, role policy detached before the role was deleted, objects before the bucket",
                    r.created.len()
                );
            } else {
                println!(
                    "cleanup did not finish: some resources may remain (bucket {}, role {})",
                    r.bucket, r.role
                );
            }
        }
    }
}
