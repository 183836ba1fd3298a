//! Validation: what IAM would reject, what Access Analyzer would report, and trust-policy
//! semantics that neither catches (open trust, confused deputy, Fargate and IRSA purpose
//! checks). Every finding is a [`Diagnostic`] with a stable code, a span and a JSON path.

use crate::arn::{Arn, is_account_id};
use crate::catalog::{Action as CatalogAction, ArnPattern, ResourceType, Service, catalog};
use crate::codes::Code;
use crate::condition::{Base, Family, Operator, SetQualifier, Value};
use crate::diag::{Diagnostic, Span};
use crate::glob::Case;
use crate::policy::{Effect, Policy, PrincipalValue, Statement, Version, did_you_mean};
use crate::template;

/// The kind of policy a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyType {
    /// A role trust policy.
    Trust,
    /// An identity-based policy.
    Identity,
    /// A resource-based policy (an S3 bucket policy).
    Resource,
}

impl PolicyType {
    /// `trust`, `identity`, `resource`.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyType::Trust => "trust",
            PolicyType::Identity => "identity",
            PolicyType::Resource => "resource",
        }
    }
}

/// What the role is for, to check the trust policy against its purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// An EKS Fargate pod execution role.
    FargatePodExecution {
        /// The cluster whose profiles must be able to use the role.
        cluster: Option<String>,
        /// Its region.
        region: Option<String>,
        /// Its account.
        account: Option<String>,
    },
    /// An IAM role for a Kubernetes service account (IRSA).
    Irsa {
        /// The cluster's OIDC provider ARN.
        oidc_provider: Option<String>,
        /// The service account's namespace.
        namespace: Option<String>,
        /// The service account.
        service_account: Option<String>,
    },
}

/// What is known of the role's setting, for the purpose checks that run without being asked
/// (see [`Options::infer_purpose`]): each sharpens the checks it applies to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// The EKS cluster whose Fargate profiles use the role.
    pub cluster: Option<String>,
    /// The cluster's region.
    pub region: Option<String>,
    /// The cluster's account.
    pub account: Option<String>,
    /// The cluster's IAM OIDC provider ARN.
    pub oidc_provider: Option<String>,
    /// The service account's namespace.
    pub namespace: Option<String>,
    /// The service account.
    pub service_account: Option<String>,
}

/// Options.
#[derive(Debug, Clone)]
pub struct Options {
    /// The policy type; detected when `None`.
    pub policy_type: Option<PolicyType>,
    /// The role's purpose, when it is known: only its checks run, whatever the principals say.
    pub purpose: Option<Purpose>,
    /// Without a `purpose`, infer it from the principals of a trust policy's Allow statements:
    /// the Fargate pods service principal runs the Fargate checks, a federated `oidc.eks.*`
    /// provider the IRSA checks, each with what [`Options::context`] knows.
    pub infer_purpose: bool,
    /// What is known of the role's setting, for inferred purposes.
    pub context: Context,
    /// The role trust policy quota in characters, whitespace not counted (IAM's default 2,048).
    pub trust_policy_quota: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            policy_type: None,
            purpose: None,
            infer_purpose: true,
            context: Context::default(),
            trust_policy_quota: 2048,
        }
    }
}

/// The result for one document.
#[derive(Debug, Clone)]
pub struct Validation {
    /// The type it was checked as.
    pub policy_type: PolicyType,
    /// Findings, in source order.
    pub findings: Vec<Diagnostic>,
}

/// The principal Fargate assumes execution roles as.
pub const FARGATE_PRINCIPAL: &str = "eks-fargate-pods.amazonaws.com";

/// Service principals accepted without a finding: AWS does not publish the list IAM checks;
/// these are the ones this project's users meet (the EKS family and common services).
pub const KNOWN_SERVICE_PRINCIPALS: &[&str] = &[
    "eks-fargate-pods.amazonaws.com",
    "eks.amazonaws.com",
    "eks-fargate.amazonaws.com",
    "eks-nodegroup.amazonaws.com",
    "pods.eks.amazonaws.com",
    "ec2.amazonaws.com",
    "ecs-tasks.amazonaws.com",
    "ecs.amazonaws.com",
    "lambda.amazonaws.com",
    "edgelambda.amazonaws.com",
    "s3.amazonaws.com",
    "states.amazonaws.com",
    "events.amazonaws.com",
    "apigateway.amazonaws.com",
    "cloudformation.amazonaws.com",
    "codebuild.amazonaws.com",
    "codepipeline.amazonaws.com",
    "logs.amazonaws.com",
    "firehose.amazonaws.com",
    "glue.amazonaws.com",
    "sagemaker.amazonaws.com",
    "batch.amazonaws.com",
    "scheduler.amazonaws.com",
    "sns.amazonaws.com",
    "sqs.amazonaws.com",
    "ssm.amazonaws.com",
    "backup.amazonaws.com",
    "rds.amazonaws.com",
    "elasticmapreduce.amazonaws.com",
    "autoscaling.amazonaws.com",
    "spotfleet.amazonaws.com",
    "cloudtrail.amazonaws.com",
    "config.amazonaws.com",
    "delivery.logs.amazonaws.com",
    "monitoring.rds.amazonaws.com",
    "vpc-flow-logs.amazonaws.com",
    "cognito-identity.amazonaws.com",
];

/// Actions a trust policy may grant.
pub const TRUST_ACTIONS: &[&str] = &[
    "AssumeRole",
    "AssumeRoleWithSAML",
    "AssumeRoleWithWebIdentity",
    "TagSession",
    "SetSourceIdentity",
    "SetContext",
];

/// Keys whose values are single (for `ForAllValues` checks).
const SINGLE_VALUED_KEYS: &[&str] = &[
    "aws:principalorgid",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:sourceip",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:securetransport",
    "aws:username",
    "aws:userid",
    "aws:requestedregion",
    "aws:principaltype",
];

/// ARN-typed keys.
const ARN_KEYS: &[&str] = &["aws:sourcearn", "aws:principalarn"];

struct V<'a> {
    policy: &'a Policy,
    ty: PolicyType,
    out: Vec<Diagnostic>,
    /// Did-you-mean searches over the service catalogue still allowed for this document: each
    /// compares one word with up to a thousand names, so a document of thousands of misspelt
    /// actions gets suggestions for the first ones only.
    suggestions_left: u32,
}

/// How many catalogue-wide did-you-mean searches one document gets.
const SUGGESTIONS_PER_DOCUMENT: u32 = 100;

impl V<'_> {
    /// Runs a catalogue-wide did-you-mean search while the document's budget lasts.
    fn suggest(&mut self, search: impl FnOnce() -> Option<String>) -> Option<String> {
        self.suggestions_left = self.suggestions_left.checked_sub(1)?;
        search()
    }

    fn push(
        &mut self,
        code: Code,
        message: String,
        help: Option<String>,
        span: Span,
        path: String,
    ) {
        let mut d = Diagnostic::new(code, message, span, path);
        d.help = help;
        self.out.push(d);
    }

    fn base(&self, s: &Statement) -> StmtPath {
        base_path(self.policy.statement_is_array, s)
    }
}

/// The JSON path of a statement (`Statement[2]`, or `Statement` when it is a single object),
/// formatted only when a finding needs it.
#[derive(Clone, Copy)]
struct StmtPath(Option<usize>);

