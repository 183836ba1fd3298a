//! The Fargate side of an EKS cluster: the Fargate-profile API (create, describe, list, delete)
//! with EKS's constraints, errors and state machine, and the pods placed on its profiles.
//!
//! Time and ids are injected: every call takes `now` (seconds since the epoch) and ids come
//! from an [`Ids`] source, so tests are deterministic and the demo can run fast.

use std::collections::{BTreeMap, HashMap};

use iam_sim::glob::{Case, Pattern};
use serde::{Deserialize, Serialize};

use crate::addresses::{AddressPool, Cidr, default_cidr};
use crate::placement::{self, Placement};
use crate::pod::Pod;

/// The service principal Fargate assumes the pod execution role as.
pub const FARGATE_PRINCIPAL: &str = "eks-fargate-pods.amazonaws.com";
/// Quotas (EKS defaults).
pub const MAX_PROFILES: usize = 10;
/// Selectors per profile.
pub const MAX_SELECTORS: usize = 5;
/// Label pairs per selector.
pub const MAX_LABELS: usize = 5;
/// Tags per profile.
pub const MAX_TAGS: usize = 50;

/// A profile selector: a namespace and labels, `*`/`?` wildcards allowed in all three.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Selector {
    /// Namespace (required).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Labels the pod must all carry.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// A CreateFargateProfile request (API shape, camelCase).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateProfile {
    /// Name, unique in the cluster.
    pub fargate_profile_name: String,
    /// The pod execution role.
    pub pod_execution_role_arn: String,
    /// Private subnets (the cluster's private subnets when empty).
    #[serde(default)]
    pub subnets: Vec<String>,
    /// Selectors.
    #[serde(default)]
    pub selectors: Vec<Selector>,
    /// Idempotency token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_request_token: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// Profile status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Being created.
    Creating,
    /// In service.
    Active,
    /// Being deleted.
    Deleting,
    /// Creation failed.
    CreateFailed,
    /// Deletion failed.
    DeleteFailed,
}

/// A stored Fargate profile (API shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FargateProfile {
    /// Name.
    pub fargate_profile_name: String,
    /// `arn:aws:eks:REGION:ACCOUNT:fargateprofile/CLUSTER/NAME/UUID`.
    pub fargate_profile_arn: String,
    /// The cluster.
    pub cluster_name: String,
    /// Creation time, seconds since the epoch.
    pub created_at: f64,
    /// The pod execution role.
    pub pod_execution_role_arn: String,
    /// Subnets.
    pub subnets: Vec<String>,
    /// Selectors, as given.
    pub selectors: Vec<Selector>,
    /// Status.
    pub status: Status,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

/// EKS error types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ErrorType {
    /// 400.
    InvalidParameterException,
    /// 400.
    InvalidRequestException,
    /// 409.
    ResourceInUseException,
    /// 404.
    ResourceNotFoundException,
    /// 400.
    ResourceLimitExceededException,
    /// 404 (TagResource, UntagResource, ListTagsForResource on an unknown ARN).
    NotFoundException,
    /// 400 (a tagging request EKS cannot accept).
    BadRequestException,
}

impl ErrorType {
    /// The type's name, as `x-amzn-ErrorType` carries it.
    pub fn name(self) -> &'static str {
        match self {
            ErrorType::InvalidParameterException => "InvalidParameterException",
            ErrorType::InvalidRequestException => "InvalidRequestException",
            ErrorType::ResourceInUseException => "ResourceInUseException",
            ErrorType::ResourceNotFoundException => "ResourceNotFoundException",
            ErrorType::ResourceLimitExceededException => "ResourceLimitExceededException",
            ErrorType::NotFoundException => "NotFoundException",
            ErrorType::BadRequestException => "BadRequestException",
        }
    }

    /// The HTTP status EKS answers with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorType::ResourceInUseException => 409,
            ErrorType::ResourceNotFoundException | ErrorType::NotFoundException => 404,
            _ => 400,
        }
    }
}

