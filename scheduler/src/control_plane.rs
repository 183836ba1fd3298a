//! The EKS control plane of one account and region: clusters (CreateCluster, DescribeCluster,
//! ListClusters, DeleteCluster), each with its Fargate side ([`Cluster`]), and tags on clusters
//! and Fargate profiles — in the EKS API's shapes, with EKS's checks and messages.
//!
//! Sans-IO like the rest of the crate: `now` is passed in, ids come from [`Ids`], roles come
//! through [`RoleSource`]. What a cluster's API server is (its URL and CA) is the caller's to
//! say ([`ApiServer`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cluster::{
    Cluster, CreateProfile, Delays, EksError, ErrorType, FargateProfile, Ids, RoleSource, Subnet,
    check_tags,
};
use crate::kube::Kube;
use crate::placement::Placement;

/// The service principal an EKS cluster role must trust.
pub const EKS_PRINCIPAL: &str = "eks.amazonaws.com";
/// The Kubernetes version a cluster gets when the request names none.
pub const DEFAULT_VERSION: &str = "1.32";
/// Clusters per region (EKS's default quota).
pub const MAX_CLUSTERS: usize = 100;

/// A CreateCluster request (API shape, camelCase). Fields the emulator does not act on
/// (logging, encryption, access configuration, …) are accepted and ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateCluster {
    /// Name, unique in the region.
    pub name: String,
    /// Kubernetes version (`1.32`).
    #[serde(default)]
    pub version: Option<String>,
    /// The cluster IAM role.
    pub role_arn: String,
    /// Subnets and endpoint access.
    pub resources_vpc_config: VpcConfigRequest,
    /// Idempotency token.
    #[serde(default)]
    pub client_request_token: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// `resourcesVpcConfig` of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VpcConfigRequest {
    /// Subnets, in at least two availability zones.
    #[serde(default)]
    pub subnet_ids: Vec<String>,
    /// Security groups for the control plane's network interfaces.
    #[serde(default)]
    pub security_group_ids: Vec<String>,
    /// Public endpoint access (default on).
    #[serde(default)]
    pub endpoint_public_access: Option<bool>,
    /// Private endpoint access (default off).
    #[serde(default)]
    pub endpoint_private_access: Option<bool>,
    /// CIDR blocks allowed to the public endpoint (default everything).
    #[serde(default)]
    pub public_access_cidrs: Option<Vec<String>>,
}

/// `resourcesVpcConfig` of a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VpcConfig {
    /// Subnets.
    pub subnet_ids: Vec<String>,
    /// Security groups given at creation.
    pub security_group_ids: Vec<String>,
    /// The security group EKS creates for the cluster.
    pub cluster_security_group_id: String,
    /// The VPC of the subnets.
    pub vpc_id: String,
    /// Public endpoint access.
    pub endpoint_public_access: bool,
    /// Private endpoint access.
    pub endpoint_private_access: bool,
    /// CIDR blocks allowed to the public endpoint.
    pub public_access_cidrs: Vec<String>,
}

/// A cluster's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClusterStatus {
    /// Being created.
    Creating,
    /// In service.
    Active,
    /// Being deleted.
    Deleting,
}

/// `certificateAuthority`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateAuthority {
    /// Base64 of the PEM certificate.
    pub data: String,
}

/// `identity`: the cluster's OIDC issuer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// `{ "issuer": "https://oidc.eks.REGION.amazonaws.com/id/ID" }`.
    pub oidc: Oidc,
}

/// `identity.oidc`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Oidc {
    /// The issuer URL.
    pub issuer: String,
}

/// `kubernetesNetworkConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkConfig {
    /// The service CIDR (EKS's default).
    pub service_ipv4_cidr: String,
    /// `ipv4`.
    pub ip_family: String,
}

/// A cluster as DescribeCluster returns it (API shape). `endpoint` and
/// `certificateAuthority` are absent while the cluster is CREATING, as on EKS.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterInfo {
    /// Name.
    pub name: String,
    /// `arn:aws:eks:REGION:ACCOUNT:cluster/NAME`.
    pub arn: String,
    /// Creation time, seconds since the epoch.
    pub created_at: f64,
    /// Kubernetes version.
    pub version: String,
    /// The API server's URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The cluster IAM role.
    pub role_arn: String,
    /// Networking.
    pub resources_vpc_config: VpcConfig,
    /// Service networking.
    pub kubernetes_network_config: NetworkConfig,
    /// The OIDC issuer.
    pub identity: Identity,
    /// Status.
    pub status: ClusterStatus,
    /// The API server's CA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_authority: Option<CertificateAuthority>,
    /// The idempotency token of the request that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_request_token: Option<String>,
    /// EKS platform version.
    pub platform_version: String,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

