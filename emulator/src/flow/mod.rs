//! The chapter as a flow: namespace, pod, Fargate profile, bucket, role with
//! `AmazonS3ReadOnlyAccess`, a profile using that role, a pod reading the object — against
//! LocalStack, with IAM decided by the gateway — and a clean exit.
//!
//! Everything the flow creates in AWS is recorded *before* the create call is sent — in the
//! [`Ledger`] and, when a journal directory is given, on disk ([`crate::journal`]) — and torn
//! down from that record in reverse order on success, on error and on interruption, unless
//! `keep` is set. Every name carries the run's [`RunId`], so runs side by side never collide.
//!
//! Interruptions are counted ([`Interrupts`]): the first lets the step in flight finish and
//! stops before the next one; the second (or the first after [`GRACE`]) abandons the step in
//! flight; the third abandons the cleanup, and the report names what was left.

use std::future::Future;
use std::sync::{Arc, Mutex};

use iam_sim::Decision;
use serde::{Deserialize, Serialize};

use crate::journal::{Journal, State};
use s3_harness::HarnessError;
use s3_harness::client::{Clients, Creds, Timeouts};

pub mod plan;
mod walk;

pub use plan::Plan;
pub use walk::{Apis, CLUSTER};

/// The example files the flow uses (shipped in `examples/`).
pub mod examples {
    /// `examples/cluster.yaml`.
    pub const CLUSTER: &str = include_str!("../../../examples/cluster.yaml");
    /// `examples/new-namespace-cluster.yaml`.
    pub const NEW_NAMESPACE_CLUSTER: &str =
        include_str!("../../../examples/new-namespace-cluster.yaml");
    /// `examples/execution-role-cluster.yaml`.
    pub const EXECUTION_ROLE_CLUSTER: &str =
        include_str!("../../../examples/execution-role-cluster.yaml");
    /// `examples/test-pod.yaml`.
    pub const TEST_POD: &str = include_str!("../../../examples/test-pod.yaml");
    /// `examples/s3-pod.yaml`.
    pub const S3_POD: &str = include_str!("../../../examples/s3-pod.yaml");
    /// `examples/role-trust-policy.json`.
    pub const ROLE_TRUST_POLICY: &str = include_str!("../../../examples/role-trust-policy.json");
}

/// The AWS-managed read-only policy the chapter attaches.
pub const S3_READ_ONLY: &str = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess";
/// The object the flow uploads and the pod reads.
pub const OBJECT_KEY: &str = "hello.txt";

/// Which story to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// The chapter: the pod prints the object.
    Chapter,
    /// The role lacks `AmazonS3ReadOnlyAccess`: AccessDenied, pod Failed.
    NoS3Policy,
    /// A bucket policy denies `s3:GetObject` to everyone: AccessDenied, pod Failed.
    BucketDeny,
    /// The trust policy trusts `eks.amazonaws.com`: profile creation rejected.
    BadTrust,
    /// The pod is in a namespace no profile selects: not on Fargate.
    WrongNamespace,
    /// The cluster's subnets reach S3 through a gateway VPC endpoint, and the bucket policy
    /// allows only requests through it: the pod reads the object, the host is denied.
    EndpointOnly,
}

impl Scenario {
    /// All scenarios.
    pub const ALL: [Scenario; 6] = [
        Scenario::Chapter,
        Scenario::NoS3Policy,
        Scenario::BucketDeny,
        Scenario::BadTrust,
        Scenario::WrongNamespace,
        Scenario::EndpointOnly,
    ];

    /// The kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Chapter => "chapter",
            Scenario::NoS3Policy => "no-s3-policy",
            Scenario::BucketDeny => "bucket-deny",
            Scenario::BadTrust => "bad-trust",
            Scenario::WrongNamespace => "wrong-namespace",
            Scenario::EndpointOnly => "endpoint-only",
        }
    }
}

/// The S3 gateway VPC endpoint of the cluster's VPC in the `endpoint-only` scenario: ids made
/// from the run id, and AWS's default endpoint policy (full access).
fn cluster_endpoint(id: RunId) -> Option<crate::gateway::VpcEndpoint> {
    let policy = iam_sim::CompiledPolicy::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#,
    )
    .ok()?;
    Some(crate::gateway::VpcEndpoint {
        id: format!("vpce-0{id}00000000"),
        vpc: format!("vpc-0{id}0000000f"),
        policy,
    })
}

