//! Evaluation: compiled policies, requests, and AWS's decision procedure.
//!
//! Policies are compiled once ([`CompiledPolicy::compile`]): wildcard patterns are built,
//! principals classified, condition values typed and keys lowercased. A decision
//! ([`PolicySet::decide`]) then allocates nothing unless a policy uses `${…}` variables. The same
//! procedure, run with a recording tracer, gives the reasons ([`PolicySet::evaluate`]).

use crate::arn::{Arn, is_account_id};
use crate::condition::{self, Base, Operator, SetQualifier, Tri, Value};
use crate::diag::Span;
use crate::glob::{Case, Pattern, Token};
use crate::policy::{Effect, Policy, PrincipalValue, Statement, Text, lowercase_text};
use crate::template;

// ---------------------------------------------------------------------------------------------
// Requests

/// Who makes a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An unauthenticated caller (S3 public access).
    Anonymous,
    /// A service principal such as `eks-fargate-pods.amazonaws.com`.
    Service(String),
    /// A web-identity or SAML provider (`arn:aws:iam::…:oidc-provider/…`, `accounts.google.com`).
    Federated(String),
    /// An IAM identity: root, user, role, role session, federated user.
    Iam(IamPrincipal),
}

/// An IAM identity and its account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamPrincipal {
    /// The ARN as given (`12-digit` accounts become `arn:aws:iam::ACCOUNT:root`).
    pub arn: String,
    /// The 12-digit account.
    pub account: String,
    /// What kind of identity.
    pub kind: IamKind,
}

/// The kind of an IAM identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IamKind {
    /// The account root user.
    Root,
    /// An IAM user.
    User,
    /// A role ARN used directly (real requests come from sessions).
    Role {
        /// The role name (last path segment).
        name: String,
    },
    /// A role session `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
    AssumedRole {
        /// The role name.
        role: String,
        /// The session name.
        session: String,
    },
    /// An STS federated user session.
    FederatedUser,
    /// Anything else with an account.
    Other,
}

impl Principal {
    /// Classifies a principal string as the case schema writes it: `anonymous`, a service
    /// principal, a provider, an account id, or an IAM ARN. `web_identity` marks the
    /// `sts:AssumeRoleWith*` actions, whose caller is a federated provider.
    pub fn parse(text: &str, web_identity: bool) -> Self {
        let t = text.trim();
        if t.eq_ignore_ascii_case("anonymous") || t == "*" {
            return Principal::Anonymous;
        }
        if is_account_id(t) {
            return Principal::Iam(IamPrincipal {
                arn: format!("arn:aws:iam::{t}:root"),
                account: t.to_owned(),
                kind: IamKind::Root,
            });
        }
        if let Some(arn) = Arn::parse(t) {
            let res = arn.resource;
            if arn.service == "iam"
                && (res.starts_with("oidc-provider/") || res.starts_with("saml-provider/"))
            {
                return Principal::Federated(t.to_owned());
            }
            let kind = match (arn.service, res) {
                ("iam", "root") => IamKind::Root,
                ("iam", r) if r.starts_with("user/") => IamKind::User,
                ("iam", r) if r.starts_with("role/") => IamKind::Role {
                    name: r.rsplit('/').next().unwrap_or("").to_owned(),
                },
                ("sts", r) if r.starts_with("assumed-role/") => {
                    let mut it = r["assumed-role/".len()..].splitn(2, '/');
                    IamKind::AssumedRole {
                        role: it.next().unwrap_or("").to_owned(),
                        session: it.next().unwrap_or("").to_owned(),
                    }
                }
                ("sts", r) if r.starts_with("federated-user/") => IamKind::FederatedUser,
                _ => IamKind::Other,
            };
            return Principal::Iam(IamPrincipal {
                arn: t.to_owned(),
                account: arn.account.to_owned(),
                kind,
            });
        }
        if web_identity {
            Principal::Federated(t.to_owned())
        } else {
            Principal::Service(t.to_owned())
        }
    }

    /// The principal's account, for IAM identities.
    pub fn account(&self) -> Option<&str> {
        match self {
            Principal::Iam(p) => Some(&p.account),
            _ => None,
        }
    }

    fn is_session(&self) -> bool {
        matches!(
            self,
            Principal::Iam(IamPrincipal {
                kind: IamKind::AssumedRole { .. } | IamKind::FederatedUser,
                ..
            })
        )
    }
}

/// A context value: single- or multi-valued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextValue {
    /// One value.
    Single(String),
    /// Several values (`aws:TagKeys`, `…:amr`).
    Multi(Vec<String>),
}

/// Condition keys of a request; key names are compared without case. Keys are stored
/// lowercased and inline up to 24 bytes, so a lookup reads one contiguous array.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    entries: Vec<(Text, ContextValue)>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a key (replacing a key that differs only in case).
    pub fn insert(&mut self, key: &str, value: ContextValue) {
        let k = lowercase_text(key);
        if let Some(e) = self.entries.iter_mut().find(|(ek, _)| *ek == k) {
            e.1 = value;
        } else {
            self.entries.push((k, value));
        }
    }

    /// Sets a key only when absent.
    pub fn insert_default(&mut self, key: &str, value: ContextValue) {
        let k = lowercase_text(key);
        if self.get(&k).is_none() {
            self.entries.push((k, value));
        }
    }

    /// Looks up a lowercased key.
    pub fn get(&self, lower_key: &str) -> Option<&ContextValue> {
        self.entries
            .iter()
            .find(|(k, _)| k == lower_key)
            .map(|(_, v)| v)
    }

    /// A single value for policy variables (multi-valued keys cannot be variables).
    pub fn single(&self, lower_key: &str) -> Option<&str> {
        match self.get(lower_key)? {
            ContextValue::Single(s) => Some(s),
            ContextValue::Multi(_) => None,
        }
    }

    /// The entries, keys lowercased.
    pub fn entries(&self) -> &[(Text, ContextValue)] {
        &self.entries
    }
}

/// A request to decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Who asks.
    pub principal: Principal,
    /// `service:Action`.
    pub action: String,
    /// The resource ARN (`*` when the action has none).
    pub resource: String,
    /// The account owning the resource.
    pub resource_account: Option<String>,
    /// Condition keys.
    pub context: Context,
    is_assume: bool,
    /// The resource is a KMS key, whose key policy must allow (like a role's trust policy).
    is_kms_key: bool,
    /// The action is one AWS authorizes without any policy (see [`needs_no_permission`]).
    no_permission: bool,
}