/// What a cluster's Kubernetes API server is, as the serving side runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiServer {
    /// The base URL (`http://127.0.0.1:PORT`); each cluster's API server is at
    /// [`api_path`] under it.
    pub endpoint: String,
    /// Base64 of the PEM CA certificate written into kubeconfigs.
    pub certificate_authority: String,
}

struct Entry {
    info: ClusterInfo,
    fargate: Cluster,
    kube: Kube,
    until: f64,
}

/// A resource that can carry tags.
enum Tagged {
    Cluster(String),
    Profile(String, String),
}

/// The EKS control plane of one account and region.
pub struct ControlPlane {
    /// Region.
    pub region: String,
    /// Account.
    pub account: String,
    /// How long clusters take to become ACTIVE and to go.
    pub cluster_delays: Delays,
    /// How long Fargate profiles take (given to each new cluster).
    pub profile_delays: Delays,
    api: ApiServer,
    clusters: BTreeMap<String, Entry>,
    ids: Box<dyn FnMut() -> Box<dyn Ids> + Send>,
    own: Box<dyn Ids>,
}

impl std::fmt::Debug for ControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlPlane")
            .field("region", &self.region)
            .field("clusters", &self.clusters.keys())
            .finish_non_exhaustive()
    }
}

impl ControlPlane {
    /// An empty control plane. `ids` makes each new cluster's id source (profile ARNs); the
    /// plane's own ids (OIDC ids, security groups) come from `own`.
    pub fn new(
        region: &str,
        account: &str,
        api: ApiServer,
        own: Box<dyn Ids>,
        ids: Box<dyn FnMut() -> Box<dyn Ids> + Send>,
    ) -> Self {
        Self {
            region: region.to_owned(),
            account: account.to_owned(),
            cluster_delays: Delays::default(),
            profile_delays: Delays::default(),
            api,
            clusters: BTreeMap::new(),
            ids,
            own,
        }
    }

    /// Advances the state transitions whose time has come.
    pub fn refresh(&mut self, now: f64) {
        let mut gone = Vec::new();
        for (name, e) in &mut self.clusters {
            match e.info.status {
                ClusterStatus::Creating if now >= e.until => {
                    e.info.status = ClusterStatus::Active;
                    e.info.endpoint = Some(format!(
                        "{}{}",
                        self.api.endpoint.trim_end_matches('/'),
                        api_path(name)
                    ));
                    e.info.certificate_authority = Some(CertificateAuthority {
                        data: self.api.certificate_authority.clone(),
                    });
                }
                ClusterStatus::Deleting if now >= e.until => gone.push(name.clone()),
                _ => {}
            }
            e.fargate.refresh(now);
        }
        for name in gone {
            self.clusters.remove(&name);
        }
    }

