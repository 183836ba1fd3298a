//! The chapter as data: an ordered list of steps, each an action and what the story expects of
//! it. Every scenario is an edit of the chapter's list ([`Scenario::plan`]); the walk
//! (`super::walk`) carries the steps out against the endpoint, with the same EKS API and
//! Kubernetes API that `aws`, `eksctl` and `kubectl` drive.

use super::{PodPhase, Scenario};

/// A pod manifest of the chapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodFile {
    /// `examples/test-pod.yaml`: an nginx pod named `test`.
    Test,
    /// `examples/s3-pod.yaml`: the AWS CLI printing the bucket's object, named `s3`.
    S3,
}

impl PodFile {
    /// The file's name, as the chapter types it.
    pub fn file(self) -> &'static str {
        match self {
            PodFile::Test => "test-pod.yaml",
            PodFile::S3 => "s3-pod.yaml",
        }
    }

    /// The pod's name.
    pub fn pod(self) -> &'static str {
        match self {
            PodFile::Test => "test",
            PodFile::S3 => "s3",
        }
    }
}

/// An eksctl config holding one Fargate profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileFile {
    /// `examples/new-namespace-cluster.yaml`: profile `test` for namespace `test`, with the
    /// default pod execution role.
    NewNamespace,
    /// `examples/execution-role-cluster.yaml`: profile `s3` for `app: s3-reader` pods, with
    /// `${ROLE_ARN}` as its execution role.
    ExecutionRole,
}

/// Whom the `s3-read` role trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// `eks-fargate-pods.amazonaws.com` for the cluster's profiles (the chapter's file).
    FargatePods,
    /// `eks.amazonaws.com`, the cluster's principal — not Fargate's.
    Eks,
}

/// A bucket policy a scenario adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketPolicy {
    /// Denies `s3:GetObject` on the object to everyone.
    DenyGetObject,
    /// Denies everything that does not come through the cluster's S3 gateway endpoint.
    EndpointOnly,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `eksctl create cluster -f cluster.yaml --fargate`: the cluster role, the default pod
    /// execution role, the cluster and its `fp-default` profile.
    CreateCluster,
    /// `kubectl create namespace`.
    CreateNamespace(String),
    /// `kubectl apply -f FILE`, into `namespace`.
    ApplyPod {
        /// The manifest.
        file: PodFile,
        /// Its namespace.
        namespace: String,
    },
    /// `kubectl get pod -o wide`: where an existing pod is, after a profile was created.
    ShowPod {
        /// The manifest the pod came from.
        file: PodFile,
        /// Its namespace.
        namespace: String,
    },
    /// `kubectl delete pod` then `kubectl apply -f` again.
    RecreatePod {
        /// The manifest.
        file: PodFile,
        /// Its namespace.
        namespace: String,
    },
    /// `eksctl create fargateprofile -f FILE`.
    CreateProfile(ProfileFile),
    /// The bucket, and the object the pod reads.
    CreateBucket,
    /// `aws s3api put-bucket-policy`.
    PutBucketPolicy(BucketPolicy),
    /// `aws iam create-role`, `attach-role-policy` for each policy, `get-role --query Role.Arn`.
    CreateRole {
        /// The trust policy.
        trust: Trust,
        /// Managed policies attached.
        policies: Vec<&'static str>,
    },
    /// `kubectl get pod` until the pod's container has ended.
    RunPod {
        /// The manifest the pod came from.
        file: PodFile,
        /// Its namespace.
        namespace: String,
    },
    /// `kubectl logs`.
    Logs {
        /// The manifest the pod came from.
        file: PodFile,
        /// Its namespace.
        namespace: String,
    },
    /// `aws s3api get-object` from the host, outside the cluster's VPC.
    ReadFromHost,
}

/// What the story expects of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The calls go through.
    Succeeds,
    /// The pod is placed on Fargate.
    OnFargate,
    /// The pod stays Pending: no profile selects it.
    NotOnFargate,
    /// EKS refuses the request.
    Refused,
    /// The pod's container ends in this phase.
    Ends(PodPhase),
    /// The log is the object, byte for byte.
    PrintsObject,
    /// The log is shown, whatever it holds.
    AnyLog,
    /// The request is denied.
    Denied,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// How the step is titled.
    pub title: &'static str,
    /// What it does.
    pub action: Action,
    /// What the story expects.
    pub expect: Expect,
}

/// The steps, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The steps.
    pub steps: Vec<Planned>,
}

fn step(title: &'static str, action: Action, expect: Expect) -> Planned {
    Planned {
        title,
        action,
        expect,
    }
}