/// A run's identity: eight lowercase hex digits, part of every name the run creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RunId(u32);

impl RunId {
    /// A fresh id from the clock, the process id and a counter (runs started side by side, in
    /// one process or many, get different ids).
    pub fn generate() -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mut z = nanos
            ^ (u64::from(std::process::id()) << 32)
            ^ N.fetch_add(1, Ordering::Relaxed)
                .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        // splitmix64 finaliser: neighbouring inputs give unrelated ids.
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Self((z ^ (z >> 31)) as u32)
    }

    /// Reads an id written by [`RunId`]'s `Display`.
    pub fn parse(text: &str) -> Option<Self> {
        (text.len() == 8
            && text
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
        .then(|| u32::from_str_radix(text, 16).ok().map(Self))
        .flatten()
    }
}

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

impl Serialize for RunId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RunId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        RunId::parse(&text).ok_or_else(|| serde::de::Error::custom("a run id is 8 hex digits"))
    }
}

/// The names a run gives what it creates in AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// The cluster's IAM role (trusting `eks.amazonaws.com`).
    pub cluster_role: String,
    /// The default pod execution role (what eksctl makes for profiles that name none).
    pub exec_role: String,
    /// The chapter's `s3-read` role.
    pub role: String,
    /// The chapter's bucket.
    pub bucket: String,
}

impl Names {
    /// The names of run `id`.
    pub fn of(id: RunId) -> Self {
        Self {
            cluster_role: format!("fargate-sim-cluster-{id}"),
            exec_role: format!("fargate-sim-pod-execution-{id}"),
            role: format!("s3-read-{id}"),
            bucket: format!("test-bucket-{id}"),
        }
    }
}

/// Options of a run.
#[derive(Debug, Clone)]
pub struct FlowOptions {
    /// The story.
    pub scenario: Scenario,
    /// Leave everything in place.
    pub keep: bool,
    /// Region of the cluster and bucket.
    pub region: String,
    /// The run's id, in every name it creates.
    pub run_id: RunId,
    /// Where the run's journal is written (`None`: no journal on disk).
    pub journal_dir: Option<std::path::PathBuf>,
    /// Whether the LocalStack was started for this run (recorded in the journal: its
    /// resources go when it stops).
    pub own_localstack: bool,
    /// Time limits of the run's AWS calls.
    pub timeouts: Timeouts,
}

impl Default for FlowOptions {
    fn default() -> Self {
        Self {
            scenario: Scenario::Chapter,
            keep: false,
            region: "eu-west-1".into(),
            run_id: RunId::generate(),
            journal_dir: None,
            own_localstack: false,
            timeouts: Timeouts::DEFAULT,
        }
    }
}

/// How long the step in flight may take to finish after the first interruption before it is
/// abandoned.
pub const GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Counts interruptions (SIGINT, SIGTERM, SIGHUP, a closed output) for a run.
#[derive(Debug, Clone)]
pub struct Interrupts(tokio::sync::watch::Receiver<u32>);

/// The sending side of [`Interrupts`].
#[derive(Debug, Clone)]
pub struct Interrupter(Arc<tokio::sync::watch::Sender<u32>>);

impl Interrupter {
    /// Counts one interruption.
    pub fn interrupt(&self) {
        self.0.send_modify(|n| *n += 1);
    }
}

impl Interrupts {
    /// A pair: interrupt through the first, watch through the second.
    pub fn channel() -> (Interrupter, Self) {
        let (tx, rx) = tokio::sync::watch::channel(0);
        (Interrupter(Arc::new(tx)), Self(rx))
    }

    /// Never interrupted.
    pub fn never() -> Self {
        let (tx, rx) = tokio::sync::watch::channel(0);
        std::mem::forget(tx);
        Self(rx)
    }

    /// Interruptions so far.
    pub fn count(&self) -> u32 {
        *self.0.borrow()
    }

    /// Completes once there have been at least `n` interruptions.
    pub async fn at_least(&self, n: u32) {
        let mut rx = self.0.clone();
        let _ = rx.wait_for(|c| *c >= n).await;
        if rx.has_changed().is_err() && *rx.borrow() < n {
            std::future::pending::<()>().await;
        }
    }
}