impl std::fmt::Display for StmtPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(i) => write!(f, "Statement[{i}]"),
            None => f.write_str("Statement"),
        }
    }
}

fn base_path(statement_is_array: bool, s: &Statement) -> StmtPath {
    StmtPath(statement_is_array.then_some(s.index))
}

fn ends_with_ignore_case(text: &str, suffix: &str) -> bool {
    text.len() >= suffix.len()
        && text.as_bytes()[text.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

fn contains_ignore_case(text: &str, needle: &str) -> bool {
    text.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Detects the policy type: a document with `Principal` and `sts:` actions is a trust policy;
/// one with `Principal` otherwise a resource policy; else an identity policy.
pub fn detect_type(p: &Policy) -> PolicyType {
    let has_principal = p.statements.iter().any(|s| s.principal.is_some());
    let sts = p.statements.iter().any(|s| {
        s.action.as_ref().is_some_and(|a| {
            a.items.iter().any(|i| {
                i.value
                    .get(..4)
                    .is_some_and(|p| p.eq_ignore_ascii_case("sts:"))
            })
        })
    });
    match (has_principal, sts) {
        (true, true) => PolicyType::Trust,
        (true, false) => PolicyType::Resource,
        _ => PolicyType::Identity,
    }
}

/// Validates a policy text. Unreadable documents give the parse error as their one finding.
pub fn validate(text: &str, opts: &Options) -> Validation {
    let policy = match Policy::parse(text) {
        Ok(p) => p,
        Err(e) => {
            return Validation {
                policy_type: opts.policy_type.unwrap_or(PolicyType::Trust),
                findings: vec![*e.diagnostic],
            };
        }
    };
    validate_policy(&policy, opts)
}

/// Validates a parsed policy.
pub fn validate_policy(policy: &Policy, opts: &Options) -> Validation {
    let ty = opts.policy_type.unwrap_or_else(|| detect_type(policy));
    let mut v = V {
        suggestions_left: SUGGESTIONS_PER_DOCUMENT,
        policy,
        ty,
        out: policy.diagnostics.clone(),
    };
    check_document(&mut v, opts);
    for s in &policy.statements {
        check_statement(&mut v, s);
    }
    check_sids(&mut v);
    check_redundant(&mut v);
    if let Some(purpose) = &opts.purpose {
        match purpose {
            Purpose::FargatePodExecution {
                cluster,
                region,
                account,
            } => check_fargate(
                &mut v,
                cluster.as_deref(),
                region.as_deref(),
                account.as_deref(),
            ),
            Purpose::Irsa {
                oidc_provider,
                namespace,
                service_account,
            } => {
                check_irsa(
                    &mut v,
                    oidc_provider.as_deref(),
                    namespace.as_deref(),
                    service_account.as_deref(),
                );
            }
        }
    } else if opts.infer_purpose && ty == PolicyType::Trust {
        let c = &opts.context;
        if trusts_fargate_pods(policy) {
            check_fargate(
                &mut v,
                c.cluster.as_deref(),
                c.region.as_deref(),
                c.account.as_deref(),
            );
        }
        if trusts_eks_oidc(policy) {
            check_irsa(
                &mut v,
                c.oidc_provider.as_deref(),
                c.namespace.as_deref(),
                c.service_account.as_deref(),
            );
        }
    }
    let mut findings = v.out;
    findings.sort_by_key(|d| (d.span.start, d.code.as_str()));
    findings.dedup_by(|a, b| a.code == b.code && a.span == b.span);
    Validation {
        policy_type: ty,
        findings,
    }
}

fn allows(p: &Policy) -> impl Iterator<Item = &Statement> {
    p.statements
        .iter()
        .filter(|s| s.effect.as_ref().is_some_and(|e| e.value == Effect::Allow))
}

/// Whether an Allow statement trusts the Fargate pods service principal: the role is a pod
/// execution role.
fn trusts_fargate_pods(p: &Policy) -> bool {
    allows(p).any(|s| service_values(s).any(|(v, _)| v == FARGATE_PRINCIPAL))
}

/// Whether an Allow statement trusts an EKS cluster's OIDC provider (`oidc.eks.…`): the role is
/// for a service account.
fn trusts_eks_oidc(p: &Policy) -> bool {
    allows(p).any(|s| {
        principal_values(s, "Federated")
            .any(|(v, _)| oidc_host(v).is_some_and(|h| h.starts_with("oidc.eks.")))
    })
}

/// The document's opening brace: where findings about the whole document point.
fn document_start(p: &Policy) -> Span {
    let at = p.source.find('{').unwrap_or(0);
    Span::new(at, (at + 1).min(p.source.len()))
}

fn check_document(v: &mut V<'_>, opts: &Options) {
    let p = v.policy;
    if p.version == Version::Missing {
        v.push(
            Code::MissingVersion,
            "the policy has no `Version`".into(),
            Some("add \"Version\": \"2012-10-17\" as the first element; without it policy variables are literal text".into()),
            document_start(p),
            "Version".into(),
        );
    }
    if p.version == Version::V2008 {
        v.push(
            Code::OldVersion,
            "`Version` 2008-10-17 is the policy language's first version: policy variables such as `${aws:username}` are literal text in it".into(),
            Some("use \"Version\": \"2012-10-17\"".into()),
            p.version_span.unwrap_or_else(|| document_start(p)),
            "Version".into(),
        );
    }
    if p.version != Version::V2012 {
        // Variables anywhere they would be honoured under 2012-10-17.
        for s in &p.statements {
            let base = v.base(s);
            let mut spots: Vec<(Span, String)> = Vec::new();
            if let Some(r) = &s.resource {
                spots.extend(
                    r.items
                        .iter()
                        .filter(|i| i.value.contains("${"))
                        .map(|i| (i.span, format!("{base}.Resource"))),
                );
            }
            for b in &s.conditions {
                for e in &b.entries {
                    spots.extend(
                        e.values
                            .iter()
                            .filter(|x| x.value.0.contains("${"))
                            .map(|x| {
                                (
                                    x.span,
                                    format!(
                                        "{base}.Condition.{}.{}",
                                        b.operator.value, e.key.value
                                    ),
                                )
                            }),
                    );
                }
            }
            for (span, path) in spots {
                v.push(
                    Code::VariableUnsupportedInVersion,
                    "a policy variable is used but the policy is not Version 2012-10-17, so it is literal text".into(),
                    Some("set \"Version\": \"2012-10-17\"".into()),
                    span,
                    path,
                );
            }
        }
    }
    // A document no longer (in bytes) than the quota cannot exceed it in characters.
    if v.ty == PolicyType::Trust && p.source.len() > opts.trust_policy_quota {
        let size = if p.source.is_ascii() {
            // `char::is_whitespace` on ASCII is these six bytes.
            p.source
                .bytes()
                .filter(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
                .count()
        } else {
            p.source.chars().filter(|c| !c.is_whitespace()).count()
        };
        if size > opts.trust_policy_quota {
            v.push(
                Code::TrustPolicyTooLarge,
                format!("the trust policy has {size} characters without whitespace; the role trust policy quota is {}", opts.trust_policy_quota),
                Some("shorten it, or raise the quota (Service Quotas L-C07B4B0D) and pass --trust-policy-quota".into()),
                document_start(p),
                String::new(),
            );
        }
    }
}

fn check_sids(v: &mut V<'_>) {
    let p = v.policy;
    let mut seen: Vec<(&str, Span)> = Vec::new();
    for s in &p.statements {
        let Some(sid) = &s.sid else { continue };
        let arr = v.policy.statement_is_array;
        let path = || format!("{}.Sid", base_path(arr, s));
        if sid.value.is_empty() {
            v.push(
                Code::EmptySid,
                "the Sid is empty".into(),
                Some("remove it or give the statement a name".into()),
                sid.span,
                path(),
            );
            continue;
        }
        let alnum = sid.value.bytes().all(|b| b.is_ascii_alphanumeric());
        if !alnum && v.ty != PolicyType::Resource {
            let fixed: String = sid
                .value
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect();
            v.push(
                Code::InvalidSid,
                format!(
                    "Sid `{}` has characters other than letters and digits",
                    sid.value
                ),
                Some(format!(
                    "IAM accepts [0-9A-Za-z]* here; for example `{fixed}`"
                )),
                sid.span,
                path(),
            );
        }
        if let Some((_, first)) = seen.iter().find(|(x, _)| *x == sid.value) {
            let _ = first;
            v.push(
                Code::DuplicateSid,
                format!("Sid `{}` is used by an earlier statement", sid.value),
                Some("Sids must be unique within a policy".into()),
                sid.span,
                path(),
            );
        } else {
            seen.push((&sid.value, sid.span));
        }
    }
}

fn check_redundant(v: &mut V<'_>) {
    let p = v.policy;
    for (i, a) in p.statements.iter().enumerate() {
        let Some(prev) = p.statements[..i].iter().find(|b| same_statement(a, b)) else {
            continue;
        };
        v.push(
            Code::RedundantStatement,
            format!("this statement repeats statement {}", prev.index),
            Some("remove one of them".into()),
            a.span,
            v.base(a).to_string(),
        );
    }
}

/// Whether two statements say the same thing (spans and `Sid` aside).
fn same_statement(a: &Statement, b: &Statement) -> bool {
    fn texts_eq(
        x: &[crate::policy::Spanned<crate::policy::Text>],
        y: &[crate::policy::Spanned<crate::policy::Text>],
    ) -> bool {
        x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.value == q.value)
    }
    fn list_eq(
        x: Option<&crate::policy::ListElement>,
        y: Option<&crate::policy::ListElement>,
    ) -> bool {
        match (x, y) {
            (None, None) => true,
            (Some(x), Some(y)) => x.negated == y.negated && texts_eq(&x.items, &y.items),
            _ => false,
        }
    }
    fn principal_eq(
        x: Option<&crate::policy::PrincipalElement>,
        y: Option<&crate::policy::PrincipalElement>,
    ) -> bool {
        match (x, y) {
            (None, None) => true,
            (Some(x), Some(y)) => {
                x.negated == y.negated
                    && match (&x.value, &y.value) {
                        (PrincipalValue::Star(_), PrincipalValue::Star(_)) => true,
                        (PrincipalValue::Map(m), PrincipalValue::Map(n)) => {
                            m.len() == n.len()
                                && m.iter().zip(n).all(|(e, f)| {
                                    e.kind.value == f.kind.value && texts_eq(&e.values, &f.values)
                                })
                        }
                        _ => false,
                    }
            }
            _ => false,
        }
    }
    let conds_eq = |x: &[crate::policy::ConditionBlock], y: &[crate::policy::ConditionBlock]| {
        x.len() == y.len()
            && x.iter().zip(y).all(|(c, d)| {
                c.operator.value == d.operator.value
                    && c.entries.len() == d.entries.len()
                    && c.entries.iter().zip(&d.entries).all(|(e, f)| {
                        e.key.value == f.key.value
                            && e.values.len() == f.values.len()
                            && e.values
                                .iter()
                                .zip(&f.values)
                                .all(|(p, q)| p.value.0 == q.value.0)
                    })
            })
    };
    a.effect.as_ref().map(|e| e.value) == b.effect.as_ref().map(|e| e.value)
        && list_eq(a.action.as_ref(), b.action.as_ref())
        && list_eq(a.resource.as_ref(), b.resource.as_ref())
        && principal_eq(a.principal.as_ref(), b.principal.as_ref())
        && conds_eq(&a.conditions, &b.conditions)
}

fn check_statement(v: &mut V<'_>, s: &Statement) {
    let base = v.base(s);
    let ty = v.ty;
    // Principal rules by policy type.
    match (&s.principal, ty) {
        (None, PolicyType::Trust | PolicyType::Resource) => v.push(
            Code::MissingPrincipal,
            format!("a {} policy statement needs a `Principal`", ty.as_str()),
            Some("name who may act, e.g. \"Principal\": {\"Service\": \"eks-fargate-pods.amazonaws.com\"}".into()),
            s.span,
            base.to_string(),
        ),
        (Some(p), PolicyType::Identity) => v.push(
            Code::PrincipalInIdentityPolicy,
            "an identity-based policy must not name a principal".into(),
            Some("remove `Principal`: the policy applies to whoever it is attached to".into()),
            p.key_span,
            format!("{base}.Principal"),
        ),
        (Some(p), PolicyType::Trust) if p.negated => v.push(
            Code::TrustPolicyNotPrincipal,
            "a trust policy cannot use `NotPrincipal`".into(),
            Some("name the trusted principals with `Principal`".into()),
            p.key_span,
            format!("{base}.NotPrincipal"),
        ),
        _ => {}
    }
    if let Some(p) = &s.principal {
        check_principal(v, s, p, &base);
    }
    // Resource rules.
    match (&s.resource, ty) {
        (Some(r), PolicyType::Trust) => v.push(
            Code::TrustPolicyResource,
            format!(
                "a trust policy cannot have `{}`",
                if r.negated { "NotResource" } else { "Resource" }
            ),
            Some("remove it: the resource of a trust policy is the role itself".into()),
            r.key_span,
            format!(
                "{base}.{}",
                if r.negated { "NotResource" } else { "Resource" }
            ),
        ),
        (None, PolicyType::Identity | PolicyType::Resource) => v.push(
            Code::MissingResource,
            "the statement has no `Resource`".into(),
            Some("add \"Resource\": \"arn:…\" (or \"*\")".into()),
            s.span,
            base.to_string(),
        ),
        (Some(r), _) => {
            for (i, item) in r.items.iter().enumerate() {
                let val = &item.value;
                if val != "*" && Arn::parse(val).is_none() {
                    v.push(
                        Code::InvalidResource,
                        format!("`{val}` is neither `*` nor an ARN (arn:partition:service:region:account:resource)"),
                        None,
                        item.span,
                        item_path(&base, "Resource", r.is_array, i),
                    );
                }
            }
        }
        _ => {}
    }
    // Actions.
    match &s.action {
        None => v.push(
            Code::MissingAction,
            "the statement has no `Action`".into(),
            Some("add \"Action\": \"service:Name\"".into()),
            s.span,
            base.to_string(),
        ),
        Some(a) => {
            if a.items.is_empty() && !a.broken {
                v.push(
                    Code::MissingAction,
                    "the action list is empty".into(),
                    None,
                    a.key_span,
                    format!("{base}.Action"),
                );
            }
            for (i, item) in a.items.iter().enumerate() {
                check_action(
                    v,
                    &item.value,
                    item.span,
                    &|| item_path(&base, "Action", a.is_array, i),
                    ty,
                    a.negated,
                );
            }
        }
    }
    let actions = StatementActions::new(s);
    check_resource_types(v, &actions, &base);
    // Conditions.
    for b in &s.conditions {
        let opath = || format!("{base}.Condition.{}", b.operator.value);
        let Some(op) = Operator::parse(&b.operator.value) else {
            let names: Vec<&str> = crate::condition::BASE_NAMES
                .iter()
                .map(|(n, _)| *n)
                .collect();
            let stripped = b
                .operator
                .value
                .trim_start_matches("ForAllValues:")
                .trim_start_matches("ForAnyValue:")
                .trim_end_matches("IfExists");
            let (code, msg, help) = if b.operator.value.ends_with("IfExists") && stripped == "Null"
            {
                (Code::NullWithIfExists, "`NullIfExists` is not an operator: `Null` already tests whether the key exists".to_owned(), Some("use `Null`".to_owned()))
            } else {
                (
                    Code::InvalidConditionOperator,
                    format!("`{}` is not a condition operator", b.operator.value),
                    Some(did_you_mean(stripped, &names).map_or_else(
                        || "see the condition operators in the IAM User Guide".to_owned(),
                        |m| format!("did you mean `{m}`?"),
                    )),
                )
            };
            v.push(code, msg, help, b.operator.span, opath());
            continue;
        };
        for e in &b.entries {
            let kpath = || format!("{}.{}", opath(), e.key.value);
            let key = e.key.value.as_str();
            check_condition_key(v, &actions, key, e.key.span, &kpath);
            if op.set == SetQualifier::ForAll
                && SINGLE_VALUED_KEYS
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(key))
                && s.effect.as_ref().is_some_and(|e| e.value == Effect::Allow)
            {
                v.push(
                    Code::ForallvaluesWithSingleValuedKey,
                    format!("`ForAllValues` on the single-valued key `{}` is true when the key is missing", e.key.value),
                    Some(format!("use `{}` without a set qualifier", op.base.name())),
                    e.key.span,
                    kpath(),
                );
            }
            if op.set == SetQualifier::ForAny
                && ends_with_ignore_case(key, ":aud")
                && contains_ignore_case(key, "oidc")
            {
                v.push(
                    Code::ForanyvalueWithAudienceClaim,
                    "`ForAnyValue` on the audience claim: `aud` is single-valued for this provider"
                        .into(),
                    Some(format!("use `{}`", op.base.name())),
                    b.operator.span,
                    opath(),
                );
            }
            if op.base == Base::StringLike && ARN_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key)) {
                v.push(
                    Code::StringLikeWithArnKey,
                    format!("`StringLike` on the ARN key `{}`: its `*` also crosses the colons between ARN parts", e.key.value),
                    Some("use `ArnLike`, which matches each part of the ARN separately".into()),
                    b.operator.span,
                    opath(),
                );
            }
            for (i, val) in e.values.iter().enumerate() {
                let text = &val.value.0;
                let vpath = || {
                    if e.is_array {
                        format!("{}[{i}]", kpath())
                    } else {
                        kpath()
                    }
                };
                // Only typed families (and malformed variables) can be invalid: skip compiling
                // plain strings and patterns.
                let may_be_invalid = !matches!(
                    op.base.family(),
                    Family::String
                        | Family::StringIgnoreCase
                        | Family::Like
                        | Family::Arn
                        | Family::Binary
                ) || (text.as_bytes().contains(&b'$') && text.contains("${"));
                let compiled = if may_be_invalid {
                    Value::compile(op.base, text, v.policy.variables_enabled())
                } else {
                    Value::Never
                };
                if compiled == Value::Invalid {
                    let what = match op.base.family() {
                        Family::Numeric(_) => "a number",
                        Family::Date(_) => "a date (ISO 8601) or epoch seconds",
                        Family::Bool | Family::Null => "`true` or `false`",
                        Family::Ip => "an IP address or CIDR range",
                        _ => "a well-formed value",
                    };
                    let var_err = v.policy.variables_enabled() && template::parse(text).is_err();
                    v.push(
                        Code::ConditionTypeMismatch,
                        if var_err {
                            format!("`{text}` has a malformed policy variable")
                        } else {
                            format!("`{}` needs {what}, not `{text}`", op.base.name())
                        },
                        None,
                        val.span,
                        vpath(),
                    );
                }
                if matches!(
                    op.base,
                    Base::StringEquals
                        | Base::StringNotEquals
                        | Base::StringEqualsIgnoreCase
                        | Base::StringNotEqualsIgnoreCase
                ) && (text.contains('*') || text.contains('?'))
                    && !text.contains("${*}")
                    && !ends_with_ignore_case(key, ":sub")
                {
                    v.push(
                        Code::WildcardWithoutLikeOperator,
                        format!(
                            "`{text}` contains a wildcard, but `{}` compares literally",
                            op.base.name()
                        ),
                        Some(format!(
                            "use `{}` for a pattern",
                            if op.base.negated() {
                                "StringNotLike"
                            } else {
                                "StringLike"
                            }
                        )),
                        val.span,
                        vpath(),
                    );
                }
            }
        }
    }
}

