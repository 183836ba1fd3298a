//! The differential: every case where a peer's decision differs from this project's, grouped
//! by cause. A cause is recognised from the case's features (its `tags`) and the two
//! decisions; each known cause carries the explanation and the AWS documentation that decides
//! it. A disagreement no rule recognises is reported as `unexplained` — the test in
//! `tests/differential.rs` fails on those.

use std::collections::BTreeMap;

use serde_json::Value;

/// A known cause of disagreement.
pub struct Cause {
    /// Stable key.
    pub key: &'static str,
    /// Which side is right, and why, in one paragraph.
    pub explanation: &'static str,
    /// The AWS documentation that decides it.
    pub source: &'static str,
}

/// One disagreement.
#[derive(Debug, Clone)]
pub struct Disagreement {
    /// Case id.
    pub id: String,
    /// This project's decision.
    pub ours: String,
    /// The peer's decision.
    pub theirs: String,
    /// The decision known by construction.
    pub expected: String,
}

/// Recognises the cause of one disagreement between `tool` and this project on `case`.
pub fn classify(tool: &str, case: &Value, theirs: &str) -> &'static str {
    let tags: Vec<&str> = case["tags"]
        .as_array()
        .map(|t| t.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let has = |t: &str| tags.contains(&t);
    let peer = tool.split_whitespace().next().unwrap_or(tool);
    match peer {
        "moto" => {
            if theirs == "Error" && has("vpc-endpoint") {
                "moto-no-vpc-endpoint-policies"
            } else if theirs == "Error" && has("service-principal") {
                "moto-service-principal-crash"
            } else if theirs == "Error" && has("federated") {
                "moto-federated-principal-crash"
            } else if has("action-case") {
                "moto-case-sensitive-actions"
            } else if has("cross-account") {
                "moto-no-cross-account-evaluation"
            } else if has("condition") && theirs == "ExplicitDeny" {
                "moto-unmet-condition-is-explicit-deny"
            } else if has("condition") {
                "moto-condition-operator-ignored"
            } else if has("not-resource") {
                "moto-not-resource-ignored"
            } else {
                "unexplained"
            }
        }
        "iam-simulate" => {
            let unsafe_mode = tool.contains("runUnsafeSimulation");
            if unsafe_mode
                && theirs == "Error"
                && (has("service-principal") || has("federated") || has("resource-policy"))
            {
                "iam-simulate-unsafe-resource-policy-crash"
            } else if unsafe_mode && has("vpc-endpoint") && theirs == "Allow" {
                "iam-simulate-unsafe-ignores-endpoint-policies"
            } else if !unsafe_mode && has("oidc-keys") && theirs == "ImplicitDeny" {
                "iam-simulate-strict-drops-oidc-keys"
            } else {
                "unexplained"
            }
        }
        _ => "unexplained",
    }
}

