//! The walk: carries out a [`Plan`]'s steps against the endpoint — IAM and S3 through the IAM
//! gateway, the cluster and its profiles through the endpoint's EKS API (as `eksctl`), pods
//! through the cluster's Kubernetes API (as `kubectl`), where the pod runner starts the real AWS
//! CLI — and narrates each step. There is no model of its own: what it shows is what the
//! endpoint answered.

use std::sync::Mutex;
use std::time::Duration;

use scheduler::eksctl::{envsubst, parse_config};

use super::plan::{Action, BucketPolicy, Expect, Plan, PodFile, ProfileFile, Trust};
use super::{Created, OBJECT_KEY, Partial, PodPhase, Runner, Stop, create, examples};
use crate::eksctl::{Eksctl, Line};
use crate::gateway::Gateway;
use crate::kubectl::{Kubectl, KubectlError, Placement, phase, placement};
use s3_harness::HarnessError;
use s3_harness::client::{Clients, TEST_ACCOUNT};

/// The cluster the chapter's files name.
pub const CLUSTER: &str = "fargate-sim";
/// How long a pod's container may take to end before the walk gives up on it.
pub const POD_WAIT: Duration = Duration::from_secs(70);
/// How long a deletion may take (a pod whose process is stopping, a namespace emptying).
pub const DELETE_WAIT: Duration = Duration::from_secs(10);

/// The APIs of the run's cluster: EKS (as eksctl) and Kubernetes (as kubectl).
#[derive(Debug, Clone)]
pub struct Apis {
    /// eksctl, against the endpoint's EKS.
    pub eksctl: Eksctl,
    /// kubectl, against the cluster's Kubernetes API.
    pub kubectl: Kubectl,
    /// The endpoint's EKS, for what eksctl does not do alone (deleting the cluster).
    pub eks: aws_sdk_eks::Client,
}

/// What a step found.
enum Observed {
    /// The calls went through.
    Done,
    /// Where a pod is.
    Placed(Placement),
    /// EKS refused.
    Refused,
    /// The pod's container ended so.
    Ended(PodPhase),
    /// The pod's log.
    Log(String),
    /// Whether the request was denied.
    Denied(bool),
}

impl Expect {
    fn met_by(self, o: &Observed, object: &str) -> bool {
        match (self, o) {
            (Expect::Succeeds, Observed::Done) | (Expect::Refused, Observed::Refused) => true,
            (Expect::OnFargate, Observed::Placed(p)) => matches!(p, Placement::Fargate { .. }),
            (Expect::NotOnFargate, Observed::Placed(p)) => matches!(p, Placement::Pending(_)),
            (Expect::Ends(want), Observed::Ended(got)) => want == *got,
            (Expect::PrintsObject, Observed::Log(log)) => log == object,
            (Expect::AnyLog, Observed::Log(_)) => true,
            (Expect::Denied, Observed::Denied(d)) => *d,
            _ => false,
        }
    }
}

fn failed(operation: &str, message: impl std::fmt::Display) -> Stop {
    Stop::Failed(HarnessError::Aws {
        operation: operation.to_owned(),
        message: message.to_string(),
    })
}

fn placed_line(p: &Placement) -> String {
    match p {
        Placement::Fargate {
            profile,
            node,
            capacity,
        } => format!("on Fargate: profile {profile}, node {node}, {capacity}"),
        Placement::Pending(why) => format!("Pending, not on Fargate: {why}"),
    }
}

/// What the walk has learnt so far.
struct Walk<'a> {
    admin: &'a Clients,
    gateway: &'a Gateway,
    apis: &'a Apis,
    /// The object's body, once uploaded.
    object: String,
    /// `s3-read`'s ARN, once created.
    role_arn: String,
    pod_phase: PodPhase,
    pod_log: String,
    /// Why the S3 pod is not on Fargate.
    pending: Option<(String, String)>,
    /// EKS's refusal of a profile.
    refused: Option<String>,
    /// The host's read was denied.
    host_denied: bool,
}