fn check_principal(
    v: &mut V<'_>,
    s: &Statement,
    p: &crate::policy::PrincipalElement,
    base: &StmtPath,
) {
    let key = if p.negated {
        "NotPrincipal"
    } else {
        "Principal"
    };
    // Paths are only formatted for a finding.
    let path = || format!("{base}.{key}");
    match &p.value {
        PrincipalValue::Star(span) => {
            if v.ty == PolicyType::Trust {
                v.push(
                    Code::InvalidPrincipal,
                    "a trust policy cannot use the bare `\"*\"` principal".into(),
                    Some("name the principals you trust; `{\"AWS\": \"*\"}` is accepted by IAM but trusts everyone".into()),
                    *span,
                    path(),
                );
            }
        }
        PrincipalValue::Map(entries) => {
            for e in entries {
                let kpath = || format!("{base}.{key}.{}", e.kind.value);
                match e.kind.value.as_str() {
                    "AWS" => {
                        for val in &e.values {
                            let t = &val.value;
                            if t == "*" {
                                if v.ty == PolicyType::Trust
                                    && !p.negated
                                    && !has_restricting_condition(s)
                                    && s.effect.as_ref().is_some_and(|e| e.value == Effect::Allow)
                                {
                                    v.push(
                                        Code::TrustOpenToEveryone,
                                        "`{\"AWS\": \"*\"}` without a restricting condition lets any AWS account assume this role".into(),
                                        Some("name the trusted account or role, or add a condition on aws:PrincipalArn, aws:PrincipalOrgID or sts:ExternalId".into()),
                                        val.span,
                                        kpath(),
                                    );
                                }
                                continue;
                            }
                            let ok = is_account_id(t)
                                || Arn::parse(t).is_some_and(|a| {
                                    matches!(a.service, "iam" | "sts")
                                        && is_account_id(a.account)
                                        && !a.resource.is_empty()
                                        && !t.contains('*')
                                        && !t.contains('?')
                                })
                                || (t.starts_with("AROA") || t.starts_with("AIDA"));
                            if !ok {
                                let why = if t.contains('*') || t.contains('?') {
                                    "wildcards are not allowed inside a principal ARN"
                                } else {
                                    "expected an account id or an IAM/STS ARN"
                                };
                                v.push(
                                    Code::InvalidPrincipal,
                                    format!("invalid AWS principal `{t}`: {why}"),
                                    None,
                                    val.span,
                                    kpath(),
                                );
                            }
                        }
                    }
                    "Service" => {
                        for val in &e.values {
                            let t = &val.value;
                            if t == "*" || t.contains('*') {
                                v.push(
                                    Code::InvalidPrincipal,
                                    format!(
                                        "invalid service principal `{t}`: wildcards are not allowed"
                                    ),
                                    None,
                                    val.span,
                                    kpath(),
                                );
                                continue;
                            }
                            let shaped = t.ends_with(".amazonaws.com")
                                && t.len() > ".amazonaws.com".len()
                                || t.ends_with(".amazonaws.com.cn");
                            if !shaped {
                                let help = did_you_mean(t, KNOWN_SERVICE_PRINCIPALS)
                                    .map(|m| format!("did you mean `{m}`?"));
                                v.push(Code::InvalidPrincipal, format!("invalid service principal `{t}`: IAM rejects it (MalformedPolicyDocument: Invalid principal in policy)"), help, val.span, kpath());
                            } else if !KNOWN_SERVICE_PRINCIPALS.contains(&t.as_str())
                                && let Some(m) = did_you_mean(t, KNOWN_SERVICE_PRINCIPALS)
                            {
                                v.push(
                                    Code::InvalidPrincipal,
                                    format!("`{t}` is not a service principal IAM knows"),
                                    Some(format!("did you mean `{m}`?")),
                                    val.span,
                                    kpath(),
                                );
                            }
                        }
                    }
                    "Federated" => {
                        for val in &e.values {
                            let t = &val.value;
                            let builtin = matches!(
                                t.as_str(),
                                "cognito-identity.amazonaws.com"
                                    | "www.amazon.com"
                                    | "graph.facebook.com"
                                    | "accounts.google.com"
                            );
                            let provider = Arn::parse(t).is_some_and(|a| {
                                a.service == "iam"
                                    && (a.resource.starts_with("oidc-provider/")
                                        || a.resource.starts_with("saml-provider/"))
                            });
                            if !builtin && !provider {
                                v.push(
                                    Code::InvalidPrincipal,
                                    format!("invalid federated principal `{t}`"),
                                    Some("use an IAM OIDC or SAML provider ARN".into()),
                                    val.span,
                                    kpath(),
                                );
                            }
                            check_federated_action(v, s, t, val.span, &kpath);
                        }
                    }
                    "CanonicalUser" if v.ty == PolicyType::Resource => {}
                    other => {
                        let help =
                            did_you_mean(other, &["AWS", "Service", "Federated", "CanonicalUser"])
                                .map(|m| format!("did you mean `{m}`?"));
                        v.push(
                            Code::InvalidPrincipal,
                            format!("`{other}` is not a principal type"),
                            help,
                            e.kind.span,
                            kpath(),
                        );
                    }
                }
            }
        }
    }
}

