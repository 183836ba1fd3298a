//! Step two of every request: the caller's policies, and `iam-sim`'s decision on each access
//! the request needs — recorded, and for `up`, with the statement that decided it.

use std::net::SocketAddr;

use std::sync::Arc;

use iam_sim::{CompiledPolicy, Context, ContextValue, Decision, PolicySetRef, Request};

use super::caller::{Caller, Kind};
use super::{State, policies, record};

/// Whose identity policies a request is decided on: cached entries, shared, never copied.
#[derive(Debug, Default)]
enum Identity {
    /// The root: none.
    #[default]
    None,
    /// A role session's role.
    Role(Arc<policies::RolePolicies>),
    /// An IAM user (with its groups').
    User(Arc<policies::Named>),
}

/// The policies a request is decided on, held as the caches hold them (`Arc`s) and lent to
/// `iam-sim` as a [`PolicySetRef`]: nothing is copied per request.
#[derive(Debug, Default)]
pub(super) struct Policies<'s> {
    identity: Identity,
    session: Option<Arc<CompiledPolicy>>,
    /// The role whose trust policy decides an AssumeRole.
    pub trust: Option<Arc<policies::RolePolicies>>,
    /// The bucket policy.
    pub resource: Option<Arc<CompiledPolicy>>,
    /// The VPC endpoint's policy (requests through its listener).
    pub endpoint: Option<&'s CompiledPolicy>,
}

impl Policies<'_> {
    /// The set `iam-sim` decides on.
    pub fn set(&self) -> PolicySetRef<'_> {
        let identity: &[CompiledPolicy] = match &self.identity {
            Identity::None => &[],
            Identity::Role(r) => &r.named.identity,
            Identity::User(u) => &u.identity,
        };
        PolicySetRef {
            identity,
            trust: self.trust.as_ref().and_then(|r| r.trust.as_ref()),
            resource: self.resource.as_deref(),
            session: self.session.as_deref(),
            endpoint: self.endpoint,
            ..PolicySetRef::default()
        }
    }

    /// The names of the identity policies, in order.
    fn names(&self) -> &[String] {
        match &self.identity {
            Identity::None => &[],
            Identity::Role(r) => &r.named.names,
            Identity::User(u) => &u.names,
        }
    }
}

/// The policies on the caller's side: its identity policies (a role's, a user's with its
/// groups'), and a role session's session policy. The root has none (it is allowed
/// everything its account's resource policies do not deny).
pub(super) async fn identity<'s>(state: &State, caller: &Caller) -> Result<Policies<'s>, String> {
    Ok(match &caller.kind {
        Kind::Root => Policies::default(),
        Kind::User { name } => Policies {
            identity: Identity::User(policies::user(state, name).await?),
            ..Policies::default()
        },
        Kind::RoleSession { role_arn, policy } => Policies {
            identity: Identity::Role(policies::role(state, policies::role_name(role_arn)).await?),
            session: policy.clone(),
            ..Policies::default()
        },
    })
}

/// The condition keys every request carries.
pub(super) fn base_context(peer: SocketAddr, region: &str, caller: &Caller) -> Context {
    let mut ctx = Context::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    ctx.insert("aws:SourceIp", ContextValue::Single(peer.ip().to_string()));
    ctx.insert("aws:SecureTransport", ContextValue::Single("false".into()));
    ctx.insert("aws:EpochTime", ContextValue::Single(now.to_string()));
    ctx.insert(
        "aws:RequestedRegion",
        ContextValue::Single(region.to_owned()),
    );
    if caller.token.is_some() {
        ctx.insert(
            "aws:MultiFactorAuthPresent",
            ContextValue::Single("false".into()),
        );
    }
    ctx
}

/// Adds an access's own keys to a context (`aws:TagKeys` is always multivalued).
pub(super) fn with_keys(mut ctx: Context, keys: &[(String, Vec<String>)]) -> Context {
    for (k, v) in keys {
        let value = match v.as_slice() {
            [one] if !k.eq_ignore_ascii_case("aws:TagKeys") => ContextValue::Single(one.clone()),
            _ => ContextValue::Multi(v.clone()),
        };
        ctx.insert(k, value);
    }
    ctx
}

