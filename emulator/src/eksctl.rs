//! The part of eksctl the chapter uses, as a client of an EKS API (the fargate-sim endpoint):
//! create a cluster from a `ClusterConfig` (its IAM roles, the cluster, its Fargate profiles),
//! create, list and delete Fargate profiles, delete a cluster. Each step is reported as a
//! [`Line`] worded as eksctl words it; the caller prints them.

use std::time::Duration;

use aws_sdk_eks::error::ProvideErrorMetadata;
use aws_sdk_eks::types::{
    ClusterStatus, FargateProfile, FargateProfileSelector, FargateProfileStatus, VpcConfigRequest,
};
use scheduler::CreateProfile;
use scheduler::eksctl::ClusterConfig;

use s3_harness::client::Clients;

/// One line of eksctl's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// `[ℹ]`.
    Info(String),
    /// `[✔]`.
    Done(String),
}

/// Why an eksctl command failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EksctlError(pub String);

/// How long to wait for a cluster or profile to change state, and how often to look.
#[derive(Debug, Clone, Copy)]
pub struct Waiting {
    /// Give up after this long.
    pub timeout: Duration,
    /// Time between two looks.
    pub poll: Duration,
}

impl Default for Waiting {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(25 * 60),
            poll: Duration::from_millis(250),
        }
    }
}

/// The service roles eksctl makes for a cluster: its own, and the pod execution role of the
/// profiles that name none.
fn service_role_name(cluster: &str) -> String {
    format!("eksctl-{cluster}-cluster-ServiceRole")
}

fn pod_execution_role_name(cluster: &str) -> String {
    format!("eksctl-{cluster}-cluster-FargatePodExecutionRole")
}

/// An SDK error as eksctl shows it: `Code: message`.
fn api<E: ProvideErrorMetadata + std::fmt::Debug>(
    what: &str,
    e: &aws_sdk_eks::error::SdkError<E>,
) -> EksctlError {
    let detail = match e {
        aws_sdk_eks::error::SdkError::ServiceError(se) => {
            let err = se.err();
            match (err.code(), err.message()) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.to_owned(),
                _ => format!("{err:?}"),
            }
        }
        other => format!("{other}"),
    };
    EksctlError(format!("{what}: {detail}"))
}

/// The eksctl commands, against one endpoint with one set of credentials.
#[derive(Debug, Clone)]
pub struct Eksctl {
    clients: Clients,
    waiting: Waiting,
}

impl Eksctl {
    /// A client of `clients`' endpoint.
    pub fn new(clients: Clients, waiting: Waiting) -> Self {
        Self { clients, waiting }
    }

    /// `eksctl create cluster -f`: the cluster's IAM role, the cluster (waited for until
    /// ACTIVE), then each Fargate profile of the config in turn (a profile without a pod
    /// execution role gets the one eksctl makes).
    ///
    /// # Errors
    /// The first call that failed, with EKS's or IAM's code and message.
    pub async fn create_cluster(
        &self,
        cfg: &ClusterConfig,
        say: &(dyn Fn(Line) + Sync),
    ) -> Result<(), EksctlError> {
        say(Line::Info(format!("using region {}", cfg.region)));
        say(Line::Info(format!(
            "using Kubernetes version {}",
            scheduler::control_plane::DEFAULT_VERSION
        )));
        say(Line::Info(format!(
            "creating EKS cluster \"{}\" in \"{}\" region with Fargate profile",
            cfg.name, cfg.region
        )));
        let role_arn = self
            .ensure_role(
                &service_role_name(&cfg.name),
                &trust(scheduler::control_plane::EKS_PRINCIPAL, None),
                "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
            )
            .await?;
        self.create_cluster_with_role(cfg, &role_arn, say).await
    }

    /// [`Eksctl::create_cluster`] with a cluster role that already exists (`role_arn`): the
    /// cluster, waited for until ACTIVE, then its profiles (profiles that name no pod execution
    /// role get eksctl's).
    ///
    /// # Errors
    /// The first call that failed, with EKS's or IAM's code and message.
    pub async fn create_cluster_with_role(
        &self,
        cfg: &ClusterConfig,
        role_arn: &str,
        say: &(dyn Fn(Line) + Sync),
    ) -> Result<(), EksctlError> {
        let mut subnets: Vec<String> = cfg.subnets.iter().map(|s| s.id.clone()).collect();
        if subnets.is_empty() {
            // eksctl's own VPC: three public and three private subnets.
            subnets = (1..=6)
                .map(|i| format!("subnet-{:017x}", hash(&cfg.name) ^ i))
                .collect();
        }
        say(Line::Info(format!(
            "building cluster stack \"eksctl-{}-cluster\"",
            cfg.name
        )));
        let mut vpc = VpcConfigRequest::builder();
        for s in &subnets {
            vpc = vpc.subnet_ids(s);
        }
        self.clients
            .eks
            .create_cluster()
            .name(&cfg.name)
            .role_arn(role_arn)
            .resources_vpc_config(vpc.build())
            .send()
            .await
            .map_err(|e| api(&format!("creating EKS cluster \"{}\"", cfg.name), &e))?;
        self.wait_cluster_active(&cfg.name).await?;
        say(Line::Done(format!(
            "all EKS cluster resources for \"{}\" have been created",
            cfg.name
        )));
        self.create_profiles(cfg, say).await?;
        say(Line::Done(format!(
            "EKS cluster \"{}\" in \"{}\" region is ready",
            cfg.name, cfg.region
        )));
        Ok(())
    }