/// The statement's `Action` values (none for `NotAction`), as written: compare them ignoring
/// ASCII case.
fn statement_actions(s: &Statement) -> impl Iterator<Item = &str> {
    s.action
        .iter()
        .filter(|a| !a.negated)
        .flat_map(|a| a.items.iter().map(|i| i.value.as_str()))
}

/// The values of the statement's `Service` principals.
fn service_values(s: &Statement) -> impl Iterator<Item = (&str, Span)> {
    principal_values(s, "Service")
}

/// The values of one kind of principal (`Service`, `Federated`) of a statement.
fn principal_values<'s>(
    s: &'s Statement,
    kind: &'static str,
) -> impl Iterator<Item = (&'s str, Span)> {
    let entries = match s.principal.as_ref().map(|p| &p.value) {
        Some(PrincipalValue::Map(m)) => m.as_slice(),
        _ => &[],
    };
    entries
        .iter()
        .filter(move |e| e.kind.value == kind)
        .flat_map(|e| e.values.iter().map(|v| (v.value.as_str(), v.span)))
}

fn check_federated_action(
    v: &mut V<'_>,
    s: &Statement,
    provider: &str,
    span: Span,
    path: &dyn Fn() -> String,
) {
    let host = oidc_host(provider);
    let oidc = host.is_some()
        || provider == "accounts.google.com"
        || provider == "graph.facebook.com"
        || provider == "www.amazon.com"
        || provider == "cognito-identity.amazonaws.com";
    let want = if oidc {
        "sts:assumerolewithwebidentity"
    } else {
        "sts:assumerolewithsaml"
    };
    let wrong = statement_actions(s).find(|a| {
        a.len() >= 14
            && a.as_bytes()[..14].eq_ignore_ascii_case(b"sts:assumerole")
            && !a.eq_ignore_ascii_case(want)
            && !a.contains('*')
    });
    if let Some(a) = wrong {
        let a = a.to_ascii_lowercase();
        v.push(
            Code::MismatchedActionForPrincipal,
            format!(
                "`{a}` does not fit the {} provider `{provider}`",
                if oidc { "OIDC" } else { "SAML" }
            ),
            Some(format!(
                "a {} provider is used with `{}`",
                if oidc { "web identity" } else { "SAML" },
                if oidc {
                    "sts:AssumeRoleWithWebIdentity"
                } else {
                    "sts:AssumeRoleWithSAML"
                }
            )),
            span,
            path(),
        );
    }
    if let (Some(host), PolicyType::Trust) = (host, v.ty) {
        let conditioned = s
            .conditions
            .iter()
            .flat_map(|b| &b.entries)
            .any(|e| claim_host_is(&e.key.value, host));
        if !conditioned {
            v.push(
                Code::MissingConditionKeyForOidcPrincipal,
                format!("the trust in `{provider}` has no condition on the provider's keys: any identity it issues may assume the role"),
                Some(format!("add \"StringEquals\": {{\"{host}:sub\": \"system:serviceaccount:NAMESPACE:NAME\", \"{host}:aud\": \"sts.amazonaws.com\"}}")),
                span,
                path(),
            );
        }
    }
}