/// Actions AWS performs for any authenticated caller without consulting policies, which no
/// policy can deny: `sts:GetCallerIdentity` ("No permissions are required to perform this
/// operation. If an administrator attaches a policy to your identity that explicitly denies
/// access to the sts:GetCallerIdentity action, you can still perform this operation", STS API
/// reference) and `sts:GetSessionToken` ("No permissions are required for a user to get a
/// session token … You cannot use policies to control authentication operations", IAM User
/// Guide, Permissions for GetSessionToken). `sts:GetAccessKeyInfo` is not one of them: it is
/// authorized as any action.
pub fn needs_no_permission(action: &str) -> bool {
    action.eq_ignore_ascii_case("sts:GetCallerIdentity")
        || action.eq_ignore_ascii_case("sts:GetSessionToken")
}

/// Whether `resource` is a KMS key ARN (`arn:PARTITION:kms:REGION:ACCOUNT:key/ID`).
fn is_kms_key_arn(resource: &str) -> bool {
    let mut parts = resource.splitn(6, ':');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.nth(2)),
        (Some("arn"), Some(_), Some(service), Some(rest))
            if service.eq_ignore_ascii_case("kms") && rest.starts_with("key/")
    )
}

/// Checks that a request names one action and one resource, as every AWS request does: an
/// action with `*` or `?` is a pattern, not a request (a policy simulator that matched it
/// literally would answer a question nobody asked), and so is a resource ARN with a wildcard.
/// The lone `*` stays accepted as the resource of actions that have no resource type. The
/// action must be one AWS has (the service catalogue, [`crate::catalog`]).
///
/// # Errors
/// A sentence naming the wildcard or the unknown action and what to ask instead.
pub fn check_request(action: &str, resource: &str) -> Result<(), String> {
    if action.contains(['*', '?']) {
        return Err(format!(
            "the action `{action}` has a wildcard; a request names one action (for example s3:GetObject): ask once per action"
        ));
    }
    if resource != "*" && resource.contains(['*', '?']) {
        return Err(format!(
            "the resource `{resource}` has a wildcard; a request names one resource (for example arn:aws:s3:::bucket/key): ask once per resource"
        ));
    }
    // An action AWS does not have would be an implicit deny that explains nothing.
    if let Some(why) = crate::catalog::catalog().unknown_action(action) {
        return Err(why);
    }
    Ok(())
}

impl Request {
    /// Builds a request. The resource account defaults to the ARN's account field, else (S3)
    /// the caller's account. Principal keys AWS always sets are added when the context does
    /// not give them: `aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:PrincipalType`,
    /// `aws:username` (users), `aws:PrincipalServiceName` and `aws:PrincipalIsAWSService`.
    pub fn new(
        principal: &str,
        action: &str,
        resource: &str,
        resource_account: Option<&str>,
        mut context: Context,
    ) -> Self {
        let lower = action.to_ascii_lowercase();
        let web = lower == "sts:assumerolewithwebidentity" || lower == "sts:assumerolewithsaml";
        let principal = Principal::parse(principal, web);
        let resource_account = resource_account
            .map(str::to_owned)
            .or_else(|| {
                Arn::parse(resource)
                    .map(|a| a.account.to_owned())
                    .filter(|a| !a.is_empty())
            })
            .or_else(|| principal.account().map(str::to_owned));
        let single = |s: &str| ContextValue::Single(s.to_owned());
        match &principal {
            Principal::Iam(p) => {
                let principal_arn = match &p.kind {
                    IamKind::AssumedRole { role, .. } => {
                        let partition = Arn::parse(&p.arn).map_or("aws", |a| a.partition);
                        format!("arn:{partition}:iam::{}:role/{role}", p.account)
                    }
                    _ => p.arn.clone(),
                };
                context.insert_default("aws:PrincipalArn", ContextValue::Single(principal_arn));
                context.insert_default("aws:PrincipalAccount", single(&p.account));
                let ty = match p.kind {
                    IamKind::Root => "Account",
                    IamKind::User => "User",
                    IamKind::FederatedUser => "FederatedUser",
                    _ => "AssumedRole",
                };
                context.insert_default("aws:PrincipalType", single(ty));
                if p.kind == IamKind::User
                    && let Some(name) = p.arn.rsplit('/').next()
                {
                    context.insert_default("aws:username", single(name));
                }
                context.insert_default("aws:PrincipalIsAWSService", single("false"));
            }
            Principal::Service(s) => {
                context.insert_default("aws:PrincipalServiceName", single(s));
                context.insert_default("aws:PrincipalIsAWSService", single("true"));
            }
            Principal::Anonymous => {
                context.insert_default("aws:PrincipalAccount", single("anonymous"));
                context.insert_default("aws:PrincipalType", single("Anonymous"));
            }
            Principal::Federated(_) => {}
        }
        let is_assume = lower.starts_with("sts:assumerole");
        let is_kms_key = is_kms_key_arn(resource);
        let no_permission = needs_no_permission(action);
        Self {
            principal,
            action: action.to_owned(),
            resource: resource.to_owned(),
            resource_account,
            context,
            is_assume,
            is_kms_key,
            no_permission,
        }
    }

    /// Whether the resource is a KMS key (whose key policy must allow).
    pub fn is_kms_key(&self) -> bool {
        self.is_kms_key
    }

    fn cross_account(&self) -> bool {
        match (self.principal.account(), &self.resource_account) {
            (Some(a), Some(b)) => a != b,
            _ => false,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Compiled policies

#[derive(Debug, Clone, PartialEq)]
enum ActionPat {
    Pattern(Pattern),
    Invalid,
}

#[derive(Debug, Clone, PartialEq)]
enum ResourcePat {
    Any,
    Arn(Box<condition::ArnPattern>),
    Template(Vec<template::Part>),
    Invalid,
}

/// How a resource-policy grant names the caller; decides which implicit denies still limit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grant {
    /// The caller's account: the caller's own identity policy must also allow.
    Account,
    /// The caller's role (request from one of its sessions): boundary and session policy limit it.
    Role,
    /// The user, the session, a service, a provider or `*`: nothing but explicit denies limits it.
    Direct,
}

#[derive(Debug, Clone, PartialEq)]
enum PVal {
    Everyone,
    Account(Text),
    Role {
        account: Text,
        name: Text,
        arn: Text,
    },
    Exact(Text),
    Service(Text),
    Federated(Text),
    Canonical(Text),
    Invalid,
}

#[derive(Debug, Clone, PartialEq)]
enum CPrincipal {
    None,
    Star,
    Values(Vec<PVal>),
}

#[derive(Debug, Clone, PartialEq)]
struct CCond {
    op: Option<Operator>,
    key: Text,
    values: Vec<Value>,
    block: usize,
    entry: usize,
}

#[derive(Debug, Clone, PartialEq)]
struct CStatement {
    effect: Option<Effect>,
    principal: CPrincipal,
    principal_negated: bool,
    principal_broken: bool,
    actions: Option<(bool, Vec<ActionPat>, bool)>,
    resources: Option<(bool, Vec<ResourcePat>, bool)>,
    conds: Vec<CCond>,
    broken: bool,
}

/// A policy ready for evaluation; keeps its parsed form for explanations.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledPolicy {
    /// Boxed: explanations need it, decisions never read it, so it stays out of the way of the
    /// statements in a [`PolicySet`] (a compiled policy is two pointers and a length).
    policy: Box<Policy>,
    statements: Vec<CStatement>,
}

impl CompiledPolicy {
    /// Compiles a parsed policy.
    pub fn compile(policy: Policy) -> Self {
        let vars = policy.variables_enabled();
        let statements = policy
            .statements
            .iter()
            .map(|s| compile_statement(s, vars))
            .collect();
        Self {
            policy: Box::new(policy),
            statements,
        }
    }