/// An EKS API error: type and message, as the service returns them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{kind:?}: {message}")]
pub struct EksError {
    /// The error type (`x-amzn-ErrorType`).
    pub kind: ErrorType,
    /// The message.
    pub message: String,
}

impl EksError {
    /// An error of `kind` with EKS's `message`.
    pub fn new(kind: ErrorType, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// Where pod execution roles come from: `s3-harness` answers from LocalStack IAM, tests from
/// memory.
pub trait RoleSource {
    /// The trust policy document of the role, `Ok(None)` when the role does not exist.
    ///
    /// # Errors
    /// The source could not be asked (a network error, say).
    fn trust_policy(&self, role_arn: &str) -> Result<Option<String>, String>;
}

/// Roles held in memory.
#[derive(Debug, Clone, Default)]
pub struct InMemoryRoles(pub HashMap<String, String>);

impl RoleSource for InMemoryRoles {
    fn trust_policy(&self, role_arn: &str) -> Result<Option<String>, String> {
        Ok(self.0.get(role_arn).cloned())
    }
}

/// Ids for profile ARNs (node addresses come from the subnets, see [`AddressPool`]).
pub trait Ids: Send {
    /// A UUID-shaped id (8-4-4-4-12 hex).
    fn uuid(&mut self) -> String;
}

/// Deterministic ids from a seed.
#[derive(Debug, Clone)]
pub struct SeqIds {
    state: u64,
}

impl SeqIds {
    /// Starts from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            state: seed ^ 0x9e37_79b9_7f4a_7c15,
        }
    }

    fn next(&mut self) -> u64 {
        // splitmix64
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl Ids for SeqIds {
    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }
}

/// A subnet of the cluster's VPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subnet {
    /// `subnet-…`.
    pub id: String,
    /// Availability zone.
    pub az: String,
    /// Whether it is private (no route to an internet gateway).
    pub private: bool,
    /// Its address block; `None` gives it the next of eksctl's default /19 blocks.
    pub cidr: Option<Cidr>,
}

/// How long state transitions take.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Delays {
    /// CREATING → ACTIVE, seconds.
    pub create: f64,
    /// DELETING → gone, seconds.
    pub delete: f64,
}

impl Default for Delays {
    /// Small but non-zero, so that the one-at-a-time rule can be seen.
    fn default() -> Self {
        Self {
            create: 0.05,
            delete: 0.05,
        }
    }
}

#[derive(Debug, Clone)]
struct Stored {
    profile: FargateProfile,
    compiled: CompiledProfile,
    token: Option<String>,
    request: CreateProfile,
    until: f64,
}

/// A profile's selectors compiled to matchers.
#[derive(Debug, Clone)]
pub struct CompiledProfile {
    /// Profile name.
    pub name: String,
    /// Selectors.
    pub selectors: Vec<CompiledSelector>,
}

/// One selector, compiled.
#[derive(Debug, Clone)]
pub struct CompiledSelector {
    /// Namespace pattern.
    pub namespace: Pattern,
    /// Label key and value patterns; `literal_key` is set when the key has no wildcard.
    pub labels: Vec<(Option<String>, Pattern, Pattern)>,
}

impl CompiledProfile {
    /// Compiles the selectors of a profile.
    pub fn new(name: &str, selectors: &[Selector]) -> Self {
        let selectors = selectors
            .iter()
            .map(|s| CompiledSelector {
                namespace: Pattern::new(s.namespace.as_deref().unwrap_or(""), Case::Sensitive),
                labels: s
                    .labels
                    .iter()
                    .map(|(k, v)| {
                        let kp = Pattern::new(k, Case::Sensitive);
                        let literal = kp.is_literal().then(|| k.clone());
                        (literal, kp, Pattern::new(v, Case::Sensitive))
                    })
                    .collect(),
            })
            .collect();
        Self {
            name: name.to_owned(),
            selectors,
        }
    }