/// One narrated step.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Step {
    /// From 1.
    pub index: usize,
    /// What the step does.
    pub title: String,
    /// The command a user would type on real AWS.
    pub command: String,
    /// What happened, a few lines.
    pub lines: Vec<String>,
    /// Whether it went as the scenario expects.
    pub ok: bool,
}

/// Something the flow created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Created {
    /// The EKS cluster.
    Cluster {
        /// Name.
        name: String,
    },
    /// A namespace.
    Namespace {
        /// Name.
        name: String,
    },
    /// A pod.
    Pod {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
    /// A Fargate profile.
    Profile {
        /// Name.
        name: String,
    },
    /// An S3 bucket.
    Bucket {
        /// Name.
        name: String,
    },
    /// An object.
    Object {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
    },
    /// A bucket policy.
    BucketPolicy {
        /// Bucket.
        bucket: String,
    },
    /// An IAM role.
    Role {
        /// Name.
        name: String,
    },
    /// A managed policy attached to a role.
    Attachment {
        /// Role name.
        role: String,
        /// Policy ARN.
        policy: String,
    },
}

impl Created {
    /// Whether it lives in AWS (LocalStack) rather than in the run's own cluster model: only
    /// these outlive the process, so only these are journaled.
    pub fn is_remote(&self) -> bool {
        !matches!(
            self,
            Created::Cluster { .. }
                | Created::Namespace { .. }
                | Created::Pod { .. }
                | Created::Profile { .. }
        )
    }
}

impl std::fmt::Display for Created {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Created::Cluster { name } => write!(f, "cluster {name}"),
            Created::Namespace { name } => write!(f, "namespace {name}"),
            Created::Pod { namespace, name } => write!(f, "pod {namespace}/{name}"),
            Created::Profile { name } => write!(f, "Fargate profile {name}"),
            Created::Bucket { name } => write!(f, "bucket {name}"),
            Created::Object { bucket, key } => write!(f, "object s3://{bucket}/{key}"),
            Created::BucketPolicy { bucket } => write!(f, "bucket policy of {bucket}"),
            Created::Role { name } => write!(f, "role {name}"),
            Created::Attachment { role, policy } => {
                write!(
                    f,
                    "{} attached to role {role}",
                    policy.rsplit('/').next().unwrap_or(policy)
                )
            }
        }
    }
}

/// Everything the run created or is about to create, in order, with the on-disk journal when
/// there is one.
#[derive(Debug, Default, Clone)]
pub struct Ledger {
    entries: Arc<Mutex<Vec<(Created, State)>>>,
    journal: Option<Arc<Mutex<Journal>>>,
}

impl Ledger {
    fn with_journal(journal: Option<Journal>) -> Self {
        Self {
            entries: Arc::default(),
            journal: journal.map(|j| Arc::new(Mutex::new(j))),
        }
    }

    fn journal(
        &self,
        f: impl FnOnce(&mut Journal) -> std::io::Result<()>,
    ) -> Result<(), HarnessError> {
        let Some(j) = &self.journal else {
            return Ok(());
        };
        let mut j = j.lock().map_err(|_| HarnessError::Journal {
            reason: "the journal lock is poisoned".into(),
        })?;
        f(&mut j).map_err(|e| HarnessError::Journal {
            reason: e.to_string(),
        })
    }

    /// Records that `c` is about to be created; for AWS resources, on disk first.
    fn intend(&self, c: &Created) -> Result<(), HarnessError> {
        if c.is_remote() {
            self.journal(|j| j.intend(c))?;
        }
        if let Ok(mut l) = self.entries.lock() {
            l.push((c.clone(), State::Intended));
        }
        Ok(())
    }

    /// Records that `c` exists.
    fn confirm(&self, c: &Created) {
        if c.is_remote() {
            let _ = self.journal(|j| j.confirm(c));
        }
        if let Ok(mut l) = self.entries.lock()
            && let Some(e) = l.iter_mut().rev().find(|(x, _)| x == c)
        {
            e.1 = State::Created;
        }
    }

    /// Records something of the run's own cluster model (it exists once recorded).
    /// Records something of the run's own cluster (it exists once recorded; a pod created
    /// again is recorded once).
    fn record(&self, c: Created) {
        if let Ok(mut l) = self.entries.lock()
            && !l.iter().any(|(x, _)| *x == c)
        {
            l.push((c, State::Created));
        }
    }

