//! Decisions per second on compiled, pre-parsed policies (`cargo bench -p iam-sim`).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use iam_sim::{CompiledPolicy, Context, ContextValue, Decision, PolicySet, Request};

const TRUST: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:eks:eu-west-1:111122223333:fargateprofile/demo/*"}},
    "Principal": {"Service": "eks-fargate-pods.amazonaws.com"},
    "Action": "sts:AssumeRole"
  }]
}"#;

const S3_READ_ONLY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Action": ["s3:Get*", "s3:List*", "s3:Describe*", "s3-object-lambda:Get*", "s3-object-lambda:List*"],
    "Resource": "*"
  }]
}"#;

const IDENTITY_WITH_KEYS: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Action": ["s3:GetObject", "s3:PutObject"],
    "Resource": "arn:aws:s3:::example-bucket/home/${aws:username}/*",
    "Condition": {"StringEquals": {"s3:ExistingObjectTag/team": "platform", "aws:PrincipalTag/team": "platform"}}
  }]
}"#;

fn fifty_statements() -> String {
    let ops = [
        "StringEquals",
        "StringLike",
        "ArnLike",
        "IpAddress",
        "Bool",
        "NumericLessThan",
        "DateGreaterThan",
        "StringNotEquals",
    ];
    let mut stmts = Vec::new();
    for i in 0..50 {
        let op = ops[i % ops.len()];
        let (key, value) = match op {
            "ArnLike" => (
                "aws:PrincipalArn",
                format!("arn:aws:iam::111122223333:role/team-{i}-*"),
            ),
            "IpAddress" => ("aws:SourceIp", format!("10.{i}.0.0/16")),
            "Bool" => ("aws:SecureTransport", "false".to_owned()),
            "NumericLessThan" => ("s3:max-keys", format!("{i}")),
            "DateGreaterThan" => ("aws:CurrentTime", "2030-01-01T00:00:00Z".to_owned()),
            _ => ("aws:PrincipalTag/team", format!("team-{i}*")),
        };
        let effect = if i == 49 {
            "Allow"
        } else if i % 10 == 3 {
            "Deny"
        } else {
            "Allow"
        };
        let action = if i == 49 {
            "s3:GetObject".to_owned()
        } else {
            format!("s3:Put*{i}")
        };
        let cond = if i == 49 {
            String::new()
        } else {
            format!(r#","Condition":{{"{op}":{{"{key}":"{value}"}}}}"#)
        };
        stmts.push(format!(r#"{{"Sid":"S{i}","Effect":"{effect}","Action":"{action}","Resource":"arn:aws:s3:::bucket-{i}/*"{cond}}}"#));
    }
    stmts[49] = r#"{"Sid":"S49","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/*","Condition":{"StringLike":{"aws:PrincipalTag/team":"team-*"}}}"#.to_owned();
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        stmts.join(",")
    )
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("decide");
    g.throughput(Throughput::Elements(1));

    let trust = PolicySet {
        trust: Some(CompiledPolicy::parse(TRUST).unwrap()),
        ..PolicySet::default()
    };
    let mut ctx = Context::new();
    ctx.insert(
        "aws:SourceArn",
        ContextValue::Single(
            "arn:aws:eks:eu-west-1:111122223333:fargateprofile/demo/test/1a2b3c".into(),
        ),
    );
    let req = Request::new(
        "eks-fargate-pods.amazonaws.com",
        "sts:AssumeRole",
        "arn:aws:iam::111122223333:role/s3-read",
        None,
        ctx,
    );
    assert_eq!(trust.decide(&req), Decision::Allow);
    g.bench_function("a_fargate_trust_arnlike", |b| {
        b.iter(|| black_box(&trust).decide(black_box(&req)))
    });

    let ro = PolicySet {
        identity: vec![CompiledPolicy::parse(S3_READ_ONLY).unwrap()],
        ..PolicySet::default()
    };
    let req = Request::new(
        "arn:aws:sts::111122223333:assumed-role/s3-read/pod",
        "s3:GetObject",
        "arn:aws:s3:::test-bucket-1/hello.txt",
        None,
        Context::new(),
    );
    assert_eq!(ro.decide(&req), Decision::Allow);
    g.bench_function("b_s3_read_only_getobject", |b| {
        b.iter(|| black_box(&ro).decide(black_box(&req)))
    });

    let big = PolicySet {
        identity: vec![CompiledPolicy::parse(&fifty_statements()).unwrap()],
        ..PolicySet::default()
    };
    let mut ctx = Context::new();
    ctx.insert(
        "aws:PrincipalTag/team",
        ContextValue::Single("team-7".into()),
    );
    ctx.insert("aws:SourceIp", ContextValue::Single("10.7.1.2".into()));
    ctx.insert("aws:SecureTransport", ContextValue::Single("true".into()));
    let req = Request::new(
        "arn:aws:sts::111122223333:assumed-role/app/pod",
        "s3:GetObject",
        "arn:aws:s3:::data/x.csv",
        None,
        ctx,
    );
    assert_eq!(big.decide(&req), Decision::Allow);
    g.bench_function("c_fifty_statements_with_conditions", |b| {
        b.iter(|| black_box(&big).decide(black_box(&req)))
    });
    g.finish();

    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(1));
    g.bench_function("trust_policy", |b| {
        b.iter(|| CompiledPolicy::parse(black_box(TRUST)).unwrap())
    });
    g.bench_function("trust_policy_model_only", |b| {
        b.iter(|| iam_sim::Policy::parse(black_box(TRUST)).unwrap())
    });
    g.finish();

    // Files validated per second, in process: the recommended Fargate trust policy.
    let mut g = c.benchmark_group("validate");
    g.throughput(Throughput::Elements(1));
    let opts = iam_sim::validate::Options {
        purpose: Some(iam_sim::validate::Purpose::FargatePodExecution {
            cluster: Some("demo".into()),
            region: Some("eu-west-1".into()),
            account: Some("111122223333".into()),
        }),
        ..Default::default()
    };
    let found = iam_sim::validate::validate(TRUST, &opts).findings;
    assert!(found.is_empty(), "{found:?}");
    g.bench_function("fargate_trust_policy_file", |b| {
        b.iter(|| iam_sim::validate::validate(black_box(TRUST), &opts))
    });
    // `fargate-sim validate FILE`: the type detected, and the purpose inferred from the
    // principal (this policy trusts the Fargate pods principal, so the Fargate checks run).
    let plain = iam_sim::validate::Options::default();
    g.bench_function("plain_trust_policy_file", |b| {
        b.iter(|| iam_sim::validate::validate(black_box(TRUST), &plain))
    });
    // The same without the purpose checks, as `validate` ran before it inferred purposes.
    let no_inference = iam_sim::validate::Options {
        infer_purpose: false,
        ..Default::default()
    };
    g.bench_function("plain_trust_policy_file_no_inference", |b| {
        b.iter(|| iam_sim::validate::validate(black_box(TRUST), &no_inference))
    });

    // Files validated per second with the catalogue's checks at work: an identity policy with
    // a condition key and resource ARNs that are looked up.
    g.bench_function("plain_identity_policy_with_keys_file", |b| {
        b.iter(|| iam_sim::validate::validate(black_box(IDENTITY_WITH_KEYS), &plain))
    });
    g.finish();

    // The AWS service catalogue: lookups as the validator makes them (the table is read once,
    // before the clock starts).
    let cat = iam_sim::catalog::catalog();
    let mut g = c.benchmark_group("catalog");
    g.bench_function("service_and_action", |b| {
        b.iter(|| {
            cat.service(black_box("s3"))
                .and_then(|s| s.action(black_box("GetObject")))
                .is_some()
        })
    });
    g.bench_function("global_key", |b| {
        b.iter(|| cat.global_key(black_box("aws:SourceArn")).is_some())
    });
    g.bench_function("read_the_table_once", |b| {
        b.iter(|| iam_sim::catalog::Catalog::read_embedded().services().len())
    });
    g.bench_function("expand_s3_get_star", |b| {
        b.iter(|| cat.expand(black_box("s3:Get*")).len())
    });
    g.finish();

    // "Did you mean": a misspelled service principal against the ones the validator knows.
    let mut g = c.benchmark_group("did_you_mean");
    g.bench_function("misspelled_service_principal", |b| {
        b.iter(|| {
            iam_sim::policy::did_you_mean(
                black_box("eks-fargate-pod.amazonaws.com"),
                iam_sim::validate::KNOWN_SERVICE_PRINCIPALS,
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