    /// The index of the first selector the pod matches.
    pub fn matches(&self, namespace: &str, labels: &BTreeMap<String, String>) -> Option<usize> {
        self.selectors
            .iter()
            .position(|s| s.namespace.is_match(namespace) && s.labels_match(labels))
    }
}

impl CompiledSelector {
    /// Whether the pod carries every label of the selector (wildcard keys match any key).
    pub fn labels_match(&self, labels: &BTreeMap<String, String>) -> bool {
        self.labels.iter().all(|(lit, kp, vp)| match lit {
            Some(k) => labels.get(k).is_some_and(|v| vp.is_match(v)),
            None => labels.iter().any(|(k, v)| kp.is_match(k) && vp.is_match(v)),
        })
    }
}

/// The Fargate side of one EKS cluster.
pub struct Cluster {
    /// Cluster name.
    pub name: String,
    /// Region.
    pub region: String,
    /// Account.
    pub account: String,
    /// The VPC's subnets.
    pub subnets: Vec<Subnet>,
    /// Transition delays.
    pub delays: Delays,
    profiles: BTreeMap<String, Stored>,
    pods: BTreeMap<(String, String), Placement>,
    ids: Box<dyn Ids>,
    addresses: AddressPool,
    /// The subnets pods use when a profile names none and the cluster has no private subnet
    /// (a config without `vpc`): eksctl's default private subnets.
    default_subnets: Vec<String>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("name", &self.name)
            .field("profiles", &self.profiles.keys())
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// A cluster with no profiles.
    pub fn new(
        name: &str,
        region: &str,
        account: &str,
        subnets: Vec<Subnet>,
        ids: Box<dyn Ids>,
    ) -> Self {
        // Blocks for subnets that name none follow eksctl's default VPC: public subnets
        // first, then private ones, a /19 each from 192.168.0.0.
        let by_default_order = subnets
            .iter()
            .filter(|s| !s.private)
            .chain(subnets.iter().filter(|s| s.private));
        let mut blocks: Vec<(String, Cidr)> = by_default_order
            .enumerate()
            .map(|(i, s)| (s.id.clone(), s.cidr.unwrap_or_else(|| default_cidr(i))))
            .collect();
        let default_subnets: Vec<String> = if subnets.iter().any(|s| s.private) {
            Vec::new()
        } else {
            (3..6)
                .map(|i| format!("default-private-{}", i - 2))
                .collect()
        };
        blocks.extend(
            default_subnets
                .iter()
                .zip(3..)
                .map(|(id, i)| (id.clone(), default_cidr(i))),
        );
        Self {
            name: name.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            subnets,
            delays: Delays::default(),
            profiles: BTreeMap::new(),
            pods: BTreeMap::new(),
            ids,
            addresses: AddressPool::new(blocks.iter().map(|(id, c)| (id.as_str(), *c))),
            default_subnets,
        }
    }

    /// Advances state transitions whose time has come.
    pub fn refresh(&mut self, now: f64) {
        let mut gone = Vec::new();
        for (name, s) in &mut self.profiles {
            match s.profile.status {
                Status::Creating if now >= s.until => s.profile.status = Status::Active,
                Status::Deleting if now >= s.until => gone.push(name.clone()),
                _ => {}
            }
        }
        for name in gone {
            self.profiles.remove(&name);
        }
    }

    /// The time at which every pending transition will have happened.
    pub fn settled_at(&self) -> f64 {
        self.profiles
            .values()
            .filter(|s| matches!(s.profile.status, Status::Creating | Status::Deleting))
            .map(|s| s.until)
            .fold(0.0, f64::max)
    }

