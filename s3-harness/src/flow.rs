//! The chapter as a flow: namespace, pod, Fargate profile, bucket, role with
//! `AmazonS3ReadOnlyAccess`, a profile using that role, a pod reading the object — against
//! LocalStack, with IAM decided by the gateway — and a clean exit.
//!
//! Everything the flow creates goes into a [`Ledger`] as it is created and is torn down from it
//! in reverse order, on success, on error and on cancellation (Ctrl-C), unless `keep` is set.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use iam_sim::Decision;
use scheduler::eksctl::{envsubst, parse_config};
use scheduler::{Cluster, EksError, RoleSource, SeqIds, parse_manifests};
use serde::Serialize;

use crate::HarnessError;
use crate::client::{Clients, Creds, TEST_ACCOUNT, decode_policy_document};
use crate::gateway::{Gateway, PRINCIPAL_HEADER, SOURCE_ACCOUNT_HEADER, SOURCE_ARN_HEADER};

/// The example files the flow uses (shipped in `examples/`).
pub mod examples {
    /// `examples/cluster.yaml`.
    pub const CLUSTER: &str = include_str!("../../examples/cluster.yaml");
    /// `examples/new-namespace-cluster.yaml`.
    pub const NEW_NAMESPACE_CLUSTER: &str =
        include_str!("../../examples/new-namespace-cluster.yaml");
    /// `examples/execution-role-cluster.yaml`.
    pub const EXECUTION_ROLE_CLUSTER: &str =
        include_str!("../../examples/execution-role-cluster.yaml");
    /// `examples/test-pod.yaml`.
    pub const TEST_POD: &str = include_str!("../../examples/test-pod.yaml");
    /// `examples/s3-pod.yaml`.
    pub const S3_POD: &str = include_str!("../../examples/s3-pod.yaml");
    /// `examples/role-trust-policy.json`.
    pub const ROLE_TRUST_POLICY: &str = include_str!("../../examples/role-trust-policy.json");
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
}

impl Scenario {
    /// All scenarios.
    pub const ALL: [Scenario; 5] = [
        Scenario::Chapter,
        Scenario::NoS3Policy,
        Scenario::BucketDeny,
        Scenario::BadTrust,
        Scenario::WrongNamespace,
    ];

    /// The kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Chapter => "chapter",
            Scenario::NoS3Policy => "no-s3-policy",
            Scenario::BucketDeny => "bucket-deny",
            Scenario::BadTrust => "bad-trust",
            Scenario::WrongNamespace => "wrong-namespace",
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
    /// Appended to role and bucket names (tests run flows side by side).
    pub suffix: String,
}