impl Walk<'_> {
    fn exec_role_arn(names: &super::Names) -> String {
        format!("arn:aws:iam::{TEST_ACCOUNT}:role/{}", names.exec_role)
    }

    fn manifest(&self, file: PodFile, namespace: &str, bucket: &str) -> String {
        let text = match file {
            PodFile::Test => examples::TEST_POD,
            PodFile::S3 => examples::S3_POD,
        };
        text.replace("${BUCKET}", bucket).replace(
            "  namespace: test\n",
            &format!("  namespace: {namespace}\n"),
        )
    }

    async fn apply(
        &self,
        r: &Runner<'_>,
        file: PodFile,
        namespace: &str,
    ) -> Result<(Vec<String>, Placement), Stop> {
        r.ledger.record(Created::Pod {
            namespace: namespace.to_owned(),
            name: file.pod().to_owned(),
        });
        let k = &self.apis.kubectl;
        let applied = k
            .apply(&self.manifest(file, namespace, &r.names.bucket))
            .await
            .map_err(|e| failed(&format!("kubectl apply -f {}", file.file()), e))?;
        let pod = k
            .pod(namespace, file.pod())
            .await
            .map_err(|e| failed("kubectl get pod", e))?;
        let p = placement(&pod);
        let mut lines: Vec<String> = applied.iter().map(ToString::to_string).collect();
        lines.push(placed_line(&p));
        Ok((lines, p))
    }

    async fn perform(
        &mut self,
        r: &mut Runner<'_>,
        action: &Action,
    ) -> Result<(Vec<String>, Observed), Stop> {
        let names = r.names;
        let region = r.opts.region.as_str();
        let ledger = r.ledger.clone();
        let admin = self.admin;
        match action {
            Action::CreateCluster => {
                let cluster_role = &names.cluster_role;
                let eks_trust = crate::eksctl::trust(scheduler::control_plane::EKS_PRINCIPAL, None);
                create_role(&ledger, admin, cluster_role, &eks_trust).await?;
                create_role(
                    &ledger,
                    admin,
                    &names.exec_role,
                    examples::ROLE_TRUST_POLICY,
                )
                .await?;
                let mut cfg = config(examples::CLUSTER, "")?;
                // Recorded in creation order: the cleanup deletes the profiles, then the cluster.
                ledger.record(Created::Cluster {
                    name: cfg.name.clone(),
                });
                for p in &mut cfg.profiles {
                    p.pod_execution_role_arn = Self::exec_role_arn(names);
                    ledger.record(Created::Profile {
                        name: p.fargate_profile_name.clone(),
                    });
                }
                let role_arn = format!("arn:aws:iam::{TEST_ACCOUNT}:role/{cluster_role}");
                self.apis
                    .eksctl
                    .create_cluster_with_role(&cfg, &role_arn, &|_| {})
                    .await
                    .map_err(|e| failed("eksctl create cluster", e))?;
                Ok((
                    vec![
                        format!(
                            "cluster {} in {region} is ACTIVE, with Fargate profile fp-default (namespaces default, kube-system)",
                            cfg.name
                        ),
                        format!("Kubernetes API at {}", self.apis.kubectl.server()),
                    ],
                    Observed::Done,
                ))
            }
            Action::CreateNamespace(name) => {
                ledger.record(Created::Namespace { name: name.clone() });
                let done = self
                    .apis
                    .kubectl
                    .create_namespace(name)
                    .await
                    .map_err(|e| failed("kubectl create namespace", e))?;
                Ok((vec![done.to_string()], Observed::Done))
            }
            Action::ApplyPod { file, namespace } => {
                let (lines, p) = self.apply(r, *file, namespace).await?;
                if *file == PodFile::S3
                    && let Placement::Pending(why) = &p
                {
                    self.pod_phase = PodPhase::NotOnFargate;
                    self.pending = Some((namespace.clone(), why.clone()));
                }
                Ok((lines, Observed::Placed(p)))
            }
            Action::ShowPod { file, namespace } => {
                let pod = self
                    .apis
                    .kubectl
                    .pod(namespace, file.pod())
                    .await
                    .map_err(|e| failed("kubectl get pod", e))?;
                let p = placement(&pod);
                let line = match &p {
                    Placement::Pending(why) => format!(
                        "still Pending, not on Fargate ({why}): placement is decided once, when a pod is created"
                    ),
                    Placement::Fargate { .. } => {
                        format!("moved after its creation, {}", placed_line(&p))
                    }
                };
                Ok((vec![line], Observed::Placed(p)))
            }
            Action::RecreatePod { file, namespace } => {
                self.apis
                    .kubectl
                    .delete_pod(namespace, file.pod(), DELETE_WAIT)
                    .await
                    .map_err(|e| failed("kubectl delete pod", e))?;
                let (mut lines, p) = self.apply(r, *file, namespace).await?;
                lines.insert(0, format!("pod \"{}\" deleted", file.pod()));
                Ok((lines, Observed::Placed(p)))
            }
            Action::CreateProfile(file) => {
                let mut cfg = match file {
                    ProfileFile::NewNamespace => config(examples::NEW_NAMESPACE_CLUSTER, "")?,
                    ProfileFile::ExecutionRole => {
                        config(examples::EXECUTION_ROLE_CLUSTER, &self.role_arn)?
                    }
                };
                for p in &mut cfg.profiles {
                    if p.pod_execution_role_arn.is_empty() {
                        // eksctl's default pod execution role: the one the cluster step made.
                        p.pod_execution_role_arn = Self::exec_role_arn(names);
                    }
                }
                let said = Mutex::new(Vec::new());
                let say = |l: Line| {
                    if let (Line::Done(t) | Line::Info(t), Ok(mut v)) = (l, said.lock()) {
                        v.push(t);
                    }
                };
                match self.apis.eksctl.create_profiles(&cfg, &say).await {
                    Ok(()) => {
                        let mut lines = Vec::new();
                        for p in &cfg.profiles {
                            ledger.record(Created::Profile {
                                name: p.fargate_profile_name.clone(),
                            });
                            let got = self
                                .apis
                                .eksctl
                                .get_profiles(&cfg.name, Some(&p.fargate_profile_name))
                                .await
                                .map_err(|e| failed("eksctl get fargateprofile", e))?;
                            for g in got {
                                lines.push(format!(
                                    "Fargate profile {}: {}, pod execution role {}",
                                    g.fargate_profile_name().unwrap_or_default(),
                                    g.status().map_or("", |s| s.as_str()),
                                    g.pod_execution_role_arn()
                                        .unwrap_or_default()
                                        .rsplit('/')
                                        .next()
                                        .unwrap_or_default()
                                ));
                                lines.push(g.fargate_profile_arn().unwrap_or_default().to_owned());
                            }
                        }
                        Ok((lines, Observed::Done))
                    }
                    Err(e) => {
                        self.refused = Some(e.0.clone());
                        Ok((vec![format!("Error: {e}")], Observed::Refused))
                    }
                }
            }
            Action::CreateBucket => {
                let bucket = names.bucket.clone();
                create(
                    &ledger,
                    Created::Bucket {
                        name: bucket.clone(),
                    },
                    admin.create_bucket_in(&bucket, region),
                )
                .await?;
                let body = format!(
                    "Hello from S3! This object was read by pod test/s3 on Fargate ({region}).\n"
                );
                r.check()?;
                create(
                    &ledger,
                    Created::Object {
                        bucket: bucket.clone(),
                        key: OBJECT_KEY.into(),
                    },
                    async {
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
                            .map_err(|e| {
                                HarnessError::aws(format!("PutObject {bucket}/{OBJECT_KEY}"), &e)
                            })
                    },
                )
                .await?;
                let lines = vec![
                    format!("bucket {bucket} in {region}"),
                    format!(
                        "upload: ./hello.txt to s3://{bucket}/{OBJECT_KEY} ({} bytes)",
                        body.len()
                    ),
                ];
                self.object = body;
                Ok((lines, Observed::Done))
            }
            Action::PutBucketPolicy(kind) => {
                let bucket = names.bucket.clone();
                let bp = bucket_policy(*kind, &bucket, self.gateway.vpc_endpoint()).ok_or_else(
                    || failed("put-bucket-policy", "the endpoint has no VPC endpoint"),
                )?;
                create(
                    &ledger,
                    Created::BucketPolicy {
                        bucket: bucket.clone(),
                    },
                    async {
                        admin
                            .s3
                            .put_bucket_policy()
                            .bucket(&bucket)
                            .policy(&bp.policy)
                            .send()
                            .await
                            .map_err(|e| HarnessError::aws(format!("PutBucketPolicy {bucket}"), &e))
                    },
                )
                .await?;
                Ok((vec![bp.line], Observed::Done))
            }
            Action::CreateRole { trust, policies } => {
                let role = names.role.clone();
                let text = match trust {
                    Trust::FargatePods => examples::ROLE_TRUST_POLICY.to_owned(),
                    Trust::Eks => examples::ROLE_TRUST_POLICY
                        .replace("eks-fargate-pods.amazonaws.com", "eks.amazonaws.com"),
                };
                create_role(&ledger, admin, &role, &text).await?;
                let mut lines = vec![format!(
                    "role {role} trusts {}",
                    match trust {
                        Trust::FargatePods =>
                            "eks-fargate-pods.amazonaws.com for fargateprofile/fargate-sim/*",
                        Trust::Eks => "eks.amazonaws.com (not the Fargate pods principal)",
                    }
                )];
                for policy in policies {
                    r.check()?;
                    create(
                        &ledger,
                        Created::Attachment {
                            role: role.clone(),
                            policy: (*policy).to_owned(),
                        },
                        async {
                            admin
                                .iam
                                .attach_role_policy()
                                .role_name(&role)
                                .policy_arn(*policy)
                                .send()
                                .await
                                .map_err(|e| {
                                    HarnessError::aws(format!("AttachRolePolicy {role}"), &e)
                                })
                        },
                    )
                    .await?;
                    lines.push(format!(
                        "attached {}",
                        if *policy == super::S3_READ_ONLY {
                            "AmazonS3ReadOnlyAccess (s3:Get*, s3:List*, s3:Describe*, …)"
                        } else {
                            policy
                        }
                    ));
                }
                if policies.is_empty() {
                    lines.push("no policy attached: the role may read nothing".into());
                }
                let got = admin
                    .iam
                    .get_role()
                    .role_name(&role)
                    .send()
                    .await
                    .map_err(|e| HarnessError::aws(format!("GetRole {role}"), &e))?;
                self.role_arn = got.role().map(|r| r.arn().to_owned()).unwrap_or_default();
                lines.push(format!("ROLE_ARN={}", self.role_arn));
                Ok((lines, Observed::Done))
            }
            Action::RunPod { file, namespace } => {
                let pod = self
                    .apis
                    .kubectl
                    .wait_pod(
                        namespace,
                        file.pod(),
                        "its container to end",
                        POD_WAIT,
                        |p| matches!(phase(p), "Succeeded" | "Failed"),
                    )
                    .await
                    .map_err(|e| failed("kubectl get pod", e))?;
                let ended = if phase(&pod) == "Succeeded" {
                    PodPhase::Succeeded
                } else {
                    PodPhase::Failed
                };
                self.pod_phase = ended;
                let decisions = self.gateway.decisions();
                let mut lines = Vec::new();
                if let Some(d) = decisions.iter().rev().find(|d| {
                    d.action == "sts:AssumeRole"
                        && d.principal == scheduler::cluster::FARGATE_PRINCIPAL
                }) {
                    lines.push(format!(
                        "sts:AssumeRole by {} on {}: {}",
                        d.principal, d.resource, d.decision
                    ));
                }
                if let Some(d) = decisions.iter().rev().find(|d| d.action.starts_with("s3:")) {
                    lines.push(format!(
                        "gateway: {} on {}: {}",
                        d.action, d.resource, d.decision
                    ));
                    if let Some(m) = &d.message {
                        lines.push(format!("gateway: {m}"));
                    }
                }
                let terminated = pod
                    .status
                    .as_ref()
                    .and_then(|s| s.container_statuses.as_ref())
                    .and_then(|c| c.first())
                    .and_then(|c| c.state.as_ref())
                    .and_then(|s| s.terminated.as_ref());
                lines.push(match terminated {
                    Some(t) => format!(
                        "pod/{} {} ({}, exit code {}){}",
                        file.pod(),
                        phase(&pod),
                        t.reason.as_deref().unwrap_or(""),
                        t.exit_code,
                        t.message
                            .as_deref()
                            .map(|m| format!(": {m}"))
                            .unwrap_or_default()
                    ),
                    None => format!("pod/{} {}", file.pod(), phase(&pod)),
                });
                Ok((lines, Observed::Ended(ended)))
            }
            Action::Logs { file, namespace } => {
                let log = match self.apis.kubectl.logs(namespace, file.pod()).await {
                    Ok(log) => log,
                    Err(e @ KubectlError::Server { .. }) => format!("{e}\n"),
                    Err(e) => return Err(failed("kubectl logs", e)),
                };
                self.pod_log.clone_from(&log);
                Ok((log.lines().map(str::to_owned).collect(), Observed::Log(log)))
            }
            Action::ReadFromHost => {
                let bucket = &names.bucket;
                let outside = admin
                    .s3
                    .get_object()
                    .bucket(bucket)
                    .key(OBJECT_KEY)
                    .send()
                    .await;
                let line = match &outside {
                    Ok(_) => "the read was allowed: the bucket policy did not hold".to_owned(),
                    Err(e) => super::cli_error("GetObject", e),
                };
                self.host_denied = outside.is_err();
                Ok((vec![line], Observed::Denied(outside.is_err())))
            }
        }
    }
}