    /// CreateFargateProfile.
    ///
    /// # Errors
    /// EKS's errors, in EKS's order of checks: duplicate name, selectors, quotas, subnets,
    /// another profile in transition, the execution role's trust policy.
    pub fn create_profile(
        &mut self,
        req: &CreateProfile,
        roles: &dyn RoleSource,
        now: f64,
    ) -> Result<FargateProfile, EksError> {
        self.refresh(now);
        if let Some(existing) = self.profiles.get(&req.fargate_profile_name)
            && req.client_request_token.is_some()
            && existing.token == req.client_request_token
            && existing.request == *req
        {
            // An idempotent retry of the same request returns the same profile.
            return Ok(existing.profile.clone());
        }
        let subnets = self.validate(req)?;
        if let Some(busy) = self
            .profiles
            .values()
            .find(|s| matches!(s.profile.status, Status::Creating | Status::Deleting))
        {
            return Err(EksError::new(
                ErrorType::ResourceInUseException,
                format!(
                    "Cannot create Fargate Profile {} because cluster {} currently has Fargate profile {} in status {}",
                    req.fargate_profile_name,
                    self.name,
                    busy.profile.fargate_profile_name,
                    status_word(busy.profile.status)
                ),
            ));
        }
        let arn = self.new_arn(&req.fargate_profile_name);
        self.check_trust(&req.pod_execution_role_arn, &arn, roles)?;
        Ok(self.insert(req, arn, subnets, Status::Creating, now))
    }

    /// Registers a profile that EKS already accepted, as ACTIVE (for offline planning from a
    /// config file): the request is validated as [`Cluster::create_profile`] does, but the
    /// execution role is not looked up and no transition delay applies.
    ///
    /// # Errors
    /// The same validation errors as `create_profile`.
    pub fn adopt_profile(
        &mut self,
        req: &CreateProfile,
        now: f64,
    ) -> Result<FargateProfile, EksError> {
        let subnets = self.validate(req)?;
        let arn = self.new_arn(&req.fargate_profile_name);
        Ok(self.insert(req, arn, subnets, Status::Active, now))
    }

    fn new_arn(&mut self, name: &str) -> String {
        format!(
            "arn:aws:eks:{}:{}:fargateprofile/{}/{name}/{}",
            self.region,
            self.account,
            self.name,
            self.ids.uuid()
        )
    }

    fn insert(
        &mut self,
        req: &CreateProfile,
        arn: String,
        subnets: Vec<String>,
        status: Status,
        now: f64,
    ) -> FargateProfile {
        let profile = FargateProfile {
            fargate_profile_name: req.fargate_profile_name.clone(),
            fargate_profile_arn: arn,
            cluster_name: self.name.clone(),
            created_at: now,
            pod_execution_role_arn: req.pod_execution_role_arn.clone(),
            subnets,
            selectors: req.selectors.clone(),
            status,
            tags: req.tags.clone(),
        };
        let compiled = CompiledProfile::new(&req.fargate_profile_name, &req.selectors);
        let until = if status == Status::Creating {
            now + self.delays.create
        } else {
            now
        };
        self.profiles.insert(
            req.fargate_profile_name.clone(),
            Stored {
                profile: profile.clone(),
                compiled,
                token: req.client_request_token.clone(),
                request: req.clone(),
                until,
            },
        );
        profile
    }