/// A refusal: the decision and AWS's "because …" clause.
#[derive(Debug, Clone)]
pub(super) struct Denied {
    /// `because no identity-based policy allows the ACTION action`, … (may be empty).
    pub clause: String,
}

/// Decides one access for `caller` on `set` and records it; `message` words the refusal the
/// caller will get (recorded with it).
pub(super) fn decide(
    state: &State,
    caller: &Caller,
    policies: &Policies<'_>,
    action: &str,
    resource: &str,
    ctx: Context,
    message: impl Fn(&Denied) -> String,
) -> Result<(), Denied> {
    let req = Request::new(&caller.arn, action, resource, Some(&state.account), ctx);
    let resp = policies.set().evaluate(&req);
    let statement = if state.decided.receiver_count() > 0 {
        deciding_statement(policies, &req, &resp)
    } else {
        None
    };
    if resp.decision == Decision::Allow {
        record(
            state,
            action,
            resource,
            &caller.arn,
            resp.decision,
            None,
            statement,
        );
        return Ok(());
    }
    let denied = Denied {
        clause: iam_sim::explain::access_denied_clause(&resp, action),
    };
    record(
        state,
        action,
        resource,
        &caller.arn,
        resp.decision,
        Some(message(&denied)),
        statement,
    );
    Err(denied)
}

/// The statement that decided, as `arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess:4:7 (Sid
/// AllowRead)` or `bucket policy:3:5`.
fn deciding_statement(
    policies: &Policies<'_>,
    req: &Request,
    resp: &iam_sim::Response,
) -> Option<String> {
    let explained = iam_sim::explain::explain(policies.set(), req, resp);
    let r = explained.deciding.first()?;
    let name = match r.policy {
        "identity" => policies
            .names()
            .get(r.index)
            .cloned()
            .unwrap_or_else(|| format!("identity policy {}", r.index + 1)),
        "resource" => "bucket policy".to_owned(),
        "endpoint" => "VPC endpoint policy".to_owned(),
        other => format!("{other} policy"),
    };
    Some(format!(
        "{name}:{}:{}{}",
        r.line,
        r.column,
        r.sid
            .as_deref()
            .map(|s| format!(" (Sid {s})"))
            .unwrap_or_default()
    ))
}

/// `User: ARN is not authorized to perform: ACTION on resource: RESOURCE` and the clause, as
/// IAM, STS and EKS word it (S3 quotes the resource, see `errors::access_denied_message`).
pub(super) fn not_authorized(caller: &Caller, action: &str, resource: &str, d: &Denied) -> String {
    let mut m = format!(
        "User: {} is not authorized to perform: {action} on resource: {resource}",
        caller.arn
    );
    if !d.clause.is_empty() {
        m.push(' ');
        m.push_str(&d.clause);
    }
    m
}

/// The authorization step of IAM, STS and EKS calls, written once: for a caller other than the
/// root, each access is decided on the caller's policies, in order; the first refusal is
/// answered as `service` answers an access denial (`AccessDenied`, or EKS's
/// `AccessDeniedException`), with AWS's sentence.
pub(super) async fn require(
    state: &State,
    req: &super::Incoming<'_>,
    service: super::caller::Service,
    accesses: &[endpoint::Access],
) -> Result<(), super::Resp> {
    use super::caller::Service;
    let caller = &req.caller;
    if caller.is_root() || accesses.is_empty() {
        return Ok(());
    }
    let set = identity(state, caller)
        .await
        .map_err(|e| super::bad_gateway(state, service, &e))?;
    for a in accesses {
        let ctx = with_keys(base_context(req.peer, req.region, caller), &a.context);
        let message = |d: &Denied| not_authorized(caller, &a.action, &a.resource, d);
        if let Err(d) = decide(state, caller, &set, &a.action, &a.resource, ctx, message) {
            let code = if service == Service::Eks {
                "AccessDeniedException"
            } else {
                "AccessDenied"
            };
            return Err(service.error(hyper::StatusCode::FORBIDDEN, code, &message(&d), &req.rid));
        }
    }
    Ok(())
}