/// The issuer host of an OIDC provider ARN (`…:oidc-provider/HOST`), when it is one.
fn oidc_host(provider: &str) -> Option<&str> {
    const MARK: &[u8] = b":oidc-provider/";
    // An ARN is short and has a handful of colons: trying each is cheaper than setting up a
    // substring search.
    let b = provider.as_bytes();
    (0..b.len())
        .find(|&i| b[i] == b':' && b[i..].starts_with(MARK))
        .map(|i| &provider[i + MARK.len()..])
}

/// Whether a condition key is `HOST:…` (the OIDC provider's own keys), ignoring ASCII case.
fn claim_host_is(key: &str, host: &str) -> bool {
    key.len() > host.len()
        && key.as_bytes()[host.len()] == b':'
        && key.as_bytes()[..host.len()].eq_ignore_ascii_case(host.as_bytes())
}

/// Whether a condition key is `HOST:CLAIM`, ignoring ASCII case.
fn claim_key_is(key: &str, host: &str, claim: &str) -> bool {
    claim_host_is(key, host)
        && key.as_bytes()[host.len() + 1..].eq_ignore_ascii_case(claim.as_bytes())
}

fn has_restricting_condition(s: &Statement) -> bool {
    const RESTRICTING: &[&str] = &[
        "aws:principalarn",
        "aws:principalaccount",
        "aws:principalorgid",
        "aws:principalorgpaths",
        "sts:externalid",
        "aws:sourcearn",
        "aws:sourceaccount",
        "aws:sourceip",
        "aws:sourcevpc",
        "aws:sourcevpce",
    ];
    s.conditions.iter().any(|b| {
        Operator::parse(&b.operator.value)
            .is_some_and(|op| !op.base.negated() && !op.if_exists && op.set != SetQualifier::ForAll)
            && b.entries.iter().any(|e| {
                RESTRICTING
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(&e.key.value))
            })
    })
}

