//! `fargate-sim demo`: the tutorial chapter end to end, narrated.

use std::path::{Path, PathBuf};

use emulator::flow::{
    self, FlowOptions, FlowReport, Interrupter, Interrupts, LeftoverOutcome, Names, Scenario, Step,
};
use s3_harness::LocalStack;
use s3_harness::localstack::{CacheDirs, Options, Origin};
use serde_json::json;

use crate::exit::Exit;
use crate::output::{self, Closed};
use crate::progress::printer;

/// The fidelity note, printed once per run.
pub const FIDELITY_NOTE: &str = "Note: in real EKS the pod execution role is used by Fargate's own agents (image pull, \
logs) and is not handed to containers; application pods get AWS credentials through IAM roles for service accounts. \
This demo follows the chapter and gives the role's session to the pod.";

/// Options of `fargate-sim demo`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
The steps: the cluster (eksctl config) with its default profile; namespace `test`; test-pod.yaml
applied before any profile selects it (Pending, not on Fargate); profile `test` created (the
pod stays where it is); the pod deleted and applied again (on Fargate); bucket
test-bucket-<run id> with a test object; role s3-read-<run id> trusting
eks-fargate-pods.amazonaws.com, with AmazonS3ReadOnlyAccess; profile `s3` with that execution
role (EKS's trust check runs on the role as stored in IAM); s3-pod.yaml applied; Fargate assumes
the role through STS with the profile's aws:SourceArn and the container's `aws s3 cp` runs as
the real, pinned AWS CLI with that session, through the IAM gateway; `kubectl logs`.
The demo drives the same endpoint `fargate-sim up` serves: the cluster and its profiles through
its EKS API, namespaces and pods through the cluster's Kubernetes API. The chapter is a list of
steps; each scenario changes that list.
Then everything is deleted in reverse order (also on failure, Ctrl-C, SIGTERM, SIGHUP or a closed
output) unless --keep, and the end of the output names what was removed and what was not.

Every run has an id (8 hex digits) that ends every name it creates, so runs side by side never
collide. Each AWS resource is written to the run's journal (in the cache directory, under runs/)
before it is created; a run that was killed leaves its journal, the next run names what it left,
and `fargate-sim demo --cleanup` removes it.

Interrupting: the first Ctrl-C lets the step in flight finish (at most 2 s), then cleans up
(each deletion at most 3 s); a second stops the step at once; a third leaves the cleanup and
lists what is left. Every AWS call has a time limit (10 s per attempt, 3 attempts, 20 s in
all), so a stalled LocalStack ends the run with a message instead of a hang.

Scenarios show failures as AWS would: no-s3-policy, bucket-deny, bad-trust, wrong-namespace;
endpoint-only puts the cluster's S3 traffic through a gateway VPC endpoint (its own loopback
port of the IAM gateway: aws:SourceVpce and aws:SourceVpc set, the endpoint policy applied) and
a bucket policy that allows only that endpoint, then reads from the pod (allowed) and from the
host (AccessDenied).

Exit status: 0 the run ended as the scenario shows and was cleaned up (--cleanup: nothing is
left); 1 it did not; 2 no LocalStack, or a call failed or the cleanup could not reach
LocalStack (it stopped or stalled), interrupted or not; 130 interrupted (after cleaning up);
141 the output was closed (after cleaning up).")]
pub struct Args {
    /// Leave everything the demo created in LocalStack, for inspection (listed at the end).
    #[arg(long)]
    pub keep: bool,
    /// Remove what earlier runs left (interrupted, killed, or run with --keep), from their
    /// journals in the cache directory, then exit.
    #[arg(long, conflicts_with_all = ["keep", "scenario"])]
    pub cleanup: bool,
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
    /// S3 through the cluster's VPC endpoint; the bucket allows only that endpoint: the pod
    /// reads, the host is denied.
    EndpointOnly,
}