impl Default for FlowOptions {
    fn default() -> Self {
        Self {
            scenario: Scenario::Chapter,
            keep: false,
            region: "eu-west-1".into(),
            suffix: String::new(),
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Created {
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

/// Everything created, in creation order.
#[derive(Debug, Default, Clone)]
pub struct Ledger(Arc<Mutex<Vec<Created>>>);

impl Ledger {
    fn push(&self, c: Created) {
        if let Ok(mut l) = self.0.lock() {
            l.push(c);
        }
    }

    /// A copy of the entries.
    pub fn entries(&self) -> Vec<Created> {
        self.0.lock().map(|l| l.clone()).unwrap_or_default()
    }

    fn take(&self) -> Vec<Created> {
        self.0
            .lock()
            .map(|mut l| std::mem::take(&mut *l))
            .unwrap_or_default()
    }
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
    /// What was created (and, unless kept, deleted again).
    pub created: Vec<Created>,
    /// Whether the cleanup ran and succeeded.
    pub cleaned_up: bool,
    /// Fargate profiles the flow created that the cluster still lists afterwards.
    pub profiles_left: Vec<String>,
    /// The gateway's IAM decisions, in order: action, resource, principal, decision.
    pub decisions: Vec<(String, String, String, String)>,
}

/// Roles read from LocalStack IAM for the scheduler's trust check.
#[derive(Debug, Default)]
pub struct LocalStackRoles(HashMap<String, String>);

impl LocalStackRoles {
    /// Reads the trust policy of each role from IAM (`GetRole`), decoding the URL-encoded form.
    ///
    /// # Errors
    /// Only transport errors; a missing role is recorded as missing.
    pub async fn fetch(iam: &aws_sdk_iam::Client, arns: &[&str]) -> Result<Self, HarnessError> {
        let mut m = HashMap::new();
        for arn in arns {
            let name = arn.rsplit('/').next().unwrap_or(arn);
            match iam.get_role().role_name(name).send().await {
                Ok(out) => {
                    if let Some(doc) = out.role().and_then(|r| r.assume_role_policy_document()) {
                        m.insert((*arn).to_owned(), decode_policy_document(doc));
                    }
                }
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_no_such_entity_exception()) => {}
                Err(e) => {
                    return Err(HarnessError::aws(format!("GetRole {name}"), &e));
                }
            }
        }
        Ok(Self(m))
    }
}

impl RoleSource for LocalStackRoles {
    fn trust_policy(&self, role_arn: &str) -> Result<Option<String>, String> {
        Ok(self.0.get(role_arn).cloned())
    }
}

struct Runner<'a> {
    opts: &'a FlowOptions,
    steps: Vec<Step>,
    emit: &'a mut (dyn FnMut(&Step) + Send),
    ledger: Ledger,
    now: f64,
}

impl Runner<'_> {
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

    fn tick(&mut self) -> f64 {
        self.now += 1.0;
        self.now
    }
}

fn eks_line(e: &EksError) -> String {
    format!(
        "An error occurred ({:?}) when calling the CreateFargateProfile operation: {}",
        e.kind, e.message
    )
}

/// Runs the flow against `endpoint` (LocalStack), narrating each step through `emit`, and
/// cleans up (unless `keep`) even when a step fails or `cancel` completes first.
///
/// # Errors
/// Setup failures (LocalStack unreachable, an AWS call that should not fail). The scenario's
/// own failures (AccessDenied, a rejected profile) are outcomes in the report, not errors.
pub async fn run(
    endpoint: &str,
    opts: &FlowOptions,
    emit: &mut (dyn FnMut(&Step) + Send),
    cancel: impl Future<Output = ()>,
) -> Result<FlowReport, HarnessError> {
    let root = Creds::test_account();
    let direct = Clients::new(endpoint, &opts.region, &root).await;
    let gateway = Gateway::start(endpoint, &opts.region, TEST_ACCOUNT, root.clone())
        .await
        .map_err(|e| HarnessError::StartFailed {
            log: Default::default(),
            reason: format!("the IAM gateway could not start: {e}"),
        })?;
    // The account's own setup calls go through the gateway too, so that its caches see them.
    let admin = Clients::new(gateway.endpoint(), &opts.region, &root).await;
    let ledger = Ledger::default();
    let mut runner = Runner {
        opts,
        steps: Vec::new(),
        emit,
        ledger: ledger.clone(),
        now: 0.0,
    };
    let mut cluster_slot: Option<Cluster> = None;
    let outcome = {
        let fut = chapter(&mut runner, &admin, &gateway, &mut cluster_slot);
        tokio::pin!(fut);
        tokio::pin!(cancel);
        tokio::select! {
            r = &mut fut => Some(r),
            () = &mut cancel => None,
        }
    };
    let cancelled = outcome.is_none();
    let created = ledger.entries();
    let cleaned_up = if opts.keep {
        false
    } else {
        cleanup(&direct, &ledger, cluster_slot.as_mut(), runner.now)
            .await
            .is_ok()
    };
    // What the flow created that the cluster still lists (empty after a successful cleanup).
    let profiles_left: Vec<String> = match cluster_slot.as_mut() {
        Some(c) => {
            let later = c.settled_at().max(runner.now) + 1.0;
            let created_profiles: Vec<&str> = created
                .iter()
                .filter_map(|x| match x {
                    Created::Profile { name } => Some(name.as_str()),
                    _ => None,
                })
                .collect();
            c.list_profiles(later)
                .into_iter()
                .filter(|n| created_profiles.contains(&n.as_str()))
                .collect()
        }
        None => Vec::new(),
    };
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
    let mut report = match outcome {
        Some(Ok(r)) => r,
        Some(Err(e)) => return Err(e),
        None => Partial::cancelled(),
    };
    if cancelled {
        report.outcome = "interrupted; everything created so far was deleted".into();
    }
    Ok(FlowReport {
        scenario: opts.scenario,
        as_expected: report.as_expected && !cancelled,
        outcome: report.outcome,
        pod_phase: report.pod_phase,
        pod_log: report.pod_log,
        bucket: report.bucket,
        role: report.role,
        created,
        cleaned_up,
        profiles_left,
        decisions,
    })
}

struct Partial {
    as_expected: bool,
    outcome: String,
    pod_phase: PodPhase,
    pod_log: String,
    bucket: String,
    role: String,
}

impl Partial {
    fn cancelled() -> Self {
        Self {
            as_expected: false,
            outcome: String::new(),
            pod_phase: PodPhase::NotCreated,
            pod_log: String::new(),
            bucket: String::new(),
            role: String::new(),
        }
    }
}

async fn chapter(
    r: &mut Runner<'_>,
    admin: &Clients,
    gateway: &Gateway,
    cluster_slot: &mut Option<Cluster>,
) -> Result<Partial, HarnessError> {
    let opts = r.opts;
    let sfx = &opts.suffix;
    let scenario = opts.scenario;
    let cfg = |text: &str,
               env: &HashMap<&str, String>|
     -> Result<scheduler::eksctl::ClusterConfig, HarnessError> {
        let expanded = envsubst(text, &|k| env.get(k).cloned()).map_err(|e| HarnessError::Aws {
            operation: "envsubst".into(),
            message: e.message,
        })?;
        parse_config(&expanded).map_err(|e| HarnessError::Aws {
            operation: "eksctl config".into(),
            message: e.message,
        })
    };
    let empty = HashMap::new();

    // 1. The cluster, with its default profile (what `eksctl create cluster --fargate` leaves).
    let base = cfg(examples::CLUSTER, &empty)?;
    let mut cluster = Cluster::new(
        &base.name,
        &opts.region,
        TEST_ACCOUNT,
        base.subnets.clone(),
        Box::new(SeqIds::new(42)),
    );
    for p in &base.profiles {
        cluster
            .adopt_profile(p, 0.0)
            .map_err(|e| HarnessError::Aws {
                operation: "cluster".into(),
                message: e.message,
            })?;
    }
    r.step(
        "cluster",
        "eksctl create cluster -f cluster.yaml --fargate",
        vec![format!(
            "cluster {} in {} with Fargate profile fp-default (namespaces default, kube-system)",
            base.name, opts.region
        )],
        true,
    );
    *cluster_slot = Some(cluster);
    let cluster = cluster_slot.as_mut().ok_or_else(|| HarnessError::Aws {
        operation: "cluster".into(),
        message: "missing".into(),
    })?;

    // 2. Namespace and the first pod: no profile selects `test` yet.
    r.ledger.push(Created::Namespace {
        name: "test".into(),
    });
    r.step(
        "namespace",
        "kubectl create namespace test",
        vec!["namespace/test created".into()],
        true,
    );
    let test_pod = parse_manifests(examples::TEST_POD).map_err(|e| HarnessError::Aws {
        operation: "test-pod.yaml".into(),
        message: e.to_string(),
    })?;
    let pod = test_pod
        .pods
        .into_iter()
        .next()
        .ok_or_else(|| HarnessError::Aws {
            operation: "test-pod.yaml".into(),
            message: "no pod".into(),
        })?;
    let now = r.tick();
    let placed = cluster.apply_pod(pod.clone(), now);
    r.ledger.push(Created::Pod {
        namespace: "test".into(),
        name: "test".into(),
    });
    r.step(
        "pod before a profile",
        "kubectl apply -f test-pod.yaml",
        vec![
            "pod/test created".into(),
            format!("not on Fargate: {}", placed.reason),
        ],
        placed.profile.is_none(),
    );

    // 3. The default pod execution role (eksctl makes one for profiles that name none).
    let exec_role = format!("fargate-sim-pod-execution{sfx}");
    admin
        .iam
        .create_role()
        .role_name(&exec_role)
        .assume_role_policy_document(examples::ROLE_TRUST_POLICY)
        .send()
        .await
        .map_err(|e| HarnessError::aws(format!("CreateRole {exec_role}"), &e))?;
    r.ledger.push(Created::Role {
        name: exec_role.clone(),
    });
    let exec_arn = format!("arn:aws:iam::{TEST_ACCOUNT}:role/{exec_role}");

    // 4. A profile for the new namespace; the existing pod stays where it is.
    let mut ns_cfg = cfg(examples::NEW_NAMESPACE_CLUSTER, &empty)?;
    let mut req = ns_cfg.profiles.remove(0);
    req.pod_execution_role_arn = exec_arn.clone();
    let roles = LocalStackRoles::fetch(&admin.iam, &[&exec_arn]).await?;
    let now = r.tick();
    let created = cluster
        .create_profile(&req, &roles, now)
        .map_err(|e| HarnessError::Aws {
            operation: "CreateFargateProfile test".into(),
            message: e.message,
        })?;
    r.ledger.push(Created::Profile {
        name: "test".into(),
    });
    r.now = cluster.settled_at().max(r.now) + 1.0;
    cluster.refresh(r.now);
    r.step(
        "profile for the namespace",
        "eksctl create fargateprofile -f new-namespace-cluster.yaml",
        vec![format!(
            "Fargate profile test: CREATING → ACTIVE ({})",
            created.fargate_profile_arn
        )],
        true,
    );
    let still = cluster.apply_pod(pod.clone(), r.now);
    r.step(
        "existing pod is not moved",
        "kubectl get pod test -n test -o wide",
        vec![format!(
            "still not on Fargate: placement is decided once, when a pod is created ({})",
            if still.profile.is_none() {
                "no profile label"
            } else {
                "unexpected"
            }
        )],
        still.profile.is_none(),
    );
    cluster.delete_pod("test", "test");
    let now = r.tick();
    let again = cluster.apply_pod(pod, now);
    r.step(
        "pod recreated",
        "kubectl delete pod test -n test && kubectl apply -f test-pod.yaml",
        vec![format!(
            "on Fargate: profile {}, node {}, {}",
            again.profile.clone().unwrap_or_default(),
            again.node.clone().unwrap_or_default(),
            again.capacity_provisioned.clone().unwrap_or_default()
        )],
        again.on_fargate(),
    );

    // 5. The bucket and its object.
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let bucket = format!("test-bucket-{unix}{sfx}");
    admin.create_bucket_in(&bucket, &opts.region).await?;
    r.ledger.push(Created::Bucket {
        name: bucket.clone(),
    });
    let body = format!(
        "Hello from S3! This object was read by pod test/s3 on Fargate ({}).\n",
        opts.region
    );
    admin
        .s3
        .put_object()
        .bucket(&bucket)
        .key(OBJECT_KEY)
        .body(aws_sdk_s3::primitives::ByteStream::from(
            body.clone().into_bytes(),
        ))
        .send()
        .await
        .map_err(|e| HarnessError::aws(format!("PutObject {bucket}/{OBJECT_KEY}"), &e))?;
    r.ledger.push(Created::Object {
        bucket: bucket.clone(),
        key: OBJECT_KEY.into(),
    });
    r.step(
        "bucket and object",
        &format!("aws s3api create-bucket --bucket {bucket} --create-bucket-configuration LocationConstraint={} && aws s3 cp hello.txt s3://{bucket}/{OBJECT_KEY}", opts.region),
        vec![format!("bucket {bucket} in {}", opts.region), format!("upload: ./hello.txt to s3://{bucket}/{OBJECT_KEY} ({} bytes)", body.len())],
        true,
    );
    if scenario == Scenario::BucketDeny {
        let policy = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"DenyReads","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/*"}}]}}"#
        );
        admin
            .s3
            .put_bucket_policy()
            .bucket(&bucket)
            .policy(&policy)
            .send()
            .await
            .map_err(|e| HarnessError::aws(format!("PutBucketPolicy {bucket}"), &e))?;
        r.ledger.push(Created::BucketPolicy {
            bucket: bucket.clone(),
        });
        r.step(
            "bucket policy denies reads",
            &format!("aws s3api put-bucket-policy --bucket {bucket} --policy file://deny-get.json"),
            vec!["Deny s3:GetObject to Principal \"*\"".into()],
            true,
        );
    }

    // 6. The role `s3-read`: trust for Fargate pods, S3 read access.
    let role = format!("s3-read{sfx}");
    let trust = if scenario == Scenario::BadTrust {
        examples::ROLE_TRUST_POLICY.replace("eks-fargate-pods.amazonaws.com", "eks.amazonaws.com")
    } else {
        examples::ROLE_TRUST_POLICY.to_owned()
    };
    admin
        .iam
        .create_role()
        .role_name(&role)
        .assume_role_policy_document(&trust)
        .send()
        .await
        .map_err(|e| HarnessError::aws(format!("CreateRole {role}"), &e))?;
    r.ledger.push(Created::Role { name: role.clone() });
    let mut lines = vec![format!(
        "role {role} trusts {}",
        if scenario == Scenario::BadTrust {
            "eks.amazonaws.com (not the Fargate pods principal)"
        } else {
            "eks-fargate-pods.amazonaws.com for fargateprofile/fargate-sim/*"
        }
    )];
    if scenario != Scenario::NoS3Policy {
        admin
            .iam
            .attach_role_policy()
            .role_name(&role)
            .policy_arn(S3_READ_ONLY)
            .send()
            .await
            .map_err(|e| HarnessError::aws(format!("AttachRolePolicy {role}"), &e))?;
        r.ledger.push(Created::Attachment {
            role: role.clone(),
            policy: S3_READ_ONLY.into(),
        });
        lines.push("attached AmazonS3ReadOnlyAccess (s3:Get*, s3:List*, s3:Describe*, …)".into());
    } else {
        lines.push("no S3 policy attached (scenario no-s3-policy)".into());
    }
    let got = admin
        .iam
        .get_role()
        .role_name(&role)
        .send()
        .await
        .map_err(|e| HarnessError::aws(format!("GetRole {role}"), &e))?;
    let role_arn = got.role().map(|r| r.arn().to_owned()).unwrap_or_default();
    lines.push(format!("ROLE_ARN={role_arn}"));
    r.step(
        "execution role",
        &format!(
            "aws iam create-role --role-name {role} --assume-role-policy-document file://role-trust-policy.json && aws iam attach-role-policy --role-name {role} --policy-arn {S3_READ_ONLY} && export ROLE_ARN=$(aws iam get-role --role-name {role} --query Role.Arn --output text)"
        ),
        lines,
        true,
    );

    // 7. The profile with that execution role; EKS checks the trust policy as stored in IAM.
    let env = HashMap::from([("ROLE_ARN", role_arn.clone())]);
    let mut er_cfg = cfg(examples::EXECUTION_ROLE_CLUSTER, &env)?;
    let req = er_cfg.profiles.remove(0);
    let roles = LocalStackRoles::fetch(&admin.iam, &[&role_arn]).await?;
    let now = r.tick();
    let profile = match cluster.create_profile(&req, &roles, now) {
        Ok(p) => p,
        Err(e) => {
            let expected = scenario == Scenario::BadTrust;
            r.step(
                "profile with the execution role",
                "envsubst < execution-role-cluster.yaml | eksctl create fargateprofile -f -",
                vec![eks_line(&e)],
                expected,
            );
            return Ok(Partial {
                as_expected: expected,
                outcome: format!("profile creation rejected: {}", e.message),
                pod_phase: PodPhase::NotCreated,
                pod_log: String::new(),
                bucket,
                role,
            });
        }
    };
    r.ledger.push(Created::Profile {
        name: req.fargate_profile_name.clone(),
    });
    r.now = cluster.settled_at().max(r.now) + 1.0;
    cluster.refresh(r.now);
    r.step(
        "profile with the execution role",
        "envsubst < execution-role-cluster.yaml | eksctl create fargateprofile -f -",
        vec![format!(
            "Fargate profile {}: CREATING → ACTIVE, pod execution role {role}",
            profile.fargate_profile_name
        )],
        scenario != Scenario::BadTrust,
    );

    // 8. The S3-reading pod.
    let pod_yaml = examples::S3_POD.replace("${BUCKET}", &bucket);
    let pod_yaml = if scenario == Scenario::WrongNamespace {
        pod_yaml.replace("namespace: test", "namespace: other")
    } else {
        pod_yaml
    };
    let mut manifests = parse_manifests(&pod_yaml).map_err(|e| HarnessError::Aws {
        operation: "s3-pod.yaml".into(),
        message: e.to_string(),
    })?;
    let s3_pod = manifests.pods.remove(0);
    let ns = s3_pod.namespace.clone();
    let now = r.tick();
    let placed = cluster.apply_pod(s3_pod, now);
    r.ledger.push(Created::Pod {
        namespace: ns.clone(),
        name: "s3".into(),
    });
    if !placed.on_fargate() {
        let expected = scenario == Scenario::WrongNamespace;
        r.step(
            "S3 pod",
            "kubectl apply -f s3-pod.yaml",
            vec![
                format!("pod/s3 created in namespace {ns}"),
                format!("not on Fargate: {}", placed.reason),
            ],
            expected,
        );
        return Ok(Partial {
            as_expected: expected,
            outcome: format!("pod {ns}/s3 is not on Fargate: {}", placed.reason),
            pod_phase: PodPhase::NotOnFargate,
            pod_log: String::new(),
            bucket,
            role,
        });
    }
    r.step(
        "S3 pod",
        "kubectl apply -f s3-pod.yaml",
        vec![format!(
            "on Fargate: profile {}, node {}, {}",
            placed.profile.clone().unwrap_or_default(),
            placed.node.clone().unwrap_or_default(),
            placed.capacity_provisioned.clone().unwrap_or_default()
        )],
        true,
    );

    // 9. Fargate assumes the execution role for the pod, and the container runs.
    let profile_arn = profile.fargate_profile_arn.clone();
    let creds = assume_for_pod(gateway, &opts.region, &role_arn, &profile_arn).await;
    let container = placed
        .pod
        .spec
        .containers
        .first()
        .cloned()
        .unwrap_or_default();
    let (phase, log, narration) = match creds {
        Err(msg) => (
            PodPhase::Failed,
            format!("{msg}\n"),
            vec![format!("sts:AssumeRole denied: {msg}")],
        ),
        Ok(creds) => {
            let pod_clients = Clients::new(gateway.endpoint(), &opts.region, &creds).await;
            let (phase, log) = run_container(&pod_clients, &container).await;
            let last = gateway
                .decisions()
                .into_iter()
                .rev()
                .find(|d| d.action.starts_with("s3:"));
            let mut n = vec![format!(
                "sts:AssumeRole by eks-fargate-pods.amazonaws.com allowed (aws:SourceArn {profile_arn})"
            )];
            if let Some(d) = last {
                n.push(format!(
                    "gateway: {} on {}: {}",
                    d.action, d.resource, d.decision
                ));
                if let Some(m) = d.message {
                    n.push(format!("gateway: {m}"));
                }
            }
            (phase, log, n)
        }
    };
    let mut lines = narration;
    lines.push(format!(
        "pod/s3 {}",
        match phase {
            PodPhase::Succeeded => "Succeeded",
            _ => "Failed",
        }
    ));
    let expected_phase = if scenario == Scenario::Chapter {
        PodPhase::Succeeded
    } else {
        PodPhase::Failed
    };
    r.step(
        "pod runs with the execution role",
        "kubectl get pod s3 -n test",
        lines,
        phase == expected_phase,
    );
    r.step(
        "pod log",
        "kubectl logs s3 -n test",
        log.lines().map(str::to_owned).collect(),
        phase == expected_phase,
    );
    let as_expected = phase == expected_phase && (scenario != Scenario::Chapter || log == body);
    let outcome = match (scenario, phase) {
        (Scenario::Chapter, PodPhase::Succeeded) => {
            "the pod read the object with the execution role".to_owned()
        }
        (_, PodPhase::Failed) => format!("the pod failed: {}", log.lines().last().unwrap_or("")),
        _ => format!("pod phase {phase:?}"),
    };
    Ok(Partial {
        as_expected,
        outcome,
        pod_phase: phase,
        pod_log: log,
        bucket,
        role,
    })
}