    fn forget(&self, c: &Created) {
        if c.is_remote() {
            let _ = self.journal(|j| j.forget(c));
        }
    }

    /// What was recorded, in order (created or about to be).
    pub fn entries(&self) -> Vec<Created> {
        self.entries
            .lock()
            .map(|l| l.iter().map(|(c, _)| c.clone()).collect())
            .unwrap_or_default()
    }

    fn take(&self) -> Vec<(Created, State)> {
        self.entries
            .lock()
            .map(|mut l| std::mem::take(&mut *l))
            .unwrap_or_default()
    }

    fn close(&self, kept: bool) {
        if let Some(j) = &self.journal
            && let Ok(mut guard) = j.lock()
        {
            // Replace the journal with a closed one: dropping the last handle releases its lock.
            let _ = guard.close_in_place(kept);
        }
    }
}

/// Why the chapter stopped before its end.
enum Stop {
    /// A call that should not fail did.
    Failed(HarnessError),
    /// Interrupted between steps.
    Interrupted,
}

impl From<HarnessError> for Stop {
    fn from(e: HarnessError) -> Self {
        Stop::Failed(e)
    }
}

/// Records `c`, runs its create call, then marks it created.
async fn create<T>(
    ledger: &Ledger,
    c: Created,
    call: impl Future<Output = Result<T, HarnessError>>,
) -> Result<T, Stop> {
    ledger.intend(&c)?;
    let out = call.await?;
    ledger.confirm(&c);
    Ok(out)
}

/// How the pod ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PodPhase {
    /// Ran and exited 0.
    Succeeded,
    /// Ran and exited non-zero.
    Failed,
    /// Not on Fargate (left to a default scheduler this cluster does not have).
    NotOnFargate,
    /// Never created (an earlier step stopped the flow).
    NotCreated,
}

/// The result of a run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowReport {
    /// The scenario.
    pub scenario: Scenario,
    /// The run's id (in every name it created).
    pub run_id: RunId,
    /// Whether the outcome is the one the scenario shows.
    pub as_expected: bool,
    /// One sentence on the outcome.
    pub outcome: String,
    /// How the `s3` pod ended.
    pub pod_phase: PodPhase,
    /// Its log, as `kubectl logs s3` prints it.
    pub pod_log: String,
    /// The bucket used.
    pub bucket: String,
    /// The role used.
    pub role: String,
    /// What was created or about to be (and, unless kept, deleted again).
    pub created: Vec<Created>,
    /// What the cleanup did, by name.
    pub cleanup: CleanupReport,
    /// Whether the cleanup ran and nothing is left.
    pub cleaned_up: bool,
    /// Whether the run was interrupted.
    pub interrupted: bool,
    /// A call that should not have failed, and did (LocalStack stopped or stalled, say): the
    /// run could not finish.
    pub error: Option<String>,
    /// Fargate profiles the flow created that the cluster still lists afterwards.
    pub profiles_left: Vec<String>,
    /// The gateway's IAM decisions, in order: action, resource, principal, decision.
    pub decisions: Vec<(String, String, String, String)>,
}

/// What a cleanup did, resource by resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CleanupReport {
    /// Deleted.
    pub removed: Vec<Created>,
    /// Recorded before its create call, but not there: the call never reached AWS.
    pub not_created: Vec<Created>,
    /// Still there (or not known to be gone), with why.
    pub left: Vec<LeftBehind>,
    /// Kept on purpose (`--keep`).
    pub kept: Vec<Created>,
}

/// A resource the cleanup could not remove.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftBehind {
    /// The resource.
    pub resource: Created,
    /// Why it is still there.
    pub reason: String,
}

struct Runner<'a> {
    opts: &'a FlowOptions,
    names: &'a Names,
    steps: Vec<Step>,
    emit: &'a mut (dyn FnMut(&Step) + Send),
    ledger: Ledger,
    interrupts: Interrupts,
}

impl Runner<'_> {
    /// Stops the chapter between steps once an interruption arrived.
    fn check(&self) -> Result<(), Stop> {
        if self.interrupts.count() > 0 {
            Err(Stop::Interrupted)
        } else {
            Ok(())
        }
    }

    fn step(&mut self, title: &str, command: &str, lines: Vec<String>, ok: bool) {
        let s = Step {
            index: self.steps.len() + 1,
            title: title.into(),
            command: command.into(),
            lines,
            ok,
        };
        (self.emit)(&s);
        self.steps.push(s);
    }
}

