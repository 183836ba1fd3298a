//! The checks that read the AWS service catalogue (AA111, AA115–AA119): each fires on its bad
//! example, stays quiet on the fixed one, and documented policies stay clean.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iam_sim::validate::{Options, validate};

fn codes(doc: &str) -> Vec<&'static str> {
    validate(doc, &Options::default())
        .findings
        .iter()
        .map(|d| d.code.as_str())
        .collect()
}

fn identity(statement: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#)
}

#[test]
fn an_unknown_action_of_any_service_is_an_error() {
    let doc = identity(r#"{"Effect":"Allow","Action":"eks:CreateFargateProfil","Resource":"*"}"#);
    let v = validate(&doc, &Options::default());
    assert_eq!(v.findings.len(), 1, "{:?}", v.findings);
    assert_eq!(v.findings[0].code, "AA111");
    assert_eq!(
        v.findings[0].help.as_deref(),
        Some("did you mean `eks:CreateFargateProfile`?")
    );
}

#[test]
fn a_known_action_of_any_service_in_any_case_is_clean() {
    let doc = identity(
        r#"{"Effect":"Allow","Action":["EKS:createfargateprofile","dynamodb:GetItem","ssm:GetParameter"],"Resource":"*"}"#,
    );
    assert_eq!(codes(&doc), Vec::<&str>::new());
}

#[test]
fn a_pattern_that_matches_no_action_is_an_error() {
    let doc = identity(r#"{"Effect":"Allow","Action":"eks:Fetch*","Resource":"*"}"#);
    assert_eq!(codes(&doc), ["AA111"]);
}

#[test]
fn an_unknown_service_prefix_is_an_error_with_the_closest_prefix() {
    let doc = identity(r#"{"Effect":"Allow","Action":"dynamodbb:GetItem","Resource":"*"}"#);
    let v = validate(&doc, &Options::default());
    assert_eq!(v.findings[0].code, "AA115");
    assert_eq!(
        v.findings[0].help.as_deref(),
        Some("did you mean `dynamodb:GetItem`?")
    );
}

#[test]
fn a_misspelt_global_key_is_an_error_with_a_suggestion() {
    let doc = identity(
        r#"{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransprt":"false"}}}"#,
    );
    let v = validate(&doc, &Options::default());
    assert_eq!(v.findings.len(), 1, "{:?}", v.findings);
    assert_eq!(v.findings[0].code, "AA116");
    assert_eq!(
        v.findings[0].help.as_deref(),
        Some("did you mean `aws:SecureTransport`?")
    );
}

#[test]
fn a_key_the_service_does_not_have_is_an_error() {
    let doc = identity(
        r#"{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:ViaServices":"s3.eu-west-1.amazonaws.com"}}}"#,
    );
    assert_eq!(codes(&doc), ["AA116"]);
}

#[test]
fn identity_provider_claims_are_not_taken_for_service_keys() {
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
      "Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC"},
      "Action":"sts:AssumeRoleWithWebIdentity",
      "Condition":{"StringEquals":{
        "oidc.eks.eu-west-1.amazonaws.com/id/ABC:sub":"system:serviceaccount:test:s3",
        "oidc.eks.eu-west-1.amazonaws.com/id/ABC:aud":"sts.amazonaws.com"}}}]}"#;
    assert!(
        !codes(doc).iter().any(|c| c.starts_with("AA11")),
        "{:?}",
        codes(doc)
    );
}

#[test]
fn a_service_key_no_action_supports_is_a_warning() {
    let doc = identity(
        r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringEquals":{"iam:PassedToService":"eks.amazonaws.com"}}}"#,
    );
    assert_eq!(codes(&doc), ["AA117"]);
}

#[test]
fn a_key_of_the_actions_resource_type_is_supported() {
    let doc = identity(
        r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringEquals":{"s3:ExistingObjectTag/team":"platform"}}}"#,
    );
    assert_eq!(codes(&doc), Vec::<&str>::new());
}

#[test]
fn not_action_skips_the_key_and_resource_checks() {
    let doc = identity(
        r#"{"Effect":"Deny","NotAction":"s3:GetObject","Resource":"arn:aws:s3:::b","Condition":{"StringEquals":{"s3:prefix":"x"}}}"#,
    );
    assert_eq!(codes(&doc), Vec::<&str>::new());
}

#[test]
fn an_object_action_on_a_bucket_arn_is_a_warning() {
    let doc = identity(r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b"}"#);
    assert_eq!(codes(&doc), ["AA118"]);
}

#[test]
fn a_bucket_arn_with_a_bucket_action_beside_is_clean() {
    let doc = identity(
        r#"{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}"#,
    );
    assert_eq!(codes(&doc), Vec::<&str>::new());
}

#[test]
fn an_arn_of_another_service_is_a_warning() {
    let doc =
        identity(r#"{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:s3:::b/*"}"#);
    assert_eq!(codes(&doc), ["AA118"]);
}

#[test]
fn a_role_arn_for_pass_role_is_clean() {
    let doc = identity(
        r#"{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::111122223333:role/path/s3-read"}"#,
    );
    assert_eq!(codes(&doc), Vec::<&str>::new());
}

#[test]
fn the_2008_version_is_a_warning() {
    let doc = r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
    assert_eq!(codes(doc), ["AA119"]);
}

#[test]
fn aws_managed_s3_read_only_access_is_clean() {
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
      "Action":["s3:Get*","s3:List*","s3:Describe*","s3-object-lambda:Get*","s3-object-lambda:List*"],
      "Resource":"*"}]}"#;
    assert_eq!(codes(doc), Vec::<&str>::new());
}

#[test]
fn the_eks_fargate_trust_policy_with_source_arn_is_clean() {
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
      "Principal":{"Service":"eks-fargate-pods.amazonaws.com"},"Action":"sts:AssumeRole",
      "Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:eks:eu-west-1:111122223333:fargateprofile/demo/*"},
                   "StringEquals":{"aws:SourceAccount":"111122223333"}}}]}"#;
    assert_eq!(codes(doc), Vec::<&str>::new());
}

#[test]
fn a_cross_account_trust_with_external_id_is_clean() {
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
      "Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"sts:AssumeRole",
      "Condition":{"StringEquals":{"sts:ExternalId":"x-123"}}}]}"#;
    assert_eq!(codes(doc), Vec::<&str>::new());
}

#[test]
fn resource_checks_stop_at_their_budget() {
    // 400 ARNs of 2,000 characters that no S3 action acts on: each costs its length times the
    // S3 formats' lengths, so the budget admits the first few and leaves the rest unchecked.
    let long = format!("arn:aws:iam::111122223333:role/{}", "a".repeat(1960));
    let resources: Vec<String> = (0..400).map(|_| format!("\"{long}\"")).collect();
    let doc = identity(&format!(
        r#"{{"Effect":"Allow","Action":"s3:*","Resource":[{}]}}"#,
        resources.join(",")
    ));
    let found = codes(&doc);
    assert!(found.iter().all(|c| *c == "AA118"), "{found:?}");
    assert!((1..10).contains(&found.len()), "{} findings", found.len());
}

#[test]
fn an_arn_longer_than_iam_allows_is_not_checked() {
    let long = format!("arn:aws:iam::111122223333:role/{}", "a".repeat(2100));
    let doc = identity(&format!(
        r#"{{"Effect":"Allow","Action":"s3:GetObject","Resource":"{long}"}}"#
    ));
    assert_eq!(codes(&doc), Vec::<&str>::new());
}