/// `aws iam create-role`, recorded in the ledger (and journal) before the call.
async fn create_role(
    ledger: &super::Ledger,
    admin: &Clients,
    name: &str,
    trust: &str,
) -> Result<(), Stop> {
    create(
        ledger,
        Created::Role {
            name: name.to_owned(),
        },
        async {
            admin
                .iam
                .create_role()
                .role_name(name)
                .assume_role_policy_document(trust)
                .send()
                .await
                .map_err(|e| HarnessError::aws(format!("CreateRole {name}"), &e))
        },
    )
    .await
    .map(|_| ())
}

/// The command a user types for `action`.
pub fn command(action: &Action, names: &super::Names, region: &str) -> String {
    let bucket = &names.bucket;
    let role = &names.role;
    match action {
        Action::CreateCluster => "eksctl create cluster -f cluster.yaml --fargate".into(),
        Action::CreateNamespace(n) => format!("kubectl create namespace {n}"),
        Action::ApplyPod { file, .. } => format!("kubectl apply -f {}", file.file()),
        Action::ShowPod { file, namespace } => {
            format!("kubectl get pod {} -n {namespace} -o wide", file.pod())
        }
        Action::RecreatePod { file, namespace } => format!(
            "kubectl delete pod {} -n {namespace} && kubectl apply -f {}",
            file.pod(),
            file.file()
        ),
        Action::CreateProfile(ProfileFile::NewNamespace) => {
            "eksctl create fargateprofile -f new-namespace-cluster.yaml".into()
        }
        Action::CreateProfile(ProfileFile::ExecutionRole) => {
            "envsubst < execution-role-cluster.yaml | eksctl create fargateprofile -f -".into()
        }
        Action::CreateBucket => format!(
            "aws s3api create-bucket --bucket {bucket} --create-bucket-configuration LocationConstraint={region} && aws s3 cp hello.txt s3://{bucket}/{OBJECT_KEY}"
        ),
        Action::PutBucketPolicy(kind) => format!(
            "aws s3api put-bucket-policy --bucket {bucket} --policy file://{}",
            match kind {
                BucketPolicy::DenyGetObject => "deny-get.json",
                BucketPolicy::EndpointOnly => "endpoint-only.json",
            }
        ),
        Action::CreateRole { policies, .. } => {
            let mut c = format!(
                "aws iam create-role --role-name {role} --assume-role-policy-document file://role-trust-policy.json"
            );
            for p in policies {
                c.push_str(&format!(
                    " && aws iam attach-role-policy --role-name {role} --policy-arn {p}"
                ));
            }
            c.push_str(&format!(
                " && export ROLE_ARN=$(aws iam get-role --role-name {role} --query Role.Arn --output text)"
            ));
            c
        }
        Action::RunPod { file, namespace } => {
            format!("kubectl get pod {} -n {namespace}", file.pod())
        }
        Action::Logs { file, namespace } => format!("kubectl logs {} -n {namespace}", file.pod()),
        Action::ReadFromHost => format!(
            "aws s3api get-object --bucket {bucket} --key {OBJECT_KEY} /dev/stdout   # on the host, outside the VPC"
        ),
    }
}

