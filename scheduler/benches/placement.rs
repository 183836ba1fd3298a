//! Placement throughput: 100,000 pods against 10 ACTIVE profiles × 5 selectors with wildcards
//! (`cargo bench -p scheduler --bench placement`).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scheduler::cluster::CompiledProfile;
use scheduler::placement::{Choice, Placer};
use scheduler::{Pod, Selector, place};

fn profiles() -> Vec<CompiledProfile> {
    (0..10)
        .map(|p| {
            let selectors: Vec<Selector> = (0..5)
                .map(|s| Selector {
                    namespace: Some(match s % 3 {
                        0 => format!("team{p}-*"),
                        1 => format!("svc-{p}{s}?"),
                        _ => format!("ns-{p}-{s}"),
                    }),
                    labels: [
                        ("app".to_owned(), format!("web-{s}*")),
                        (
                            format!("tier{}", if s % 2 == 0 { "*" } else { "" }),
                            "front?nd".to_owned(),
                        ),
                    ]
                    .into_iter()
                    .collect::<BTreeMap<_, _>>(),
                })
                .collect();
            CompiledProfile::new(&format!("profile-{p:02}"), &selectors)
        })
        .collect()
}

fn pods(n: usize) -> Vec<Pod> {
    (0..n)
        .map(|i| {
            let p = i % 13; // some namespaces match no profile at all
            let ns = match i % 4 {
                0 => format!("team{p}-prod"),
                1 => format!("svc-{p}0x"),
                2 => format!("ns-{p}-2"),
                _ => format!("other-{i}"),
            };
            let labels = [
                ("app", format!("web-{}-x", i % 5)),
                ("tier", "frontend".to_owned()),
                ("version", format!("v{i}")),
            ];
            let mut pod = Pod::new(&ns, &format!("pod-{i}"), &[]);
            pod.labels = labels.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            pod
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let profiles = profiles();
    let pods = pods(100_000);
    let placed = pods
        .iter()
        .filter(|p| place(p, profiles.iter(), "eu-west-1").profile.is_some())
        .count();
    assert!(
        placed > 10_000 && placed < 100_000,
        "the workload mixes matches and misses: {placed}"
    );
    let mut g = c.benchmark_group("placement");
    g.sample_size(10);
    g.throughput(Throughput::Elements(pods.len() as u64));
    g.bench_function("decide_100k_pods_10_profiles_5_selectors", |b| {
        b.iter(|| {
            // A fresh placer each time: the per-namespace cache is built inside the timing.
            let mut placer = Placer::new(profiles.iter());
            pods.iter()
                .filter(|pod| matches!(black_box(placer.choose(pod)), Choice::Profile { .. }))
                .count()
        })
    });
    g.bench_function("admit_100k_pods_full_objects", |b| {
        b.iter(|| {
            let mut placer = Placer::new(profiles.iter());
            pods.iter()
                .filter(|pod| black_box(placer.place(pod)).profile.is_some())
                .count()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