/// What Fargate does before starting the pod: assume the execution role through STS as
/// `eks-fargate-pods.amazonaws.com`, with the profile's ARN as `aws:SourceArn`.
async fn assume_for_pod(
    gateway: &Gateway,
    region: &str,
    role_arn: &str,
    profile_arn: &str,
) -> Result<Creds, String> {
    let conf = crate::client::sdk_config(gateway.endpoint(), region, &Creds::test_account()).await;
    let sts = aws_sdk_sts::Client::new(&conf);
    let (source_arn, source_account) = (profile_arn.to_owned(), TEST_ACCOUNT.to_owned());
    let out = sts
        .assume_role()
        .role_arn(role_arn)
        .role_session_name("fargate-pod-s3")
        .customize()
        .mutate_request(move |req| {
            req.headers_mut()
                .insert(PRINCIPAL_HEADER, "eks-fargate-pods.amazonaws.com");
            req.headers_mut()
                .insert(SOURCE_ARN_HEADER, source_arn.clone());
            req.headers_mut()
                .insert(SOURCE_ACCOUNT_HEADER, source_account.clone());
        })
        .send()
        .await
        .map_err(|e| match e.as_service_error() {
            Some(se) => format!(
                "An error occurred ({}) when calling the AssumeRole operation: {}",
                aws_sdk_sts::error::ProvideErrorMetadata::code(se).unwrap_or("Unknown"),
                aws_sdk_sts::error::ProvideErrorMetadata::message(se).unwrap_or("")
            ),
            None => format!(
                "AssumeRole failed: {}",
                aws_sdk_sts::error::DisplayErrorContext(&e)
            ),
        })?;
    let c = out
        .credentials()
        .ok_or("AssumeRole returned no credentials")?;
    Ok(Creds {
        access_key_id: c.access_key_id().to_owned(),
        secret_access_key: c.secret_access_key().to_owned(),
        session_token: Some(c.session_token().to_owned()),
    })
}