    /// CreateCluster.
    ///
    /// # Errors
    /// EKS's errors: a name in use, a bad name, too few subnets, a cluster role that does not
    /// exist or does not trust `eks.amazonaws.com`, bad tags, the regional quota.
    pub fn create_cluster(
        &mut self,
        req: &CreateCluster,
        roles: &dyn RoleSource,
        now: f64,
    ) -> Result<ClusterInfo, EksError> {
        use ErrorType::*;
        self.refresh(now);
        if let Some(e) = self.clusters.get(&req.name) {
            if req.client_request_token.is_some()
                && e.info.client_request_token == req.client_request_token
            {
                return Ok(e.info.clone());
            }
            return Err(EksError::new(
                ResourceInUseException,
                format!("Cluster already exists with name: {}", req.name),
            ));
        }
        if !valid_name(&req.name) {
            return Err(EksError::new(
                InvalidParameterException,
                format!(
                    "The cluster name `{}` is not valid: it must be 1 to 100 characters, start with a letter or digit, and contain only letters, digits, hyphens and underscores.",
                    req.name
                ),
            ));
        }
        if let Some(v) = &req.version
            && !valid_version(v)
        {
            return Err(EksError::new(
                InvalidParameterException,
                format!("unsupported Kubernetes version {v}"),
            ));
        }
        let subnets = &req.resources_vpc_config.subnet_ids;
        if subnets.len() < 2 {
            return Err(EksError::new(
                InvalidParameterException,
                "Subnets specified must be in at least two different AZs",
            ));
        }
        check_tags(&req.tags)?;
        if self.clusters.len() >= MAX_CLUSTERS {
            return Err(EksError::new(
                ResourceLimitExceededException,
                format!("You have reached the maximum of {MAX_CLUSTERS} clusters in this region."),
            ));
        }
        check_cluster_role(&req.role_arn, roles)?;
        let arn = format!(
            "arn:aws:eks:{}:{}:cluster/{}",
            self.region, self.account, req.name
        );
        let oidc_id: String = self.own.uuid().replace('-', "").to_ascii_uppercase();
        let sg = format!("sg-{}", &self.own.uuid().replace('-', "")[..17]);
        let vpc = format!("vpc-{}", &self.own.uuid().replace('-', "")[..17]);
        let vpc_req = &req.resources_vpc_config;
        let info = ClusterInfo {
            name: req.name.clone(),
            arn,
            created_at: now,
            version: req
                .version
                .clone()
                .unwrap_or_else(|| DEFAULT_VERSION.to_owned()),
            endpoint: None,
            role_arn: req.role_arn.clone(),
            resources_vpc_config: VpcConfig {
                subnet_ids: subnets.clone(),
                security_group_ids: vpc_req.security_group_ids.clone(),
                cluster_security_group_id: sg,
                vpc_id: vpc,
                endpoint_public_access: vpc_req.endpoint_public_access.unwrap_or(true),
                endpoint_private_access: vpc_req.endpoint_private_access.unwrap_or(false),
                public_access_cidrs: vpc_req
                    .public_access_cidrs
                    .clone()
                    .unwrap_or_else(|| vec!["0.0.0.0/0".to_owned()]),
            },
            kubernetes_network_config: NetworkConfig {
                service_ipv4_cidr: "10.100.0.0/16".to_owned(),
                ip_family: "ipv4".to_owned(),
            },
            identity: Identity {
                oidc: Oidc {
                    issuer: format!(
                        "https://oidc.eks.{}.amazonaws.com/id/{oidc_id}",
                        self.region
                    ),
                },
            },
            status: ClusterStatus::Creating,
            certificate_authority: None,
            client_request_token: req.client_request_token.clone(),
            platform_version: "eks.1".to_owned(),
            tags: req.tags.clone(),
        };
        // The emulator has no EC2: every subnet named at creation is taken as a private
        // subnet of the cluster's VPC (docs/endpoint.md).
        let fargate_subnets = subnets
            .iter()
            .map(|id| Subnet {
                id: id.clone(),
                az: String::new(),
                private: true,
                cidr: None,
            })
            .collect();
        let mut fargate = Cluster::new(
            &req.name,
            &self.region,
            &self.account,
            fargate_subnets,
            (self.ids)(),
        );
        fargate.delays = self.profile_delays;
        let kube = Kube::new((self.ids)(), &self.region, now);
        self.clusters.insert(
            req.name.clone(),
            Entry {
                info: info.clone(),
                fargate,
                kube,
                until: now + self.cluster_delays.create,
            },
        );
        Ok(info)
    }

    /// DescribeCluster.
    ///
    /// # Errors
    /// `ResourceNotFoundException`.
    pub fn describe_cluster(&mut self, name: &str, now: f64) -> Result<ClusterInfo, EksError> {
        self.refresh(now);
        Ok(self.entry(name)?.info.clone())
    }

    /// ListClusters: names in ascending order.
    pub fn list_clusters(&mut self, now: f64) -> Vec<String> {
        self.refresh(now);
        self.clusters.keys().cloned().collect()
    }