    /// Parses and compiles.
    ///
    /// # Errors
    /// The parse error.
    pub fn parse(text: &str) -> Result<Self, crate::policy::ParseError> {
        Policy::parse(text).map(Self::compile)
    }

    /// The parsed policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
}

fn compile_statement(s: &Statement, vars: bool) -> CStatement {
    let (principal, principal_negated, principal_broken) = match &s.principal {
        None => (CPrincipal::None, false, false),
        Some(p) => {
            let c = match &p.value {
                PrincipalValue::Star(_) => CPrincipal::Star,
                PrincipalValue::Map(entries) => CPrincipal::Values(
                    entries
                        .iter()
                        .flat_map(|e| {
                            e.values
                                .iter()
                                .map(move |v| compile_principal(&e.kind.value, &v.value))
                        })
                        .collect(),
                ),
            };
            (c, p.negated, p.broken)
        }
    };
    let actions = s.action.as_ref().map(|a| {
        (
            a.negated,
            a.items.iter().map(|i| compile_action(&i.value)).collect(),
            a.broken,
        )
    });
    let resources = s.resource.as_ref().map(|r| {
        (
            r.negated,
            r.items
                .iter()
                .map(|i| compile_resource(&i.value, vars))
                .collect(),
            r.broken,
        )
    });
    let mut conds = Vec::with_capacity(s.conditions.iter().map(|b| b.entries.len().max(1)).sum());
    let mut broken = s.broken;
    for (bi, block) in s.conditions.iter().enumerate() {
        let op = Operator::parse(&block.operator.value);
        broken |= block.broken;
        for (ei, entry) in block.entries.iter().enumerate() {
            broken |= entry.broken;
            let values = match op {
                Some(op) => entry
                    .values
                    .iter()
                    .map(|v| Value::compile(op.base, &v.value.0, vars))
                    .collect(),
                None => Vec::new(),
            };
            conds.push(CCond {
                op,
                key: lowercase_text(&entry.key.value),
                values,
                block: bi,
                entry: ei,
            });
        }
        if op.is_none() && block.entries.is_empty() {
            // An unknown operator with an empty block: nothing to evaluate, still unknown.
            conds.push(CCond {
                op: None,
                key: Text::default(),
                values: Vec::new(),
                block: bi,
                entry: 0,
            });
        }
    }
    CStatement {
        effect: s.effect.as_ref().map(|e| e.value),
        principal,
        principal_negated,
        principal_broken,
        actions,
        resources,
        conds,
        broken,
    }
}

fn compile_action(a: &str) -> ActionPat {
    if a == "*" {
        return ActionPat::Pattern(Pattern::new("*", Case::Insensitive));
    }
    let Some((svc, name)) = a.split_once(':') else {
        return ActionPat::Invalid;
    };
    if svc.is_empty()
        || name.is_empty()
        || name.contains(':')
        || a.bytes().any(|b| b.is_ascii_whitespace() || b == b',')
    {
        return ActionPat::Invalid;
    }
    ActionPat::Pattern(Pattern::new(a, Case::Insensitive))
}

fn compile_resource(r: &str, vars: bool) -> ResourcePat {
    if r == "*" {
        return ResourcePat::Any;
    }
    if vars {
        match template::parse(r) {
            Ok(Some(parts)) => return ResourcePat::Template(parts),
            Ok(None) => {}
            Err(_) => return ResourcePat::Invalid,
        }
    }
    arn_resource_pattern(crate::glob::tokens(r))
        .map_or(ResourcePat::Invalid, |p| ResourcePat::Arn(Box::new(p)))
}

/// Resource ARNs: partition, service, region and account compare without case, the resource
/// part with case (see `docs/evaluation.md`).
fn arn_resource_pattern(tokens: impl IntoIterator<Item = Token>) -> Option<condition::ArnPattern> {
    condition::arn_pattern_with(
        tokens,
        [
            Case::Insensitive,
            Case::Insensitive,
            Case::Insensitive,
            Case::Insensitive,
            Case::Sensitive,
        ],
    )
}

fn compile_principal(kind: &str, v: &str) -> PVal {
    match kind {
        "AWS" => {
            if v == "*" {
                return PVal::Everyone;
            }
            if is_account_id(v) {
                return PVal::Account(Text::from(v));
            }
            let Some(arn) = Arn::parse(v) else {
                return PVal::Exact(Text::from(v));
            };
            if v.contains('*') || v.contains('?') {
                return PVal::Invalid;
            }
            match (arn.service, arn.resource) {
                ("iam", "root") => PVal::Account(Text::from(arn.account)),
                ("iam", r) if r.starts_with("role/") => PVal::Role {
                    account: Text::from(arn.account),
                    name: lowercase_text(r.rsplit('/').next().unwrap_or("")),
                    arn: Text::from(v),
                },
                _ => PVal::Exact(Text::from(v)),
            }
        }
        "Service" => {
            if v.contains('*') {
                PVal::Invalid
            } else {
                PVal::Service(Text::from(v))
            }
        }
        "Federated" => PVal::Federated(Text::from(v)),
        "CanonicalUser" => PVal::Canonical(Text::from(v)),
        _ => PVal::Invalid,
    }
}

// ---------------------------------------------------------------------------------------------
// Outcomes and tracing

/// Which kind of policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// Service control policy.
    Scp,
    /// Resource control policy.
    Rcp,
    /// The role's trust policy.
    Trust,
    /// A resource-based policy (bucket policy).
    Resource,
    /// The caller's identity policies.
    Identity,
    /// The permissions boundary.
    Boundary,
    /// The session policy.
    Session,
    /// The policy of the VPC endpoint the request came through.
    Endpoint,
}

impl PolicyKind {
    /// Every kind.
    pub const ALL: [PolicyKind; 8] = [
        PolicyKind::Scp,
        PolicyKind::Rcp,
        PolicyKind::Trust,
        PolicyKind::Resource,
        PolicyKind::Identity,
        PolicyKind::Boundary,
        PolicyKind::Session,
        PolicyKind::Endpoint,
    ];