    /// `eksctl create fargateprofile -f`: each profile of the config, one at a time (EKS takes
    /// one profile in CREATING at a time).
    ///
    /// # Errors
    /// The first call that failed.
    pub async fn create_profiles(
        &self,
        cfg: &ClusterConfig,
        say: &(dyn Fn(Line) + Sync),
    ) -> Result<(), EksctlError> {
        let private: Vec<String> = cfg
            .subnets
            .iter()
            .filter(|s| s.private)
            .map(|s| s.id.clone())
            .collect();
        for p in &cfg.profiles {
            let role = if p.pod_execution_role_arn.is_empty() {
                self.ensure_role(
                    &pod_execution_role_name(&cfg.name),
                    &trust(
                        scheduler::cluster::FARGATE_PRINCIPAL,
                        Some(&format!(
                            "arn:aws:eks:{}:{}:fargateprofile/{}/*",
                            cfg.region,
                            self.account().await?,
                            cfg.name
                        )),
                    ),
                    "arn:aws:iam::aws:policy/AmazonEKSFargatePodExecutionRolePolicy",
                )
                .await?
            } else if p.pod_execution_role_arn.contains("${") {
                return Err(EksctlError(format!(
                    "podExecutionRoleARN of Fargate profile \"{}\" is `{}`: the variable was not expanded; pipe the file through envsubst first",
                    p.fargate_profile_name, p.pod_execution_role_arn
                )));
            } else {
                p.pod_execution_role_arn.clone()
            };
            self.create_profile(&cfg.name, p, &role, &private, say)
                .await?;
        }
        Ok(())
    }

    async fn create_profile(
        &self,
        cluster: &str,
        p: &CreateProfile,
        role: &str,
        private: &[String],
        say: &(dyn Fn(Line) + Sync),
    ) -> Result<(), EksctlError> {
        let name = &p.fargate_profile_name;
        say(Line::Info(format!(
            "creating Fargate profile \"{name}\" on EKS cluster \"{cluster}\""
        )));
        let mut req = self
            .clients
            .eks
            .create_fargate_profile()
            .cluster_name(cluster)
            .fargate_profile_name(name)
            .pod_execution_role_arn(role);
        for s in &p.selectors {
            let mut sel = FargateProfileSelector::builder();
            if let Some(ns) = &s.namespace {
                sel = sel.namespace(ns);
            }
            for (k, v) in &s.labels {
                sel = sel.labels(k, v);
            }
            req = req.selectors(sel.build());
        }
        let subnets = if p.subnets.is_empty() {
            private
        } else {
            &p.subnets
        };
        for s in subnets {
            req = req.subnets(s);
        }
        for (k, v) in &p.tags {
            req = req.tags(k, v);
        }
        req.send().await.map_err(|e| {
            api(
                &format!("creating Fargate profile \"{name}\" on EKS cluster \"{cluster}\""),
                &e,
            )
        })?;
        self.wait_profile(cluster, name, Some(FargateProfileStatus::Active))
            .await?;
        say(Line::Info(format!(
            "created Fargate profile \"{name}\" on EKS cluster \"{cluster}\""
        )));
        Ok(())
    }

