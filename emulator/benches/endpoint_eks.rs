//! Timed harness: EKS calls served by the endpoint itself (no LocalStack round trip), signed
//! with SigV4 as an SDK signs them and sent over one kept-alive loopback connection
//! (`cargo bench -p emulator --bench endpoint_eks`). Prints p50/p90/p99 of DescribeCluster
//! and ListFargateProfiles, session-signed (so every call is also decided by iam-sim), and of
//! the same calls as the account root. Set `FARGATE_SIM_LOCALSTACK_URL` to reuse a running
//! LocalStack.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod support;
use support::pct;

use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use emulator::{Clients, Creds};
use http_body_util::{BodyExt, Full};

/// A request to the endpoint signed for EKS with `creds`.
fn signed(
    endpoint: &str,
    method: &str,
    path: &str,
    body: &str,
    creds: &Creds,
) -> hyper::Request<Full<Bytes>> {
    let uri = format!("{endpoint}{path}");
    let host = endpoint.trim_start_matches("http://").to_owned();
    let identity = Credentials::new(
        &creds.access_key_id,
        &creds.secret_access_key,
        creds.session_token.clone(),
        None,
        "bench",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("eu-west-1")
        .name("eks")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap();
    let headers = [
        ("host", host.as_str()),
        ("content-type", "application/json"),
    ];
    let signable = SignableRequest::new(
        method,
        &uri,
        headers.into_iter(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params.into()).unwrap().into_parts();
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(&uri)
        .header("host", &host)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    instructions.apply_to_request_http1x(&mut req);
    req
}

fn main() {
    let rounds = support::env_u64("ROUNDS", 2000) as usize;
    let (ls, rt) = support::localstack_and_runtime();
    rt.block_on(async {
        let root = Creds::test_account();
        let (gw, admin) = support::endpoint(&ls).await;
        let id = std::process::id();
        let eks_trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        admin.iam.create_role().role_name(format!("bench-eks-{id}")).assume_role_policy_document(eks_trust).send().await.unwrap();
        let dev = format!("bench-dev-{id}");
        let user_creds = support::user_trusted_by(&admin, &format!("bench-user-{id}"), &dev).await;
        let as_user = Clients::new(gw.endpoint(), "eu-west-1", &user_creds).await;
        admin.iam.put_role_policy().role_name(&dev).policy_name("eks").policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"eks:*","Resource":"*"}]}"#).send().await.unwrap();
        let session = support::assume(&as_user, &dev, "bench").await;
        let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http::<Full<Bytes>>();
        let cluster = format!(r#"{{"name":"bench","roleArn":"arn:aws:iam::000000000000:role/bench-eks-{id}","resourcesVpcConfig":{{"subnetIds":["subnet-a","subnet-b"]}}}}"#);
        let r = http.request(signed(gw.endpoint(), "POST", "/clusters", &cluster, &root)).await.unwrap();
        assert_eq!(r.status(), 200);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut report = Vec::new();
        for (label, creds) in [("session (decided by iam-sim)", &session), ("account root", &root)] {
            for (op, path) in [("DescribeCluster", "/clusters/bench"), ("ListFargateProfiles", "/clusters/bench/fargate-profiles")] {
                let mut times = Vec::with_capacity(rounds);
                for i in 0..rounds + 100 {
                    let req = signed(gw.endpoint(), "GET", path, "", creds);
                    let t = Instant::now();
                    let resp = http.request(req).await.unwrap();
                    let status = resp.status();
                    resp.into_body().collect().await.unwrap();
                    let e = t.elapsed();
                    assert_eq!(status, 200);
                    if i >= 100 {
                        times.push(e);
                    }
                }
                let (p50, p90, p99) = (pct(&mut times, 0.5), pct(&mut times, 0.9), pct(&mut times, 0.99));
                report.push(format!("{op:<20} {label:<30} p50 {:>7.3} ms  p90 {:>7.3} ms  p99 {:>7.3} ms", p50.as_secs_f64() * 1e3, p90.as_secs_f64() * 1e3, p99.as_secs_f64() * 1e3));
            }
        }
        println!("EKS served by the endpoint, {rounds} calls each, round trip on loopback (signing excluded):");
        for l in report {
            println!("  {l}");
        }
    });
}
