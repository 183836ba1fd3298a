//! Timed harness: the cluster's Kubernetes API over loopback HTTP, through the endpoint's one
//! pipeline (`cargo bench -p emulator --bench kube_http`): the cluster and a Fargate profile for
//! namespace `test` made with the eksctl client, then 1,000 pods created one after another
//! (JSON bodies as kubectl sends them; each placed, on its node, Running) and `get pods` of the
//! 1,000 as a `Table`. Set `FARGATE_SIM_LOCALSTACK_URL` to reuse a running LocalStack.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout
)]

mod support;
use support::pct;

use std::time::{Duration, Instant};

use bytes::Bytes;
use emulator::eksctl::{Eksctl, Waiting};
use http_body_util::{BodyExt, Full};

const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

fn main() {
    let pods = support::env_u64("PODS", 1000) as usize;
    let (ls, rt) = support::localstack_and_runtime();
    rt.block_on(async {
        let (gw, admin) = support::endpoint(&ls).await;
        let name = format!("bench-{}", std::process::id());
        let cfg = scheduler::eksctl::parse_config(&format!(
            "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata:\n  name: {name}\n  region: eu-west-1\nfargateProfiles:\n  - name: test\n    selectors:\n      - namespace: test\n"
        ))
        .unwrap();
        let eksctl = Eksctl::new(admin.clone(), Waiting { timeout: Duration::from_secs(60), poll: Duration::from_millis(20) });
        eksctl.create_cluster(&cfg, &|_| {}).await.unwrap();
        let kubectl = emulator::kubectl::Kubectl::new(gw.endpoint(), &name);
        kubectl.create_namespace("test").await.unwrap();
        let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http::<Full<Bytes>>();
        let url = format!("{}/api/v1/namespaces/test/pods", kubectl.server());
        let request = |method: &str, body: Bytes, accept: &str| {
            hyper::Request::builder()
                .method(method)
                .uri(&url)
                .header("content-type", "application/json")
                .header("accept", accept)
                .body(Full::new(body))
                .unwrap()
        };
        let bodies: Vec<Bytes> = (0..pods)
            .map(|i| Bytes::from(format!(
                r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"pod-{i:04}","namespace":"test"}},"spec":{{"containers":[{{"name":"nginx","image":"nginx:1.27","resources":{{"requests":{{"cpu":"250m","memory":"256Mi"}}}}}}]}}}}"#
            )))
            .collect();
        let mut each = Vec::with_capacity(pods);
        let t = Instant::now();
        for b in bodies {
            let one = Instant::now();
            let r = http.request(request("POST", b, "application/json")).await.unwrap();
            let status = r.status();
            r.into_body().collect().await.unwrap();
            assert_eq!(status, 201);
            each.push(one.elapsed());
        }
        let total = t.elapsed();
        let last = kubectl.pod("test", &format!("pod-{:04}", pods - 1)).await.unwrap();
        assert_eq!(emulator::kubectl::phase(&last), "Running");
        let mut lists = Vec::new();
        let mut size = 0;
        for _ in 0..30 {
            let t = Instant::now();
            let r = http.request(request("GET", Bytes::new(), TABLE)).await.unwrap();
            let body = r.into_body().collect().await.unwrap().to_bytes();
            lists.push(t.elapsed());
            size = body.len();
        }
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!("Kubernetes API over loopback HTTP, through the endpoint:");
        println!(
            "  {pods} pods created one after another: {:.0} ms in all; one create p50 {:.3} ms  p90 {:.3} ms  p99 {:.3} ms",
            ms(total),
            ms(pct(&mut each, 0.5)),
            ms(pct(&mut each, 0.9)),
            ms(pct(&mut each, 0.99))
        );
        println!(
            "  get pods of {pods} as a Table ({} KB): p50 {:.1} ms  p90 {:.1} ms",
            size / 1024,
            ms(pct(&mut lists, 0.5)),
            ms(pct(&mut lists, 0.9))
        );
        kubectl.delete_namespace("test", Duration::from_secs(60)).await.unwrap();
        eksctl.delete_cluster(&name, true, &|_| {}).await.unwrap();
    });
}
