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
}

/// Reads one line of the case schema.
///
/// # Errors
/// A message naming what is wrong (not JSON, no `request`, a policy that cannot be parsed).
pub fn parse_case(line: &str) -> Result<Case, String> {
    use crate::eval::PolicyKind as K;
    let raw: RawCase<'_> =
        serde_json::from_str(line).map_err(|e| format!("not a valid case: {e}"))?;
    let req = raw.request.ok_or("the case has no `request`")?;
    let mut set = PolicySet::default();
    let mut offsets = Vec::new();
    let base = line.as_ptr() as usize;
    let mut one = |kind: K, idx: usize, r: &RawValue| -> Result<CompiledPolicy, String> {
        let text = r.get();
        offsets.push((kind, idx, (text.as_ptr() as usize).saturating_sub(base)));
        CompiledPolicy::parse(text).map_err(|e| {
            format!(
                "{}[{idx}]: {} {}: {}",
                kind.as_str(),
                e.diagnostic.code,
                e.diagnostic.name,
                e.diagnostic.message
            )
        })
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
        for (i, r) in list(p.identity)?.into_iter().enumerate() {
            set.identity.push(one(K::Identity, i, r)?);
        }
        for (i, r) in list(p.boundary)?.into_iter().enumerate() {
            set.boundary.push(one(K::Boundary, i, r)?);
        }
        for (i, r) in list(p.scp)?.into_iter().enumerate() {
            set.scp.push(one(K::Scp, i, r)?);
        }
        for (i, r) in list(p.rcp)?.into_iter().enumerate() {
            set.rcp.push(one(K::Rcp, i, r)?);
        }
        if let Some(r) = single(p.trust) {
            set.trust = Some(one(K::Trust, 0, r)?);
        }
        if let Some(r) = single(p.resource) {
            set.resource = Some(one(K::Resource, 0, r)?);
        }
        if let Some(r) = single(p.session) {
            set.session = Some(one(K::Session, 0, r)?);
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
    let resource = req.resource.unwrap_or_else(|| "*".to_owned());
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
    Ok(Case {
        id,
        group: raw.group,
        set,
        request,
        expected,
        offsets,
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