    /// The kind with this case-schema name (as [`PolicyKind::as_str`] gives it, and as an
    /// explanation's reason names its policy).
    #[must_use]
    pub fn from_name(name: &str) -> Option<PolicyKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The case-schema name (`identity`, `trust`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Scp => "scp",
            PolicyKind::Rcp => "rcp",
            PolicyKind::Trust => "trust",
            PolicyKind::Resource => "resource",
            PolicyKind::Identity => "identity",
            PolicyKind::Boundary => "boundary",
            PolicyKind::Session => "session",
            PolicyKind::Endpoint => "endpoint",
        }
    }

    /// How AWS's messages name it.
    pub fn long_name(self) -> &'static str {
        match self {
            PolicyKind::Scp => "service control policy",
            PolicyKind::Rcp => "resource control policy",
            PolicyKind::Trust => "role trust policy",
            PolicyKind::Resource => "resource-based policy",
            PolicyKind::Identity => "identity-based policy",
            PolicyKind::Boundary => "permissions boundary",
            PolicyKind::Session => "session policy",
            PolicyKind::Endpoint => "VPC endpoint policy",
        }
    }
}

/// A statement of a policy in a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatementRef {
    /// The policy kind.
    pub kind: PolicyKind,
    /// Index among policies of that kind.
    pub policy: usize,
    /// Index of the statement.
    pub statement: usize,
}

/// Why a statement did not apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    /// The principal is not named (or is excluded by `NotPrincipal`).
    Principal,
    /// The action is not covered.
    Action,
    /// The resource is not covered.
    Resource,
    /// A condition entry is false: block and entry index.
    Condition {
        /// Index of the operator block.
        block: usize,
        /// Index of the key under it.
        entry: usize,
    },
}

/// What became of one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It applies.
    Applies,
    /// It does not apply, and this is the first thing that did not match.
    NotApplicable(Miss),
    /// Part of it cannot be interpreted: an Allow is ignored, a Deny applies.
    Uninterpretable(Option<Miss>),
}

/// Why the decision was an implicit deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// No resource control policy allowed.
    Rcp,
    /// No service control policy allowed.
    Scp,
    /// The trust policy does not allow the caller (or there is none).
    Trust,
    /// The resource policy grants nothing to this caller (anonymous, service, cross-account).
    Resource,
    /// No identity-based policy allows.
    Identity,
    /// The permissions boundary does not allow.
    Boundary,
    /// The session policy does not allow.
    Session,
    /// The VPC endpoint policy does not allow.
    Endpoint,
}

impl Stage {
    /// The policy kind that lacked an allow.
    pub fn kind(self) -> PolicyKind {
        match self {
            Stage::Rcp => PolicyKind::Rcp,
            Stage::Endpoint => PolicyKind::Endpoint,
            Stage::Scp => PolicyKind::Scp,
            Stage::Trust => PolicyKind::Trust,
            Stage::Resource => PolicyKind::Resource,
            Stage::Identity => PolicyKind::Identity,
            Stage::Boundary => PolicyKind::Boundary,
            Stage::Session => PolicyKind::Session,
        }
    }
}

/// The final decision.
#[derive(serde::Serialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Allowed.
    Allow,
    /// An applicable Deny statement.
    ExplicitDeny,
    /// Nothing allowed it.
    ImplicitDeny,
}

impl Decision {
    /// `Allow`, `ExplicitDeny`, `ImplicitDeny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "Allow",
            Decision::ExplicitDeny => "ExplicitDeny",
            Decision::ImplicitDeny => "ImplicitDeny",
        }
    }

    /// Parses the case-schema spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Allow" => Some(Decision::Allow),
            "ExplicitDeny" => Some(Decision::ExplicitDeny),
            "ImplicitDeny" => Some(Decision::ImplicitDeny),
            _ => None,
        }
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Receives what the evaluator looked at.
pub trait Tracer {
    /// Whether to keep evaluating after the decision is known (to list every deny).
    const EXHAUSTIVE: bool;
    /// A statement was evaluated.
    fn statement(&mut self, at: StatementRef, effect: Option<Effect>, outcome: Outcome);
}

/// Records nothing; used by [`PolicySet::decide`].
pub struct NoTrace;

impl Tracer for NoTrace {
    const EXHAUSTIVE: bool = false;
    fn statement(&mut self, _: StatementRef, _: Option<Effect>, _: Outcome) {}
}

/// A statement and what became of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Traced {
    /// Which statement.
    pub at: StatementRef,
    /// Its effect (`None` when unreadable).
    pub effect: Option<Effect>,
    /// The outcome.
    pub outcome: Outcome,
}

/// Records every statement evaluated.
#[derive(Debug, Default)]
pub struct Recorder {
    /// In evaluation order.
    pub trace: Vec<Traced>,
}

impl Tracer for Recorder {
    const EXHAUSTIVE: bool = true;
    fn statement(&mut self, at: StatementRef, effect: Option<Effect>, outcome: Outcome) {
        self.trace.push(Traced {
            at,
            effect,
            outcome,
        });
    }
}

/// A decision with its reasons.
#[derive(Debug)]
pub struct Response {
    /// The decision.
    pub decision: Decision,
    /// The statements that decided: the applicable denies, or the allows that granted.
    pub deciding: Vec<StatementRef>,
    /// For an implicit deny, the stage that had no allow.
    pub stage: Option<Stage>,
    /// Every statement looked at, with its outcome.
    pub trace: Vec<Traced>,
}

// ---------------------------------------------------------------------------------------------
// The policy set and the decision procedure

/// All policies that bear on a request.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    /// The caller's identity policies (managed and inline).
    pub identity: Vec<CompiledPolicy>,
    /// The trust policy of the role being assumed.
    pub trust: Option<CompiledPolicy>,
    /// A resource-based policy (bucket policy).
    pub resource: Option<CompiledPolicy>,
    /// The caller's permissions boundary (normally one policy).
    pub boundary: Vec<CompiledPolicy>,
    /// The session policy passed when the role was assumed.
    pub session: Option<CompiledPolicy>,
    /// Service control policies.
    pub scp: Vec<CompiledPolicy>,
    /// Resource control policies.
    pub rcp: Vec<CompiledPolicy>,
    /// The policy of the VPC endpoint the request came through (none: not through one).
    pub endpoint: Option<CompiledPolicy>,
}

impl PolicySet {
    /// The set as borrowed slices, for [`PolicySetRef`]'s methods.
    pub fn as_ref(&self) -> PolicySetRef<'_> {
        PolicySetRef {
            identity: &self.identity,
            trust: self.trust.as_ref(),
            resource: self.resource.as_ref(),
            boundary: &self.boundary,
            session: self.session.as_ref(),
            scp: &self.scp,
            rcp: &self.rcp,
            endpoint: self.endpoint.as_ref(),
        }
    }

    /// The decision alone, without allocating (unless a policy uses `${…}` variables).
    pub fn decide(&self, req: &Request) -> Decision {
        self.as_ref().decide(req)
    }

    /// The decision with its reasons.
    pub fn evaluate(&self, req: &Request) -> Response {
        self.as_ref().evaluate(req)
    }

    /// The policy a statement reference points into.
    pub fn policy(&self, kind: PolicyKind, index: usize) -> Option<&CompiledPolicy> {
        self.as_ref().policy(kind, index)
    }
}