    /// EKS's checks on a request, in EKS's order; returns the subnets the profile gets.
    fn validate(&self, req: &CreateProfile) -> Result<Vec<String>, EksError> {
        use ErrorType::*;
        if self.profiles.contains_key(&req.fargate_profile_name) {
            return Err(EksError::new(
                ResourceInUseException,
                "A Fargate Profile already exists with this name in this cluster.",
            ));
        }
        if req.fargate_profile_name.is_empty() {
            return Err(EksError::new(
                InvalidParameterException,
                "fargateProfileName must not be empty.",
            ));
        }
        if req.selectors.is_empty() {
            return Err(EksError::new(
                InvalidParameterException,
                "Fargate Profile requires at least one selector.",
            ));
        }
        if req
            .selectors
            .iter()
            .any(|s| s.namespace.as_deref().is_none_or(str::is_empty))
        {
            return Err(EksError::new(
                InvalidParameterException,
                "Fargate Profile must have at least one selector with at least one namespace value.",
            ));
        }
        if req.selectors.len() > MAX_SELECTORS {
            return Err(EksError::new(
                InvalidParameterException,
                format!(
                    "Fargate Profile can have at most {MAX_SELECTORS} selectors; this request has {}.",
                    req.selectors.len()
                ),
            ));
        }
        if req.selectors.iter().any(|s| s.labels.len() > MAX_LABELS) {
            return Err(EksError::new(
                InvalidParameterException,
                "Request contains Selector with more than 5 Label pairs",
            ));
        }
        check_tags(&req.tags)?;
        if self.profiles.len() >= MAX_PROFILES {
            return Err(EksError::new(
                ResourceLimitExceededException,
                format!(
                    "Cluster {} already has the maximum of {MAX_PROFILES} Fargate profiles.",
                    self.name
                ),
            ));
        }
        let subnets = if req.subnets.is_empty() {
            self.subnets
                .iter()
                .filter(|s| s.private)
                .map(|s| s.id.clone())
                .collect()
        } else {
            for id in &req.subnets {
                match self.subnets.iter().find(|s| s.id == *id) {
                    Some(s) if s.private => {}
                    Some(_) => {
                        return Err(EksError::new(
                            InvalidParameterException,
                            format!(
                                "Subnet {id} provided in Fargate Profile is not a private subnet"
                            ),
                        ));
                    }
                    None => {
                        return Err(EksError::new(
                            InvalidParameterException,
                            format!(
                                "Subnet {id} provided in Fargate Profile is not part of the cluster's VPC"
                            ),
                        ));
                    }
                }
            }
            req.subnets.clone()
        };
        Ok(subnets)
    }

    /// The trust check EKS makes at creation: may `eks-fargate-pods.amazonaws.com` assume the
    /// role, with the new profile's ARN as `aws:SourceArn`?
    fn check_trust(
        &self,
        role_arn: &str,
        profile_arn: &str,
        roles: &dyn RoleSource,
    ) -> Result<(), EksError> {
        use iam_sim::{CompiledPolicy, Context, ContextValue, Decision, PolicySet, Request};
        let misconfigured = || {
            EksError::new(
                ErrorType::InvalidParameterException,
                "Misconfigured PodExecutionRole Trust Policy; Please add the eks-fargate-pods.amazonaws.com Service Principal",
            )
        };
        if iam_sim::arn::Arn::parse(role_arn)
            .is_none_or(|a| a.service != "iam" || !a.resource.starts_with("role/"))
        {
            return Err(EksError::new(
                ErrorType::InvalidParameterException,
                format!(
                    "podExecutionRoleArn `{role_arn}` is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"
                ),
            ));
        }
        let doc = match roles.trust_policy(role_arn) {
            Ok(Some(doc)) => doc,
            Ok(None) => {
                return Err(EksError::new(
                    ErrorType::InvalidParameterException,
                    format!("The pod execution role {role_arn} does not exist."),
                ));
            }
            Err(e) => {
                return Err(EksError::new(
                    ErrorType::InvalidRequestException,
                    format!("could not read role {role_arn}: {e}"),
                ));
            }
        };
        let trust = CompiledPolicy::parse(&doc).map_err(|_| misconfigured())?;
        let set = PolicySet {
            trust: Some(trust),
            ..PolicySet::default()
        };
        let mut ctx = Context::new();
        ctx.insert(
            "aws:SourceArn",
            ContextValue::Single(profile_arn.to_owned()),
        );
        ctx.insert(
            "aws:SourceAccount",
            ContextValue::Single(self.account.clone()),
        );
        let req = Request::new(FARGATE_PRINCIPAL, "sts:AssumeRole", role_arn, None, ctx);
        match set.decide(&req) {
            Decision::Allow => Ok(()),
            _ => Err(misconfigured()),
        }
    }

