//! Pods: admission through the Fargate scheduler (once, at creation), the status the kubelet
//! would report, containers that run (the AWS CLI, as a process the serving side starts) or
//! are simulated (any other image), logs, restarts with back-off, deletion.

use k8s_openapi::api::core::v1 as core;

use super::{Change, ChangeKind, Kube, KubeError, Object, time};
use crate::cluster::Cluster;
use crate::placement::Placement;

/// Images that run as the real AWS CLI (any tag or digest).
pub const AWS_CLI_IMAGES: [&str; 4] = [
    "amazon/aws-cli",
    "docker.io/amazon/aws-cli",
    "public.ecr.aws/aws-cli/aws-cli",
    "registry-1.docker.io/amazon/aws-cli",
];

/// What the API server says when a pod update changes more than it may.
pub const FORBIDDEN_UPDATE: &str = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// The most log kept per container attempt; beyond it the log says it was cut.
pub const MAX_LOG: usize = 1 << 20;

/// The first restart back-off, doubled per restart up to [`MAX_BACKOFF`] (the kubelet's).
pub const FIRST_BACKOFF: f64 = 10.0;
/// The longest restart back-off.
pub const MAX_BACKOFF: f64 = 300.0;

/// Whether `image` is the AWS CLI's (its repository, whatever the tag or digest).
pub fn runs_aws_cli(image: &str) -> bool {
    let repo = image.split('@').next().unwrap_or(image);
    let repo = match repo.rsplit_once(':') {
        Some((r, tag)) if !tag.contains('/') => r,
        _ => repo,
    };
    AWS_CLI_IMAGES.contains(&repo)
}

/// What the model asks of the side that runs processes.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Run a container's AWS CLI command.
    Start(Launch),
    /// Stop every process of a pod (it is being deleted).
    Stop(PodRef),
}

/// Which pod, by namespace, name and uid (a uid guards against a pod of the same name created
/// since).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PodRef {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Uid.
    pub uid: String,
}

/// One run of a container: the AWS CLI with these arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Launch {
    /// The pod.
    pub pod: PodRef,
    /// The container's name.
    pub container: String,
    /// The arguments after `aws` (`$(VAR)` already expanded).
    pub args: Vec<String>,
    /// The container's environment (`value` entries, expanded).
    pub env: Vec<(String, String)>,
    /// The execution role whose session the container gets.
    pub role_arn: String,
    /// The Fargate profile's ARN (`aws:SourceArn` of Fargate's AssumeRole).
    pub profile_arn: String,
    /// Seconds to wait before starting (restart back-off).
    pub delay: f64,
    /// Seconds the process may run (`activeDeadlineSeconds` left), when the pod sets one.
    pub deadline: Option<f64>,
    /// The container's memory limit in bytes, when it sets one.
    pub memory_limit: Option<u64>,
}

/// How a container's process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// It was killed at the pod's `activeDeadlineSeconds`.
    DeadlineExceeded,
    /// It was killed at one of fargate-sim's limits (time, memory); the text says which.
    Limit(String),
    /// It could not start (the command is not `aws`); the text is the runtime's message.
    StartError(String),
}

/// A container's log: what its process wrote, bounded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Log {
    text: String,
    cut: bool,
}

impl Log {
    /// The text so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    fn push(&mut self, bytes: &[u8]) {
        if self.cut {
            return;
        }
        let room = MAX_LOG.saturating_sub(self.text.len());
        let chunk = String::from_utf8_lossy(bytes);
        if chunk.len() <= room {
            self.text.push_str(&chunk);
        } else {
            let mut end = room;
            while !chunk.is_char_boundary(end) {
                end -= 1;
            }
            self.text.push_str(&chunk[..end]);
            self.text.push_str(&format!(
                "\n[fargate-sim: this log is cut at {} MiB; the rest of the output was dropped]\n",
                MAX_LOG >> 20
            ));
            self.cut = true;
        }
    }
}

/// A container as the model tracks it beside its status.
#[derive(Debug, Clone, Default)]
pub(crate) struct ContainerRun {
    /// Runs as the AWS CLI (else simulated).
    pub(crate) process: bool,
    /// A process is live (or about to start).
    pub(crate) live: bool,
    pub(crate) log: Log,
    pub(crate) previous: Option<Log>,
    pub(crate) launch: Option<Launch>,
}

/// A stored pod.
#[derive(Debug, Clone)]
pub(crate) struct PodEntry {
    pub(crate) object: core::Pod,
    pub(crate) runs: Vec<ContainerRun>,
    pub(crate) placement: Option<Placement>,
}

impl PodEntry {
    fn reference(&self) -> PodRef {
        PodRef {
            namespace: self.object.metadata.namespace.clone().unwrap_or_default(),
            name: self.object.metadata.name.clone().unwrap_or_default(),
            uid: self.object.metadata.uid.clone().unwrap_or_default(),
        }
    }

