//! The Kubernetes API adapter on any request sequence (method, path, query, Accept,
//! Content-Type, body — protobuf included): no panic, every whole answer JSON (or a log's
//! text) with a status the API server uses, and a created namespace or pod can be read back.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use scheduler::cluster::{Cluster, SeqIds};
use scheduler::kube::Kube;

#[derive(Debug, Arbitrary)]
struct Call<'a> {
    method: u8,
    path: &'a str,
    query: Option<&'a str>,
    accept: Option<&'a str>,
    protobuf: bool,
    body: &'a [u8],
}

fuzz_target!(|calls: Vec<Call<'_>>| {
    let mut kube = Kube::new(Box::new(SeqIds::new(1)), "eu-west-1", 0.0);
    let mut fargate = Cluster::new("c", "eu-west-1", "111122223333", vec![], Box::new(SeqIds::new(2)));
    for c in calls.iter().take(32) {
        let method = ["GET", "POST", "DELETE", "PUT", "PATCH"][usize::from(c.method % 5)];
        let req = endpoint::kube::Request {
            method,
            path: c.path,
            query: c.query,
            accept: c.accept,
            content_type: Some(if c.protobuf {
                "application/vnd.kubernetes.protobuf"
            } else {
                "application/json"
            }),
            body: c.body,
        };
        let Some(r) = endpoint::kube::handle(&mut kube, &mut fargate, &req, 1.0).done() else {
            continue; // a watch or a followed log: a stream
        };
        let _ = kube.take_effects();
        if r.content_type == "text/plain" {
            assert_eq!(r.status, 200);
            continue;
        }
        assert!(
            matches!(r.status, 200 | 201 | 400 | 403 | 404 | 405 | 409 | 410 | 415 | 422),
            "status {} for {method} {}",
            r.status,
            c.path
        );
        let v: serde_json::Value = serde_json::from_str(&r.body).expect("JSON");
        if r.status == 201 {
            let name = v["metadata"]["name"].as_str().expect("a created object has a name");
            let found = match v["metadata"]["namespace"].as_str() {
                Some(ns) => kube.pod(ns, name).is_ok(),
                None => kube.namespace(name).is_ok(),
            };
            assert!(found, "{name} was created but cannot be read");
        }
    }
});