/// Runs the flow against `endpoint` (LocalStack), narrating each step through `emit`, and
/// cleans up (unless `keep`) whatever happens: success, a failed call, or interruptions
/// (see the module documentation for what the first, second and third one do).
///
/// # Errors
/// Only what stops the run before anything is created: the gateway cannot start, or the
/// journal cannot be written. A call that fails later is [`FlowReport::error`], after the
/// cleanup; the scenario's own failures (AccessDenied, a rejected profile) are outcomes.
pub async fn run(
    endpoint: &str,
    opts: &FlowOptions,
    emit: &mut (dyn FnMut(&Step) + Send),
    interrupts: Interrupts,
) -> Result<FlowReport, HarnessError> {
    let root = Creds::test_account();
    let names = Names::of(opts.run_id);
    let vpc_endpoint = (opts.scenario == Scenario::EndpointOnly)
        .then(|| cluster_endpoint(opts.run_id))
        .flatten();
    // The same entry point as `up` and users' tests: the endpoint in front of this LocalStack.
    let emulator = crate::Emulator::around(
        s3_harness::LocalStack::known(endpoint),
        crate::Options {
            region: opts.region.clone(),
            vpc_endpoint,
            pod_limit: walk::POD_WAIT.as_secs_f64() - 10.0,
            // The story is in the steps, not in CREATING: clusters and profiles settle at once.
            eks_delay: 0.0,
            ..crate::Options::default()
        },
    )
    .await
    .map_err(|e| HarnessError::StartFailed {
        log: Default::default(),
        reason: format!("the IAM gateway could not start: {e}"),
    })?;
    let gateway = emulator.gateway();
    // The account's own setup calls go through the gateway too, so that its caches see them.
    let admin =
        Clients::with_timeouts(gateway.endpoint(), &opts.region, &root, opts.timeouts).await;
    let journal = match &opts.journal_dir {
        Some(dir) => Some(
            Journal::create(dir, opts.run_id, endpoint, opts.own_localstack).map_err(|e| {
                HarnessError::Journal {
                    reason: e.to_string(),
                }
            })?,
        ),
        None => None,
    };
    let ledger = Ledger::with_journal(journal);
    let mut runner = Runner {
        opts,
        names: &names,
        steps: Vec::new(),
        emit,
        ledger: ledger.clone(),
        interrupts: interrupts.clone(),
    };
    let apis = walk::Apis {
        eksctl: crate::eksctl::Eksctl::new(
            admin.clone(),
            crate::eksctl::Waiting {
                timeout: std::time::Duration::from_secs(60),
                poll: std::time::Duration::from_millis(20),
            },
        ),
        kubectl: crate::kubectl::Kubectl::new(gateway.endpoint(), walk::CLUSTER),
        eks: admin.eks.clone(),
    };
    let plan = opts.scenario.plan();
    let outcome = {
        let fut = walk::walk(&mut runner, &plan, &admin, gateway, &apis);
        tokio::pin!(fut);
        // The step in flight is abandoned at the second interruption, or GRACE after the first.
        let abandon = async {
            interrupts.at_least(1).await;
            tokio::select! {
                () = interrupts.at_least(2) => {},
                () = tokio::time::sleep(GRACE) => {},
            }
        };
        tokio::select! {
            r = &mut fut => Some(r),
            () = abandon => None,
        }
    };
    let created = ledger.entries();
    let cleanup = if opts.keep {
        CleanupReport {
            kept: created.clone(),
            ..CleanupReport::default()
        }
    } else {
        // After an interruption or a failure, short limits, so that the run ends fast; after
        // a story that went through, LocalStack has been answering: the run's own limits,
        // so that a loaded machine does not leave resources behind.
        let finished = matches!(outcome, Some(Ok(_))) && interrupts.count() == 0;
        let limits = if finished {
            opts.timeouts
        } else {
            opts.timeouts.shorter(Timeouts::CLEANUP)
        };
        let direct = Clients::with_timeouts(endpoint, &opts.region, &root, limits).await;
        let abort = interrupts.at_least(3);
        cleanup(&direct, &ledger, Some(&apis), abort).await
    };
    ledger.close(opts.keep);
    // What the flow created that the cluster still lists (empty after a successful cleanup).
    let listed = apis
        .eks
        .list_fargate_profiles()
        .cluster_name(walk::CLUSTER)
        .send()
        .await
        .map(|o| o.fargate_profile_names().to_vec())
        .unwrap_or_default();
    let profiles_left: Vec<String> = listed
        .into_iter()
        .filter(|n| {
            created
                .iter()
                .any(|c| matches!(c, Created::Profile { name } if name == n))
        })
        .collect();
    let decisions = gateway
        .decisions()
        .into_iter()
        .map(|d| {
            (
                d.action,
                d.resource,
                d.principal,
                d.decision.as_str().to_owned(),
            )
        })
        .collect();
    let interrupted = interrupts.count() > 0;
    let (report, mut error) = match outcome {
        Some(Ok(r)) => (r, None),
        Some(Err(Stop::Failed(e))) => (Partial::stopped(), Some(e.to_string())),
        Some(Err(Stop::Interrupted)) | None => (Partial::stopped(), None),
    };
    if error.is_none()
        && let Some(l) = cleanup
            .left
            .iter()
            .find(|l| l.reason.starts_with(UNREACHABLE))
    {
        error = Some(format!("during the cleanup, {}", l.reason));
    }
    let outcome = match (&error, interrupted) {
        (Some(e), _) => format!("stopped: {e}"),
        (None, true) => "interrupted".to_owned(),
        (None, false) => report.outcome,
    };
    Ok(FlowReport {
        scenario: opts.scenario,
        run_id: opts.run_id,
        as_expected: report.as_expected && !interrupted && error.is_none(),
        outcome,
        pod_phase: report.pod_phase,
        pod_log: report.pod_log,
        bucket: names.bucket.clone(),
        role: names.role.clone(),
        created,
        cleaned_up: !opts.keep && cleanup.left.is_empty(),
        cleanup,
        interrupted,
        error,
        profiles_left,
        decisions,
    })
}