/// A [`PolicySet`] that borrows its policies, so that a server can decide with policies it
/// holds in a cache (`Arc`s, slices) without copying them per request.
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicySetRef<'a> {
    /// The caller's identity policies (managed and inline).
    pub identity: &'a [CompiledPolicy],
    /// The trust policy of the role being assumed.
    pub trust: Option<&'a CompiledPolicy>,
    /// A resource-based policy (bucket policy).
    pub resource: Option<&'a CompiledPolicy>,
    /// The caller's permissions boundary.
    pub boundary: &'a [CompiledPolicy],
    /// The session policy passed when the role was assumed.
    pub session: Option<&'a CompiledPolicy>,
    /// Service control policies.
    pub scp: &'a [CompiledPolicy],
    /// Resource control policies.
    pub rcp: &'a [CompiledPolicy],
    /// The policy of the VPC endpoint the request came through.
    pub endpoint: Option<&'a CompiledPolicy>,
}

impl<'a> From<&'a PolicySet> for PolicySetRef<'a> {
    fn from(set: &'a PolicySet) -> Self {
        set.as_ref()
    }
}

impl<'a> PolicySetRef<'a> {
    /// The decision alone, without allocating (unless a policy uses `${…}` variables).
    pub fn decide(&self, req: &Request) -> Decision {
        self.run(req, &mut NoTrace).0
    }

    /// The decision with its reasons.
    pub fn evaluate(&self, req: &Request) -> Response {
        let mut rec = Recorder::default();
        let (decision, stage) = self.run(req, &mut rec);
        let deciding = rec
            .trace
            .iter()
            .filter(|t| match decision {
                Decision::ExplicitDeny => {
                    t.effect != Some(Effect::Allow) && applies_as_deny(t.outcome)
                }
                Decision::Allow => t.effect == Some(Effect::Allow) && t.outcome == Outcome::Applies,
                Decision::ImplicitDeny => false,
            })
            .map(|t| t.at)
            .collect();
        Response {
            decision,
            deciding,
            stage,
            trace: rec.trace,
        }
    }

    /// The policy a statement reference points into.
    pub fn policy(&self, kind: PolicyKind, index: usize) -> Option<&'a CompiledPolicy> {
        match kind {
            PolicyKind::Identity => self.identity.get(index),
            // For an AssumeRole request without a trust policy, the resource-based policy
            // plays the role's trust policy (see `role_policy`), and is reported as such.
            PolicyKind::Trust => self.trust.or(self.resource),
            PolicyKind::Resource => self.resource,
            PolicyKind::Boundary => self.boundary.get(index),
            PolicyKind::Session => self.session,
            PolicyKind::Scp => self.scp.get(index),
            PolicyKind::Rcp => self.rcp.get(index),
            PolicyKind::Endpoint => self.endpoint,
        }
    }

    fn role_policy(&self, req: &Request) -> Option<(PolicyKind, &'a CompiledPolicy)> {
        if req.is_assume
            && let Some(t) = self.trust
        {
            return Some((PolicyKind::Trust, t));
        }
        self.resource.map(|r| {
            (
                if req.is_assume {
                    PolicyKind::Trust
                } else {
                    PolicyKind::Resource
                },
                r,
            )
        })
    }

    fn run<T: Tracer>(&self, req: &Request, t: &mut T) -> (Decision, Option<Stage>) {
        let is_iam = matches!(req.principal, Principal::Iam(_));
        if req.no_permission && is_iam {
            // Authentication operations: no policy is consulted, so none can deny.
            return (Decision::Allow, None);
        }
        let boundary_attached = is_iam && !self.boundary.is_empty();
        let role_policy = self.role_policy(req);
        let ctx = Ctx {
            req,
            boundary_attached,
        };

        // 1. Explicit deny anywhere that applies to this caller.
        let mut denied = false;
        let mut groups: [(PolicyKind, &[CompiledPolicy]); 5] = [
            (PolicyKind::Scp, if is_iam { self.scp } else { &[] }),
            (PolicyKind::Rcp, self.rcp),
            (
                PolicyKind::Identity,
                if is_iam { self.identity } else { &[] },
            ),
            (
                PolicyKind::Boundary,
                if is_iam { self.boundary } else { &[] },
            ),
            (PolicyKind::Session, &[]),
        ];
        let session_slice = self
            .session
            .filter(|_| req.principal.is_session())
            .map(std::slice::from_ref)
            .unwrap_or(&[]);
        groups[4].1 = session_slice;
        let role_slice = role_policy
            .map(|(_, p)| std::slice::from_ref(p))
            .unwrap_or(&[]);
        let role_kind = role_policy.map_or(PolicyKind::Resource, |(k, _)| k);
        let endpoint_slice = self.endpoint.map(std::slice::from_ref).unwrap_or(&[]);
        for (kind, policies) in groups
            .iter()
            .copied()
            .chain(std::iter::once((role_kind, role_slice)))
            .chain(std::iter::once((PolicyKind::Endpoint, endpoint_slice)))
        {
            for (pi, p) in policies.iter().enumerate() {
                if any_deny(kind, pi, p, &ctx, t) {
                    denied = true;
                    if !T::EXHAUSTIVE {
                        return (Decision::ExplicitDeny, None);
                    }
                }
            }
        }
        if denied {
            return (Decision::ExplicitDeny, None);
        }

        // 2. Resource control policies must allow (when any are in force).
        if !self.rcp.is_empty() && any_allow_in(PolicyKind::Rcp, self.rcp, &ctx, t).is_none() {
            return (Decision::ImplicitDeny, Some(Stage::Rcp));
        }
        // 2b. A request through a VPC endpoint needs the endpoint policy's allow as well,
        // whoever the caller is.
        if let Some(ep) = self.endpoint
            && allow_grant(PolicyKind::Endpoint, 0, ep, &ctx, t).is_none()
        {
            return (Decision::ImplicitDeny, Some(Stage::Endpoint));
        }
        // 3. Service control policies must allow, for IAM callers.
        if is_iam
            && !self.scp.is_empty()
            && any_allow_in(PolicyKind::Scp, self.scp, &ctx, t).is_none()
        {
            return (Decision::ImplicitDeny, Some(Stage::Scp));
        }
        // 4. The resource (or trust) policy's best grant to this caller.
        let grant = role_policy.and_then(|(k, p)| allow_grant(k, 0, p, &ctx, t));

        let Principal::Iam(ip) = &req.principal else {
            // Anonymous callers, services and providers have no identity policies: only the
            // resource or trust policy can allow.
            return match grant {
                Some(_) => (Decision::Allow, None),
                None => (
                    Decision::ImplicitDeny,
                    Some(if req.is_assume {
                        Stage::Trust
                    } else {
                        Stage::Resource
                    }),
                ),
            };
        };

        // 5–7. Identity, boundary, session.
        let identity_ok = ip.kind == IamKind::Root
            || any_allow_in(PolicyKind::Identity, self.identity, &ctx, t).is_some();
        let boundary_ok = self.boundary.is_empty()
            || any_allow_in(PolicyKind::Boundary, self.boundary, &ctx, t).is_some();
        let session_ok = match (self.session, req.principal.is_session()) {
            (Some(s), true) => allow_grant(PolicyKind::Session, 0, s, &ctx, t).is_some(),
            _ => true,
        };
        let chain = || {
            if !identity_ok {
                Some(Stage::Identity)
            } else if !boundary_ok {
                Some(Stage::Boundary)
            } else if !session_ok {
                Some(Stage::Session)
            } else {
                None
            }
        };
        let assume_role = req.is_assume && req.resource.contains(":role/");

        if assume_role && role_policy.is_none() {
            // A role can only be assumed when its trust policy allows; none was given.
            return (Decision::ImplicitDeny, Some(Stage::Trust));
        }
        if req.cross_account() || (assume_role && grant == Some(Grant::Account)) {
            // Both sides must allow: the caller's account (identity, boundary, session) and
            // the resource's (resource or trust policy).
            return match (chain(), grant) {
                (None, Some(_)) => (Decision::Allow, None),
                (Some(stage), _) => (Decision::ImplicitDeny, Some(stage)),
                (None, None) => (
                    Decision::ImplicitDeny,
                    Some(if assume_role {
                        Stage::Trust
                    } else {
                        Stage::Resource
                    }),
                ),
            };
        }
        // A grant to the caller's role: its boundary and session policy still limit it.
        let role_grant = || {
            if boundary_ok && session_ok {
                (Decision::Allow, None)
            } else if boundary_ok {
                (Decision::ImplicitDeny, Some(Stage::Session))
            } else {
                (Decision::ImplicitDeny, Some(Stage::Boundary))
            }
        };
        if assume_role {
            // Same account, trust policy must name the caller explicitly.
            return match grant {
                Some(Grant::Direct) => (Decision::Allow, None),
                Some(Grant::Role) => role_grant(),
                _ => (Decision::ImplicitDeny, Some(Stage::Trust)),
            };
        }
        if req.is_kms_key {
            // A KMS key policy is required, like a role's trust policy: it must allow the
            // caller (then nothing else is needed) or the account (then the caller's identity
            // policies decide, with its boundary and session policy). No key policy, no access.
            return match grant {
                Some(Grant::Direct) => (Decision::Allow, None),
                Some(Grant::Role) => role_grant(),
                Some(Grant::Account) => match chain() {
                    None => (Decision::Allow, None),
                    Some(stage) => (Decision::ImplicitDeny, Some(stage)),
                },
                None => (Decision::ImplicitDeny, Some(Stage::Resource)),
            };
        }
        // Same account: a resource-policy grant may suffice on its own (table in docs).
        match grant {
            Some(Grant::Direct) => return (Decision::Allow, None),
            Some(Grant::Role) if boundary_ok && session_ok => return (Decision::Allow, None),
            _ => {}
        }
        match chain() {
            None => (Decision::Allow, None),
            Some(stage) => (Decision::ImplicitDeny, Some(stage)),
        }
    }
}

