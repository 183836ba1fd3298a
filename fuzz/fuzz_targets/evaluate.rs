//! Policies built from IAM's vocabulary (wildcards, NotAction, conditions with real and bogus
//! operators, broken elements) and requests against them. On every input:
//! - no panic;
//! - `decide` (allocation-free) gives `evaluate`'s decision;
//! - an Allow is only ever granted by statements the parser did not mark broken (fail closed);
//! - adding a Deny never turns a decision into Allow;
//! - a policy that does not parse is refused, so it can never take part in an Allow.
#![no_main]

use arbitrary::Arbitrary;
use iam_sim::{CompiledPolicy, Context, ContextValue, Decision, PolicyKind, PolicySet, Request};
use libfuzzer_sys::fuzz_target;

const ACTIONS: [&str; 10] = [
    "s3:GetObject", "s3:PutObject", "s3:ListBucket", "sts:AssumeRole", "iam:PassRole",
    "s3:Get*", "s3:*", "*", "s3:?etObject", "S3:getobject",
];
const RESOURCES: [&str; 7] = [
    "arn:aws:s3:::b/k", "arn:aws:s3:::b", "*", "arn:aws:s3:::b/*", "arn:aws:s3:::${aws:username}/*",
    "arn:aws:iam::111122223333:role/r", "arn:aws:s3:::b?k",
];
const PRINCIPALS: [&str; 6] = [
    r#""*""#,
    r#"{"AWS":"arn:aws:iam::111122223333:root"}"#,
    r#"{"Service":"eks-fargate-pods.amazonaws.com"}"#,
    r#"{"AWS":"111122223333"}"#,
    r#"{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/A"}"#,
    r#"{"AWS":["arn:aws:iam::111122223333:user/u", 5]}"#,
];
const OPERATORS: [&str; 14] = [
    "StringEquals", "StringLike", "StringNotEquals", "StringNotLike", "ArnLike", "ArnNotEquals",
    "Null", "Bool", "IpAddress", "NumericLessThan", "DateGreaterThan", "ForAnyValue:StringEquals",
    "ForAllValues:StringLike", "StringEqualsIfExists",
];
const KEYS: [&str; 7] = [
    "aws:SourceArn", "aws:SourceAccount", "s3:prefix", "aws:username", "aws:PrincipalTag/team",
    "aws:SecureTransport", "aws:SourceIp",
];
const VALUES: [&str; 8] = [
    "arn:aws:eks:eu-west-1:111122223333:fargateprofile/c/*", "111122223333", "home/*", "u",
    "true", "10.0.0.0/8", "5", "2026-01-01T00:00:00Z",
];

#[derive(Debug, Arbitrary)]
struct Cond {
    op: u8,
    key: u8,
    values: Vec<u8>,
}

#[derive(Debug, Arbitrary)]
struct Stmt {
    deny: bool,
    not_action: bool,
    actions: Vec<u8>,
    resources: Vec<u8>,
    not_resource: bool,
    principal: Option<u8>,
    conditions: Vec<Cond>,
    /// Replaces one element with something IAM would not accept.
    breakage: Option<u8>,
}

#[derive(Debug, Arbitrary)]
struct Input {
    identity: Vec<Vec<Stmt>>,
    resource_policy: Option<Vec<Stmt>>,
    boundary: Option<Vec<Stmt>>,
    extra_deny: Stmt,
    raw: Option<String>,
    principal: u8,
    action: u8,
    resource: u8,
    context: Vec<(u8, u8)>,
}

fn pick<'a>(table: &[&'a str], i: u8) -> &'a str {
    table[usize::from(i) % table.len()]
}

fn list(table: &[&str], ix: &[u8]) -> String {
    let items: Vec<String> = ix.iter().take(4).map(|i| format!("{:?}", pick(table, *i))).collect();
    match items.len() {
        0 => format!("{:?}", pick(table, 0)),
        1 => items[0].clone(),
        _ => format!("[{}]", items.join(",")),
    }
}