    /// `eksctl get fargateprofile`: the cluster's profiles (one, with `name`), in name order.
    ///
    /// # Errors
    /// The cluster or the profile does not exist.
    pub async fn get_profiles(
        &self,
        cluster: &str,
        name: Option<&str>,
    ) -> Result<Vec<FargateProfile>, EksctlError> {
        let names: Vec<String> = match name {
            Some(n) => vec![n.to_owned()],
            None => self
                .clients
                .eks
                .list_fargate_profiles()
                .cluster_name(cluster)
                .send()
                .await
                .map_err(|e| api("getting Fargate profiles", &e))?
                .fargate_profile_names()
                .to_vec(),
        };
        let mut out = Vec::new();
        for n in names {
            let p = self
                .clients
                .eks
                .describe_fargate_profile()
                .cluster_name(cluster)
                .fargate_profile_name(&n)
                .send()
                .await
                .map_err(|e| api(&format!("getting Fargate profile \"{n}\""), &e))?;
            if let Some(p) = p.fargate_profile {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// `eksctl delete fargateprofile`; with `wait`, until it is gone.
    ///
    /// # Errors
    /// The call failed (no such profile, another profile in transition).
    pub async fn delete_profile(
        &self,
        cluster: &str,
        name: &str,
        wait: bool,
        say: &(dyn Fn(Line) + Sync),
    ) -> Result<(), EksctlError> {
        say(Line::Info(format!("deleting Fargate profile \"{name}\"")));
        self.clients
            .eks
            .delete_fargate_profile()
            .cluster_name(cluster)
            .fargate_profile_name(name)
            .send()
            .await
            .map_err(|e| api(&format!("deleting Fargate profile \"{name}\""), &e))?;
        if wait {
            self.wait_profile(cluster, name, None).await?;
        }
        say(Line::Info(format!("deleted Fargate profile \"{name}\"")));
        Ok(())
    }

    /// `eksctl delete cluster`: its Fargate profiles one at a time, the cluster, and the IAM
    /// roles eksctl made for it; with `wait`, until the cluster is gone.
    ///
    /// # Errors
    /// The first call that failed.
    pub async fn delete_cluster(
        &self,
        cluster: &str,
        wait: bool,
        say: &(dyn Fn(Line) + Sync),
    ) -> Result<(), EksctlError> {
        say(Line::Info(format!("deleting EKS cluster \"{cluster}\"")));
        let names = self
            .clients
            .eks
            .list_fargate_profiles()
            .cluster_name(cluster)
            .send()
            .await
            .map_err(|e| api(&format!("deleting EKS cluster \"{cluster}\""), &e))?
            .fargate_profile_names()
            .to_vec();
        for n in &names {
            self.delete_profile(cluster, n, true, say).await?;
        }
        if !names.is_empty() {
            say(Line::Info(format!(
                "deleted {} Fargate profile(s)",
                names.len()
            )));
        }
        self.clients
            .eks
            .delete_cluster()
            .name(cluster)
            .send()
            .await
            .map_err(|e| api(&format!("deleting EKS cluster \"{cluster}\""), &e))?;
        if wait {
            self.wait_cluster_gone(cluster).await?;
        }
        for role in [pod_execution_role_name(cluster), service_role_name(cluster)] {
            self.remove_role(&role).await;
        }
        say(Line::Done("all cluster resources were deleted".to_owned()));
        Ok(())
    }

    async fn account(&self) -> Result<String, EksctlError> {
        self.clients
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| EksctlError(format!("checking AWS credentials: {e}")))?
            .account
            .ok_or_else(|| EksctlError("checking AWS credentials: no account".into()))
    }

    /// The role's ARN, made (with `policy` attached) when it does not exist yet.
    async fn ensure_role(
        &self,
        name: &str,
        trust: &str,
        policy: &str,
    ) -> Result<String, EksctlError> {
        let iam = &self.clients.iam;
        if let Ok(r) = iam.get_role().role_name(name).send().await
            && let Some(role) = r.role()
        {
            return Ok(role.arn().to_owned());
        }
        let created = iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust)
            .send()
            .await
            .map_err(|e| EksctlError(format!("creating IAM role \"{name}\": {}", iam_error(&e))))?;
        iam.attach_role_policy()
            .role_name(name)
            .policy_arn(policy)
            .send()
            .await
            .map_err(|e| {
                EksctlError(format!(
                    "attaching {policy} to IAM role \"{name}\": {}",
                    iam_error(&e)
                ))
            })?;
        created
            .role()
            .map(|r| r.arn().to_owned())
            .ok_or_else(|| EksctlError(format!("creating IAM role \"{name}\": no role returned")))
    }

    /// Removes a role eksctl made, if it is there (best effort, as CloudFormation's stack
    /// deletion).
    async fn remove_role(&self, name: &str) {
        let iam = &self.clients.iam;
        if let Ok(attached) = iam
            .list_attached_role_policies()
            .role_name(name)
            .send()
            .await
        {
            for p in attached.attached_policies() {
                if let Some(arn) = p.policy_arn() {
                    let _ = iam
                        .detach_role_policy()
                        .role_name(name)
                        .policy_arn(arn)
                        .send()
                        .await;
                }
            }
            let _ = iam.delete_role().role_name(name).send().await;
        }
    }

    async fn wait_cluster_active(&self, name: &str) -> Result<(), EksctlError> {
        let deadline = tokio::time::Instant::now() + self.waiting.timeout;
        loop {
            let c = self
                .clients
                .eks
                .describe_cluster()
                .name(name)
                .send()
                .await
                .map_err(|e| api(&format!("waiting for EKS cluster \"{name}\""), &e))?;
            if c.cluster().and_then(|c| c.status()) == Some(&ClusterStatus::Active) {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(EksctlError(format!(
                    "timed out waiting for EKS cluster \"{name}\" to become ACTIVE"
                )));
            }
            tokio::time::sleep(self.waiting.poll).await;
        }
    }

    async fn wait_cluster_gone(&self, name: &str) -> Result<(), EksctlError> {
        let deadline = tokio::time::Instant::now() + self.waiting.timeout;
        loop {
            match self.clients.eks.describe_cluster().name(name).send().await {
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    return Ok(());
                }
                Err(e) => return Err(api(&format!("waiting for EKS cluster \"{name}\""), &e)),
                Ok(_) => {}
            }
            if tokio::time::Instant::now() > deadline {
                return Err(EksctlError(format!(
                    "timed out waiting for EKS cluster \"{name}\" to be deleted"
                )));
            }
            tokio::time::sleep(self.waiting.poll).await;
        }
    }