/// An eksctl config of the chapter, `${ROLE_ARN}` expanded.
fn config(text: &str, role_arn: &str) -> Result<scheduler::eksctl::ClusterConfig, Stop> {
    let expanded = envsubst(text, &|k| (k == "ROLE_ARN").then(|| role_arn.to_owned()))
        .map_err(|e| failed("envsubst", e.message))?;
    parse_config(&expanded).map_err(|e| failed("eksctl config", e.message))
}

/// A scenario's bucket policy, and how its step tells it.
struct BucketPolicyText {
    policy: String,
    line: String,
}

fn bucket_policy(
    kind: BucketPolicy,
    bucket: &str,
    endpoint: Option<&crate::gateway::VpcEndpoint>,
) -> Option<BucketPolicyText> {
    match (kind, endpoint) {
        (BucketPolicy::DenyGetObject, _) => Some(BucketPolicyText {
            policy: format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"DenyReads","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/*"}}]}}"#
            ),
            line: "Deny s3:GetObject to Principal \"*\"".into(),
        }),
        (BucketPolicy::EndpointOnly, Some(e)) => Some(BucketPolicyText {
            policy: format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"OnlyThroughTheClusterEndpoint","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::{bucket}","arn:aws:s3:::{bucket}/*"],"Condition":{{"StringNotEquals":{{"aws:SourceVpce":"{}"}}}}}}]}}"#,
                e.id
            ),
            line: format!(
                "Deny s3:* unless aws:SourceVpce is {} (the S3 gateway endpoint of {})",
                e.id, e.vpc
            ),
        }),
        (BucketPolicy::EndpointOnly, None) => None,
    }
}

