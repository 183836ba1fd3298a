//! Timed harness: the Kubernetes API server side, sans IO (`cargo bench -p endpoint --bench
//! kube`). A cluster with a Fargate profile for namespace `test`; then
//! - `create pod` (a JSON body as kubectl sends it) until the pod is placed, on its node and
//!   `Running` (a simulated nginx container): p50/p90/p99 of one create;
//! - 1,000 pods created one after another: the total;
//! - `get pods` of those 1,000 as a `Table` (kubectl's Accept header) and as a `PodList`;
//! - memory per idle pod: the growth of the process's resident memory over 10,000 creates in a
//!   fresh cluster, per pod (Linux `/proc/self/status`).
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout
)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use endpoint::kube::{Request, handle};
use scheduler::addresses::Cidr;
use scheduler::cluster::{Cluster, CreateProfile, InMemoryRoles, Selector, SeqIds, Subnet};
use scheduler::kube::Kube;

/// This process's resident memory, from `/proc/self/status` (Linux).
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

const ROLE: &str = "arn:aws:iam::111122223333:role/pod-exec";
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks-fargate-pods.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

fn cluster() -> (Kube, Cluster) {
    let subnets = (0..4)
        .map(|i| Subnet {
            id: format!("subnet-{i}"),
            az: format!("eu-west-1{}", ['a', 'b', 'c', 'a'][i]),
            private: true,
            cidr: Some(Cidr::parse(&format!("10.{i}.0.0/16")).unwrap()),
        })
        .collect();
    let mut fargate = Cluster::new(
        "bench",
        "eu-west-1",
        "111122223333",
        subnets,
        Box::new(SeqIds::new(1)),
    );
    let roles = InMemoryRoles(HashMap::from([(ROLE.to_owned(), TRUST.to_owned())]));
    fargate
        .create_profile(
            &CreateProfile {
                fargate_profile_name: "test".into(),
                pod_execution_role_arn: ROLE.into(),
                selectors: vec![Selector {
                    namespace: Some("test".into()),
                    labels: Default::default(),
                }],
                ..CreateProfile::default()
            },
            &roles,
            0.0,
        )
        .unwrap();
    fargate.refresh(1000.0);
    let mut kube = Kube::new(Box::new(SeqIds::new(2)), "eu-west-1", 1000.0);
    let ns = br#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"test"}}"#;
    let r = call(
        &mut kube,
        &mut fargate,
        "POST",
        "/api/v1/namespaces",
        None,
        ns,
    );
    assert_eq!(r, 201);
    (kube, fargate)
}

fn call(
    kube: &mut Kube,
    fargate: &mut Cluster,
    method: &str,
    path: &str,
    accept: Option<&str>,
    body: &[u8],
) -> u16 {
    let req = Request {
        method,
        path,
        query: None,
        accept,
        content_type: Some("application/json"),
        body,
    };
    let r = handle(kube, fargate, &req, 1001.0).done().unwrap();
    let _ = kube.take_effects();
    r.status
}

fn pod(name: &str) -> Vec<u8> {
    format!(
        r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{name}","namespace":"test","labels":{{"app":"web"}}}},"spec":{{"containers":[{{"name":"nginx","image":"nginx:1.27","resources":{{"requests":{{"cpu":"250m","memory":"256Mi"}}}}}}]}}}}"#
    )
    .into_bytes()
}

fn pct(mut v: Vec<Duration>) -> String {
    v.sort();
    let at = |p: f64| v[((v.len() - 1) as f64 * p) as usize];
    format!("p50 {:?}  p90 {:?}  p99 {:?}", at(0.5), at(0.9), at(0.99))
}

fn main() {
    // One create, placed and Running: many fresh clusters, one pod each after a warm-up.
    let mut one = Vec::new();
    for i in 0..300 {
        let (mut kube, mut fargate) = cluster();
        call(
            &mut kube,
            &mut fargate,
            "POST",
            "/api/v1/namespaces/test/pods",
            None,
            &pod("warm"),
        );
        let body = pod(&format!("p{i}"));
        let t = Instant::now();
        let s = call(
            &mut kube,
            &mut fargate,
            "POST",
            "/api/v1/namespaces/test/pods",
            None,
            &body,
        );
        one.push(t.elapsed());
        assert_eq!(s, 201);
        let p = kube.pod("test", &format!("p{i}")).unwrap();
        let status = p.status.as_ref().unwrap();
        assert_eq!(status.phase.as_deref(), Some("Running"));
        assert!(p.spec.as_ref().unwrap().node_name.is_some());
    }
    println!(
        "create pod → placed, Running (one create, server side): {}",
        pct(one)
    );

    // 1,000 pods.
    let (mut kube, mut fargate) = cluster();
    let bodies: Vec<Vec<u8>> = (0..1000).map(|i| pod(&format!("pod-{i:04}"))).collect();
    let t = Instant::now();
    for b in &bodies {
        assert_eq!(
            call(
                &mut kube,
                &mut fargate,
                "POST",
                "/api/v1/namespaces/test/pods",
                None,
                b
            ),
            201
        );
    }
    let total = t.elapsed();
    println!(
        "1,000 pods created one after another: {total:?} ({:?} per pod)",
        total / 1000
    );

    // Lists of 1,000.
    for (what, accept) in [
        ("Table", Some(TABLE)),
        ("PodList", Some("application/json")),
    ] {
        let mut v = Vec::new();
        for _ in 0..50 {
            let t = Instant::now();
            let s = call(
                &mut kube,
                &mut fargate,
                "GET",
                "/api/v1/namespaces/test/pods",
                accept,
                b"",
            );
            v.push(t.elapsed());
            assert_eq!(s, 200);
        }
        println!("get pods, 1,000 as a {what}: {}", pct(v));
    }

    drop((kube, fargate));

    // Memory: 10,000 idle pods in a fresh cluster.
    let (mut kube, mut fargate) = cluster();
    let bodies: Vec<Vec<u8>> = (0..10_000).map(|i| pod(&format!("idle-{i:05}"))).collect();
    let before = rss_bytes().unwrap_or(0);
    for b in &bodies {
        assert_eq!(
            call(
                &mut kube,
                &mut fargate,
                "POST",
                "/api/v1/namespaces/test/pods",
                None,
                b
            ),
            201
        );
    }
    let after = rss_bytes().unwrap_or(0);
    println!(
        "memory per idle simulated pod (pod, its Fargate node, events, change log; RSS growth over 10,000): {:.1} KB",
        after.saturating_sub(before) as f64 / 10_000.0 / 1024.0
    );
    assert_eq!(kube.pods(None).count(), 10_000);
}
