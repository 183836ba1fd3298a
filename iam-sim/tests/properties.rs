//! Properties of the engine: an added Deny never produces an Allow, statement order never
//! matters, and the wildcard matcher agrees with a naive reference.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iam_sim::glob::{Case, Pattern};
use iam_sim::{CompiledPolicy, Context, ContextValue, Decision, PolicySet, Request};
use proptest::prelude::*;

/// A naive, obviously correct (exponential in the worst case) reference matcher.
fn naive(p: &[char], t: &[char]) -> bool {
    match (p.first(), t.first()) {
        (None, None) => true,
        (None, Some(_)) => false,
        (Some('*'), _) => naive(&p[1..], t) || (!t.is_empty() && naive(p, &t[1..])),
        (Some('?'), Some(_)) => naive(&p[1..], &t[1..]),
        (Some(c), Some(d)) if c == d => naive(&p[1..], &t[1..]),
        _ => false,
    }
}

const ACTIONS: [&str; 6] = [
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "s3:Get*",
    "s3:*",
    "*",
];
const RESOURCES: [&str; 5] = [
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b",
    "arn:aws:s3:::b/k",
    "*",
    "arn:aws:s3:::other/*",
];
const CONDS: [&str; 5] = [
    "",
    r#","Condition":{"StringEquals":{"aws:PrincipalTag/team":"blue"}}"#,
    r#","Condition":{"StringNotEquals":{"aws:PrincipalTag/team":"blue"}}"#,
    r#","Condition":{"Bool":{"aws:SecureTransport":"true"}}"#,
    r#","Condition":{"Nonsense":{"a":"b"}}"#,
];

fn statement() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        any::<bool>(),
        0..ACTIONS.len(),
        0..RESOURCES.len(),
        0..CONDS.len(),
    )
        .prop_map(|(allow, not_action, a, r, c)| {
            format!(
                r#"{{"Effect":"{}","{}":"{}","Resource":"{}"{}}}"#,
                if allow { "Allow" } else { "Deny" },
                if not_action { "NotAction" } else { "Action" },
                ACTIONS[a],
                RESOURCES[r],
                CONDS[c]
            )
        })
}

fn policy(stmts: &[String]) -> CompiledPolicy {
    CompiledPolicy::parse(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        stmts.join(",")
    ))
    .unwrap()
}

fn request(action: usize, team: bool) -> Request {
    let mut ctx = Context::new();
    if team {
        ctx.insert("aws:PrincipalTag/team", ContextValue::Single("blue".into()));
    }
    ctx.insert("aws:SecureTransport", ContextValue::Single("true".into()));
    let action = ["s3:GetObject", "s3:PutObject", "s3:ListBucket"][action];
    Request::new(
        "arn:aws:sts::111122223333:assumed-role/app/s",
        action,
        "arn:aws:s3:::b/k",
        None,
        ctx,
    )
}