fn check_action(
    v: &mut V<'_>,
    action: &str,
    span: Span,
    path: &dyn Fn() -> String,
    ty: PolicyType,
    negated: bool,
) {
    if action == "*" {
        return;
    }
    let Some((svc, name)) = action.split_once(':') else {
        v.push(
            Code::InvalidAction,
            format!("`{action}` has no service prefix"),
            Some("write it as `service:Action`, e.g. `s3:GetObject`".into()),
            span,
            path(),
        );
        return;
    };
    if name.contains(':') {
        v.push(
            Code::InvalidAction,
            format!("`{action}` has more than one colon"),
            None,
            span,
            path(),
        );
        return;
    }
    if svc.is_empty()
        || !svc
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'*')
    {
        v.push(
            Code::InvalidAction,
            format!("`{svc}` is not a valid service prefix"),
            None,
            span,
            path(),
        );
        return;
    }
    if name.is_empty() || action.bytes().any(|b| b.is_ascii_whitespace() || b == b',') {
        v.push(
            Code::InvalidAction,
            format!("`{action}` is not a valid action name"),
            None,
            span,
            path(),
        );
        return;
    }
    let wild = name.contains('*') || name.contains('?');
    if !svc.contains(['*', '?']) {
        let cat = catalog();
        match cat.service(svc) {
            None => {
                let help = v.suggest(|| {
                    cat.closest_service(svc)
                        .map(|m| format!("did you mean `{m}:{name}`?"))
                });
                v.push(
                    Code::UnknownService,
                    format!("`{svc}` is not the prefix of an AWS service"),
                    help.or_else(|| {
                        Some(
                            "see the Service Authorization Reference for each service's prefix"
                                .into(),
                        )
                    }),
                    span,
                    path(),
                );
            }
            Some(service) if wild => {
                if service.matching(name).next().is_none() {
                    v.push(
                        Code::UnknownAction,
                        format!("`{action}` matches no {} action", service.prefix),
                        None,
                        span,
                        path(),
                    );
                }
            }
            Some(service) => {
                if service.action(name).is_none() {
                    let help = v.suggest(|| {
                        service
                            .closest_action(name)
                            .map(|m| format!("did you mean `{}:{m}`?", service.prefix))
                    });
                    v.push(
                        Code::UnknownAction,
                        format!("`{action}` is not an action of {}", service.name),
                        help,
                        span,
                        path(),
                    );
                }
            }
        }
    }
    if ty == PolicyType::Trust && !negated {
        let ok = svc.eq_ignore_ascii_case("sts")
            && (wild || TRUST_ACTIONS.iter().any(|a| a.eq_ignore_ascii_case(name)));
        if !ok {
            v.push(
                Code::TrustPolicyAction,
                format!("a trust policy can only allow assuming the role (`sts:AssumeRole*`, `sts:TagSession`, `sts:SetSourceIdentity`), not `{action}`"),
                Some("grant other permissions in the role's identity policies".into()),
                span,
                path(),
            );
        }
    }
}

/// The catalogue's actions a statement names.
type KnownActions = Vec<(&'static Service, &'static CatalogAction)>;

/// A statement's [`KnownActions`], looked up at most once: by the first check that needs them
/// (a service condition key, a resource ARN), and only for statements that have one.
struct StatementActions<'s> {
    statement: &'s Statement,
    known: std::cell::OnceCell<Option<KnownActions>>,
}

impl<'s> StatementActions<'s> {
    fn new(statement: &'s Statement) -> Self {
        Self {
            statement,
            known: std::cell::OnceCell::new(),
        }
    }

    fn get(&self) -> Option<&KnownActions> {
        self.known
            .get_or_init(|| known_actions(self.statement))
            .as_ref()
    }
}

/// The catalogue's actions that the statement's `Action` names, or `None` when they cannot all
/// be known (`NotAction`, `*`, a wildcard or unknown service, an unknown action).
fn known_actions(s: &Statement) -> Option<KnownActions> {
    let a = s.action.as_ref().filter(|a| !a.negated && !a.broken)?;
    let cat = catalog();
    let mut out = Vec::new();
    for item in &a.items {
        let (svc, name) = item.value.split_once(':')?;
        if svc.contains(['*', '?']) {
            return None;
        }
        let service = cat.service(svc)?;
        if name.contains(['*', '?']) {
            let before = out.len();
            out.extend(service.matching(name).map(|x| (service, x)));
            if out.len() == before {
                return None;
            }
        } else {
            out.push((service, service.action(name)?));
        }
    }
    (!out.is_empty()).then_some(out)
}

/// A condition key must be global or its service's (AA116), and a service's key must be one
/// that some action of the statement supports (AA117). Keys whose prefix is no service's — the
/// claims of identity providers (`accounts.google.com:aud`, `oidc.eks.….amazonaws.com/id/…:sub`,
/// `saml:aud`) — are left alone.
fn check_condition_key(
    v: &mut V<'_>,
    s: &StatementActions<'_>,
    key: &str,
    span: Span,
    path: &dyn Fn() -> String,
) {
    let cat = catalog();
    let Some((prefix, _)) = key.split_once(':') else {
        return;
    };
    if cat.global_key(key).is_some() {
        return;
    }
    if prefix.eq_ignore_ascii_case("aws") {
        let help = cat.closest_global_key(key).map_or_else(
            || "see AWS's global condition context keys".to_owned(),
            |m| format!("did you mean `{m}`?"),
        );
        v.push(
            Code::UnknownConditionKey,
            format!("`{key}` is not a global condition key: no request has it, so the condition never matches"),
            Some(help),
            span,
            path(),
        );
        return;
    }
    let Some(service) = cat.service(prefix) else {
        return;
    };
    if service.key(key).is_none() {
        let help = service.closest_key(key).map_or_else(
            || {
                format!(
                    "see the condition keys of {} in the Service Authorization Reference",
                    service.name
                )
            },
            |m| format!("did you mean `{m}`?"),
        );
        v.push(
            Code::UnknownConditionKey,
            format!("`{key}` is not a condition key of {}: no request has it, so the condition never matches", service.name),
            Some(help),
            span,
            path(),
        );
        return;
    }
    if let Some(actions) = s.get()
        && !actions
            .iter()
            .any(|(svc, a)| svc.action_supports_key(a, key))
    {
        let names = action_list(actions);
        v.push(
            Code::ConditionKeyNotForActions,
            format!("no action of this statement ({names}) supports `{key}`: its requests never have the key, so the condition never matches"),
            Some("check the key against the actions' condition keys in the Service Authorization Reference".into()),
            span,
            path(),
        );
    }
}