/// Walks `plan`: each step is carried out, checked against what the story expects and
/// narrated. A step that goes otherwise ends the walk — except a pod's run, whose log is
/// still shown.
pub(super) async fn walk(
    r: &mut Runner<'_>,
    plan: &Plan,
    admin: &Clients,
    gateway: &Gateway,
    apis: &Apis,
) -> Result<Partial, Stop> {
    let mut w = Walk {
        admin,
        gateway,
        apis,
        object: String::new(),
        role_arn: String::new(),
        pod_phase: PodPhase::NotCreated,
        pod_log: String::new(),
        pending: None,
        refused: None,
        host_denied: false,
    };
    let mut as_expected = true;
    for planned in &plan.steps {
        r.check()?;
        let (lines, observed) = w.perform(r, &planned.action).await?;
        let ok = planned.expect.met_by(&observed, &w.object);
        let cmd = command(&planned.action, r.names, &r.opts.region);
        r.step(planned.title, &cmd, lines, ok);
        if !ok {
            as_expected = false;
            if !matches!(planned.action, Action::RunPod { .. }) {
                break;
            }
        }
    }
    let outcome = match (&w.refused, &w.pending, w.pod_phase) {
        (Some(m), _, _) => format!("profile creation rejected: {m}"),
        (None, Some((ns, why)), _) => format!("pod {ns}/s3 is not on Fargate: {why}"),
        (None, None, PodPhase::Succeeded) if w.host_denied => {
            "the pod read the object through the cluster's S3 endpoint; the host was denied".into()
        }
        (None, None, PodPhase::Succeeded) => {
            "the pod read the object with the execution role".into()
        }
        (None, None, PodPhase::Failed) => format!(
            "the pod failed: {}",
            w.pod_log
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
        ),
        (None, None, phase) => format!("pod phase {phase:?}"),
    };
    Ok(Partial {
        as_expected,
        outcome,
        pod_phase: w.pod_phase,
        pod_log: w.pod_log,
    })
}

/// Deletes one thing of the run's cluster through the endpoint's APIs; something already gone
/// counts as deleted.
///
/// # Errors
/// Why it is still there.
pub(super) async fn delete_local(apis: &Apis, item: &Created) -> Result<(), String> {
    let gone = |e: KubectlError| {
        if e.is_not_found() {
            Ok(())
        } else {
            Err(e.to_string())
        }
    };
    match item {
        Created::Pod { namespace, name } => apis
            .kubectl
            .delete_pod(namespace, name, DELETE_WAIT)
            .await
            .or_else(gone),
        Created::Namespace { name } => apis
            .kubectl
            .delete_namespace(name, DELETE_WAIT)
            .await
            .or_else(gone),
        Created::Profile { name } => {
            match apis
                .eksctl
                .delete_profile(CLUSTER, name, true, &|_| {})
                .await
            {
                Ok(()) => Ok(()),
                Err(e) if e.0.contains("ResourceNotFoundException") => Ok(()),
                Err(e) => Err(e.0),
            }
        }
        Created::Cluster { name } => match apis.eks.delete_cluster().name(name).send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(format!(
                "DeleteCluster: {}",
                aws_sdk_eks::error::DisplayErrorContext(&e)
            )),
        },
        _ => Ok(()),
    }
}