/// Expands `$(VAR)` in a container argument from the container's environment, as the kubelet does.
fn expand(arg: &str, env: &[scheduler::pod::EnvVar]) -> String {
    let mut out = arg.to_owned();
    for v in env {
        out = out.replace(&format!("$({})", v.name), v.value.as_deref().unwrap_or(""));
    }
    out
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

/// Carries out the container's `aws` command with the pod's credentials; returns the phase and
/// the log (what the command printed).
pub async fn run_container(clients: &Clients, c: &scheduler::pod::Container) -> (PodPhase, String) {
    let args: Vec<String> = c
        .command
        .iter()
        .chain(&c.args)
        .map(|a| expand(a, &c.env))
        .collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let split = |url: &str| -> Option<(String, String)> {
        let rest = url.strip_prefix("s3://")?;
        let (b, k) = rest.split_once('/')?;
        Some((b.to_owned(), k.to_owned()))
    };
    match words.as_slice() {
        ["aws", "s3", "cp", src, "-"] => {
            let Some((bucket, key)) = split(src) else {
                return (
                    PodPhase::Failed,
                    format!("fatal error: invalid S3 URL `{src}`\n"),
                );
            };
            // `aws s3 cp` asks for the object's metadata first.
            if let Err(e) = clients
                .s3
                .head_object()
                .bucket(&bucket)
                .key(&key)
                .send()
                .await
            {
                return (
                    PodPhase::Failed,
                    format!("fatal error: {}\n", cli_error("HeadObject", &e)),
                );
            }
            match clients
                .s3
                .get_object()
                .bucket(&bucket)
                .key(&key)
                .send()
                .await
            {
                Ok(out) => match out.body.collect().await {
                    Ok(b) => (
                        PodPhase::Succeeded,
                        String::from_utf8_lossy(&b.into_bytes()).into_owned(),
                    ),
                    Err(e) => (PodPhase::Failed, format!("download failed: {e}\n")),
                },
                Err(e) => (
                    PodPhase::Failed,
                    format!(
                        "download failed: s3://{bucket}/{key} to - {}\n",
                        cli_error("GetObject", &e)
                    ),
                ),
            }
        }
        ["aws", "s3api", "get-object", rest @ ..] => {
            let flag = |name: &str| {
                rest.windows(2)
                    .find(|w| w[0] == name)
                    .map(|w| w[1].to_owned())
            };
            let (Some(bucket), Some(key)) = (flag("--bucket"), flag("--key")) else {
                return (
                    PodPhase::Failed,
                    "aws: error: the following arguments are required: --bucket, --key\n".into(),
                );
            };
            match clients
                .s3
                .get_object()
                .bucket(&bucket)
                .key(&key)
                .send()
                .await
            {
                Ok(out) => {
                    let len = out.content_length().unwrap_or(0);
                    let etag = out.e_tag().unwrap_or("").to_owned();
                    let ctype = out
                        .content_type()
                        .unwrap_or("binary/octet-stream")
                        .to_owned();
                    let body = out
                        .body
                        .collect()
                        .await
                        .map(|b| String::from_utf8_lossy(&b.into_bytes()).into_owned())
                        .unwrap_or_default();
                    let meta = serde_json::json!({"ContentLength": len, "ETag": etag, "ContentType": ctype});
                    let to_stdout = rest
                        .last()
                        .is_some_and(|o| *o == "/dev/stdout" || *o == "-");
                    let printed = if to_stdout {
                        format!(
                            "{body}{}\n",
                            serde_json::to_string_pretty(&meta).unwrap_or_default()
                        )
                    } else {
                        format!(
                            "{}\n",
                            serde_json::to_string_pretty(&meta).unwrap_or_default()
                        )
                    };
                    (PodPhase::Succeeded, printed)
                }
                Err(e) => (
                    PodPhase::Failed,
                    format!("\n{}\n", cli_error("GetObject", &e)),
                ),
            }
        }
        _ => (
            PodPhase::Failed,
            format!(
                "fargate-sim: the pod runner carries out `aws s3 cp s3://… -` and `aws s3api get-object`, not `{}`\n",
                args.join(" ")
            ),
        ),
    }
}

/// Deletes everything in the ledger, newest first: pods, profiles (waiting for each), policy
/// attachments, roles, bucket policies, objects, buckets, namespaces.
///
/// # Errors
/// The first deletion that failed (the others are still attempted).
pub async fn cleanup(
    clients: &Clients,
    ledger: &Ledger,
    mut cluster: Option<&mut Cluster>,
    mut now: f64,
) -> Result<(), HarnessError> {
    let mut first_error = None;
    let mut keep_err = |e: HarnessError| {
        if first_error.is_none() {
            first_error = Some(e);
        }
    };
    for item in ledger.take().into_iter().rev() {
        match item {
            Created::Pod { namespace, name } => {
                if let Some(c) = cluster.as_deref_mut() {
                    c.delete_pod(&namespace, &name);
                }
            }
            Created::Profile { name } => {
                if let Some(c) = cluster.as_deref_mut() {
                    now = c.settled_at().max(now) + 1.0;
                    if let Err(e) = c.delete_profile(&name, now) {
                        keep_err(HarnessError::Aws {
                            operation: format!("DeleteFargateProfile {name}"),
                            message: e.message,
                        });
                    }
                    now = c.settled_at().max(now) + 1.0;
                    c.refresh(now);
                }
            }
            Created::Attachment { role, policy } => {
                if let Err(e) = clients
                    .iam
                    .detach_role_policy()
                    .role_name(&role)
                    .policy_arn(&policy)
                    .send()
                    .await
                {
                    keep_err(HarnessError::aws(format!("DetachRolePolicy {role}"), &e));
                }
            }
            Created::Role { name } => {
                if let Err(e) = clients.iam.delete_role().role_name(&name).send().await {
                    keep_err(HarnessError::aws(format!("DeleteRole {name}"), &e));
                }
            }
            Created::BucketPolicy { bucket } => {
                if let Err(e) = clients
                    .s3
                    .delete_bucket_policy()
                    .bucket(&bucket)
                    .send()
                    .await
                {
                    keep_err(HarnessError::aws(
                        format!("DeleteBucketPolicy {bucket}"),
                        &e,
                    ));
                }
            }
            Created::Object { bucket, key } => {
                if let Err(e) = clients
                    .s3
                    .delete_object()
                    .bucket(&bucket)
                    .key(&key)
                    .send()
                    .await
                {
                    keep_err(HarnessError::aws(
                        format!("DeleteObject {bucket}/{key}"),
                        &e,
                    ));
                }
            }
            Created::Bucket { name } => {
                if let Err(e) = clients.s3.delete_bucket().bucket(&name).send().await {
                    keep_err(HarnessError::aws(format!("DeleteBucket {name}"), &e));
                }
            }
            Created::Namespace { .. } => {}
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Whether the flow's decision log shows an allowed read of the object.
pub fn read_allowed(report: &FlowReport) -> bool {
    report
        .decisions
        .iter()
        .any(|(a, _, _, d)| a == "s3:GetObject" && d == Decision::Allow.as_str())
}
