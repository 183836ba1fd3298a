//! The JSON Lines case schema shared by `simulate --cases`, the corpus tests, the benchmarks
//! and the peer comparison (see `docs/cases.md`).

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::eval::{CompiledPolicy, Context, ContextValue, Decision, PolicySet, Request};

/// One case: policies, a request, and the decision it should get.
#[derive(Debug)]
pub struct Case {
    /// `id`.
    pub id: Option<String>,
    /// `group`.
    pub group: Option<String>,
    /// The policies.
    pub set: PolicySet,
    /// The request.
    pub request: Request,
    /// `expected`, when asserted.
    pub expected: Option<Decision>,
    /// Byte offset in the line of each policy's text: (kind, index, offset).
    pub offsets: Vec<(crate::eval::PolicyKind, usize, usize)>,
}

#[derive(Deserialize)]
struct RawCase<'a> {
    id: Option<serde_json::Value>,
    group: Option<String>,
    #[serde(borrow, default)]
    policies: Option<RawPolicies<'a>>,
    request: Option<RawRequest>,
    expected: Option<serde_json::Value>,
    expect: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
struct RawPolicies<'a> {
    #[serde(borrow, default)]
    identity: Option<&'a RawValue>,
    #[serde(borrow, default)]
    trust: Option<&'a RawValue>,
    #[serde(borrow, default)]
    resource: Option<&'a RawValue>,
    #[serde(borrow, default)]
    boundary: Option<&'a RawValue>,
    #[serde(borrow, default)]
    session: Option<&'a RawValue>,
    #[serde(borrow, default)]
    scp: Option<&'a RawValue>,
    #[serde(borrow, default)]
    rcp: Option<&'a RawValue>,
    #[serde(borrow, default)]
    endpoint: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRequest {
    principal: String,
    action: String,
    #[serde(default)]
    resource: Option<String>,
    #[serde(default)]
    resource_account: Option<String>,
    #[serde(default, alias = "ctx")]
    context: Option<serde_json::Map<String, serde_json::Value>>,
    /// The VPC endpoint the request came through (`aws:SourceVpce`).
    #[serde(default)]
    source_vpce: Option<String>,
    /// Its VPC (`aws:SourceVpc`).
    #[serde(default)]
    source_vpc: Option<String>,
}

/// One policy of a case, as text: what kind it is, its place in its list, and where it starts
/// in the line.
#[derive(Debug, Clone, Copy)]
pub struct PolicyText<'a> {
    /// Which list of the case it is in.
    pub kind: crate::eval::PolicyKind,
    /// Its index in that list (0 for the single-policy kinds).
    pub index: usize,
    /// The policy document's JSON text, borrowed from the line.
    pub text: &'a str,
    /// Byte offset of `text` in the line.
    pub offset: usize,
}

/// A case read but not compiled: the request built, the policies still text. This is the
/// input a policy simulator takes per call (policy documents and a request), so the peer
/// comparison times [`CaseText::compile`] plus the decision.
#[derive(Debug)]
pub struct CaseText<'a> {
    /// `id`.
    pub id: Option<String>,
    /// `group`.
    pub group: Option<String>,
    /// The policies, in the order of the case schema's keys.
    pub policies: Vec<PolicyText<'a>>,
    /// The request.
    pub request: Request,
    /// `expected`, when asserted.
    pub expected: Option<Decision>,
}

impl CaseText<'_> {
    /// Parses and compiles the policies into a [`PolicySet`].
    ///
    /// # Errors
    /// A message naming the policy (`identity[1]`, `trust[0]`, …) and the parse error.
    pub fn policy_set(&self) -> Result<PolicySet, String> {
        use crate::eval::PolicyKind as K;
        let mut set = PolicySet::default();
        for p in &self.policies {
            let compiled = CompiledPolicy::parse(p.text).map_err(|e| {
                format!(
                    "{}[{}]: {} {}: {}",
                    p.kind.as_str(),
                    p.index,
                    e.diagnostic.code,
                    e.diagnostic.name(),
                    e.diagnostic.message
                )
            })?;
            match p.kind {
                K::Identity => set.identity.push(compiled),
                K::Boundary => set.boundary.push(compiled),
                K::Scp => set.scp.push(compiled),
                K::Rcp => set.rcp.push(compiled),
                K::Trust => set.trust = Some(compiled),
                K::Resource => set.resource = Some(compiled),
                K::Session => set.session = Some(compiled),
                K::Endpoint => set.endpoint = Some(compiled),
            }
        }
        Ok(set)
    }

    /// The compiled case.
    ///
    /// # Errors
    /// As [`CaseText::policy_set`].
    pub fn compile(self) -> Result<Case, String> {
        let set = self.policy_set()?;
        Ok(Case {
            offsets: self
                .policies
                .iter()
                .map(|p| (p.kind, p.index, p.offset))
                .collect(),
            id: self.id,
            group: self.group,
            set,
            request: self.request,
            expected: self.expected,
        })
    }
}