struct Partial {
    as_expected: bool,
    outcome: String,
    pod_phase: PodPhase,
    pod_log: String,
}

impl Partial {
    fn stopped() -> Self {
        Self {
            as_expected: false,
            outcome: String::new(),
            pod_phase: PodPhase::NotCreated,
            pod_log: String::new(),
        }
    }
}

fn cli_error<E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static>(
    op: &str,
    e: &aws_sdk_s3::error::SdkError<E>,
) -> String {
    match e {
        aws_sdk_s3::error::SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let code = se
                .err()
                .code()
                .map_or_else(|| status.to_string(), str::to_owned);
            let message = se
                .err()
                .message()
                .map_or_else(|| canonical_reason(status).to_owned(), str::to_owned);
            format!("An error occurred ({code}) when calling the {op} operation: {message}")
        }
        other => format!(
            "Could not connect to the endpoint URL: {}",
            aws_sdk_s3::error::DisplayErrorContext(other)
        ),
    }
}

fn canonical_reason(status: u16) -> &'static str {
    match status {
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Error",
    }
}

/// How a resource left because LocalStack stopped answering is described.
const UNREACHABLE: &str = "LocalStack did not answer";

/// How one deletion went.
enum Deleted {
    /// It was there and is gone.
    Removed,
    /// It was not there.
    NotFound,
    /// LocalStack did not answer (stopped, stalled): nothing more can be deleted.
    Unreachable(String),
    /// The service refused.
    Failed(String),
}

fn deleted<E>(r: Result<(), aws_sdk_s3::error::SdkError<E>>) -> Deleted
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_s3::error::SdkError;
    match r {
        Ok(()) => Deleted::Removed,
        Err(SdkError::ServiceError(se)) => {
            let code = se.err().code().unwrap_or("");
            if matches!(
                code,
                "NoSuchEntity" | "NoSuchBucket" | "NoSuchKey" | "NoSuchBucketPolicy" | "NotFound"
            ) {
                Deleted::NotFound
            } else {
                Deleted::Failed(format!("{code}: {}", se.err().message().unwrap_or("")))
            }
        }
        Err(other @ (SdkError::TimeoutError(_) | SdkError::DispatchFailure(_))) => {
            Deleted::Unreachable(s3_harness::describe_transport(&other))
        }
        Err(other) => Deleted::Failed(format!(
            "{}",
            aws_sdk_s3::error::DisplayErrorContext(&other)
        )),
    }
}