fn applies_as_deny(o: Outcome) -> bool {
    matches!(o, Outcome::Applies | Outcome::Uninterpretable(_))
}

struct Ctx<'a> {
    req: &'a Request,
    boundary_attached: bool,
}

fn any_deny<T: Tracer>(
    kind: PolicyKind,
    pi: usize,
    p: &CompiledPolicy,
    ctx: &Ctx<'_>,
    t: &mut T,
) -> bool {
    let mut denied = false;
    for (si, s) in p.statements.iter().enumerate() {
        if s.effect == Some(Effect::Allow) {
            continue;
        }
        let (outcome, _) = statement_outcome(kind, s, ctx, true);
        t.statement(
            StatementRef {
                kind,
                policy: pi,
                statement: si,
            },
            s.effect,
            outcome,
        );
        if applies_as_deny(outcome) {
            denied = true;
            if !T::EXHAUSTIVE {
                return true;
            }
        }
    }
    denied
}

fn any_allow_in<T: Tracer>(
    kind: PolicyKind,
    ps: &[CompiledPolicy],
    ctx: &Ctx<'_>,
    t: &mut T,
) -> Option<Grant> {
    let mut best = None;
    for (pi, p) in ps.iter().enumerate() {
        if let Some(g) = allow_grant(kind, pi, p, ctx, t) {
            best = best.max(Some(g));
            if !T::EXHAUSTIVE {
                return best;
            }
        }
    }
    best
}

fn allow_grant<T: Tracer>(
    kind: PolicyKind,
    pi: usize,
    p: &CompiledPolicy,
    ctx: &Ctx<'_>,
    t: &mut T,
) -> Option<Grant> {
    let mut best: Option<Grant> = None;
    for (si, s) in p.statements.iter().enumerate() {
        if s.effect != Some(Effect::Allow) {
            continue;
        }
        let (outcome, grant) = statement_outcome(kind, s, ctx, false);
        t.statement(
            StatementRef {
                kind,
                policy: pi,
                statement: si,
            },
            s.effect,
            outcome,
        );
        if outcome == Outcome::Applies {
            best = best.max(Some(grant));
            if best == Some(Grant::Direct) && !T::EXHAUSTIVE {
                return best;
            }
        }
    }
    best
}

