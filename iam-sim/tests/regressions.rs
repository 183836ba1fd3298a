//! Regressions found by fuzzing (`fuzz/`), one test each, named after what went wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use iam_sim::{CompiledPolicy, Context, Decision, PolicyKind, PolicySet, Request};

#[test]
fn an_assume_role_decided_by_a_resource_policy_points_at_that_policy() {
    // evaluate target: AssumeRole with a resource-based policy and no trust policy. The
    // resource policy decides as the role's trust policy; the deciding statement must be
    // found where the reference says it is.
    let policy = CompiledPolicy::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks-fargate-pods.amazonaws.com"},"Action":"sts:AssumeRole","Resource":"*"}]}"#,
    )
    .unwrap();
    let set = PolicySet {
        resource: Some(policy),
        ..PolicySet::default()
    };
    let req = Request::new(
        "eks-fargate-pods.amazonaws.com",
        "sts:AssumeRole",
        "arn:aws:iam::111122223333:role/r",
        None,
        Context::new(),
    );
    let r = set.evaluate(&req);
    assert_eq!(r.decision, Decision::Allow);
    let d = r.deciding.first().unwrap();
    assert_eq!(d.kind, PolicyKind::Trust);
    let st = &set.policy(d.kind, d.policy).unwrap().policy().statements[d.statement];
    assert!(!st.broken);
}
