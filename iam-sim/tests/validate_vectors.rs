//! The validation vectors of the IAM specification (V01–V18): Access Analyzer issue codes map to
//! this project's codes, IAM's rejections must produce a finding, documented policies none.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iam_sim::Severity;
use iam_sim::validate::{Options, PolicyType, validate};

fn ours(aa: &str) -> &'static str {
    match aa {
        "ROLE_TRUST_POLICY_SYNTAX_ERROR_RESOURCE" => "IAM012",
        "ROLE_TRUST_POLICY_SYNTAX_ERROR_NOTPRINCIPAL" => "IAM013",
        "ROLE_TRUST_POLICY_UNSUPPORTED_WILDCARD_IN_PRINCIPAL" => "IAM016",
        "UNSUPPORTED_PRINCIPAL" => "IAM015",
        "UNSUPPORTED_SID" => "IAM017",
        "MISSING_VERSION" => "AA101",
        "INVALID_EFFECT" => "IAM008",
        "MISSING_CONDITION_KEY_FOR_OIDC_PRINCIPAL" => "AA109",
        "MISMATCHED_ACTION_FOR_PRINCIPAL" => "AA108",
        "FORANYVALUE_WITH_AUDIENCE_CLAIM_TYPE" => "AA110",
        "NULL_WITH_IF_EXISTS" => "AA106",
        "WILDCARD_WITHOUT_LIKE_OPERATOR" => "AA105",
        "FORALLVALUES_WITH_SINGLE_VALUED_KEY" => "AA107",
        other => panic!("no mapping for Access Analyzer code {other}"),
    }
}

#[test]
fn specification_validation_vectors() {
    let text = std::fs::read_to_string(format!(
        "{}/tests/corpus/spec-validate.jsonl",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut checked = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = v["id"].as_str().unwrap();
        if id == "V04" {
            // Needs the referenced role to be missing from the account: a property of IAM's
            // state, not of the document; covered by the scheduler's role lookups instead.
            continue;
        }
        let ty = match v["policyType"].as_str().unwrap() {
            "trust" => PolicyType::Trust,
            "identity" => PolicyType::Identity,
            _ => PolicyType::Resource,
        };
        let doc = serde_json::to_string_pretty(&v["doc"]).unwrap();
        let findings = validate(
            &doc,
            &Options {
                policy_type: Some(ty),
                ..Options::default()
            },
        )
        .findings;
        let codes: Vec<&str> = findings.iter().map(|d| d.code.as_str()).collect();
        for aa in v["expect"]["aa"].as_array().into_iter().flatten() {
            let want = ours(aa.as_str().unwrap());
            assert!(
                codes.contains(&want),
                "{id}: expected {want} for {aa}, got {codes:?}"
            );
        }
        match v["expect"]["iam"].as_str() {
            Some("ok") => assert!(
                !findings.iter().any(|d| d.severity() == Severity::Error),
                "{id}: IAM accepts it, got {codes:?}"
            ),
            Some(_) => assert!(
                !findings.is_empty(),
                "{id}: IAM rejects it, so there must be a finding"
            ),
            None => {}
        }
        checked += 1;
    }
    assert_eq!(checked, 17);
}

fn codes(text: &str, opts: &Options) -> Vec<&'static str> {
    validate(text, opts)
        .findings
        .iter()
        .map(|d| d.code.as_str())
        .collect()
}

#[test]
fn wildcard_sts_actions_are_checked_against_the_catalogue() {
    let doc = |action: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":"{action}"}}]}}"#
        )
    };
    let opts = Options::default();
    assert!(!codes(&doc("sts:Assume*"), &opts).contains(&"AA111"));
    assert!(!codes(&doc("STS:assumerole?ithSAML"), &opts).contains(&"AA111"));
    assert!(codes(&doc("sts:Zzz*"), &opts).contains(&"AA111"));
}

#[test]
fn irsa_string_like_sub_is_matched_against_the_service_account() {
    let host = "oidc.eks.eu-west-1.amazonaws.com/id/5C2A9B11E0F24C1DA1C7D0C6A33B0E77";
    let doc = |sub: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"arn:aws:iam::111122223333:oidc-provider/{host}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringLike":{{"{host}:sub":"{sub}"}},"StringEquals":{{"{host}:aud":"sts.amazonaws.com"}}}}}}]}}"#
        )
    };
    let opts = Options {
        purpose: Some(iam_sim::validate::Purpose::Irsa {
            oidc_provider: None,
            namespace: Some("apps".into()),
            service_account: Some("reader".into()),
        }),
        ..Options::default()
    };
    assert!(!codes(&doc("system:serviceaccount:apps:*"), &opts).contains(&"FS210"));
    assert!(!codes(&doc("system:serviceaccount:apps:read?r"), &opts).contains(&"FS210"));
    assert!(codes(&doc("system:serviceaccount:other:*"), &opts).contains(&"FS210"));
}