impl Plan {
    /// The chapter: a pod before its profile, the profile, the pod recreated, the bucket, the
    /// role `s3-read`, the profile that uses it, the pod that reads the object.
    pub fn chapter() -> Self {
        let test = || "test".to_owned();
        Self {
            steps: vec![
                step("cluster", Action::CreateCluster, Expect::Succeeds),
                step(
                    "namespace",
                    Action::CreateNamespace(test()),
                    Expect::Succeeds,
                ),
                step(
                    "pod before a profile",
                    Action::ApplyPod {
                        file: PodFile::Test,
                        namespace: test(),
                    },
                    Expect::NotOnFargate,
                ),
                step(
                    "profile for the namespace",
                    Action::CreateProfile(ProfileFile::NewNamespace),
                    Expect::Succeeds,
                ),
                step(
                    "existing pod is not moved",
                    Action::ShowPod {
                        file: PodFile::Test,
                        namespace: test(),
                    },
                    Expect::NotOnFargate,
                ),
                step(
                    "pod recreated",
                    Action::RecreatePod {
                        file: PodFile::Test,
                        namespace: test(),
                    },
                    Expect::OnFargate,
                ),
                step("bucket and object", Action::CreateBucket, Expect::Succeeds),
                step(
                    "execution role",
                    Action::CreateRole {
                        trust: Trust::FargatePods,
                        policies: vec![super::S3_READ_ONLY],
                    },
                    Expect::Succeeds,
                ),
                step(
                    "profile with the execution role",
                    Action::CreateProfile(ProfileFile::ExecutionRole),
                    Expect::Succeeds,
                ),
                step(
                    "S3 pod",
                    Action::ApplyPod {
                        file: PodFile::S3,
                        namespace: test(),
                    },
                    Expect::OnFargate,
                ),
                step(
                    "pod runs with the execution role",
                    Action::RunPod {
                        file: PodFile::S3,
                        namespace: test(),
                    },
                    Expect::Ends(PodPhase::Succeeded),
                ),
                step(
                    "pod log",
                    Action::Logs {
                        file: PodFile::S3,
                        namespace: test(),
                    },
                    Expect::PrintsObject,
                ),
            ],
        }
    }

    fn position(&self, f: impl Fn(&Action) -> bool) -> usize {
        // The chapter has every step a scenario edits; a miss is a programming error caught
        // by the plan tests, and lands past the end (an insert appends, an edit does nothing).
        self.steps
            .iter()
            .position(|s| f(&s.action))
            .unwrap_or(self.steps.len())
    }

    fn edit(&mut self, f: impl Fn(&Action) -> bool) -> Option<&mut Planned> {
        let i = self.position(f);
        self.steps.get_mut(i)
    }

    fn insert_after(&mut self, f: impl Fn(&Action) -> bool, s: Planned) {
        let i = self.position(f);
        self.steps.insert((i + 1).min(self.steps.len()), s);
    }

    fn insert_before(&mut self, f: impl Fn(&Action) -> bool, s: Planned) {
        let i = self.position(f);
        self.steps.insert(i, s);
    }

    /// Ends the story at the first step matching `f`.
    fn end_after(&mut self, f: impl Fn(&Action) -> bool) {
        let i = self.position(f);
        self.steps.truncate(i + 1);
    }

    /// The S3 pod's run and log expect `phase` (and a log of whatever the CLI printed).
    fn pod_ends(&mut self, phase: PodPhase) {
        if let Some(s) = self.edit(|a| matches!(a, Action::RunPod { .. })) {
            s.expect = Expect::Ends(phase);
        }
        if phase != PodPhase::Succeeded
            && let Some(s) = self.edit(|a| matches!(a, Action::Logs { .. }))
        {
            s.expect = Expect::AnyLog;
        }
    }
}

fn is_s3_pod(a: &Action) -> bool {
    matches!(
        a,
        Action::ApplyPod {
            file: PodFile::S3,
            ..
        }
    )
}