    /// DescribeFargateProfile.
    ///
    /// # Errors
    /// `ResourceNotFoundException`.
    pub fn describe_profile(&mut self, name: &str, now: f64) -> Result<FargateProfile, EksError> {
        self.refresh(now);
        self.profiles
            .get(name)
            .map(|s| s.profile.clone())
            .ok_or_else(|| not_found(name))
    }

    /// ListFargateProfiles: names in ascending order.
    pub fn list_profiles(&mut self, now: f64) -> Vec<String> {
        self.refresh(now);
        self.profiles.keys().cloned().collect()
    }

    /// DeleteFargateProfile. The profile goes to DELETING; the pods it placed are deleted, and
    /// those a controller owns are created again (and placed anew, without this profile).
    ///
    /// # Errors
    /// `ResourceNotFoundException`, or `ResourceInUseException` while another profile is in
    /// transition.
    pub fn delete_profile(
        &mut self,
        name: &str,
        now: f64,
    ) -> Result<(FargateProfile, Vec<Placement>), EksError> {
        self.refresh(now);
        if !self.profiles.contains_key(name) {
            return Err(not_found(name));
        }
        if let Some(busy) = self.profiles.values().find(|s| {
            s.profile.fargate_profile_name != name
                && matches!(s.profile.status, Status::Creating | Status::Deleting)
        }) {
            return Err(EksError::new(
                ErrorType::ResourceInUseException,
                format!(
                    "Cannot Delete Fargate Profile {name} because cluster {} currently has Fargate profile {} in status {}",
                    self.name,
                    busy.profile.fargate_profile_name,
                    status_word(busy.profile.status)
                ),
            ));
        }
        let until = now + self.delays.delete;
        let profile = match self.profiles.get_mut(name) {
            Some(s) => {
                s.profile.status = Status::Deleting;
                s.until = until;
                s.profile.clone()
            }
            None => return Err(not_found(name)),
        };
        let evicted: Vec<(String, String)> = self
            .pods
            .iter()
            .filter(|(_, p)| p.profile.as_deref() == Some(name))
            .map(|(k, _)| k.clone())
            .collect();
        let mut replaced = Vec::new();
        for key in evicted {
            if let Some(old) = self.remove_pod(&key)
                && old.pod.owner_kind.is_some()
            {
                let mut pod = old.pod.clone();
                pod.labels.remove(placement::PROFILE_LABEL);
                replaced.push(self.apply_pod(pod, now));
            }
        }
        Ok((profile, replaced))
    }

    /// The ARN of the profile with this name.
    pub fn profile_arn(&self, name: &str) -> Option<&str> {
        self.profiles
            .get(name)
            .map(|s| s.profile.fargate_profile_arn.as_str())
    }

    /// The name of the profile with this ARN.
    pub fn profile_named_by(&self, arn: &str) -> Option<&str> {
        self.profiles
            .values()
            .find(|s| s.profile.fargate_profile_arn == arn)
            .map(|s| s.profile.fargate_profile_name.as_str())
    }

    /// A profile's tags, to change (TagResource, UntagResource).
    pub fn profile_tags_mut(&mut self, name: &str) -> Option<&mut BTreeMap<String, String>> {
        self.profiles.get_mut(name).map(|s| &mut s.profile.tags)
    }

    /// Whether any profile is left (in any status).
    pub fn has_profiles(&self) -> bool {
        !self.profiles.is_empty()
    }

    /// The compiled profiles that are ACTIVE, in name order.
    pub fn active_profiles(&self) -> impl Iterator<Item = &CompiledProfile> {
        self.profiles
            .values()
            .filter(|s| s.profile.status == Status::Active)
            .map(|s| &s.compiled)
    }

