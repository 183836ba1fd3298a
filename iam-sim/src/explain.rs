//! Reasons in words: which statements decided, and for those that did not apply, the first
//! thing that did not match, with the values compared.

use serde::Serialize;

use crate::condition::Operator;
use crate::eval::{
    ContextValue, Decision, Miss, Outcome, PolicyKind, PolicySetRef, Request, Response, Stage,
    StatementRef, miss_location,
};
use crate::policy::Effect;

/// One statement's part in a decision.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Reason {
    /// `identity`, `trust`, `resource`, `boundary`, `session`, `scp`, `rcp`.
    pub policy: &'static str,
    /// Index among policies of that kind.
    pub index: usize,
    /// Statement index.
    pub statement: usize,
    /// The statement's Sid, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// `Allow`, `Deny`, or `?` when unreadable.
    pub effect: &'static str,
    /// Line in the policy text (from 1).
    pub line: usize,
    /// Column in the policy text (from 1).
    pub column: usize,
    /// JSON path of the element the detail is about.
    pub path: String,
    /// What happened, in words.
    pub detail: String,
}

/// A decision explained.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// The decision.
    pub decision: Decision,
    /// One sentence.
    pub summary: String,
    /// Statements that decided.
    pub deciding: Vec<Reason>,
    /// Statements that did not apply, with the first mismatch.
    pub not_applied: Vec<Reason>,
}