/// Whether a statement applies; for resource-type policies also how the caller was named.
fn statement_outcome(
    kind: PolicyKind,
    s: &CStatement,
    ctx: &Ctx<'_>,
    as_deny: bool,
) -> (Outcome, Grant) {
    let req = ctx.req;
    let mut unknown: Option<Option<Miss>> = if s.broken || s.effect.is_none() {
        Some(None)
    } else {
        None
    };
    let mut grant = Grant::Direct;
    let resource_type = matches!(
        kind,
        PolicyKind::Trust | PolicyKind::Resource | PolicyKind::Rcp | PolicyKind::Endpoint
    );

    // Principal (resource-type policies only).
    if resource_type {
        let m = if s.principal_negated {
            if as_deny && ctx.boundary_attached {
                // A Deny with NotPrincipal always denies a caller that has a boundary attached.
                Tri::True
            } else {
                let naming = if as_deny { Naming::All } else { Naming::Any };
                let named = not_principal_names(&s.principal, &req.principal, naming);
                match named {
                    Tri::True => Tri::False,
                    Tri::False => Tri::True,
                    Tri::Unknown => Tri::Unknown,
                }
            }
        } else {
            match principal_grant(&s.principal, &req.principal) {
                Ok(Some(g)) => {
                    grant = g;
                    Tri::True
                }
                Ok(None) => Tri::False,
                Err(()) => Tri::Unknown,
            }
        };
        let m = if s.principal_broken && m == Tri::False {
            Tri::Unknown
        } else {
            m
        };
        match m {
            Tri::False => return (Outcome::NotApplicable(Miss::Principal), grant),
            Tri::Unknown => unknown = Some(unknown.flatten().or(Some(Miss::Principal))),
            Tri::True => {}
        }
        // `"*"` with a condition on aws:PrincipalArn is a direct grant; plain "*" too.
    }

    // Action.
    match &s.actions {
        None => unknown = Some(unknown.flatten().or(Some(Miss::Action))),
        Some((negated, pats, broken)) => {
            let mut any = Tri::False;
            for p in pats {
                match p {
                    ActionPat::Pattern(pat) if pat.is_match(&req.action) => {
                        any = Tri::True;
                        break;
                    }
                    ActionPat::Invalid => any = Tri::Unknown,
                    ActionPat::Pattern(_) => {}
                }
            }
            if *broken && any == Tri::False {
                any = Tri::Unknown;
            }
            match list_result(any, *negated) {
                Tri::False => return (Outcome::NotApplicable(Miss::Action), grant),
                Tri::Unknown => unknown = Some(unknown.flatten().or(Some(Miss::Action))),
                Tri::True => {}
            }
        }
    }

    // Resource (a trust policy has none).
    match &s.resources {
        None if kind == PolicyKind::Trust => {}
        None => unknown = Some(unknown.flatten().or(Some(Miss::Resource))),
        Some((negated, pats, broken)) => {
            let mut any = Tri::False;
            for p in pats {
                let r = resource_match(p, req);
                if r == Tri::True {
                    any = Tri::True;
                    break;
                }
                if r == Tri::Unknown {
                    any = Tri::Unknown;
                }
            }
            if *broken && any == Tri::False {
                any = Tri::Unknown;
            }
            match list_result(any, *negated) {
                Tri::False => return (Outcome::NotApplicable(Miss::Resource), grant),
                Tri::Unknown => unknown = Some(unknown.flatten().or(Some(Miss::Resource))),
                Tri::True => {}
            }
        }
    }

    // Conditions: all must hold.
    for c in &s.conds {
        match eval_condition(c, &req.context) {
            Tri::True => {}
            Tri::False => {
                return (
                    Outcome::NotApplicable(Miss::Condition {
                        block: c.block,
                        entry: c.entry,
                    }),
                    grant,
                );
            }
            Tri::Unknown => {
                unknown = Some(unknown.flatten().or(Some(Miss::Condition {
                    block: c.block,
                    entry: c.entry,
                })))
            }
        }
    }
    match unknown {
        Some(m) => (Outcome::Uninterpretable(m), grant),
        None => (Outcome::Applies, grant),
    }
}

fn list_result(any: Tri, negated: bool) -> Tri {
    match (any, negated) {
        (Tri::Unknown, _) => Tri::Unknown,
        (Tri::True, false) | (Tri::False, true) => Tri::True,
        _ => Tri::False,
    }
}

fn resource_match(p: &ResourcePat, req: &Request) -> Tri {
    match p {
        ResourcePat::Any => Tri::True,
        ResourcePat::Invalid => Tri::Unknown,
        ResourcePat::Arn(parts) => Tri::from_bool(condition::arn_match(parts, &req.resource)),
        ResourcePat::Template(parts) => {
            let mut toks = Vec::new();
            if template::resolve(parts, true, &|k| req.context.single(k), &mut toks).is_none() {
                return Tri::False;
            }
            match arn_resource_pattern(toks) {
                Some(p) => Tri::from_bool(condition::arn_match(&p, &req.resource)),
                None => Tri::Unknown,
            }
        }
    }
}

/// How the principal element names the caller: `Ok(Some(grant))`, `Ok(None)` when it does
/// not, `Err(())` when an entry cannot be interpreted and nothing else matched.
fn principal_grant(p: &CPrincipal, who: &Principal) -> Result<Option<Grant>, ()> {
    let vals = match p {
        CPrincipal::None => return Err(()),
        CPrincipal::Star => return Ok(Some(Grant::Direct)),
        CPrincipal::Values(v) => v,
    };
    let mut best = None;
    let mut invalid = false;
    for v in vals {
        let g = match (v, who) {
            (PVal::Everyone, _) => Some(Grant::Direct),
            (PVal::Invalid, _) => {
                invalid = true;
                None
            }
            (PVal::Service(s), Principal::Service(w)) if s == w => Some(Grant::Direct),
            (PVal::Federated(f), Principal::Federated(w)) if f == w => Some(Grant::Direct),
            (PVal::Canonical(_), _) => None,
            (PVal::Account(a), Principal::Iam(ip)) if *a == ip.account => Some(Grant::Account),
            (PVal::Role { account, name, arn }, Principal::Iam(ip)) => match &ip.kind {
                IamKind::Role { .. } if *arn == ip.arn => Some(Grant::Role),
                IamKind::AssumedRole { role, .. }
                    if *account == ip.account && role.eq_ignore_ascii_case(name) =>
                {
                    Some(Grant::Role)
                }
                _ => None,
            },
            (PVal::Exact(e), Principal::Iam(ip)) if *e == ip.arn => Some(Grant::Direct),
            _ => None,
        };
        best = best.max(g);
    }
    match best {
        Some(g) => Ok(Some(g)),
        None if invalid => Err(()),
        None => Ok(None),
    }
}

/// How many of the forms a caller is matched against a `NotPrincipal` list must name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Naming {
    /// Every form (its own ARN, its account, and for a role session its role): what exempts a
    /// caller from a `Deny` + `NotPrincipal`, so that the Deny applies when in doubt.
    All,
    /// Any form: what keeps a caller out of an `Allow` + `NotPrincipal` ("allows all
    /// principals except the one named"), so that the Allow does not apply when in doubt.
    Any,
}