/// Reads one line of the case schema.
///
/// # Errors
/// A message naming what is wrong (not JSON, no `request`, a policy that cannot be parsed).
pub fn parse_case(line: &str) -> Result<Case, String> {
    read_case(line)?.compile()
}

/// Reads one line of the case schema without compiling its policies.
///
/// # Errors
/// A message naming what is wrong (not JSON, no `request`, a malformed policy list or context
/// value). Policy documents themselves are checked by [`CaseText::compile`].
pub fn read_case<'a>(line: &'a str) -> Result<CaseText<'a>, String> {
    use crate::eval::PolicyKind as K;
    let raw: RawCase<'_> =
        serde_json::from_str(line).map_err(|e| format!("not a valid case: {e}"))?;
    let req = raw.request.ok_or("the case has no `request`")?;
    let mut policies = Vec::new();
    let base = line.as_ptr() as usize;
    let one = |kind: K, index: usize, r: &'a RawValue| {
        let text = r.get();
        PolicyText {
            kind,
            index,
            text,
            offset: (text.as_ptr() as usize).saturating_sub(base),
        }
    };
    fn list(r: Option<&RawValue>) -> Result<Vec<&RawValue>, String> {
        match r {
            None => Ok(Vec::new()),
            Some(v) if v.get().trim_start().starts_with('[') => {
                serde_json::from_str::<Vec<&RawValue>>(v.get())
                    .map_err(|e| format!("a policy list is not valid: {e}"))
            }
            Some(v) if v.get().trim() == "null" => Ok(Vec::new()),
            Some(v) => Ok(vec![v]),
        }
    }
    fn single(r: Option<&RawValue>) -> Option<&RawValue> {
        r.filter(|v| v.get().trim() != "null")
    }
    if let Some(p) = raw.policies {
        for (kind, r) in [
            (K::Identity, p.identity),
            (K::Boundary, p.boundary),
            (K::Scp, p.scp),
            (K::Rcp, p.rcp),
        ] {
            for (i, r) in list(r)?.into_iter().enumerate() {
                policies.push(one(kind, i, r));
            }
        }
        for (kind, r) in [
            (K::Trust, p.trust),
            (K::Resource, p.resource),
            (K::Session, p.session),
            (K::Endpoint, p.endpoint),
        ] {
            if let Some(r) = single(r) {
                policies.push(one(kind, 0, r));
            }
        }
    }
    let mut ctx = Context::new();
    for (k, v) in req.context.unwrap_or_default() {
        ctx.insert(
            &k,
            context_value(&v).ok_or_else(|| {
                format!("context key `{k}` must be a string, number, boolean or an array of them")
            })?,
        );
    }
    for (key, value) in [
        ("aws:SourceVpce", req.source_vpce),
        ("aws:SourceVpc", req.source_vpc),
    ] {
        if let Some(v) = value {
            ctx.insert(key, ContextValue::Single(v));
        }
    }
    let resource = req.resource.unwrap_or_else(|| "*".to_owned());
    crate::eval::check_request(&req.action, &resource)?;
    let request = Request::new(
        &req.principal,
        &req.action,
        &resource,
        req.resource_account.as_deref(),
        ctx,
    );
    let expected = match raw.expected.or(raw.expect) {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(Decision::parse(&s).ok_or_else(|| {
            format!("`expected` must be Allow, ExplicitDeny or ImplicitDeny, not `{s}`")
        })?),
        Some(other) => return Err(format!("`expected` must be a string, found {other}")),
    };
    let id = raw
        .id
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned));
    Ok(CaseText {
        id,
        group: raw.group,
        policies,
        request,
        expected,
    })
}

/// A JSON value as a context value.
pub fn context_value(v: &serde_json::Value) -> Option<ContextValue> {
    fn scalar(v: &serde_json::Value) -> Option<String> {
        match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            serde_json::Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
    match v {
        serde_json::Value::Array(a) => a
            .iter()
            .map(scalar)
            .collect::<Option<Vec<_>>>()
            .map(ContextValue::Multi),
        other => scalar(other).map(ContextValue::Single),
    }
}