/// Deletes one AWS resource.
async fn delete_remote(clients: &Clients, item: &Created) -> Deleted {
    match item {
        Created::Attachment { role, policy } => deleted(
            clients
                .iam
                .detach_role_policy()
                .role_name(role)
                .policy_arn(policy)
                .send()
                .await
                .map(|_| ()),
        ),
        Created::Role { name } => deleted(
            clients
                .iam
                .delete_role()
                .role_name(name)
                .send()
                .await
                .map(|_| ()),
        ),
        Created::BucketPolicy { bucket } => deleted(
            clients
                .s3
                .delete_bucket_policy()
                .bucket(bucket)
                .send()
                .await
                .map(|_| ()),
        ),
        Created::Object { bucket, key } => deleted(
            clients
                .s3
                .delete_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .map(|_| ()),
        ),
        Created::Bucket { name } => deleted(
            clients
                .s3
                .delete_bucket()
                .bucket(name)
                .send()
                .await
                .map(|_| ()),
        ),
        Created::Cluster { .. }
        | Created::Namespace { .. }
        | Created::Pod { .. }
        | Created::Profile { .. } => Deleted::Removed,
    }
}

/// Deletes AWS resources newest first and says what happened to each. A resource recorded
/// before its create call and not found is looked for once more after a short wait (a create
/// abandoned in flight may still land); LocalStack not answering ends the deletions, and
/// `abort` completing leaves the rest in place.
pub async fn remove_all(
    clients: &Clients,
    items: Vec<(Created, State)>,
    abort: impl Future<Output = ()>,
    mut gone: impl FnMut(&Created),
) -> CleanupReport {
    let mut report = CleanupReport::default();
    tokio::pin!(abort);
    let mut items = items.into_iter().rev();
    while let Some((item, state)) = items.next() {
        let step = async {
            match delete_remote(clients, &item).await {
                Deleted::NotFound if state == State::Intended => {
                    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                    delete_remote(clients, &item).await
                }
                other => other,
            }
        };
        let outcome = tokio::select! {
            o = step => o,
            () = &mut abort => {
                report.left.push(LeftBehind { resource: item, reason: "interrupted again during the cleanup".into() });
                for (rest, _) in items.by_ref() {
                    report.left.push(LeftBehind { resource: rest, reason: "interrupted again during the cleanup".into() });
                }
                break;
            }
        };
        match outcome {
            Deleted::Removed => {
                gone(&item);
                report.removed.push(item);
            }
            Deleted::NotFound if state == State::Intended => {
                gone(&item);
                report.not_created.push(item);
            }
            // Created, then gone without us: nothing is left either way.
            Deleted::NotFound => {
                gone(&item);
                report.removed.push(item);
            }
            Deleted::Failed(reason) => report.left.push(LeftBehind {
                resource: item,
                reason,
            }),
            Deleted::Unreachable(reason) => {
                let reason = format!("{UNREACHABLE}: {reason}");
                report.left.push(LeftBehind {
                    resource: item,
                    reason: reason.clone(),
                });
                for (rest, _) in items.by_ref() {
                    report.left.push(LeftBehind {
                        resource: rest,
                        reason: reason.clone(),
                    });
                }
                break;
            }
        }
    }
    report
}

/// Deletes everything in the ledger, newest first: pods, namespaces, profiles (waiting for
/// each) and the cluster through the endpoint's Kubernetes and EKS APIs (`apis`), then policy
/// attachments, roles, bucket policies, objects and buckets in AWS.
pub async fn cleanup(
    clients: &Clients,
    ledger: &Ledger,
    apis: Option<&walk::Apis>,
    abort: impl Future<Output = ()>,
) -> CleanupReport {
    let mut local = CleanupReport::default();
    let mut remote = Vec::new();
    for (item, state) in ledger.take().into_iter().rev() {
        if item.is_remote() {
            remote.push((item, state));
            continue;
        }
        let outcome = match apis {
            Some(apis) => walk::delete_local(apis, &item).await,
            None => Ok(()),
        };
        match outcome {
            Ok(()) => local.removed.push(item),
            Err(reason) => local.left.push(LeftBehind {
                resource: item,
                reason,
            }),
        }
    }
    // `remote` is newest first; `remove_all` takes creation order.
    remote.reverse();
    let mut report = remove_all(clients, remote, abort, |c| ledger.forget(c)).await;
    local.removed.append(&mut report.removed);
    local.not_created = report.not_created;
    local.left.append(&mut report.left);
    local
}

