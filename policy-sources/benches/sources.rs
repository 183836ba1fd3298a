//! Reading policies out of a large Terraform plan (about 10 MB, 2,000 policies), and that plan
//! read and validated as `fargate-sim validate` does it (every finding mapped back).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use iam_sim::validate::{Options, validate};
use policy_sources::{Document, InputType, Pseudo, extract};
use std::hint::black_box;

#[path = "support/plan.rs"]
mod generator;

fn read_and_validate(text: &str) -> usize {
    let x = extract(text, InputType::TerraformPlan, &Pseudo::default());
    let mut n = 0;
    for p in &x.policies {
        if let Document::Known(r) = &p.document {
            let opts = Options {
                policy_type: p.policy_type,
                ..Options::default()
            };
            for d in validate(&r.text, &opts).findings {
                n += r.map.map(d.span, text).end;
            }
        }
    }
    n + x.policies.len()
}

fn bench(c: &mut Criterion) {
    let plan = generator::plan(2000);
    let x = extract(&plan, InputType::TerraformPlan, &Pseudo::default());
    assert_eq!(x.policies.len(), 2000);
    assert!(plan.len() > 9_000_000, "{} bytes", plan.len());
    let mut g = c.benchmark_group("terraform_plan_10mb");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(plan.len() as u64));
    g.bench_function("extract", |b| {
        b.iter(|| {
            extract(
                black_box(&plan),
                InputType::TerraformPlan,
                &Pseudo::default(),
            )
        })
    });
    g.bench_function("extract_and_validate", |b| {
        b.iter(|| read_and_validate(black_box(&plan)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