/// At most three action names, and how many more.
fn action_list(actions: &[(&'static Service, &'static CatalogAction)]) -> String {
    let mut out: Vec<String> = actions
        .iter()
        .take(3)
        .map(|(s, a)| format!("{}:{}", s.prefix, a.name))
        .collect();
    if actions.len() > 3 {
        out.push(format!("{} more", actions.len() - 3));
    }
    out.join(", ")
}

/// Each resource ARN must be of a type that some action of the statement acts on (AA118): an
/// ARN no action accepts makes the statement grant or deny nothing there (`s3:GetObject` on a
/// bucket's ARN instead of its objects', `arn:aws:s3:::b` for `b/*`).
fn check_resource_types(v: &mut V<'_>, actions: &StatementActions<'_>, base: &StmtPath) {
    let s = actions.statement;
    let Some(r) = s.resource.as_ref().filter(|r| !r.negated && !r.broken) else {
        return;
    };
    // A trust policy's Resource is an error of its own (IAM012).
    if v.ty == PolicyType::Trust || r.items.iter().all(|i| i.value == "*") {
        return;
    }
    let Some(actions) = actions.get() else {
        return;
    };
    let mut types: Vec<&ResourceType> = Vec::new();
    for (svc, a) in actions {
        for t in svc.resource_types(a) {
            if !types.iter().any(|x| std::ptr::eq(*x, t)) {
                types.push(t);
            }
        }
    }
    // Matching is quadratic in the two patterns' lengths: ARNs longer than IAM's 2,048
    // characters are not checked, and a statement stops being checked past a budget of cells
    // (a few milliseconds), so that no document makes validation slow. AA118 is a warning; its
    // absence there is no verdict.
    let format_len: usize = types.iter().map(|t| t.arn.len()).sum();
    // Each resource type's format is read once for the process.
    let formats: Vec<&ArnPattern> = types.iter().map(|t| t.pattern()).collect();
    let mut budget: usize = 4_000_000;
    for (i, item) in r.items.iter().enumerate() {
        let val = item.value.as_str();
        if val == "*" || val.len() > 2048 || Arn::parse(val).is_none() {
            continue;
        }
        let Some(left) = budget.checked_sub(format_len.saturating_mul(val.len())) else {
            break;
        };
        budget = left;
        let pattern = ArnPattern::new(val);
        if formats.iter().any(|f| f.overlaps(&pattern)) {
            continue;
        }
        let names = action_list(actions);
        let (msg, help) = if types.is_empty() {
            (
                format!("`{val}` is never the resource of {names}: these actions act only on `*`"),
                "use \"Resource\": \"*\" for them, in a statement of their own".to_owned(),
            )
        } else {
            let formats: Vec<&str> = types.iter().take(3).map(|t| t.arn).collect();
            (
                format!(
                    "`{val}` is not a resource that {names} can act on, so the statement never applies to it"
                ),
                format!("their resources look like `{}`", formats.join("`, `")),
            )
        };
        v.push(
            Code::ResourceNotForActions,
            msg,
            Some(help),
            item.span,
            item_path(&base, "Resource", r.is_array, i),
        );
    }
}

/// The path of item `i` of a list element: `Statement[0].Action[1]` in an array,
/// `Statement[0].Action` for a single string.
fn item_path(base: &impl std::fmt::Display, key: &str, is_array: bool, i: usize) -> String {
    if is_array {
        format!("{base}.{key}[{i}]")
    } else {
        format!("{base}.{key}")
    }
}

fn check_fargate(
    v: &mut V<'_>,
    cluster: Option<&str>,
    region: Option<&str>,
    account: Option<&str>,
) {
    let p = v.policy;
    // This runs for every trust policy with the Fargate principal: no allocation unless there
    // is something to report.
    let fargate: smallvec::SmallVec<[&Statement; 2]> = allows(p)
        .filter(|s| service_values(s).any(|(v, _)| v == FARGATE_PRINCIPAL))
        .collect();
    if fargate.is_empty() {
        let near = allows(p)
            .flat_map(service_values)
            .find(|(v, _)| v.contains("eks") || did_you_mean(v, &[FARGATE_PRINCIPAL]).is_some());
        let (msg, span, help) = match near {
            Some(("eks.amazonaws.com", span)) => (
                "the role trusts `eks.amazonaws.com` (the cluster's service role principal), not the Fargate pods principal".to_owned(),
                span,
                format!("use \"Service\": \"{FARGATE_PRINCIPAL}\"; EKS rejects the profile with \"Misconfigured PodExecutionRole Trust Policy\""),
            ),
            Some((t, span)) => (format!("`{t}` is not the Fargate pods principal"), span, format!("did you mean `{FARGATE_PRINCIPAL}`?")),
            None => (
                format!("no Allow statement trusts `{FARGATE_PRINCIPAL}`"),
                p.statement_key_span,
                format!("add a statement with \"Principal\": {{\"Service\": \"{FARGATE_PRINCIPAL}\"}} and \"Action\": \"sts:AssumeRole\""),
            ),
        };
        v.push(
            Code::FargateServicePrincipal,
            msg,
            Some(help),
            span,
            "Statement".into(),
        );
        return;
    }
    for s in fargate {
        let base = v.base(s);
        let assume = statement_actions(s).any(|a| {
            ["sts:assumerole", "sts:*", "*", "sts:assumerole*"]
                .iter()
                .any(|w| a.eq_ignore_ascii_case(w))
        });
        if !assume {
            // The offending token: the action the statement names instead (the first, when it
            // names several); the statement itself when it has no Action.
            let (span, path) = match s.action.as_ref() {
                Some(a) => match a.items.first() {
                    Some(first) if a.is_array => (first.span, format!("{base}.Action[0]")),
                    Some(first) => (first.span, format!("{base}.Action")),
                    None => (a.key_span, format!("{base}.Action")),
                },
                None => (s.span, base.to_string()),
            };
            v.push(
                Code::FargateAction,
                "Fargate assumes the pod execution role with `sts:AssumeRole`, which this statement does not allow".into(),
                Some("set \"Action\": \"sts:AssumeRole\"".into()),
                span,
                path,
            );
        }
        let source_conds: smallvec::SmallVec<
            [(
                &crate::policy::ConditionBlock,
                &crate::policy::ConditionEntry,
            ); 2],
        > = s
            .conditions
            .iter()
            .flat_map(|b| b.entries.iter().map(move |e| (b, e)))
            .filter(|(_, e)| {
                e.key.value.eq_ignore_ascii_case("aws:sourcearn")
                    || e.key.value.eq_ignore_ascii_case("aws:sourceaccount")
            })
            .collect();
        if source_conds.is_empty() {
            let span = s.principal.as_ref().map_or(s.span, |p| p.key_span);
            v.push(
                Code::FargateConfusedDeputy,
                "the Fargate pods principal is trusted without an `aws:SourceArn` or `aws:SourceAccount` condition (confused deputy)".into(),
                Some("add \"Condition\": {\"ArnLike\": {\"aws:SourceArn\": \"arn:aws:eks:REGION:ACCOUNT:fargateprofile/CLUSTER/*\"}}".into()),
                span,
                format!("{base}.Principal"),
            );
        }
        let (Some(cluster), true) = (cluster, true) else {
            continue;
        };
        let region = region.unwrap_or("us-east-1");
        let account = account.unwrap_or("000000000000");
        // A profile ARN of this cluster (built without `format!`: this runs for every file).
        let sample = [
            "arn:aws:eks:",
            region,
            ":",
            account,
            ":fargateprofile/",
            cluster,
            "/any-profile/00000000-0000-0000-0000-000000000000",
        ]
        .concat();
        for (b, e) in source_conds {
            if !e.key.value.eq_ignore_ascii_case("aws:sourcearn") {
                if e.key.value.eq_ignore_ascii_case("aws:sourceaccount")
                    && !e
                        .values
                        .iter()
                        .any(|x| x.value.0 == account || x.value.0.contains('*'))
                    && let Some(first) = e.values.first()
                {
                    v.push(
                        Code::FargateSourceArnMismatch,
                        format!(
                            "`aws:SourceAccount` is `{}`, but the cluster is in account {account}",
                            first.value.0
                        ),
                        None,
                        first.span,
                        format!("{base}.Condition.{}.{}", b.operator.value, e.key.value),
                    );
                }
                continue;
            }
            let Some(op) = Operator::parse(&b.operator.value) else {
                continue;
            };
            if op.base.negated() {
                continue;
            }
            let matches = e.values.iter().any(|x| match op.base.family() {
                // The usual operators are matched without compiling the pattern.
                Family::Arn => crate::condition::arn_like_once(&x.value.0, &sample),
                Family::Like => crate::glob::is_match_once(&x.value.0, &sample, Case::Sensitive),
                _ => {
                    crate::condition::compare(
                        op.base,
                        &Value::compile(op.base, &x.value.0, false),
                        &sample,
                        &|_| None,
                    ) == crate::condition::Tri::True
                }
            });
            if !matches {
                let span = e.values.first().map_or(e.key.span, |x| x.span);
                v.push(
                    Code::FargateSourceArnMismatch,
                    format!("no `aws:SourceArn` value can match this cluster's profiles (`arn:aws:eks:{region}:{account}:fargateprofile/{cluster}/*`)"),
                    Some(format!("use \"arn:aws:eks:{region}:{account}:fargateprofile/{cluster}/*\" with `ArnLike`")),
                    span,
                    format!("{base}.Condition.{}.{}", b.operator.value, e.key.value),
                );
            }
        }
    }
}