    /// Admits a pod (`kubectl apply`): placement is decided now and never revisited. A pod that
    /// exists already is left where it is (profiles created since do not move it).
    pub fn apply_pod(&mut self, pod: Pod, now: f64) -> Placement {
        self.refresh(now);
        let key = (pod.namespace.clone(), pod.name.clone());
        if let Some(existing) = self.pods.get(&key) {
            let mut p = existing.clone();
            p.events.push(placement::Event::normal(
                "Unchanged",
                "the pod exists; placement is decided once, at creation",
            ));
            return p;
        }
        let mut placed = placement::place(&pod, self.active_profiles(), &self.region);
        if placed.on_fargate() {
            let subnets = self.pod_subnets(placed.profile.as_deref().unwrap_or(""));
            match self.addresses.allocate(&subnets) {
                Some(ip) => placed.set_node(ip, &self.region),
                None => {
                    placed.pending = true;
                    placed.reason = format!(
                        "no free IP address in the profile's subnets ({}): every address is taken by a running pod",
                        subnets.join(", ")
                    );
                    placed.events.push(placement::Event::warning(
                        "FailedScheduling",
                        &placed.reason.clone(),
                    ));
                }
            }
        }
        self.pods.insert(key, placed.clone());
        placed
    }

    /// The subnets a profile's pods get addresses from: its own, else the cluster's private
    /// subnets (or eksctl's default ones when the config names none).
    fn pod_subnets(&self, profile: &str) -> Vec<String> {
        match self.profiles.get(profile) {
            Some(s) if !s.profile.subnets.is_empty() => s.profile.subnets.clone(),
            _ if !self.default_subnets.is_empty() => self.default_subnets.clone(),
            _ => self
                .subnets
                .iter()
                .filter(|s| s.private)
                .map(|s| s.id.clone())
                .collect(),
        }
    }

    fn remove_pod(&mut self, key: &(String, String)) -> Option<Placement> {
        let old = self.pods.remove(key)?;
        if let Some(ip) = old.address {
            self.addresses.release(ip);
        }
        Some(old)
    }

    /// Deletes a pod (`kubectl delete pod`); returns whether it existed. Its address is free
    /// again.
    pub fn delete_pod(&mut self, namespace: &str, name: &str) -> bool {
        self.remove_pod(&(namespace.to_owned(), name.to_owned()))
            .is_some()
    }

    /// A pod's current placement.
    pub fn pod(&self, namespace: &str, name: &str) -> Option<&Placement> {
        self.pods.get(&(namespace.to_owned(), name.to_owned()))
    }

    /// Every pod, by namespace and name.
    pub fn pods(&self) -> impl Iterator<Item = &Placement> {
        self.pods.values()
    }
}

fn not_found(name: &str) -> EksError {
    EksError::new(
        ErrorType::ResourceNotFoundException,
        format!("No Fargate Profile found with name: {name}."),
    )
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Creating => "CREATING",
        Status::Active => "ACTIVE",
        Status::Deleting => "DELETING",
        Status::CreateFailed => "CREATE_FAILED",
        Status::DeleteFailed => "DELETE_FAILED",
    }
}

pub(crate) fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), EksError> {
    let bad = |m: String| Err(EksError::new(ErrorType::InvalidParameterException, m));
    if tags.len() > MAX_TAGS {
        return bad(format!(
            "A resource can have at most {MAX_TAGS} tags; this request has {}.",
            tags.len()
        ));
    }
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 128 {
            return bad(format!("Tag key `{k}` must be 1 to 128 characters long."));
        }
        if v.chars().count() > 256 {
            return bad(format!(
                "Tag value for key `{k}` must be at most 256 characters long."
            ));
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            return bad(format!("Tag key `{k}` uses the reserved prefix `aws:`."));
        }
    }
    Ok(())
}