    /// DeleteCluster: refused while Fargate profiles remain, as EKS refuses it.
    ///
    /// # Errors
    /// `ResourceNotFoundException`, `ResourceInUseException`.
    pub fn delete_cluster(&mut self, name: &str, now: f64) -> Result<ClusterInfo, EksError> {
        self.refresh(now);
        let until = now + self.cluster_delays.delete;
        let e = self.entry_mut(name)?;
        if e.fargate.has_profiles() {
            return Err(EksError::new(
                ErrorType::ResourceInUseException,
                "Cluster has Fargate Profiles in ACTIVE/CREATING state",
            ));
        }
        if e.info.status != ClusterStatus::Deleting {
            e.info.status = ClusterStatus::Deleting;
            e.until = until;
        }
        Ok(e.info.clone())
    }

    /// The Fargate side of a cluster (pods, placement), whatever its status.
    ///
    /// # Errors
    /// `ResourceNotFoundException`.
    pub fn cluster(&mut self, name: &str) -> Result<&mut Cluster, EksError> {
        Ok(&mut self.entry_mut(name)?.fargate)
    }

    /// The ARN of a cluster's profile, when both exist.
    pub fn profile_arn(&self, cluster: &str, name: &str) -> Option<String> {
        let e = self.clusters.get(cluster)?;
        e.fargate.profile_arn(name).map(str::to_owned)
    }

    /// The Kubernetes objects of an ACTIVE cluster (its API server answers once the cluster
    /// is ACTIVE, as on EKS).
    ///
    /// # Errors
    /// `ResourceNotFoundException` for a cluster that does not exist or is not ACTIVE.
    pub fn kube(&mut self, cluster: &str, now: f64) -> Result<(&mut Kube, &mut Cluster), EksError> {
        self.refresh(now);
        let e = self.entry_mut(cluster)?;
        if e.info.status != ClusterStatus::Active {
            return Err(cluster_not_found(cluster));
        }
        Ok((&mut e.kube, &mut e.fargate))
    }

    /// Every cluster's Kubernetes objects with its Fargate side, whatever its status (for the
    /// process runner's reports).
    pub fn kube_any(&mut self, cluster: &str) -> Option<(&mut Kube, &mut Cluster)> {
        let e = self.clusters.get_mut(cluster)?;
        Some((&mut e.kube, &mut e.fargate))
    }

    /// CreateFargateProfile: the cluster must be ACTIVE.
    ///
    /// # Errors
    /// `ResourceNotFoundException` for the cluster, `InvalidRequestException` while it is not
    /// ACTIVE, and [`Cluster::create_profile`]'s errors.
    pub fn create_profile(
        &mut self,
        cluster: &str,
        req: &CreateProfile,
        roles: &dyn RoleSource,
        now: f64,
    ) -> Result<FargateProfile, EksError> {
        self.refresh(now);
        let e = self.entry_mut(cluster)?;
        if e.info.status != ClusterStatus::Active {
            return Err(EksError::new(
                ErrorType::InvalidRequestException,
                format!(
                    "Cannot create Fargate Profile {} because cluster {cluster} is in status {}",
                    req.fargate_profile_name,
                    cluster_status_word(e.info.status)
                ),
            ));
        }
        e.fargate.create_profile(req, roles, now)
    }

    /// DescribeFargateProfile.
    ///
    /// # Errors
    /// `ResourceNotFoundException` (cluster or profile).
    pub fn describe_profile(
        &mut self,
        cluster: &str,
        name: &str,
        now: f64,
    ) -> Result<FargateProfile, EksError> {
        self.refresh(now);
        self.entry_mut(cluster)?.fargate.describe_profile(name, now)
    }

    /// ListFargateProfiles.
    ///
    /// # Errors
    /// `ResourceNotFoundException` for the cluster.
    pub fn list_profiles(&mut self, cluster: &str, now: f64) -> Result<Vec<String>, EksError> {
        self.refresh(now);
        Ok(self.entry_mut(cluster)?.fargate.list_profiles(now))
    }

    /// DeleteFargateProfile; returns the pods created again elsewhere.
    ///
    /// # Errors
    /// `ResourceNotFoundException` (cluster or profile), `ResourceInUseException`.
    pub fn delete_profile(
        &mut self,
        cluster: &str,
        name: &str,
        now: f64,
    ) -> Result<(FargateProfile, Vec<Placement>), EksError> {
        self.refresh(now);
        let e = self.entry_mut(cluster)?;
        // The pods the profile placed, as the API server holds them, go first (EKS deletes
        // them); then the profile.
        if e.fargate.profile_arn(name).is_some() {
            let Entry { kube, fargate, .. } = e;
            kube.evict_profile(fargate, name, now);
        }
        e.fargate.delete_profile(name, now)
    }