impl From<ScenarioArg> for Scenario {
    fn from(s: ScenarioArg) -> Self {
        match s {
            ScenarioArg::Chapter => Scenario::Chapter,
            ScenarioArg::NoS3Policy => Scenario::NoS3Policy,
            ScenarioArg::BucketDeny => Scenario::BucketDeny,
            ScenarioArg::BadTrust => Scenario::BadTrust,
            ScenarioArg::WrongNamespace => Scenario::WrongNamespace,
            ScenarioArg::EndpointOnly => Scenario::EndpointOnly,
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

fn step_text(s: &Step, format: Format, total_hint: usize) -> String {
    match format {
        Format::Json => format!("{}\n", json!({"event": "step", "step": s})),
        Format::Human => {
            let mark = if s.ok { " " } else { "!" };
            let mut t = format!(
                "{mark}[{}/{total_hint}] {}\n    $ {}\n",
                s.index, s.title, s.command
            );
            for l in &s.lines {
                t.push_str(&format!("      {l}\n"));
            }
            t
        }
    }
}

/// Writes to stdout; after the reader went away, writes nothing more.
struct Printer {
    format: Format,
    closed: bool,
}

impl Printer {
    fn print(&mut self, text: &str) -> Result<(), Closed> {
        if self.closed {
            return Err(Closed);
        }
        let r = match self.format {
            Format::Json => output::raw(text),
            Format::Human => output::human(text),
        };
        self.closed = r.is_err();
        r
    }
}

fn journal_dir() -> Result<PathBuf, String> {
    CacheDirs::new()
        .map(|d| d.base.join("runs"))
        .map_err(|e| e.to_string())
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// Counts SIGINT, SIGTERM and SIGHUP as interruptions of the run, saying on stderr what each
/// one does.
fn watch_signals(interrupter: Interrupter) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        output::note("warning: cannot watch signals; an interrupt will not clean up");
        return;
    };
    tokio::spawn(async move {
        for n in 1.. {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
                _ = hup.recv() => {}
            }
            interrupter.interrupt();
            output::note(match n {
                1 => {
                    "· interrupted: the step in flight finishes, then everything created is removed (interrupt again to stop the step now)"
                }
                2 => {
                    "· stopping the step in flight; cleaning up (interrupt again to leave the rest)"
                }
                _ => "· leaving the cleanup; what is left is listed below",
            });
        }
    });
}

pub fn run(args: &Args) -> Exit {
    let runs = match journal_dir() {
        Ok(d) => d,
        Err(e) => {
            output::note(&format!("error: {e}"));
            return Exit::Error;
        }
    };
    if args.cleanup {
        return run_cleanup(&runs, args);
    }
    let progress = printer(false);
    let options = Options {
        endpoint: args.endpoint.clone(),
        allow_remote: args.allow_real_aws,
        no_docker: false,
    };
    let localstack = match LocalStack::obtain_with(&options, &progress) {
        Ok(ls) => ls,
        Err(e) => {
            output::note(&format!("error: {e}"));
            return Exit::Error;
        }
    };
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            output::note(&format!("error: {e}"));
            return Exit::Error;
        }
    };
    for l in flow::leftovers(&runs) {
        let what: Vec<String> = l
            .record
            .entries
            .iter()
            .map(|e| e.resource.to_string())
            .collect();
        output::note(&format!(
            "note: an earlier run ({}{}) left in {}: {}; remove them with `fargate-sim demo --cleanup`",
            l.record.run_id,
            if l.record.kept {
                ", kept with --keep"
            } else {
                ", interrupted or failed"
            },
            l.record.endpoint,
            what.join(", ")
        ));
    }
    let own_localstack = !matches!(localstack.origin(), Origin::Given { .. });
    let scenario: Scenario = args.scenario.into();
    let opts = FlowOptions {
        scenario,
        keep: args.keep,
        journal_dir: Some(runs),
        own_localstack,
        ..FlowOptions::default()
    };
    let format = args.format;
    let mut out = Printer {
        format,
        closed: false,
    };
    let names = Names::of(opts.run_id);
    let header = match format {
        Format::Human => format!(
            "{FIDELITY_NOTE}\n\nrun {}: role {}, bucket {} (every name ends in the run id)\n\n",
            opts.run_id, names.role, names.bucket
        ),
        Format::Json => format!(
            "{}\n",
            json!({"event": "note", "note": FIDELITY_NOTE, "scenario": scenario.name(), "runId": opts.run_id.to_string()})
        ),
    };
    let (interrupter, interrupts) = Interrupts::channel();
    let _ = out.print(&header);
    let total = scenario.plan().steps.len();
    let pipe_interrupter = interrupter.clone();
    let mut pipe_closed = out.closed;
    let mut emit = |s: &Step| {
        if out.print(&step_text(s, format, total)).is_err() && !pipe_closed {
            // The reader went away (`| head`): stop the run as an interruption, cleaning up.
            pipe_closed = true;
            pipe_interrupter.interrupt();
        }
    };
    let result = runtime.block_on(async {
        watch_signals(interrupter);
        flow::run(localstack.endpoint(), &opts, &mut emit, interrupts.clone()).await
    });
    drop(localstack);
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            output::note(&format!("error: {e}"));
            return Exit::Error;
        }
    };
    let _ = out.print(&report_text(&report, format, own_localstack));
    if let Some(e) = &report.error {
        output::note(&format!("error: {e}"));
        return Exit::Error;
    }
    if out.closed {
        return Exit::PipeClosed;
    }
    if report.interrupted {
        return Exit::Interrupted;
    }
    if report.as_expected && (report.cleaned_up || args.keep) {
        Exit::Success
    } else {
        Exit::Failure
    }
}