/// Explains `response` for `req` on `set`.
pub fn explain<'a>(
    set: impl Into<PolicySetRef<'a>>,
    req: &Request,
    response: &Response,
) -> Explanation {
    let set: PolicySetRef<'a> = set.into();
    let reason = |at: StatementRef, outcome: Outcome| -> Option<Reason> {
        let cp = set.policy(at.kind, at.policy)?;
        let p = cp.policy();
        let s = p.statements.get(at.statement)?;
        let idx = p.line_index();
        let (span, path, detail) = match outcome {
            Outcome::Applies => {
                let path = if p.statement_is_array {
                    format!("Statement[{}]", at.statement)
                } else {
                    "Statement".into()
                };
                (
                    s.span,
                    path,
                    format!(
                        "{} statement applies",
                        effect_name(s.effect.as_ref().map(|e| e.value))
                    ),
                )
            }
            Outcome::NotApplicable(m) => {
                let (span, path) =
                    miss_location(p, at.statement, m).unwrap_or((s.span, String::new()));
                (span, path, miss_detail(p, at.statement, m, req))
            }
            Outcome::Uninterpretable(m) => {
                let (span, path) = m
                    .and_then(|m| miss_location(p, at.statement, m))
                    .unwrap_or((s.span, String::new()));
                let what = m.map_or_else(
                    || "an element".to_owned(),
                    |m| describe_part(p, at.statement, m),
                );
                (
                    span,
                    path,
                    format!(
                        "{what} cannot be interpreted, so the statement is ignored for Allow and applied for Deny (fail closed)"
                    ),
                )
            }
        };
        let lc = idx.line_col(&p.source, span.start);
        Some(Reason {
            policy: at.kind.as_str(),
            index: at.policy,
            statement: at.statement,
            sid: s
                .sid
                .as_ref()
                .map(|x| x.value.to_string())
                .filter(|x| !x.is_empty()),
            effect: match s.effect.as_ref().map(|e| e.value) {
                Some(Effect::Allow) => "Allow",
                Some(Effect::Deny) => "Deny",
                None => "?",
            },
            line: lc.line,
            column: lc.column,
            path,
            detail,
        })
    };
    let deciding: Vec<Reason> = response
        .deciding
        .iter()
        .filter_map(|at| {
            let outcome = response
                .trace
                .iter()
                .find(|t| t.at == *at)
                .map_or(Outcome::Applies, |t| t.outcome);
            reason(*at, outcome)
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    let not_applied: Vec<Reason> = response
        .trace
        .iter()
        .filter(|t| !response.deciding.contains(&t.at) && seen.insert(t.at))
        .filter(|t| !matches!(t.outcome, Outcome::Applies))
        .filter_map(|t| reason(t.at, t.outcome))
        .collect();
    let summary = match (response.decision, response.stage) {
        (Decision::Allow, _)
            if response.deciding.is_empty() && crate::eval::needs_no_permission(&req.action) =>
        {
            format!(
                "allowed: `{}` needs no permission, and no policy can deny it (an authentication operation)",
                req.action
            )
        }
        (Decision::Allow, _) => "allowed".to_owned(),
        (Decision::ExplicitDeny, _) => "denied by an explicit Deny statement".to_owned(),
        (Decision::ImplicitDeny, Some(stage)) => stage_sentence(stage, req),
        (Decision::ImplicitDeny, None) => "denied: no statement allows this request".to_owned(),
    };
    Explanation {
        decision: response.decision,
        summary,
        deciding,
        not_applied,
    }
}

fn effect_name(e: Option<Effect>) -> &'static str {
    match e {
        Some(Effect::Allow) => "Allow",
        Some(Effect::Deny) => "Deny",
        None => "unreadable",
    }
}

/// The sentence for an implicit deny, naming the policy type that lacked an allow.
pub fn stage_sentence(stage: Stage, req: &Request) -> String {
    match stage {
        Stage::Trust => format!(
            "implicitly denied: the role's trust policy does not allow `{}` to perform `{}`",
            principal_text(req),
            req.action
        ),
        Stage::Endpoint => format!(
            "implicitly denied: the VPC endpoint policy does not allow `{}` on `{}` (a request through an endpoint needs its allow as well)",
            req.action, req.resource
        ),
        Stage::Resource if req.is_kms_key() => "implicitly denied: the KMS key policy does not allow this caller (a key policy is required: identity-based policies alone cannot grant access to a KMS key)".to_owned(),
        Stage::Resource => {
            "implicitly denied: no resource-based policy allows this caller".to_owned()
        }
        other => format!(
            "implicitly denied: no {} allows `{}` on `{}`",
            other.kind().long_name(),
            req.action,
            req.resource
        ),
    }
}

fn principal_text(req: &Request) -> String {
    use crate::eval::Principal as P;
    match &req.principal {
        P::Anonymous => "anonymous".into(),
        P::Service(s) | P::Federated(s) => s.clone(),
        P::Iam(p) => p.arn.clone(),
    }
}

fn describe_part(p: &crate::policy::Policy, statement: usize, m: Miss) -> String {
    match m {
        Miss::Principal => "the principal".into(),
        Miss::Action => "the action list".into(),
        Miss::Resource => "the resource list".into(),
        Miss::Condition { block, entry } => {
            let s = p.statements.get(statement);
            let b = s.and_then(|s| s.conditions.get(block));
            let op = b.map_or("?", |b| b.operator.value.as_str());
            let key = b
                .and_then(|b| b.entries.get(entry))
                .map_or("", |e| e.key.value.as_str());
            if Operator::parse(op).is_none() {
                format!("the condition operator `{op}` (unknown)")
            } else {
                format!("condition `{op}` on `{key}`")
            }
        }
    }
}

fn miss_detail(p: &crate::policy::Policy, statement: usize, m: Miss, req: &Request) -> String {
    let Some(s) = p.statements.get(statement) else {
        return String::new();
    };
    let list = |items: &[crate::policy::Spanned<crate::policy::Text>]| {
        let shown: Vec<String> = items
            .iter()
            .take(5)
            .map(|i| format!("`{}`", i.value))
            .collect();
        let more = if items.len() > 5 {
            format!(" and {} more", items.len() - 5)
        } else {
            String::new()
        };
        format!("{}{more}", shown.join(", "))
    };
    match m {
        Miss::Principal => {
            let negated = s.principal.as_ref().is_some_and(|p| p.negated);
            if negated {
                format!("`{}` is listed in NotPrincipal", principal_text(req))
            } else {
                format!("`{}` is not named in Principal", principal_text(req))
            }
        }
        Miss::Action => match &s.action {
            Some(a) if a.negated => format!(
                "`{}` is excluded by NotAction {}",
                req.action,
                list(&a.items)
            ),
            Some(a) => format!(
                "`{}` is not matched by Action {}",
                req.action,
                list(&a.items)
            ),
            None => "the statement has no Action".into(),
        },
        Miss::Resource => match &s.resource {
            Some(r) if r.negated => format!(
                "`{}` is excluded by NotResource {}",
                req.resource,
                list(&r.items)
            ),
            Some(r) => format!(
                "`{}` is not matched by Resource {}",
                req.resource,
                list(&r.items)
            ),
            None => "the statement has no Resource".into(),
        },
        Miss::Condition { block, entry } => {
            let Some(b) = s.conditions.get(block) else {
                return String::new();
            };
            let Some(e) = b.entries.get(entry) else {
                return format!("condition `{}` is false", b.operator.value);
            };
            let wanted: Vec<String> = e
                .values
                .iter()
                .map(|v| format!("`{}`", v.value.0))
                .collect();
            let got = match req.context.get(&e.key.value.to_ascii_lowercase()) {
                None => "the request has no such key".to_owned(),
                Some(ContextValue::Single(v)) => format!("the request has `{v}`"),
                Some(ContextValue::Multi(vs)) => {
                    format!(
                        "the request has [{}]",
                        vs.iter()
                            .map(|v| format!("`{v}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            };
            format!(
                "condition `{}` on `{}` is false: {got}, the policy wants {}",
                b.operator.value,
                e.key.value,
                if wanted.is_empty() {
                    "[]".to_owned()
                } else {
                    wanted.join(" or ")
                }
            )
        }
    }
}

/// The end of AWS's access-denied message: which policy type lacked an allow or held the
/// explicit deny ("… because no identity-based policy allows the s3:GetObject action"). Trust and
/// bucket policies are both "resource-based" in these messages.
pub fn access_denied_clause(response: &Response, action: &str) -> String {
    let resource_based = |k: PolicyKind| match k {
        PolicyKind::Trust | PolicyKind::Resource => "resource-based policy",
        other => other.long_name(),
    };
    match (
        response.decision,
        response.stage,
        response.deciding.first().map(|d| d.kind),
    ) {
        (Decision::ExplicitDeny, _, Some(k)) => {
            let kind = resource_based(k);
            // "an identity-based policy", "a resource-based policy", "a VPC endpoint policy".
            let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
                "an"
            } else {
                "a"
            };
            format!("with an explicit deny in {article} {kind}")
        }
        (Decision::ImplicitDeny, Some(Stage::Trust | Stage::Resource), _) => {
            "because no resource-based policy allows the action".into()
        }
        (Decision::ImplicitDeny, Some(stage), _) => format!(
            "because no {} allows the {action} action",
            stage.kind().long_name()
        ),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{CompiledPolicy, Context, PolicySet};

    fn clause(set: &PolicySet) -> String {
        let req = Request::new(
            "arn:aws:iam::111122223333:user/dev",
            "s3:PutObject",
            "arn:aws:s3:::b/k",
            Some("111122223333"),
            Context::new(),
        );
        access_denied_clause(&set.evaluate(&req), "s3:PutObject")
    }

    #[test]
    fn an_explicit_deny_in_an_identity_policy_takes_an() {
        let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#;
        let set = PolicySet {
            identity: vec![CompiledPolicy::parse(deny).unwrap()],
            ..PolicySet::default()
        };
        assert_eq!(
            clause(&set),
            "with an explicit deny in an identity-based policy"
        );
    }

    #[test]
    fn an_explicit_deny_in_a_bucket_policy_takes_a() {
        let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}"#;
        let set = PolicySet {
            resource: Some(CompiledPolicy::parse(deny).unwrap()),
            ..PolicySet::default()
        };
        assert_eq!(
            clause(&set),
            "with an explicit deny in a resource-based policy"
        );
    }
}