/// The known causes.
pub const CAUSES: &[Cause] = &[
    Cause {
        key: "moto-no-vpc-endpoint-policies",
        explanation: "moto's policy evaluator has no notion of a VPC endpoint or its policy, so it cannot express these cases: they are counted as not answered (`Error`) without asking it. AWS requires a request that comes through an endpoint to be allowed by the endpoint's policy as well; a Deny there wins.",
        source: "https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html",
    },
    Cause {
        key: "moto-service-principal-crash",
        explanation: "moto's statement matcher reads `Principal.AWS` only; a trust policy naming a `Service` principal (here `eks-fargate-pods.amazonaws.com`) makes it raise instead of deciding. AWS evaluates service principals in trust policies: Fargate assumes the pod execution role exactly this way.",
        source: "https://docs.aws.amazon.com/eks/latest/userguide/pod-execution-role.html",
    },
    Cause {
        key: "moto-federated-principal-crash",
        explanation: "As above for `Federated` principals: moto raises on the IRSA trust policy instead of deciding. AWS matches the OIDC provider ARN named in `Principal.Federated` against the web-identity caller.",
        source: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-federated-web-identity",
    },
    Cause {
        key: "moto-case-sensitive-actions",
        explanation: "The request spells the action in another letter case (`s3:getobject`). AWS compares action names case-insensitively; moto compares them with a case-sensitive regular expression, so the statement does not apply there.",
        source: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html",
    },
    Cause {
        key: "moto-no-cross-account-evaluation",
        explanation: "Cross-account access needs both the caller's identity policy and the bucket policy to allow; moto treats any single Allow as enough (and has no notion of the resource's account).",
        source: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html",
    },
    Cause {
        key: "moto-condition-operator-ignored",
        explanation: "moto evaluates one condition operator, `StringEquals`; every other operator (numeric, date, IP, ARN, `Null`, `…IfExists`, `ForAnyValue`/`ForAllValues`, the other string ones) is skipped as if it held, and a key missing from the request also counts as a match. AWS defines each operator family, and a condition on a missing key is false unless the operator is `Null` or ends in `IfExists`.",
        source: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html",
    },
    Cause {
        key: "moto-unmet-condition-is-explicit-deny",
        explanation: "When a `StringEquals` condition does not hold, moto answers DENIED for the statement, whatever its effect. In AWS a statement whose condition does not hold simply does not apply: an Allow statement then grants nothing (implicit deny) and a Deny statement denies nothing.",
        source: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html",
    },
    Cause {
        key: "moto-not-resource-ignored",
        explanation: "moto reads `Resource` but not `NotResource`; a statement with `NotResource` is taken to apply to every resource. AWS applies it to every resource except the ones listed.",
        source: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html",
    },
    Cause {
        key: "iam-simulate-strict-drops-oidc-keys",
        explanation: "iam-simulate's validated mode keeps only the condition keys its catalogue lists for the action; the EKS OIDC provider's keys (`oidc.eks.REGION.amazonaws.com/id/ID:sub` and `:aud`) are not among them for `sts:AssumeRoleWithWebIdentity`, so the request reaches the trust policy without them, its `StringEquals` conditions fail, and an IRSA pod that AWS lets in is implicitly denied. AWS documents exactly these keys for IRSA trust policies.",
        source: "https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html",
    },
    Cause {
        key: "iam-simulate-unsafe-ignores-endpoint-policies",
        explanation: "`runUnsafeSimulation` builds its request without the simulation's VPC endpoint policies (it passes none), so a request through an endpoint whose policy does not allow it is still allowed there. AWS requires the endpoint policy to allow the request as well; the validated mode (`runSimulation`) takes the endpoint policies and agrees with this project on these cases.",
        source: "https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html",
    },
    Cause {
        key: "iam-simulate-unsafe-resource-policy-crash",
        explanation: "`runUnsafeSimulation` calls `loadPolicy(resourcePolicy)` without the metadata argument that `loadPolicy` reads a `name` from, so every request that comes with a trust or resource policy throws a `TypeError` instead of being decided. Its validated mode (`runSimulation`) decides these cases; compare them there.",
        source: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html",
    },
];

/// Groups the disagreements of one tool by cause.
pub fn group<'a>(
    tool: &str,
    cases: &[Value],
    ours: &[String],
    theirs: &[Value],
) -> BTreeMap<&'a str, Vec<Disagreement>> {
    let mut out: BTreeMap<&str, Vec<Disagreement>> = BTreeMap::new();
    for ((case, o), t) in cases.iter().zip(ours).zip(theirs) {
        let t = t.as_str().unwrap_or("Error");
        if t == o {
            continue;
        }
        let cause = classify(tool, case, t);
        out.entry(cause).or_default().push(Disagreement {
            id: case["id"].as_str().unwrap_or_default().to_owned(),
            ours: o.clone(),
            theirs: t.to_owned(),
            expected: case["expected"].as_str().unwrap_or_default().to_owned(),
        });
    }
    out
}