proptest! {
    #[test]
    fn wildcard_matcher_agrees_with_naive_reference(p in "[ab*?]{0,8}", t in "[ab]{0,10}") {
        let pc: Vec<char> = p.chars().collect();
        let tc: Vec<char> = t.chars().collect();
        prop_assert_eq!(Pattern::new(&p, Case::Sensitive).is_match(&t), naive(&pc, &tc));
        prop_assert_eq!(iam_sim::glob::is_match_once(&p, &t, Case::Sensitive), naive(&pc, &tc));
    }

    #[test]
    fn shortcut_compilation_gives_the_general_compiler_s_pattern(
        p in "[ab*?]{0,6}",
        lit_star in proptest::bool::ANY,
        ci in proptest::bool::ANY,
    ) {
        let case = if ci { Case::Insensitive } else { Case::Sensitive };
        let general = Pattern::from_tokens(iam_sim::glob::tokens(&p), case);
        prop_assert_eq!(&Pattern::new(&p, case), &general);
        let toks: Vec<iam_sim::glob::Token> = iam_sim::glob::tokens(&p).collect();
        prop_assert_eq!(&Pattern::from_token_slice(&toks, case), &general);
        // Literal stars (as `${*}` produces) stay literal.
        let mut toks = toks;
        if lit_star {
            toks.push(iam_sim::glob::Token::Lit(b'*'));
        }
        prop_assert_eq!(
            Pattern::from_token_slice(&toks, case),
            Pattern::from_tokens(toks.iter().copied(), case)
        );
        prop_assert_eq!(
            Pattern::literal(&p, case),
            Pattern::from_tokens(p.bytes().map(iam_sim::glob::Token::Lit), case)
        );
    }

    #[test]
    fn one_shot_arn_matcher_agrees_with_compiled_arn_patterns(
        p in "arn:[a*]{0,3}:[eks*?]{0,3}:[a:*]{0,4}:[0-9*]{0,3}:[a/:*?]{0,6}",
        t in "arn:a{0,2}:[eks]{0,3}:[a:]{0,3}:[0-9]{0,3}:[a/:]{0,5}",
    ) {
        let compiled = iam_sim::condition::Value::compile(iam_sim::condition::Base::ArnLike, &p, false);
        let expected = iam_sim::condition::compare(iam_sim::condition::Base::ArnLike, &compiled, &t, &|_| None)
            == iam_sim::condition::Tri::True;
        prop_assert_eq!(iam_sim::condition::arn_like_once(&p, &t), expected);
    }

    #[test]
    fn one_shot_matching_without_case_agrees_with_the_compiled_pattern(
        p in "[aAbB*?:]{0,8}",
        t in "[aAbB:]{0,10}",
    ) {
        // Covers the shapes matched at once (no wildcard, one trailing `*`) and the general walk.
        prop_assert_eq!(
            iam_sim::glob::is_match_once(&p, &t, Case::Insensitive),
            Pattern::new(&p, Case::Insensitive).is_match(&t)
        );
    }

    #[test]
    fn every_repeated_key_is_reported_and_no_other(keys in prop::collection::vec("[ab]{0,3}", 0..24)) {
        // Short keys over two letters: many share the filter's bit without being equal, and
        // more than sixteen keys reach the hash-set path.
        let members: Vec<String> = keys.iter().map(|k| format!("\"{k}\": \"v\"")).collect();
        let text = format!(
            r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {{"StringEquals": {{{}}}}}}}]}}"#,
            members.join(", ")
        );
        let reported = iam_sim::Policy::parse(&text)
            .unwrap()
            .diagnostics
            .iter()
            .filter(|d| d.code == "IAM003")
            .count();
        let repeats = (0..keys.len()).filter(|&i| keys[..i].contains(&keys[i])).count();
        prop_assert_eq!(reported, repeats, "{}", text);
    }

    #[test]
    fn wildcard_matcher_agrees_on_multibyte_text(p in "[aé*?]{0,6}", t in "[aé]{0,8}") {
        let pc: Vec<char> = p.chars().collect();
        let tc: Vec<char> = t.chars().collect();
        prop_assert_eq!(Pattern::new(&p, Case::Sensitive).is_match(&t), naive(&pc, &tc));
        prop_assert_eq!(iam_sim::glob::is_match_once(&p, &t, Case::Sensitive), naive(&pc, &tc));
    }

    #[test]
    fn an_added_deny_never_produces_an_allow(
        stmts in prop::collection::vec(statement(), 1..6),
        deny in statement(),
        action in 0..3usize,
        team in any::<bool>(),
    ) {
        let req = request(action, team);
        let before = PolicySet { identity: vec![policy(&stmts)], ..PolicySet::default() }.decide(&req);
        let deny = deny.replacen("\"Allow\"", "\"Deny\"", 1);
        let mut more = stmts.clone();
        more.push(deny);
        let after = PolicySet { identity: vec![policy(&more)], ..PolicySet::default() }.decide(&req);
        if before != Decision::Allow {
            prop_assert_ne!(after, Decision::Allow);
        }
        if before == Decision::ExplicitDeny {
            prop_assert_eq!(after, Decision::ExplicitDeny);
        }
    }

    #[test]
    fn statement_order_never_matters(
        stmts in prop::collection::vec(statement(), 1..6),
        seed in any::<u64>(),
        action in 0..3usize,
        team in any::<bool>(),
    ) {
        let req = request(action, team);
        let mut shuffled = stmts.clone();
        let mut s = seed;
        for i in (1..shuffled.len()).rev() {
            s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            shuffled.swap(i, (s >> 33) as usize % (i + 1));
        }
        let a = PolicySet { identity: vec![policy(&stmts)], ..PolicySet::default() };
        let b = PolicySet { identity: vec![policy(&shuffled)], ..PolicySet::default() };
        prop_assert_eq!(a.decide(&req), b.decide(&req));
        prop_assert_eq!(a.evaluate(&req).decision, a.decide(&req));
    }

    #[test]
    fn parse_never_panics(text in ".{0,200}") {
        let _ = CompiledPolicy::parse(&text);
    }
}

#[test]
fn an_unknown_operator_never_allows_but_still_denies() {
    let req = request(0, true);
    let allow = policy(&[
        r#"{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualz":{"a":"b"}}}"#
            .to_owned(),
    ]);
    assert_eq!(
        PolicySet {
            identity: vec![allow],
            ..PolicySet::default()
        }
        .decide(&req),
        Decision::ImplicitDeny
    );
    let deny = policy(&[
        r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#.to_owned(),
        r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEqualz":{"a":"b"}}}"#
            .to_owned(),
    ]);
    assert_eq!(
        PolicySet {
            identity: vec![deny],
            ..PolicySet::default()
        }
        .decide(&req),
        Decision::ExplicitDeny
    );
}