    /// TagResource: adds or replaces tags on a cluster or a Fargate profile.
    ///
    /// # Errors
    /// `NotFoundException` for an ARN that names nothing, `BadRequestException` for tags EKS
    /// refuses.
    pub fn tag_resource(
        &mut self,
        arn: &str,
        tags: &BTreeMap<String, String>,
        now: f64,
    ) -> Result<(), EksError> {
        self.refresh(now);
        let target = self.tagged(arn)?;
        let current = self.tags_mut(&target)?;
        let mut merged = current.clone();
        merged.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        check_tags(&merged)
            .map_err(|e| EksError::new(ErrorType::BadRequestException, e.message))?;
        *current = merged;
        Ok(())
    }

    /// UntagResource.
    ///
    /// # Errors
    /// `NotFoundException` for an ARN that names nothing.
    pub fn untag_resource(&mut self, arn: &str, keys: &[String], now: f64) -> Result<(), EksError> {
        self.refresh(now);
        let target = self.tagged(arn)?;
        let current = self.tags_mut(&target)?;
        for k in keys {
            current.remove(k);
        }
        Ok(())
    }

    /// ListTagsForResource.
    ///
    /// # Errors
    /// `NotFoundException` for an ARN that names nothing.
    pub fn list_tags(&mut self, arn: &str, now: f64) -> Result<BTreeMap<String, String>, EksError> {
        self.refresh(now);
        let target = self.tagged(arn)?;
        Ok(self.tags_mut(&target)?.clone())
    }

    fn tagged(&self, arn: &str) -> Result<Tagged, EksError> {
        for (name, e) in &self.clusters {
            if e.info.arn == arn {
                return Ok(Tagged::Cluster(name.clone()));
            }
            if let Some(p) = e.fargate.profile_named_by(arn) {
                return Ok(Tagged::Profile(name.clone(), p.to_owned()));
            }
        }
        Err(EksError::new(
            ErrorType::NotFoundException,
            format!("No resource found with ARN: {arn}"),
        ))
    }

    fn tags_mut(&mut self, target: &Tagged) -> Result<&mut BTreeMap<String, String>, EksError> {
        match target {
            Tagged::Cluster(c) => Ok(&mut self.entry_mut(c)?.info.tags),
            Tagged::Profile(c, p) => {
                let e = self.entry_mut(c)?;
                e.fargate.profile_tags_mut(p).ok_or_else(|| {
                    EksError::new(
                        ErrorType::NotFoundException,
                        format!("No resource found: {p}"),
                    )
                })
            }
        }
    }

    fn entry(&self, name: &str) -> Result<&Entry, EksError> {
        self.clusters
            .get(name)
            .ok_or_else(|| cluster_not_found(name))
    }

    fn entry_mut(&mut self, name: &str) -> Result<&mut Entry, EksError> {
        self.clusters
            .get_mut(name)
            .ok_or_else(|| cluster_not_found(name))
    }
}

/// The path under the serving side's URL where a cluster's Kubernetes API is served.
pub fn api_path(cluster: &str) -> String {
    format!("/k8s/{cluster}")
}

/// EKS's answer for a cluster that does not exist.
pub fn cluster_not_found(name: &str) -> EksError {
    EksError::new(
        ErrorType::ResourceNotFoundException,
        format!("No cluster found for name: {name}."),
    )
}

fn cluster_status_word(s: ClusterStatus) -> &'static str {
    match s {
        ClusterStatus::Creating => "CREATING",
        ClusterStatus::Active => "ACTIVE",
        ClusterStatus::Deleting => "DELETING",
    }
}

/// `^[0-9A-Za-z][A-Za-z0-9\-_]*`, 1 to 100 characters (the EKS API's constraint).
fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 100
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
}

/// `1.NN`.
fn valid_version(v: &str) -> bool {
    v.strip_prefix("1.")
        .is_some_and(|m| !m.is_empty() && m.len() <= 3 && m.bytes().all(|c| c.is_ascii_digit()))
}