fn names(items: &[flow::Created]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn report_text(r: &FlowReport, format: Format, own_localstack: bool) -> String {
    if format == Format::Json {
        return format!("{}\n", json!({"event": "report", "report": r}));
    }
    let verdict = if r.as_expected {
        "as the scenario shows"
    } else {
        "NOT as the scenario expects"
    };
    let mut t = format!("\n{}: {} ({verdict})\n", r.scenario.name(), r.outcome);
    let c = &r.cleanup;
    if !c.kept.is_empty() {
        t.push_str(&format!(
            "kept for inspection (run {}): {}\n",
            r.run_id,
            names(&c.kept)
        ));
        if own_localstack {
            t.push_str("  they live in the LocalStack this run started, which stops now; to keep them, start one with `fargate-sim localstack start` and pass its URL with --endpoint\n");
        } else {
            t.push_str("  remove them with `fargate-sim demo --cleanup`\n");
        }
    }
    if !c.removed.is_empty() {
        t.push_str(&format!("removed: {}\n", names(&c.removed)));
    }
    if !c.not_created.is_empty() {
        t.push_str(&format!(
            "never created (the run stopped before the call reached LocalStack): {}\n",
            names(&c.not_created)
        ));
    }
    if !c.left.is_empty() {
        t.push_str("NOT removed:\n");
        for l in &c.left {
            t.push_str(&format!("  {} ({})\n", l.resource, l.reason));
        }
        if own_localstack {
            t.push_str("  they were in the LocalStack this run started, which has stopped: nothing remains\n");
        } else {
            t.push_str("  remove them with `fargate-sim demo --cleanup`\n");
        }
    }
    if c.kept.is_empty() && c.removed.is_empty() && c.left.is_empty() && c.not_created.is_empty() {
        t.push_str("nothing was created\n");
    }
    t
}

fn run_cleanup(runs: &Path, args: &Args) -> Exit {
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            output::note(&format!("error: {e}"));
            return Exit::Error;
        }
    };
    let done = runtime.block_on(flow::clean_leftovers(runs, args.allow_real_aws));
    let mut all_clean = true;
    let mut text = String::new();
    if args.format == Format::Json {
        text = format!("{}\n", json!({"event": "cleanup", "runs": done}));
    }
    for d in &done {
        match &d.outcome {
            LeftoverOutcome::Cleaned { report } => {
                if !report.left.is_empty() {
                    all_clean = false;
                }
                if args.format == Format::Human {
                    text.push_str(&format!("run {} in {}:\n", d.run_id, d.endpoint));
                    if !report.removed.is_empty() {
                        text.push_str(&format!("  removed: {}\n", names(&report.removed)));
                    }
                    if !report.not_created.is_empty() {
                        text.push_str(&format!(
                            "  never created: {}\n",
                            names(&report.not_created)
                        ));
                    }
                    for l in &report.left {
                        text.push_str(&format!("  NOT removed: {} ({})\n", l.resource, l.reason));
                    }
                }
            }
            LeftoverOutcome::Skipped { reason, resources } => {
                all_clean = false;
                if args.format == Format::Human {
                    text.push_str(&format!(
                        "run {} in {}: skipped ({reason}); still recorded: {}\n  start that LocalStack again and rerun `fargate-sim demo --cleanup`; if it is gone for good (and kept no state), delete {} to forget them\n",
                        d.run_id,
                        d.endpoint,
                        names(resources),
                        d.journal.display()
                    ));
                }
            }
        }
    }
    if done.is_empty() && args.format == Format::Human {
        text.push_str("nothing to clean up: no earlier run left resources\n");
    }
    let written = match args.format {
        Format::Json => output::raw(&text),
        Format::Human => output::human(&text),
    };
    match written {
        Err(closed) => closed.into(),
        Ok(()) if all_clean => Exit::Success,
        Ok(()) => Exit::Failure,
    }
}
