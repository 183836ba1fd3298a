//! The test vectors of the IAM specification (`../shared/spec/iam.md` §6), kept as corpus
//! files under `tests/corpus/`: evaluation cases in the case schema, condition blocks, and
//! Action/Resource matches. The validation vectors belong to `fargate-sim validate`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iam_sim::cases::{context_value, parse_case};
use iam_sim::condition::Tri;
use iam_sim::eval::{action_matches, condition_holds, resource_matches};
use iam_sim::{CompiledPolicy, Context};

fn lines(name: &str) -> Vec<String> {
    let path = format!("{}/tests/corpus/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// Decides every case of a corpus file: how many asserted a decision, how many did not, and
/// the asserted ones that got another. The explained path must agree with the fast path.
fn decide_cases(name: &str) -> (usize, usize, Vec<String>) {
    let (mut asserted, mut unasserted, mut failures) = (0, 0, Vec::new());
    for line in lines(name) {
        let case = parse_case(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let got = case.set.decide(&case.request);
        assert_eq!(
            case.set.evaluate(&case.request).decision,
            got,
            "{:?}",
            case.id
        );
        let Some(expected) = case.expected else {
            unasserted += 1;
            continue;
        };
        if got != expected {
            failures.push(format!(
                "{}: expected {expected}, got {got}",
                case.id.unwrap_or_default()
            ));
        }
        asserted += 1;
    }
    (asserted, unasserted, failures)
}

#[test]
fn evaluation_vectors() {
    let (checked, _, failures) = decide_cases("spec-eval.jsonl");
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(checked, 29, "E21 is unasserted, the other 29 are");
}

#[test]
fn condition_vectors() {
    let mut failures = Vec::new();
    let all = lines("spec-cond.jsonl");
    for line in &all {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let doc = serde_json::json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": v["cond"]}});
        let policy = CompiledPolicy::parse(&doc.to_string()).unwrap();
        let mut ctx = Context::new();
        for (k, val) in v["ctx"].as_object().unwrap() {
            ctx.insert(k, context_value(val).unwrap());
        }
        let got = condition_holds(&policy, 0, &ctx);
        let want = if v["expect"].as_bool().unwrap() {
            Tri::True
        } else {
            Tri::False
        };
        if got != want {
            failures.push(format!("{}: expected {want:?}, got {got:?}", v["id"]));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(all.len(), 54);
}

#[test]
fn match_vectors() {
    let all = lines("spec-match.jsonl");
    for line in &all {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let (pattern, value) = (v["pattern"].as_str().unwrap(), v["value"].as_str().unwrap());
        let got = match v["element"].as_str().unwrap() {
            "Action" => action_matches(pattern, value),
            _ => resource_matches(pattern, value, Context::new(), true),
        };
        let want = if v["expect"].as_bool().unwrap() {
            Tri::True
        } else {
            Tri::False
        };
        assert_eq!(got, want, "{}", v["id"]);
    }
    assert_eq!(all.len(), 11);
}

#[test]
fn condition_and_match_vectors_as_cases() {
    // The same 65 vectors in the case schema, through the whole decision procedure.
    let mut n = 0;
    for line in lines("spec-cond-match-cases.jsonl") {
        let case = parse_case(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let expected = case.expected.unwrap();
        assert_eq!(case.set.decide(&case.request), expected, "{:?}", case.id);
        n += 1;
    }
    assert_eq!(n, 65);
}

/// Our own vectors for rules where AWS's documentation decides (the source of each is in its
/// `src`): Allow + NotPrincipal, KMS key policies, actions that need no permission, VPC
/// endpoint policies.
#[test]
fn fidelity_vectors() {
    let (checked, unasserted, failures) = decide_cases("fidelity.jsonl");
    assert_eq!(unasserted, 0, "every fidelity vector asserts a decision");
    assert!(checked >= 14);
    assert!(failures.is_empty(), "{failures:#?}");
}
