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

#[test]
fn a_finding_about_the_whole_document_points_at_its_opening_brace() {
    // policy_validate target: the span was bytes 0..1 whatever came first, which split a
    // multi-byte character in front of the document.
    let text = "\n  {\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}]}";
    let v = iam_sim::validate::validate(text, &iam_sim::validate::Options::default());
    let d = v.findings.iter().find(|d| d.code == "AA101").unwrap();
    assert_eq!((d.span.start, d.span.end), (3, 4));
}

#[test]
fn unicode_whitespace_in_front_of_the_document_is_invalid_json() {
    // policy_validate target: U+0085 (NEL) before the document was taken for whitespace.
    let text = "\u{85}{\"Version\":\"2012-10-17\",\"Statement\":[]}";
    let e = iam_sim::Policy::parse(text).err().unwrap();
    assert_eq!(e.diagnostic.code, "IAM001");
    assert_eq!((e.diagnostic.span.start, e.diagnostic.span.end), (0, 2));
}