fn statement(s: &Stmt, with_principal: bool) -> String {
    let effect = if s.deny { "Deny" } else { "Allow" };
    let action_key = if s.not_action { "NotAction" } else { "Action" };
    let resource_key = if s.not_resource { "NotResource" } else { "Resource" };
    let mut parts = vec![
        format!(r#""Effect":"{effect}""#),
        format!(r#""{action_key}":{}"#, list(&ACTIONS, &s.actions)),
        format!(r#""{resource_key}":{}"#, list(&RESOURCES, &s.resources)),
    ];
    if with_principal {
        parts.push(format!(r#""Principal":{}"#, pick(&PRINCIPALS, s.principal.unwrap_or(0))));
    }
    if !s.conditions.is_empty() {
        let conds: Vec<String> = s
            .conditions
            .iter()
            .take(3)
            .map(|c| {
                let values: Vec<String> =
                    c.values.iter().take(3).map(|v| format!("{:?}", pick(&VALUES, *v))).collect();
                format!(
                    r#""{}":{{"{}":[{}]}}"#,
                    pick(&OPERATORS, c.op),
                    pick(&KEYS, c.key),
                    values.join(",")
                )
            })
            .collect();
        parts.push(format!(r#""Condition":{{{}}}"#, conds.join(",")));
    }
    if let Some(b) = s.breakage {
        let i = usize::from(b) % parts.len();
        parts[i] = match b % 4 {
            0 => r#""Effect":"allow""#.into(),
            1 => r#""Action":5"#.into(),
            2 => r#""Resource":{"x":1}"#.into(),
            _ => r#""Bogus":true"#.into(),
        };
    }
    format!("{{{}}}", parts.join(","))
}

fn document(stmts: &[Stmt], with_principal: bool) -> String {
    let body: Vec<String> = stmts.iter().take(4).map(|s| statement(s, with_principal)).collect();
    format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, body.join(","))
}

fn compiled(text: &str) -> Option<CompiledPolicy> {
    CompiledPolicy::parse(text).ok()
}

fn assert_allow_is_sound(set: &PolicySet, req: &Request) -> Decision {
    let full = set.evaluate(req);
    assert_eq!(set.decide(req), full.decision, "decide and evaluate disagree");
    if full.decision == Decision::Allow {
        for r in &full.deciding {
            let policy = set.policy(r.kind, r.policy).expect("the deciding policy exists");
            let st = &policy.policy().statements[r.statement];
            assert!(!st.broken, "a broken statement allowed: {r:?}");
        }
    }
    full.decision
}

fuzz_target!(|input: Input| {
    let mut set = PolicySet::default();
    for stmts in input.identity.iter().take(3) {
        if let Some(p) = compiled(&document(stmts, false)) {
            set.identity.push(p);
        }
    }
    if let Some(stmts) = &input.resource_policy {
        set.resource = compiled(&document(stmts, true));
    }
    if let Some(stmts) = &input.boundary {
        set.boundary.extend(compiled(&document(stmts, false)));
    }
    if let Some(raw) = &input.raw {
        // Arbitrary text: when it parses, it takes part like any policy; when it does not,
        // it is refused here and can allow nothing.
        match CompiledPolicy::parse(raw) {
            Ok(p) => set.identity.push(p),
            Err(e) => assert_eq!(e.diagnostic.severity(), iam_sim::Severity::Error),
        }
    }
    let mut ctx = Context::new();
    for (k, v) in input.context.iter().take(4) {
        ctx.insert(pick(&KEYS, *k), ContextValue::Single(pick(&VALUES, *v).to_owned()));
    }
    let action = pick(&ACTIONS[..5], input.action);
    let resource = pick(&RESOURCES[..3], input.resource);
    let principal = [
        "arn:aws:iam::111122223333:user/u",
        "arn:aws:sts::111122223333:assumed-role/r/s",
        "eks-fargate-pods.amazonaws.com",
        "arn:aws:iam::444455556666:root",
    ][usize::from(input.principal) % 4];
    let req = Request::new(principal, action, resource, Some("111122223333"), ctx);
    let before = assert_allow_is_sound(&set, &req);

    let mut deny = input.extra_deny;
    deny.deny = true;
    deny.breakage = None;
    if let Some(p) = compiled(&document(std::slice::from_ref(&deny), false)) {
        set.identity.push(p);
        let after = assert_allow_is_sound(&set, &req);
        assert!(
            !(after == Decision::Allow && before != Decision::Allow),
            "adding a Deny turned {before:?} into Allow"
        );
    }
    let _ = PolicyKind::Identity;
});