fn check_irsa(v: &mut V<'_>, provider: Option<&str>, namespace: Option<&str>, sa: Option<&str>) {
    let p = v.policy;
    let fed: Vec<(&Statement, &str, Span)> = allows(p)
        .flat_map(|s| principal_values(s, "Federated").map(move |(v, span)| (s, v, span)))
        .filter(|(_, v, _)| oidc_host(v).is_some())
        .collect();
    let web: Vec<&(&Statement, &str, Span)> = fed
        .iter()
        .filter(|(s, _, _)| {
            statement_actions(s).any(|a| {
                a.eq_ignore_ascii_case("sts:assumerolewithwebidentity")
                    || a.eq_ignore_ascii_case("sts:*")
            })
        })
        .collect();
    if web.is_empty() {
        v.push(
            Code::IrsaFederatedPrincipal,
            "no Allow statement trusts an OIDC provider with `sts:AssumeRoleWithWebIdentity`".into(),
            Some("IRSA pods call AssumeRoleWithWebIdentity: use \"Principal\": {\"Federated\": \"arn:aws:iam::ACCOUNT:oidc-provider/oidc.eks.REGION.amazonaws.com/id/ID\"}".into()),
            fed.first().map_or(p.statement_key_span, |(_, _, sp)| *sp),
            "Statement".into(),
        );
        return;
    }
    for (s, prov, span) in web {
        let base = v.base(s);
        if let Some(want) = provider
            && *prov != want
        {
            v.push(
                Code::IrsaProviderMismatch,
                format!("the role trusts `{prov}`, not this cluster's provider `{want}`"),
                None,
                *span,
                format!("{base}.Principal.Federated"),
            );
        }
        let host = oidc_host(prov).unwrap_or("");
        let entries: Vec<(
            &crate::policy::ConditionBlock,
            &crate::policy::ConditionEntry,
        )> = s
            .conditions
            .iter()
            .flat_map(|b| b.entries.iter().map(move |e| (b, e)))
            .collect();
        let claim = |name: &str| {
            entries
                .iter()
                .filter(|(_, e)| claim_key_is(&e.key.value, host, name))
                .copied()
                .collect::<Vec<_>>()
        };
        let subs = claim("sub");
        if subs.is_empty() {
            v.push(
                Code::IrsaMissingSub,
                "no condition on the `:sub` claim: every service account in the cluster may assume this role".into(),
                Some(format!("add \"StringEquals\": {{\"{host}:sub\": \"system:serviceaccount:NAMESPACE:NAME\"}}")),
                *span,
                format!("{base}.Principal.Federated"),
            );
        }
        // The subject the pod's token carries, when the service account is given.
        let want = namespace
            .zip(sa)
            .map(|(ns, name)| (ns, name, ["system:serviceaccount:", ns, ":", name].concat()));
        for (b, e) in &subs {
            let op = Operator::parse(&b.operator.value);
            // Paths are only formatted for a finding.
            let path = || format!("{base}.Condition.{}.{}", b.operator.value, e.key.value);
            for x in &e.values {
                let val = &x.value.0;
                if op.is_some_and(|o| o.base == Base::StringEquals)
                    && (val.contains('*') || val.contains('?'))
                {
                    v.push(Code::IrsaSubWildcardInEquals, format!("`{val}` is compared literally by `StringEquals`, so its `*` matches only a `*`"), Some("use `StringLike` for a pattern".into()), x.span, path());
                }
                if let Some((ns, name, want)) = &want {
                    let like = op.is_some_and(|o| o.base == Base::StringLike);
                    let ok = if like {
                        crate::glob::is_match_once(val, want, Case::Sensitive)
                    } else {
                        val == want
                    };
                    if !ok && op.is_some_and(|o| !o.base.negated()) {
                        v.push(
                            Code::IrsaSubMismatch,
                            format!("`{val}` does not name service account `{ns}/{name}`"),
                            Some(format!("use \"{want}\"")),
                            x.span,
                            path(),
                        );
                    }
                }
            }
        }
        for (b, e) in claim("aud") {
            for x in &e.values {
                if x.value.0 != "sts.amazonaws.com" {
                    v.push(
                        Code::IrsaAudience,
                        format!("the audience is `{}`; EKS service account tokens for IAM use `sts.amazonaws.com`", x.value.0),
                        Some("set the `:aud` value to \"sts.amazonaws.com\"".into()),
                        x.span,
                        format!("{base}.Condition.{}.{}", b.operator.value, e.key.value),
                    );
                }
            }
        }
    }
}