/// Whether a `NotPrincipal` list names the caller, under `naming`. AWS evaluates a session as
/// its account, its role and itself; see `docs/evaluation.md`. An invalid value that could have
/// named the caller makes the answer unknown (both sides fail closed).
fn not_principal_names(p: &CPrincipal, who: &Principal, naming: Naming) -> Tri {
    let vals = match p {
        CPrincipal::Values(v) => v,
        CPrincipal::Star => return Tri::True,
        CPrincipal::None => return Tri::Unknown,
    };
    let has = |f: &dyn Fn(&PVal) -> bool| vals.iter().any(f);
    if has(&|v| matches!(v, PVal::Everyone)) {
        return Tri::True;
    }
    let named = match who {
        Principal::Anonymous => false,
        Principal::Service(s) => has(&|v| matches!(v, PVal::Service(x) if x == s)),
        Principal::Federated(f) => has(&|v| matches!(v, PVal::Federated(x) if x == f)),
        Principal::Iam(ip) => {
            let account = has(&|v| matches!(v, PVal::Account(a) if *a == ip.account));
            let own = has(&|v| match v {
                PVal::Exact(e) => *e == ip.arn,
                PVal::Role { arn, .. } => *arn == ip.arn,
                _ => false,
            });
            let role = match &ip.kind {
                IamKind::AssumedRole { role, .. } => has(
                    &|v| matches!(v, PVal::Role { account, name, .. } if *account == ip.account && role.eq_ignore_ascii_case(name)),
                ),
                _ => false,
            };
            match (naming, &ip.kind) {
                (Naming::Any, _) => account || own || role,
                (Naming::All, IamKind::Root) => account,
                (Naming::All, IamKind::AssumedRole { .. }) => account && role && own,
                (Naming::All, _) => account && own,
            }
        }
    };
    if !named && vals.iter().any(|v| matches!(v, PVal::Invalid)) {
        Tri::Unknown
    } else {
        Tri::from_bool(named)
    }
}

fn eval_condition(c: &CCond, ctx: &Context) -> Tri {
    let Some(op) = c.op else { return Tri::Unknown };
    let lookup = |k: &str| ctx.single(k);
    let present = ctx.get(&c.key);
    if op.base == condition::Base::Null {
        return match op.set {
            SetQualifier::ForAll => Tri::True,
            SetQualifier::ForAny => Tri::False,
            SetQualifier::None => {
                let is_absent = match present {
                    None => true,
                    Some(ContextValue::Multi(v)) => v.is_empty(),
                    Some(ContextValue::Single(_)) => false,
                };
                let mut r = Tri::False;
                for v in &c.values {
                    match v {
                        Value::Bool(want_absent) if *want_absent == is_absent => return Tri::True,
                        Value::Bool(_) => {}
                        _ => r = Tri::Unknown,
                    }
                }
                r
            }
        };
    }
    let negated = op.base.negated();
    // One request value against the policy values: positive operators OR, negated NOR.
    let one = |r: &str| -> Tri {
        let any = Tri::any(
            c.values
                .iter()
                .map(|v| condition::compare(positive_of(op.base), v, r, &lookup)),
        );
        if negated { !any } else { any }
    };
    match op.set {
        SetQualifier::None => match present {
            None => Tri::from_bool(op.if_exists || negated),
            Some(ContextValue::Single(r)) => one(r),
            Some(ContextValue::Multi(v)) if v.len() == 1 => one(&v[0]),
            Some(ContextValue::Multi(v)) if v.is_empty() => Tri::from_bool(op.if_exists || negated),
            // A plain operator on a multi-valued key: AWS's behaviour is not documented; fail closed.
            Some(ContextValue::Multi(_)) => Tri::Unknown,
        },
        // Every request value must match; vacuously true when the key is absent or empty.
        SetQualifier::ForAll => present.map_or(Tri::True, |p| {
            Tri::all(request_values(p).iter().map(|r| one(r)))
        }),
        // Some request value must match; false when absent (true with IfExists) or empty.
        SetQualifier::ForAny => match present {
            None => Tri::from_bool(op.if_exists),
            Some(p) => Tri::any(request_values(p).iter().map(|r| one(r))),
        },
    }
}

/// The request values of a key, one or many.
fn request_values(present: &ContextValue) -> &[String] {
    match present {
        ContextValue::Single(r) => std::slice::from_ref(r),
        ContextValue::Multi(v) => v,
    }
}

/// The comparison a negated operator negates (compare() works on the positive form).
fn positive_of(b: Base) -> Base {
    match b {
        Base::StringNotEquals => Base::StringEquals,
        Base::StringNotEqualsIgnoreCase => Base::StringEqualsIgnoreCase,
        Base::StringNotLike => Base::StringLike,
        Base::NumericNotEquals => Base::NumericEquals,
        Base::DateNotEquals => Base::DateEquals,
        Base::NotIpAddress => Base::IpAddress,
        Base::ArnNotEquals => Base::ArnEquals,
        Base::ArnNotLike => Base::ArnLike,
        other => other,
    }
}

/// Evaluates a bare condition block (the case schema's `cond` vectors).
pub fn condition_holds(policy: &CompiledPolicy, statement: usize, ctx: &Context) -> Tri {
    match policy.statements.get(statement) {
        Some(s) => Tri::all(s.conds.iter().map(|c| eval_condition(c, ctx))),
        None => Tri::Unknown,
    }
}

/// The span and JSON path of what a miss points at, for explanations.
pub fn miss_location(policy: &Policy, statement: usize, miss: Miss) -> Option<(Span, String)> {
    let s = policy.statements.get(statement)?;
    let base = if policy.statement_is_array {
        format!("Statement[{statement}]")
    } else {
        "Statement".to_owned()
    };
    match miss {
        Miss::Principal => s.principal.as_ref().map(|p| {
            (
                p.key_span,
                format!(
                    "{base}.{}",
                    if p.negated {
                        "NotPrincipal"
                    } else {
                        "Principal"
                    }
                ),
            )
        }),
        Miss::Action => s.action.as_ref().map(|a| {
            (
                a.key_span,
                format!("{base}.{}", if a.negated { "NotAction" } else { "Action" }),
            )
        }),
        Miss::Resource => s.resource.as_ref().map(|a| {
            (
                a.key_span,
                format!(
                    "{base}.{}",
                    if a.negated { "NotResource" } else { "Resource" }
                ),
            )
        }),
        Miss::Condition { block, entry } => {
            let b = s.conditions.get(block)?;
            match b.entries.get(entry) {
                Some(e) => Some((
                    e.key.span,
                    format!("{base}.Condition.{}.{}", b.operator.value, e.key.value),
                )),
                None => Some((
                    b.operator.span,
                    format!("{base}.Condition.{}", b.operator.value),
                )),
            }
        }
    }
}

/// Whether an `Action` entry matches an action (the case schema's `match` vectors).
pub fn action_matches(pattern: &str, action: &str) -> Tri {
    match compile_action(pattern) {
        ActionPat::Pattern(p) => Tri::from_bool(p.is_match(action)),
        ActionPat::Invalid => Tri::Unknown,
    }
}

/// Whether a `Resource` entry matches a resource ARN, with variables from `ctx` when
/// `variables` (Version 2012-10-17).
pub fn resource_matches(pattern: &str, resource: &str, ctx: Context, variables: bool) -> Tri {
    let req = Request::new("anonymous", "x:y", resource, None, ctx);
    resource_match(&compile_resource(pattern, variables), &req)
}