    /// Waits until the profile has `status`, or (`None`) is gone.
    async fn wait_profile(
        &self,
        cluster: &str,
        name: &str,
        status: Option<FargateProfileStatus>,
    ) -> Result<(), EksctlError> {
        let deadline = tokio::time::Instant::now() + self.waiting.timeout;
        loop {
            let got = self
                .clients
                .eks
                .describe_fargate_profile()
                .cluster_name(cluster)
                .fargate_profile_name(name)
                .send()
                .await;
            match (&status, got) {
                (None, Err(e))
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    return Ok(());
                }
                (_, Err(e)) => {
                    return Err(api(&format!("waiting for Fargate profile \"{name}\""), &e));
                }
                (Some(want), Ok(p)) => {
                    let now = p.fargate_profile().and_then(|p| p.status());
                    if now == Some(want) {
                        return Ok(());
                    }
                    if now == Some(&FargateProfileStatus::CreateFailed) {
                        return Err(EksctlError(format!(
                            "Fargate profile \"{name}\" failed to create"
                        )));
                    }
                }
                (None, Ok(_)) => {}
            }
            if tokio::time::Instant::now() > deadline {
                return Err(EksctlError(format!(
                    "timed out waiting for Fargate profile \"{name}\""
                )));
            }
            tokio::time::sleep(self.waiting.poll).await;
        }
    }
}

fn iam_error<E: ProvideErrorMetadata>(e: &aws_sdk_iam::error::SdkError<E>) -> String {
    match e {
        aws_sdk_iam::error::SdkError::ServiceError(se) => {
            let err = se.err();
            format!(
                "{}: {}",
                err.code().unwrap_or("Error"),
                err.message().unwrap_or("")
            )
        }
        other => other.to_string(),
    }
}

/// A trust policy letting `service` assume the role, for `source_arn` when given.
pub fn trust(service: &str, source_arn: Option<&str>) -> String {
    let condition = source_arn
        .map(|a| format!(r#","Condition":{{"ArnLike":{{"aws:SourceArn":"{a}"}}}}"#))
        .unwrap_or_default();
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"{service}"}},"Action":"sts:AssumeRole"{condition}}}]}}"#
    )
}

/// A stable 64-bit hash (FNV-1a) for made-up subnet ids.
fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pod_execution_trust_names_the_clusters_profiles() {
        let t = trust(
            "eks-fargate-pods.amazonaws.com",
            Some("arn:aws:eks:eu-west-1:000000000000:fargateprofile/fargate-sim/*"),
        );
        let p = iam_sim::CompiledPolicy::parse(&t).unwrap();
        let set = iam_sim::PolicySet {
            trust: Some(p),
            ..iam_sim::PolicySet::default()
        };
        let mut ctx = iam_sim::Context::new();
        ctx.insert(
            "aws:SourceArn",
            iam_sim::ContextValue::Single(
                "arn:aws:eks:eu-west-1:000000000000:fargateprofile/fargate-sim/s3/1".into(),
            ),
        );
        let req = iam_sim::Request::new(
            "eks-fargate-pods.amazonaws.com",
            "sts:AssumeRole",
            "arn:aws:iam::000000000000:role/r",
            None,
            ctx,
        );
        assert_eq!(set.decide(&req), iam_sim::Decision::Allow);
    }
}