    fn spec(&self) -> &core::PodSpec {
        static EMPTY: std::sync::OnceLock<core::PodSpec> = std::sync::OnceLock::new();
        self.object
            .spec
            .as_ref()
            .unwrap_or_else(|| EMPTY.get_or_init(core::PodSpec::default))
    }

    fn statuses_mut(&mut self) -> &mut Vec<core::ContainerStatus> {
        self.object
            .status
            .get_or_insert_with(Default::default)
            .container_statuses
            .get_or_insert_with(Vec::new)
    }
}

/// `$(VAR)` expanded as the kubelet does: a defined variable is replaced, `$$` is a literal
/// `$`, anything else is left as written.
pub fn expand(text: &str, env: &[(String, String)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(')
            && let Some(close) = inner.find(')')
            && let Some((_, value)) = env.iter().rev().find(|(k, _)| *k == inner[..close])
        {
            out.push_str(value);
            rest = &inner[close + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn container_env(c: &core::Container) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = Vec::new();
    for v in c.env.iter().flatten() {
        let value = expand(v.value.as_deref().unwrap_or(""), &env);
        env.push((v.name.clone(), value));
    }
    env
}

fn waiting(reason: &str, message: Option<String>) -> core::ContainerState {
    core::ContainerState {
        waiting: Some(core::ContainerStateWaiting {
            reason: Some(reason.to_owned()),
            message,
        }),
        ..Default::default()
    }
}

fn running(now: f64) -> core::ContainerState {
    core::ContainerState {
        running: Some(core::ContainerStateRunning {
            started_at: Some(time(now)),
        }),
        ..Default::default()
    }
}

/// What the API server fills in on a pod it admits, as `kubectl get -o yaml` shows.
fn defaults(pod: &mut core::Pod) {
    let spec = pod.spec.get_or_insert_with(Default::default);
    spec.restart_policy.get_or_insert_with(|| "Always".into());
    spec.termination_grace_period_seconds.get_or_insert(30);
    spec.dns_policy.get_or_insert_with(|| "ClusterFirst".into());
    let sa = spec
        .service_account_name
        .get_or_insert_with(|| "default".into())
        .clone();
    spec.service_account = Some(sa);
    spec.security_context.get_or_insert_with(Default::default);
    spec.enable_service_links.get_or_insert(true);
    spec.preemption_policy
        .get_or_insert_with(|| "PreemptLowerPriority".into());
    spec.priority.get_or_insert(0);
    if spec.tolerations.is_none() {
        spec.tolerations = Some(
            ["not-ready", "unreachable"]
                .iter()
                .map(|t| core::Toleration {
                    key: Some(format!("node.kubernetes.io/{t}")),
                    operator: Some("Exists".into()),
                    effect: Some("NoExecute".into()),
                    toleration_seconds: Some(300),
                    ..Default::default()
                })
                .collect(),
        );
    }
    for c in &mut spec.containers {
        let image = c.image.clone().unwrap_or_default();
        let latest = image.ends_with(":latest")
            || (!image.contains('@') && !image.rsplit('/').next().unwrap_or("").contains(':'));
        c.image_pull_policy
            .get_or_insert_with(|| if latest { "Always" } else { "IfNotPresent" }.into());
        c.termination_message_path
            .get_or_insert_with(|| "/dev/termination-log".into());
        c.termination_message_policy
            .get_or_insert_with(|| "File".into());
        c.resources.get_or_insert_with(Default::default);
    }
}

/// The scheduler's view of a pod, from the API object.
fn to_scheduler_pod(pod: &core::Pod) -> Result<crate::pod::Pod, String> {
    let spec_json = serde_json::to_value(pod.spec.as_ref().cloned().unwrap_or_default())
        .map_err(|e| e.to_string())?;
    let spec: crate::pod::PodSpec = serde_json::from_value(spec_json).map_err(|e| e.to_string())?;
    Ok(crate::pod::Pod {
        name: pod.metadata.name.clone().unwrap_or_default(),
        namespace: pod.metadata.namespace.clone().unwrap_or_default(),
        labels: pod.metadata.labels.clone().unwrap_or_default(),
        annotations: pod.metadata.annotations.clone().unwrap_or_default(),
        spec,
        owner_kind: pod
            .metadata
            .owner_references
            .as_ref()
            .and_then(|o| o.first())
            .map(|o| o.kind.clone()),
    })
}

/// The field problems of a pod to create, as the API server's validation words them.
fn validate(pod: &core::Pod) -> Vec<(String, String)> {
    let mut causes = Vec::new();
    let name = pod.metadata.name.as_deref().unwrap_or("");
    if name.is_empty() {
        causes.push((
            "metadata.name".to_owned(),
            "Required value: name or generateName is required".to_owned(),
        ));
    } else if let Some(p) = super::rfc1123_subdomain_problem(name) {
        causes.push((
            "metadata.name".to_owned(),
            format!("Invalid value: \"{name}\": {p}"),
        ));
    }
    let containers = pod
        .spec
        .as_ref()
        .map(|s| s.containers.as_slice())
        .unwrap_or(&[]);
    if containers.is_empty() {
        causes.push(("spec.containers".to_owned(), "Required value".to_owned()));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, c) in containers.iter().enumerate() {
        if c.name.is_empty() {
            causes.push((
                format!("spec.containers[{i}].name"),
                "Required value".into(),
            ));
        } else if let Some(p) = super::rfc1123_label_problem(&c.name) {
            causes.push((
                format!("spec.containers[{i}].name"),
                format!("Invalid value: \"{}\": {p}", c.name),
            ));
        } else if !seen.insert(c.name.as_str()) {
            causes.push((
                format!("spec.containers[{i}].name"),
                format!("Duplicate value: \"{}\"", c.name),
            ));
        }
        if c.image.as_deref().is_none_or(|i| i.trim().is_empty()) {
            causes.push((
                format!("spec.containers[{i}].image"),
                "Required value".into(),
            ));
        }
    }
    if let Some(p) = pod.spec.as_ref().and_then(|s| s.restart_policy.as_deref())
        && !["Always", "OnFailure", "Never"].contains(&p)
    {
        causes.push((
            "spec.restartPolicy".to_owned(),
            format!(
                "Unsupported value: \"{p}\": supported values: \"Always\", \"OnFailure\", \"Never\""
            ),
        ));
    }
    causes
}

/// The kube-scheduler's words for a pod no node can take: Fargate nodes are tainted, and a
/// Fargate-only cluster has no other nodes.
pub fn unschedulable_message(fargate_nodes: usize) -> String {
    if fargate_nodes == 0 {
        "no nodes available to schedule pods".to_owned()
    } else {
        format!(
            "0/{n} nodes are available: {n} node(s) had untolerated taint {{eks.amazonaws.com/compute-type: fargate}}. preemption: 0/{n} nodes are available: {n} Preemption is not helpful for scheduling.",
            n = fargate_nodes
        )
    }
}

impl Kube {
    fn pod_entry(&self, namespace: &str, name: &str) -> Result<&PodEntry, KubeError> {
        self.pods
            .get(&(namespace.to_owned(), name.to_owned()))
            .ok_or_else(|| KubeError::NotFound {
                resource: "pods",
                name: name.to_owned(),
            })
    }

    /// A pod.
    ///
    /// # Errors
    /// `NotFound`.
    pub fn pod(&self, namespace: &str, name: &str) -> Result<&core::Pod, KubeError> {
        self.pod_entry(namespace, name).map(|e| &e.object)
    }

    /// The pods of a namespace (every namespace for `None`), by namespace and name.
    pub fn pods<'a>(&'a self, namespace: Option<&'a str>) -> impl Iterator<Item = &'a core::Pod> {
        let start = (namespace.unwrap_or("").to_owned(), String::new());
        self.pods
            .range(start..)
            .take_while(move |((ns, _), _)| namespace.is_none_or(|n| n == ns))
            .map(|(_, e)| &e.object)
    }

    /// How many pods there are.
    pub fn pod_count(&self) -> usize {
        self.pods.len()
    }

    /// Creates a pod: validated, defaulted, placed by the Fargate scheduler (once), and, on
    /// Fargate, given its node and started. Effects for the process runner are queued (see
    /// [`Kube::take_effects`]).
    ///
    /// # Errors
    /// `Invalid`, `NotFound` (namespace), `Forbidden` (namespace terminating, service account
    /// missing), `AlreadyExists`.
    pub fn create_pod(
        &mut self,
        fargate: &mut Cluster,
        mut pod: core::Pod,
        now: f64,
    ) -> Result<core::Pod, KubeError> {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let namespace = pod
            .metadata
            .namespace
            .get_or_insert_with(|| "default".into())
            .clone();
        let causes = validate(&pod);
        if !causes.is_empty() {
            return Err(KubeError::Invalid {
                kind: "Pod",
                name,
                causes,
            });
        }
        let ns = self.namespace(&namespace)?;
        if ns.phase == super::NamespacePhase::Terminating {
            return Err(KubeError::Forbidden {
                resource: "pods",
                name,
                why: format!(
                    "unable to create new content in namespace {namespace} because it is being terminated"
                ),
            });
        }
        if self.pods.contains_key(&(namespace.clone(), name.clone())) {
            return Err(KubeError::AlreadyExists {
                resource: "pods",
                name,
            });
        }
        defaults(&mut pod);
        let account = pod
            .spec
            .as_ref()
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_default();
        if !self
            .accounts
            .contains_key(&(namespace.clone(), account.clone()))
        {
            return Err(KubeError::Forbidden {
                resource: "pods",
                name,
                why: format!(
                    "error looking up service account {namespace}/{account}: serviceaccount \"{account}\" not found"
                ),
            });
        }
        let scheduling = to_scheduler_pod(&pod).map_err(|e| {
            KubeError::BadRequest(format!(
                "Pod in version \"v1\" cannot be handled as a Pod: {e}"
            ))
        })?;
        let placed = fargate.apply_pod(scheduling, now);
        let uid = self.ids.uuid();
        let meta = &mut pod.metadata;
        meta.uid = Some(uid);
        meta.creation_timestamp = Some(time(now));
        meta.generation = None;
        meta.resource_version = None;
        meta.managed_fields = None;
        meta.deletion_timestamp = None;
        let runs = pod
            .spec
            .as_ref()
            .map(|s| {
                s.containers
                    .iter()
                    .map(|c| ContainerRun {
                        process: runs_aws_cli(c.image.as_deref().unwrap_or("")),
                        ..ContainerRun::default()
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut entry = PodEntry {
            object: pod,
            runs,
            placement: None,
        };
        self.admit(&mut entry, placed, fargate, now);
        let key = (namespace, name);
        let snapshot = entry.object.clone();
        self.pods.insert(key, entry);
        self.record_pod(ChangeKind::Added, &snapshot);
        Ok(self.stamped_pod(&snapshot))
    }

    /// The pod as stored, with the latest resource version (set by `record_pod`).
    fn stamped_pod(&self, pod: &core::Pod) -> core::Pod {
        let key = (
            pod.metadata.namespace.clone().unwrap_or_default(),
            pod.metadata.name.clone().unwrap_or_default(),
        );
        self.pods
            .get(&key)
            .map_or_else(|| pod.clone(), |e| e.object.clone())
    }

    /// Bumps the version of a stored pod and records the change.
    fn record_pod(&mut self, kind: ChangeKind, pod: &core::Pod) {
        let version = self.next_version();
        let key = (
            pod.metadata.namespace.clone().unwrap_or_default(),
            pod.metadata.name.clone().unwrap_or_default(),
        );
        let mut snapshot = pod.clone();
        snapshot.metadata.resource_version = Some(version.to_string());
        if let Some(e) = self.pods.get_mut(&key) {
            e.object.metadata.resource_version = Some(version.to_string());
        }
        self.record(Change {
            version,
            kind,
            object: Object::Pod(Box::new(snapshot)),
        });
    }

    /// Applies the Fargate scheduler's decision to a new pod: its labels, annotation,
    /// scheduler, node and address; its events; its containers started or left waiting.
    fn admit(&mut self, entry: &mut PodEntry, placed: Placement, fargate: &mut Cluster, now: f64) {
        let pod_ref = entry.reference();
        let meta = &mut entry.object.metadata;
        meta.labels = Some(placed.pod.labels.clone()).filter(|l| !l.is_empty());
        meta.annotations = Some(placed.pod.annotations.clone()).filter(|a| !a.is_empty());
        let spec = entry.object.spec.get_or_insert_with(Default::default);
        spec.scheduler_name = Some(
            placed
                .pod
                .spec
                .scheduler_name
                .clone()
                .unwrap_or_else(|| "default-scheduler".into()),
        );
        let status = entry.object.status.get_or_insert_with(Default::default);
        status.phase = Some("Pending".into());
        status.qos_class = Some(qos_class(spec));
        let on_fargate = placed.on_fargate();
        let condition = |type_: &str, ok: bool, reason: Option<&str>, message: Option<String>| {
            core::PodCondition {
                type_: type_.to_owned(),
                status: if ok { "True" } else { "False" }.to_owned(),
                last_transition_time: Some(time(now)),
                reason: reason.map(str::to_owned),
                message,
                last_probe_time: None,
            }
        };
        for e in placed
            .events
            .iter()
            .filter(|e| e.reason == "Scheduled" || e.kind == "Warning")
        {
            self.pod_event(&pod_ref, e.kind, &e.reason, &e.message, e.from, None, now);
        }
        if !on_fargate {
            let unsupported = placed.profile.is_some();
            let message = if unsupported {
                placed.reason.clone()
            } else {
                let m = unschedulable_message(self.nodes.len());
                self.pod_event(
                    &pod_ref,
                    "Warning",
                    "FailedScheduling",
                    &m,
                    "default-scheduler",
                    None,
                    now,
                );
                m
            };
            status.conditions = Some(vec![condition(
                "PodScheduled",
                false,
                Some("Unschedulable"),
                Some(message),
            )]);
            entry.placement = Some(placed);
            return;
        }
        let node = placed.node.clone().unwrap_or_default();
        let ip = placed.address.map(|a| a.to_string()).unwrap_or_default();
        spec.node_name = Some(node.clone());
        status.host_ip = Some(ip.clone());
        status.host_ips = Some(vec![core::HostIP { ip: ip.clone() }]);
        status.pod_ip = Some(ip.clone());
        status.pod_ips = Some(vec![core::PodIP { ip: ip.clone() }]);
        status.start_time = Some(time(now));
        let profile = placed.profile.clone().unwrap_or_default();
        let (role_arn, profile_arn) = fargate
            .describe_profile(&profile, now)
            .map(|p| (p.pod_execution_role_arn, p.fargate_profile_arn))
            .unwrap_or_default();
        self.add_node(&node, &ip, &profile, now);
        let deadline = spec.active_deadline_seconds.map(|s| s as f64);
        let mut statuses = Vec::new();
        let containers = spec.containers.clone();
        for (i, c) in containers.iter().enumerate() {
            let image = c.image.clone().unwrap_or_default();
            let field = format!("spec.containers{{{}}}", c.name);
            // What the kubelet says as it starts a container.
            for (reason, message) in [
                ("Pulling", format!("Pulling image \"{image}\"")),
                (
                    "Pulled",
                    format!("Successfully pulled image \"{image}\" in 0s (0s including waiting)"),
                ),
                ("Created", format!("Created container: {}", c.name)),
                ("Started", format!("Started container {}", c.name)),
            ] {
                self.pod_event(
                    &pod_ref,
                    "Normal",
                    reason,
                    &message,
                    "kubelet",
                    Some(&field),
                    now,
                );
            }
            let run = &mut entry.runs[i];
            if run.process {
                let env = container_env(c);
                let mut argv: Vec<String> = c
                    .command
                    .iter()
                    .flatten()
                    .chain(c.args.iter().flatten())
                    .map(|a| expand(a, &env))
                    .collect();
                if c.command.as_ref().is_none_or(Vec::is_empty) {
                    // The image's entrypoint is `aws`.
                    argv.insert(0, "aws".into());
                }
                let launch = Launch {
                    pod: pod_ref.clone(),
                    container: c.name.clone(),
                    args: argv,
                    env,
                    role_arn: role_arn.clone(),
                    profile_arn: profile_arn.clone(),
                    delay: 0.0,
                    deadline,
                    memory_limit: c
                        .resources
                        .as_ref()
                        .and_then(|r| r.limits.as_ref())
                        .and_then(|l| l.get("memory"))
                        .and_then(|q| crate::quantity::memory(&q.0))
                        .map(|b| b as u64),
                };
                run.live = true;
                run.launch = Some(launch.clone());
                self.effects.push(Effect::Start(launch));
            } else {
                self.pod_event(
                    &pod_ref,
                    "Normal",
                    "Simulated",
                    &format!("fargate-sim does not execute image \"{image}\": the container is shown Running, with no process and an empty log"),
                    "fargate-sim",
                    Some(&field),
                    now,
                );
            }
            statuses.push(core::ContainerStatus {
                name: c.name.clone(),
                image: image.clone(),
                image_id: String::new(),
                container_id: Some(format!(
                    "containerd://{}",
                    container_id(&pod_ref.uid, &c.name)
                )),
                ready: true,
                started: Some(true),
                restart_count: 0,
                state: Some(running(now)),
                ..Default::default()
            });
        }
        status.container_statuses = Some(statuses);
        status.phase = Some("Running".into());
        status.conditions = Some(vec![
            condition("PodReadyToStartContainers", true, None, None),
            condition("Initialized", true, None, None),
            condition("Ready", true, None, None),
            condition("ContainersReady", true, None, None),
            condition("PodScheduled", true, None, None),
        ]);
        entry.placement = Some(placed);
    }

    /// Replaces a pod with `new` (a patch applied to it): labels and annotations may change,
    /// and of the spec only what the API server lets change (container images,
    /// `activeDeadlineSeconds`, added tolerations). Placement is not revisited.
    ///
    /// # Errors
    /// `NotFound`; `Invalid` with the API server's words when other spec fields changed.
    pub fn update_pod(&mut self, new: core::Pod) -> Result<core::Pod, KubeError> {
        let namespace = new.metadata.namespace.clone().unwrap_or_default();
        let name = new.metadata.name.clone().unwrap_or_default();
        let entry = self.pod_entry(&namespace, &name)?;
        let old_spec = entry.spec().clone();
        let new_spec = new.spec.clone().unwrap_or_default();
        let masked = |spec: &core::PodSpec, other: &core::PodSpec| {
            let mut s = spec.clone();
            for c in s
                .containers
                .iter_mut()
                .chain(s.init_containers.iter_mut().flatten())
            {
                c.image = None;
            }
            s.active_deadline_seconds = None;
            let old = other.tolerations.clone().unwrap_or_default();
            if s.tolerations
                .as_ref()
                .is_some_and(|t| old.iter().all(|o| t.contains(o)))
            {
                s.tolerations = None;
            }
            s
        };
        let mut old_masked = masked(&old_spec, &old_spec);
        let new_masked = masked(&new_spec, &old_spec);
        if old_masked.tolerations.is_some() && new_masked.tolerations.is_none() {
            old_masked.tolerations = None;
        }
        if old_masked != new_masked {
            return Err(KubeError::Invalid {
                kind: "Pod",
                name,
                causes: vec![("spec".to_owned(), format!("Forbidden: {FORBIDDEN_UPDATE}"))],
            });
        }
        let key = (namespace, name);
        let Some(entry) = self.pods.get_mut(&key) else {
            return Err(KubeError::NotFound {
                resource: "pods",
                name: key.1,
            });
        };
        let images: Vec<(String, String)> = new_spec
            .containers
            .iter()
            .map(|c| (c.name.clone(), c.image.clone().unwrap_or_default()))
            .collect();
        entry.object.metadata.labels = new.metadata.labels.clone();
        entry.object.metadata.annotations = new.metadata.annotations.clone();
        entry.object.spec = Some(new_spec);
        for s in entry
            .object
            .status
            .iter_mut()
            .flat_map(|st| st.container_statuses.iter_mut().flatten())
        {
            if let Some((_, image)) = images.iter().find(|(n, _)| *n == s.name) {
                s.image = image.clone();
            }
        }
        let snapshot = entry.object.clone();
        self.record_pod(ChangeKind::Modified, &snapshot);
        Ok(self.stamped_pod(&snapshot))
    }

    /// Effects queued for the process runner since the last call.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// Deletes a pod. A pod with a live process stays, terminating (`deletionTimestamp`),
    /// until the runner reports the process gone; any other goes at once.
    ///
    /// # Errors
    /// `NotFound`.
    pub fn delete_pod(
        &mut self,
        fargate: &mut Cluster,
        namespace: &str,
        name: &str,
        now: f64,
    ) -> Result<core::Pod, KubeError> {
        let key = (namespace.to_owned(), name.to_owned());
        let entry = self.pods.get_mut(&key).ok_or_else(|| KubeError::NotFound {
            resource: "pods",
            name: name.to_owned(),
        })?;
        let live = entry.runs.iter().any(|r| r.live);
        if entry.object.metadata.deletion_timestamp.is_none() {
            entry.object.metadata.deletion_timestamp = Some(time(now));
            entry.object.metadata.deletion_grace_period_seconds = entry
                .object
                .spec
                .as_ref()
                .and_then(|s| s.termination_grace_period_seconds)
                .or(Some(30));
        }
        if live {
            let pod_ref = entry.reference();
            let snapshot = entry.object.clone();
            let field = entry
                .spec()
                .containers
                .first()
                .map(|c| format!("spec.containers{{{}}}", c.name));
            self.effects.push(Effect::Stop(pod_ref.clone()));
            self.pod_event(
                &pod_ref,
                "Normal",
                "Killing",
                &format!(
                    "Stopping container {}",
                    snapshot
                        .spec
                        .as_ref()
                        .and_then(|s| s.containers.first())
                        .map(|c| c.name.as_str())
                        .unwrap_or("")
                ),
                "kubelet",
                field.as_deref(),
                now,
            );
            self.record_pod(ChangeKind::Modified, &snapshot);
            return Ok(self.stamped_pod(&snapshot));
        }
        Ok(self.remove_pod(fargate, &key))
    }

    /// Removes a pod for good: its node goes, its address is free, watchers see it deleted.
    pub(crate) fn remove_pod(
        &mut self,
        fargate: &mut Cluster,
        key: &(String, String),
    ) -> core::Pod {
        let Some(entry) = self.pods.remove(key) else {
            return core::Pod::default();
        };
        fargate.delete_pod(&key.0, &key.1);
        if let Some(node) = entry.spec().node_name.clone()
            && entry.placement.as_ref().is_some_and(Placement::on_fargate)
        {
            self.remove_node(&node);
        }
        let mut pod = entry.object;
        let version = self.next_version();
        pod.metadata.resource_version = Some(version.to_string());
        self.record(Change {
            version,
            kind: ChangeKind::Deleted,
            object: Object::Pod(Box::new(pod.clone())),
        });
        self.namespace_emptied(&key.0);
        pod
    }

    /// Removes the pods a deleted Fargate profile placed (EKS deletes them); returns how many.
    pub fn evict_profile(&mut self, fargate: &mut Cluster, profile: &str, now: f64) -> usize {
        let keys: Vec<(String, String)> = self
            .pods
            .iter()
            .filter(|(_, e)| {
                e.placement
                    .as_ref()
                    .is_some_and(|p| p.profile.as_deref() == Some(profile) && p.on_fargate())
            })
            .map(|(k, _)| k.clone())
            .collect();
        for (ns, name) in &keys {
            let _ = self.delete_pod(fargate, ns, name, now);
        }
        keys.len()
    }

    fn run_mut(&mut self, pod: &PodRef, container: &str) -> Option<(&mut PodEntry, usize)> {
        let entry = self
            .pods
            .get_mut(&(pod.namespace.clone(), pod.name.clone()))
            .filter(|e| e.object.metadata.uid.as_deref() == Some(pod.uid.as_str()))?;
        let i = entry
            .spec()
            .containers
            .iter()
            .position(|c| c.name == container)?;
        Some((entry, i))
    }

    /// Output from a container's process (stdout and stderr, as they come).
    pub fn append_log(&mut self, pod: &PodRef, container: &str, bytes: &[u8]) {
        if let Some((entry, i)) = self.run_mut(pod, container) {
            entry.runs[i].log.push(bytes);
            self.log_version += 1;
        }
    }

    /// The runner started a container's process (after a restart's back-off).
    pub fn container_started(&mut self, pod: &PodRef, container: &str, now: f64) {
        let Some((entry, i)) = self.run_mut(pod, container) else {
            return;
        };
        let Some(status) = entry.statuses_mut().get_mut(i) else {
            return;
        };
        if status.state.as_ref().is_some_and(|s| s.running.is_some()) {
            return;
        }
        status.state = Some(running(now));
        status.started = Some(true);
        status.ready = true;
        refresh_phase(entry, now);
        let snapshot = entry.object.clone();
        let field = format!("spec.containers{{{container}}}");
        self.pod_event(
            pod,
            "Normal",
            "Started",
            &format!("Started container {container}"),
            "kubelet",
            Some(&field),
            now,
        );
        self.record_pod(ChangeKind::Modified, &snapshot);
    }

    /// A container's process ended. The container is restarted per `restartPolicy` (with the
    /// kubelet's back-off), or the pod's phase settles; a pod being deleted goes.
    pub fn container_exited(
        &mut self,
        fargate: &mut Cluster,
        pod: &PodRef,
        container: &str,
        exit: &Exit,
        now: f64,
    ) {
        let Some((entry, i)) = self.run_mut(pod, container) else {
            return;
        };
        entry.runs[i].live = false;
        let key = (pod.namespace.clone(), pod.name.clone());
        if entry.object.metadata.deletion_timestamp.is_some() {
            if entry.runs.iter().all(|r| !r.live) {
                self.remove_pod(fargate, &key);
            }
            return;
        }
        let (code, reason, message) = match exit {
            Exit::Code(0) => (0, "Completed", None),
            Exit::Code(c) => (*c, "Error", None),
            Exit::DeadlineExceeded => (137, "Error", None),
            Exit::Limit(why) => (137, "Error", Some(why.clone())),
            Exit::StartError(why) => (128, "StartError", Some(why.clone())),
        };
        let policy = entry
            .spec()
            .restart_policy
            .clone()
            .unwrap_or_else(|| "Always".into());
        let deadline = matches!(exit, Exit::DeadlineExceeded);
        let restart = !deadline && (policy == "Always" || (policy == "OnFailure" && code != 0));
        let started_at = entry
            .statuses_mut()
            .get(i)
            .and_then(|s| s.state.as_ref()?.running.as_ref()?.started_at.clone());
        let terminated = core::ContainerState {
            terminated: Some(core::ContainerStateTerminated {
                exit_code: code,
                reason: Some(reason.to_owned()),
                message: message.clone(),
                started_at,
                finished_at: Some(time(now)),
                container_id: Some(format!(
                    "containerd://{}",
                    container_id(&pod.uid, container)
                )),
                signal: None,
            }),
            ..Default::default()
        };
        let mut effect = None;
        {
            let Some(status) = entry.statuses_mut().get_mut(i) else {
                return;
            };
            status.ready = false;
            status.started = Some(false);
            if restart {
                let backoff =
                    (FIRST_BACKOFF * 2f64.powi(status.restart_count.min(16))).min(MAX_BACKOFF);
                status.restart_count += 1;
                status.last_state = Some(terminated);
                status.state = Some(waiting(
                    "CrashLoopBackOff",
                    Some(format!(
                        "back-off {}s restarting failed container={container} pod={}_{}({})",
                        backoff as u64, pod.name, pod.namespace, pod.uid
                    )),
                ));
                effect = entry.runs[i].launch.clone().map(|mut l| {
                    l.delay = backoff;
                    l
                });
            } else {
                status.state = Some(terminated);
            }
        }
        if effect.is_some() {
            let run = &mut entry.runs[i];
            run.previous = Some(std::mem::take(&mut run.log));
            run.live = true;
        }
        if deadline {
            let status = entry.object.status.get_or_insert_with(Default::default);
            status.reason = Some("DeadlineExceeded".into());
            status.message =
                Some("Pod was active on the node longer than the specified deadline".into());
        }
        refresh_phase(entry, now);
        let snapshot = entry.object.clone();
        let field = format!("spec.containers{{{container}}}");
        if deadline {
            self.pod_event(
                pod,
                "Normal",
                "DeadlineExceeded",
                "Pod was active on the node longer than the specified deadline",
                "kubelet",
                None,
                now,
            );
        }
        if let Exit::StartError(why) = exit {
            self.pod_event(
                pod,
                "Warning",
                "Failed",
                &format!("Error: {why}"),
                "kubelet",
                Some(&field),
                now,
            );
        }
        if let Exit::Limit(why) = exit {
            self.pod_event(
                pod,
                "Warning",
                "Killed",
                why,
                "fargate-sim",
                Some(&field),
                now,
            );
        }
        if let Some(l) = &effect {
            self.effects.push(Effect::Start(l.clone()));
            self.pod_event(
                pod,
                "Warning",
                "BackOff",
                &format!(
                    "Back-off restarting failed container {container} in pod {}_{}({})",
                    pod.name, pod.namespace, pod.uid
                ),
                "kubelet",
                Some(&field),
                now,
            );
        }
        self.record_pod(ChangeKind::Modified, &snapshot);
    }

    /// A container's log (the only container's when `container` is `None`), and whether it
    /// will grow (its process is live).
    ///
    /// # Errors
    /// `NotFound` (pod), `BadRequest` (which container, or a container that does not exist).
    pub fn log(
        &self,
        namespace: &str,
        name: &str,
        container: Option<&str>,
        previous: bool,
    ) -> Result<(&str, bool), KubeError> {
        let entry = self.pod_entry(namespace, name)?;
        let names: Vec<&str> = entry
            .spec()
            .containers
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        let i = match container {
            Some(c) => names.iter().position(|n| *n == c).ok_or_else(|| {
                KubeError::BadRequest(format!("container {c} is not valid for pod {name}"))
            })?,
            None if names.len() == 1 => 0,
            None => {
                return Err(KubeError::BadRequest(format!(
                    "a container name must be specified for pod {name}, choose one of: [{}]",
                    names.join(" ")
                )));
            }
        };
        let run = &entry.runs[i];
        if previous {
            return match &run.previous {
                Some(l) => Ok((l.text(), false)),
                None => Err(KubeError::BadRequest(format!(
                    "previous terminated container \"{}\" in pod \"{name}\" not found",
                    names[i]
                ))),
            };
        }
        // A container waiting to restart (back-off) has no log of its own yet: the kubelet
        // serves its last terminated run's, as `--previous` does.
        let waiting = entry
            .object
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .and_then(|c| c.get(i))
            .and_then(|c| c.state.as_ref())
            .is_some_and(|s| s.waiting.is_some());
        match &run.previous {
            Some(last) if waiting => Ok((last.text(), false)),
            _ => Ok((run.log.text(), run.live)),
        }
    }
}

/// Phase from the containers' states, as the kubelet computes it.
fn refresh_phase(entry: &mut PodEntry, now: f64) {
    let policy = entry
        .spec()
        .restart_policy
        .clone()
        .unwrap_or_else(|| "Always".into());
    let status = entry.object.status.get_or_insert_with(Default::default);
    let statuses = status.container_statuses.clone().unwrap_or_default();
    let term = |s: &core::ContainerStatus| {
        s.state
            .as_ref()
            .and_then(|st| st.terminated.as_ref())
            .map(|t| t.exit_code)
    };
    let all_done = statuses.iter().all(|s| term(s).is_some());
    let phase = if status.reason.as_deref() == Some("DeadlineExceeded") {
        "Failed"
    } else if all_done && statuses.iter().all(|s| term(s) == Some(0)) {
        "Succeeded"
    } else if all_done && policy != "Always" {
        "Failed"
    } else {
        "Running"
    };
    status.phase = Some(phase.to_owned());
    let ready = !statuses.is_empty() && statuses.iter().all(|s| s.ready);
    let done = phase == "Succeeded" || phase == "Failed";
    for c in status.conditions.iter_mut().flatten() {
        let value = match c.type_.as_str() {
            "Ready" | "ContainersReady" => Some(ready),
            "PodReadyToStartContainers" => Some(!done),
            _ => None,
        };
        if let Some(v) = value {
            let word = if v { "True" } else { "False" };
            if c.status != word {
                c.status = word.to_owned();
                c.last_transition_time = Some(time(now));
                c.reason = (!v && c.type_ != "PodReadyToStartContainers").then(|| {
                    if done {
                        "PodCompleted"
                    } else {
                        "ContainersNotReady"
                    }
                    .to_owned()
                });
            }
        }
    }
}

/// `Guaranteed`, `Burstable` or `BestEffort`, as the API server classifies a pod.
fn qos_class(spec: &core::PodSpec) -> String {
    let mut any = false;
    let mut guaranteed = true;
    for c in &spec.containers {
        let r = c.resources.as_ref();
        let requests = r.and_then(|r| r.requests.as_ref());
        let limits = r.and_then(|r| r.limits.as_ref());
        if requests.is_some_and(|m| !m.is_empty()) || limits.is_some_and(|m| !m.is_empty()) {
            any = true;
        }
        for res in ["cpu", "memory"] {
            let l = limits.and_then(|m| m.get(res));
            let q = requests.and_then(|m| m.get(res)).or(l);
            if l.is_none() || q != l {
                guaranteed = false;
            }
        }
    }
    if !any {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
    .to_owned()
}

/// A container id derived from the pod's uid and the container's name (64 hex characters).
fn container_id(uid: &str, name: &str) -> String {
    use std::hash::Hasher as _;
    let mut h = crate::placement::Fnv::default();
    let mut out = String::with_capacity(64);
    for round in 0u8..4 {
        h.write(uid.as_bytes());
        h.write(name.as_bytes());
        h.write(&[round]);
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}