/// What `demo --cleanup` did about one earlier run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeftoverCleanup {
    /// The earlier run.
    pub run_id: RunId,
    /// The LocalStack its resources were in.
    pub endpoint: String,
    /// Its journal (still there when something is left).
    pub journal: std::path::PathBuf,
    /// What happened.
    pub outcome: LeftoverOutcome,
}

/// What happened to an earlier run's resources.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum LeftoverOutcome {
    /// Deleted now (what could be).
    Cleaned {
        /// What the deletions did.
        report: CleanupReport,
    },
    /// Not touched, and why (an endpoint off this machine, a LocalStack that does not answer).
    Skipped {
        /// Why.
        reason: String,
        /// What is still recorded.
        resources: Vec<Created>,
    },
}

/// The earlier runs' journals that name resources which may still exist: runs that are not
/// alive and used a LocalStack named by the user. Journals of runs that started their own
/// LocalStack are removed here (that LocalStack stopped with its run, and its resources with
/// it), and so are journals that record nothing (a run killed before its first create).
pub fn leftovers(dir: &std::path::Path) -> Vec<crate::journal::Leftover> {
    crate::journal::leftovers(dir)
        .into_iter()
        .filter(|l| {
            let gone = l.record.own_localstack || l.record.entries.is_empty();
            if gone {
                l.discard();
            }
            !gone
        })
        .collect()
}

/// Removes what earlier runs left (`fargate-sim demo --cleanup`), run by run, from their
/// journals. An endpoint that is not on this machine is skipped unless `allow_remote`.
pub async fn clean_leftovers(dir: &std::path::Path, allow_remote: bool) -> Vec<LeftoverCleanup> {
    let mut out = Vec::new();
    for mut l in leftovers(dir) {
        let resources: Vec<Created> = l
            .record
            .entries
            .iter()
            .map(|e| e.resource.clone())
            .collect();
        let endpoint = l.record.endpoint.clone();
        let skipped = |reason: String| LeftoverOutcome::Skipped {
            reason,
            resources: resources.clone(),
        };
        let reachable = match s3_harness::localstack::parse_endpoint(&endpoint) {
            Err(e) => Err(e.to_string()),
            Ok(p) if !allow_remote && !p.is_loopback() => Err(format!(
                "`{endpoint}` is not on this machine; pass --allow-real-aws to clean it"
            )),
            Ok(_) => {
                let ep = endpoint.clone();
                tokio::task::spawn_blocking(move || {
                    s3_harness::localstack::check_health(&ep, std::time::Duration::from_secs(3))
                })
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()))
            }
        };
        let outcome = match reachable {
            Err(reason) => skipped(reason),
            Ok(()) => {
                let clients = Clients::with_timeouts(
                    &endpoint,
                    "eu-west-1",
                    &Creds::test_account(),
                    Timeouts::CLEANUP,
                )
                .await;
                let items = l
                    .record
                    .entries
                    .iter()
                    .map(|e| (e.resource.clone(), e.state))
                    .collect();
                let report = remove_all(&clients, items, std::future::pending(), |_| {}).await;
                if report.left.is_empty() {
                    l.discard();
                } else {
                    let still: Vec<crate::journal::Entry> = l
                        .record
                        .entries
                        .iter()
                        .filter(|e| report.left.iter().any(|x| x.resource == e.resource))
                        .cloned()
                        .collect();
                    let _ = l.save(still);
                }
                LeftoverOutcome::Cleaned { report }
            }
        };
        out.push(LeftoverCleanup {
            run_id: l.record.run_id,
            endpoint,
            journal: l.path.clone(),
            outcome,
        });
    }
    out
}

/// Whether the flow's decision log shows an allowed read of the object.
pub fn read_allowed(report: &FlowReport) -> bool {
    report
        .decisions
        .iter()
        .any(|(a, _, _, d)| a == "s3:GetObject" && d == Decision::Allow.as_str())
}