impl Scenario {
    /// The steps of this scenario: the chapter's, edited.
    pub fn plan(self) -> Plan {
        let mut plan = Plan::chapter();
        match self {
            Scenario::Chapter => {}
            Scenario::NoS3Policy => {
                if let Some(s) = plan.edit(|a| matches!(a, Action::CreateRole { .. }))
                    && let Action::CreateRole { policies, .. } = &mut s.action
                {
                    policies.clear();
                }
                plan.pod_ends(PodPhase::Failed);
            }
            Scenario::BucketDeny => {
                plan.insert_after(
                    |a| *a == Action::CreateBucket,
                    step(
                        "bucket policy denies reads",
                        Action::PutBucketPolicy(BucketPolicy::DenyGetObject),
                        Expect::Succeeds,
                    ),
                );
                plan.pod_ends(PodPhase::Failed);
            }
            Scenario::BadTrust => {
                if let Some(s) = plan.edit(|a| matches!(a, Action::CreateRole { .. }))
                    && let Action::CreateRole { trust, .. } = &mut s.action
                {
                    *trust = Trust::Eks;
                }
                let profile = |a: &Action| *a == Action::CreateProfile(ProfileFile::ExecutionRole);
                if let Some(s) = plan.edit(profile) {
                    s.expect = Expect::Refused;
                }
                plan.end_after(profile);
            }
            Scenario::WrongNamespace => {
                plan.insert_before(
                    is_s3_pod,
                    step(
                        "another namespace",
                        Action::CreateNamespace("other".into()),
                        Expect::Succeeds,
                    ),
                );
                if let Some(s) = plan.edit(is_s3_pod) {
                    s.action = Action::ApplyPod {
                        file: PodFile::S3,
                        namespace: "other".into(),
                    };
                    s.expect = Expect::NotOnFargate;
                }
                plan.end_after(is_s3_pod);
            }
            Scenario::EndpointOnly => {
                plan.insert_after(
                    |a| *a == Action::CreateBucket,
                    step(
                        "bucket policy allows only the cluster's S3 endpoint",
                        Action::PutBucketPolicy(BucketPolicy::EndpointOnly),
                        Expect::Succeeds,
                    ),
                );
                plan.steps.push(step(
                    "the same read from outside the endpoint",
                    Action::ReadFromHost,
                    Expect::Denied,
                ));
            }
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn titles(p: &Plan) -> Vec<&'static str> {
        p.steps.iter().map(|s| s.title).collect()
    }

    #[test]
    fn the_chapter_places_the_test_pod_before_and_after_its_profile() {
        let p = Plan::chapter();
        assert_eq!(
            titles(&p),
            [
                "cluster",
                "namespace",
                "pod before a profile",
                "profile for the namespace",
                "existing pod is not moved",
                "pod recreated",
                "bucket and object",
                "execution role",
                "profile with the execution role",
                "S3 pod",
                "pod runs with the execution role",
                "pod log"
            ]
        );
    }

    #[test]
    fn every_scenario_but_the_chapter_changes_the_plan() {
        for s in Scenario::ALL {
            assert_eq!(s.plan() == Plan::chapter(), s == Scenario::Chapter, "{s:?}");
        }
    }

    #[test]
    fn no_s3_policy_attaches_nothing_and_expects_a_failed_pod() {
        let p = Scenario::NoS3Policy.plan();
        assert!(p.steps.iter().any(
            |s| matches!(&s.action, Action::CreateRole { policies, .. } if policies.is_empty())
        ));
        assert!(
            p.steps
                .iter()
                .any(|s| s.expect == Expect::Ends(PodPhase::Failed))
        );
        assert!(!p.steps.iter().any(|s| s.expect == Expect::PrintsObject));
    }

    #[test]
    fn bad_trust_ends_at_the_refused_profile() {
        let p = Scenario::BadTrust.plan();
        let last = p.steps.last().unwrap();
        assert_eq!(
            last.action,
            Action::CreateProfile(ProfileFile::ExecutionRole)
        );
        assert_eq!(last.expect, Expect::Refused);
        assert!(p.steps.iter().any(|s| matches!(
            s.action,
            Action::CreateRole {
                trust: Trust::Eks,
                ..
            }
        )));
    }

    #[test]
    fn wrong_namespace_creates_the_namespace_then_ends_at_the_pending_pod() {
        let p = Scenario::WrongNamespace.plan();
        let n = p.steps.len();
        assert_eq!(
            p.steps[n - 2].action,
            Action::CreateNamespace("other".into())
        );
        assert_eq!(
            p.steps[n - 1].action,
            Action::ApplyPod {
                file: PodFile::S3,
                namespace: "other".into()
            }
        );
        assert_eq!(p.steps[n - 1].expect, Expect::NotOnFargate);
    }

    #[test]
    fn bucket_policies_come_right_after_the_bucket() {
        for (s, policy) in [
            (Scenario::BucketDeny, BucketPolicy::DenyGetObject),
            (Scenario::EndpointOnly, BucketPolicy::EndpointOnly),
        ] {
            let p = s.plan();
            let i = p
                .steps
                .iter()
                .position(|s| s.action == Action::CreateBucket)
                .unwrap();
            assert_eq!(p.steps[i + 1].action, Action::PutBucketPolicy(policy));
        }
    }

    #[test]
    fn endpoint_only_ends_with_a_denied_read_from_the_host() {
        let p = Scenario::EndpointOnly.plan();
        let last = p.steps.last().unwrap();
        assert_eq!(
            (&last.action, last.expect),
            (&Action::ReadFromHost, Expect::Denied)
        );
    }
}