/// The check EKS makes on a cluster role: it exists and trusts `eks.amazonaws.com` for
/// `sts:AssumeRole`.
fn check_cluster_role(role_arn: &str, roles: &dyn RoleSource) -> Result<(), EksError> {
    use iam_sim::{CompiledPolicy, Context, Decision, PolicySet, Request};
    let refused = || {
        EksError::new(
            ErrorType::InvalidParameterException,
            format!(
                "Role with arn: {role_arn}, could not be assumed because it does not exist or the trusted entity is not correct"
            ),
        )
    };
    let doc = match roles.trust_policy(role_arn) {
        Ok(Some(doc)) => doc,
        Ok(None) => return Err(refused()),
        Err(e) => {
            return Err(EksError::new(
                ErrorType::InvalidRequestException,
                format!("could not read role {role_arn}: {e}"),
            ));
        }
    };
    let trust = CompiledPolicy::parse(&doc).map_err(|_| refused())?;
    let set = PolicySet {
        trust: Some(trust),
        ..PolicySet::default()
    };
    let req = Request::new(
        EKS_PRINCIPAL,
        "sts:AssumeRole",
        role_arn,
        None,
        Context::new(),
    );
    match set.decide(&req) {
        Decision::Allow => Ok(()),
        _ => Err(refused()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{InMemoryRoles, Selector, SeqIds};

    const CLUSTER_ROLE: &str = "arn:aws:iam::111122223333:role/eks-cluster";
    const POD_ROLE: &str = "arn:aws:iam::111122223333:role/s3-read";

    fn trust(service: &str) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"{service}"}},"Action":"sts:AssumeRole"}}]}}"#
        )
    }

    fn roles() -> InMemoryRoles {
        InMemoryRoles(
            [
                (CLUSTER_ROLE.to_owned(), trust(EKS_PRINCIPAL)),
                (
                    POD_ROLE.to_owned(),
                    trust(crate::cluster::FARGATE_PRINCIPAL),
                ),
            ]
            .into(),
        )
    }

    fn plane() -> ControlPlane {
        let mut seed = 0;
        ControlPlane::new(
            "eu-west-1",
            "111122223333",
            ApiServer {
                endpoint: "http://127.0.0.1:1".into(),
                certificate_authority: "Q0E=".into(),
            },
            Box::new(SeqIds::new(7)),
            Box::new(move || {
                seed += 1;
                Box::new(SeqIds::new(seed))
            }),
        )
    }

    fn create(name: &str) -> CreateCluster {
        CreateCluster {
            name: name.into(),
            role_arn: CLUSTER_ROLE.into(),
            resources_vpc_config: VpcConfigRequest {
                subnet_ids: vec!["subnet-a".into(), "subnet-b".into()],
                ..VpcConfigRequest::default()
            },
            ..CreateCluster::default()
        }
    }

    fn profile(name: &str, ns: &str) -> CreateProfile {
        CreateProfile {
            fargate_profile_name: name.into(),
            pod_execution_role_arn: POD_ROLE.into(),
            selectors: vec![Selector {
                namespace: Some(ns.into()),
                ..Selector::default()
            }],
            ..CreateProfile::default()
        }
    }

    #[test]
    fn a_new_cluster_is_creating_without_endpoint_then_active_with_one() {
        let mut p = plane();
        let c = p.create_cluster(&create("demo"), &roles(), 0.0).unwrap();
        assert_eq!(c.status, ClusterStatus::Creating);
        assert_eq!(c.endpoint, None);
        assert_eq!(c.arn, "arn:aws:eks:eu-west-1:111122223333:cluster/demo");
        assert!(
            c.identity
                .oidc
                .issuer
                .starts_with("https://oidc.eks.eu-west-1.amazonaws.com/id/")
        );
        let c = p.describe_cluster("demo", 1.0).unwrap();
        assert_eq!(c.status, ClusterStatus::Active);
        assert_eq!(c.endpoint.as_deref(), Some("http://127.0.0.1:1/k8s/demo"));
        assert_eq!(c.certificate_authority.unwrap().data, "Q0E=");
    }

    #[test]
    fn a_taken_name_is_resource_in_use() {
        let mut p = plane();
        p.create_cluster(&create("demo"), &roles(), 0.0).unwrap();
        let e = p
            .create_cluster(&create("demo"), &roles(), 0.0)
            .unwrap_err();
        assert_eq!(e.kind, ErrorType::ResourceInUseException);
        assert_eq!(e.message, "Cluster already exists with name: demo");
    }

    #[test]
    fn a_cluster_role_that_does_not_trust_eks_is_refused_with_eks_words() {
        let mut p = plane();
        let mut req = create("demo");
        req.role_arn = POD_ROLE.into();
        let e = p.create_cluster(&req, &roles(), 0.0).unwrap_err();
        assert_eq!(e.kind, ErrorType::InvalidParameterException);
        assert_eq!(
            e.message,
            format!(
                "Role with arn: {POD_ROLE}, could not be assumed because it does not exist or the trusted entity is not correct"
            )
        );
    }

    #[test]
    fn one_subnet_is_not_enough() {
        let mut p = plane();
        let mut req = create("demo");
        req.resources_vpc_config.subnet_ids.truncate(1);
        let e = p.create_cluster(&req, &roles(), 0.0).unwrap_err();
        assert_eq!(e.kind, ErrorType::InvalidParameterException);
    }

    #[test]
    fn unknown_clusters_are_not_found_in_eks_words() {
        let mut p = plane();
        let e = p.describe_cluster("nope", 0.0).unwrap_err();
        assert_eq!(e.kind, ErrorType::ResourceNotFoundException);
        assert_eq!(e.message, "No cluster found for name: nope.");
        assert_eq!(
            p.list_profiles("nope", 0.0).unwrap_err().kind,
            ErrorType::ResourceNotFoundException
        );
    }

    #[test]
    fn profiles_wait_for_an_active_cluster() {
        let mut p = plane();
        p.create_cluster(&create("demo"), &roles(), 0.0).unwrap();
        let e = p
            .create_profile("demo", &profile("fp", "test"), &roles(), 0.0)
            .unwrap_err();
        assert_eq!(e.kind, ErrorType::InvalidRequestException);
        p.create_profile("demo", &profile("fp", "test"), &roles(), 1.0)
            .unwrap();
        assert_eq!(p.list_profiles("demo", 1.0).unwrap(), ["fp"]);
    }

    #[test]
    fn a_cluster_with_profiles_cannot_be_deleted() {
        let mut p = plane();
        p.create_cluster(&create("demo"), &roles(), 0.0).unwrap();
        p.create_profile("demo", &profile("fp", "test"), &roles(), 1.0)
            .unwrap();
        let e = p.delete_cluster("demo", 2.0).unwrap_err();
        assert_eq!(e.kind, ErrorType::ResourceInUseException);
        assert_eq!(
            e.message,
            "Cluster has Fargate Profiles in ACTIVE/CREATING state"
        );
        p.delete_profile("demo", "fp", 2.0).unwrap();
        assert_eq!(
            p.delete_cluster("demo", 3.0).unwrap().status,
            ClusterStatus::Deleting
        );
        assert!(p.list_clusters(4.0).is_empty());
    }

    #[test]
    fn tags_on_clusters_and_profiles() {
        let mut p = plane();
        let c = p.create_cluster(&create("demo"), &roles(), 0.0).unwrap();
        let fp = p
            .create_profile("demo", &profile("fp", "test"), &roles(), 1.0)
            .unwrap();
        let tags: BTreeMap<String, String> = [("team".to_owned(), "a".to_owned())].into();
        p.tag_resource(&c.arn, &tags, 1.0).unwrap();
        p.tag_resource(&fp.fargate_profile_arn, &tags, 1.0).unwrap();
        assert_eq!(p.list_tags(&c.arn, 1.0).unwrap(), tags);
        assert_eq!(p.describe_profile("demo", "fp", 1.0).unwrap().tags, tags);
        p.untag_resource(&c.arn, &["team".to_owned()], 1.0).unwrap();
        assert!(p.list_tags(&c.arn, 1.0).unwrap().is_empty());
        let e = p.list_tags("arn:aws:eks:eu-west-1:111122223333:cluster/x", 1.0);
        assert_eq!(e.unwrap_err().kind, ErrorType::NotFoundException);
        let reserved: BTreeMap<String, String> = [("aws:x".to_owned(), "a".to_owned())].into();
        assert_eq!(
            p.tag_resource(&c.arn, &reserved, 1.0).unwrap_err().kind,
            ErrorType::BadRequestException
        );
    }
}
