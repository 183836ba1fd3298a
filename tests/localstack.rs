//! LocalStack is found or started, and the official SDK works against it.

use std::time::{Duration, Instant};

use s3_harness::localstack::{EndpointSource, LocalStack, Origin, check_health};
use s3_harness::s3::primitives::ByteStream;
use s3_harness::{Clients, Creds, HarnessError};

use crate::support::{localstack, unique};

const REGION: &str = "eu-west-1";

#[tokio::test]
async fn sdk_round_trip_through_s3_iam_and_sts() {
    let ls = localstack();
    let clients = Clients::new(ls.endpoint(), REGION, &Creds::test_account()).await;

    // S3: bucket with its LocationConstraint, put and get an object.
    let bucket = unique("e2e-sdk");
    clients
        .create_bucket_in(&bucket, REGION)
        .await
        .expect("create bucket");
    clients
        .s3
        .put_object()
        .bucket(&bucket)
        .key("hello.txt")
        .body(ByteStream::from_static(b"hello from the pod\n"))
        .send()
        .await
        .expect("put object");
    let got = clients
        .s3
        .get_object()
        .bucket(&bucket)
        .key("hello.txt")
        .send()
        .await
        .expect("get object");
    let body = got.body.collect().await.expect("body").into_bytes();
    assert_eq!(&body[..], b"hello from the pod\n");

    // IAM: a role, and the AWS-managed read-only policy.
    let role = unique("e2e-role");
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks-fargate-pods.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let created = clients
        .iam
        .create_role()
        .role_name(&role)
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("create role");
    let role_arn = created
        .role()
        .map(|r| r.arn().to_owned())
        .expect("role arn");
    assert_eq!(role_arn, format!("arn:aws:iam::000000000000:role/{role}"));
    let policy_arn = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess";
    let policy = clients
        .iam
        .get_policy()
        .policy_arn(policy_arn)
        .send()
        .await
        .expect("get policy");
    let version = policy
        .policy()
        .and_then(|p| p.default_version_id())
        .expect("default version")
        .to_owned();
    let doc = clients
        .iam
        .get_policy_version()
        .policy_arn(policy_arn)
        .version_id(&version)
        .send()
        .await
        .expect("get policy version");
    let text = s3_harness::client::decode_policy_document(
        doc.policy_version()
            .and_then(|v| v.document())
            .expect("document"),
    );
    assert!(
        text.contains("s3:Get*") && text.contains("s3:List*"),
        "{text}"
    );

    // STS: assume the role, and ask who we are with the session's credentials.
    let assumed = clients
        .sts
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("e2e")
        .send()
        .await
        .expect("assume role");
    let c = assumed.credentials().expect("credentials");
    let session = Creds {
        access_key_id: c.access_key_id().to_owned(),
        secret_access_key: c.secret_access_key().to_owned(),
        session_token: Some(c.session_token().to_owned()),
    };
    let as_role = Clients::new(ls.endpoint(), REGION, &session).await;
    let me = as_role
        .sts
        .get_caller_identity()
        .send()
        .await
        .expect("get caller identity");
    assert_eq!(
        me.arn(),
        Some(format!("arn:aws:sts::000000000000:assumed-role/{role}/e2e").as_str())
    );

    // Clean up what this test made.
    clients
        .s3
        .delete_object()
        .bucket(&bucket)
        .key("hello.txt")
        .send()
        .await
        .expect("delete object");
    clients
        .s3
        .delete_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("delete bucket");
    clients
        .iam
        .delete_role()
        .role_name(&role)
        .send()
        .await
        .expect("delete role");
}

#[test]
fn a_given_endpoint_is_used_and_left_running() {
    let shared = localstack();
    let given = LocalStack::given(
        shared.endpoint(),
        EndpointSource::Env("FARGATE_SIM_LOCALSTACK_URL"),
        false,
        &|_| {},
    )
    .expect("healthy");
    assert_eq!(given.endpoint(), shared.endpoint());
    assert!(matches!(given.origin(), Origin::Given { .. }));
    drop(given);
    check_health(shared.endpoint(), Duration::from_secs(3))
        .expect("still running after the handle dropped");
}

#[test]
fn a_dead_endpoint_is_a_clear_error_not_a_hang() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let err = LocalStack::given(
        &url,
        EndpointSource::Env("FARGATE_SIM_LOCALSTACK_URL"),
        false,
        &|_| {},
    )
    .expect_err("nothing listens");
    // Generous bound: this checks that it does not hang, not how fast it is.
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(matches!(err, HarnessError::Unreachable { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains(&url)
            && msg.contains("(from FARGATE_SIM_LOCALSTACK_URL)")
            && msg.contains("not reachable")
            && msg.ends_with(
                "start it, or unset FARGATE_SIM_LOCALSTACK_URL to let fargate-sim start one"
            ),
        "{msg}"
    );
}

#[test]
fn something_that_is_not_localstack_is_unhealthy() {
    // A listener that answers every request with a 404, like an unrelated web server.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        if let Ok((mut s, _)) = listener.accept() {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let err =
        LocalStack::given(&url, EndpointSource::Flag, false, &|_| {}).expect_err("not LocalStack");
    assert!(matches!(err, HarnessError::Unhealthy { .. }), "{err}");
}

/// The listening sockets on `port`, as `address:port` from /proc/net/tcp and tcp6.
fn listeners(port: u16) -> Vec<String> {
    let mut out = Vec::new();
    for (file, v6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // local_address is column 1, state column 3 (0A: LISTEN).
            let (Some(local), Some("0A")) = (cols.get(1), cols.get(3).copied()) else {
                continue;
            };
            let Some((addr, p)) = local.split_once(':') else {
                continue;
            };
            if u16::from_str_radix(p, 16).ok() != Some(port) {
                continue;
            }
            let shown = if v6 {
                // Four little-endian words.
                let bytes: Vec<u8> = (0..4)
                    .flat_map(|w| {
                        let word = u32::from_str_radix(&addr[w * 8..w * 8 + 8], 16).unwrap_or(0);
                        word.to_le_bytes()
                    })
                    .collect();
                let octets: [u8; 16] = bytes.try_into().unwrap();
                std::net::Ipv6Addr::from(octets).to_string()
            } else {
                let word = u32::from_str_radix(addr, 16).unwrap_or(0);
                std::net::Ipv4Addr::from(word.to_le_bytes()).to_string()
            };
            out.push(format!("{shown}:{port}"));
        }
    }
    out
}

#[test]
fn host_mode_localstack_listens_on_loopback_only() {
    let ls = localstack();
    if !matches!(ls.origin(), Origin::HostProcess { .. }) {
        eprintln!(
            "notice: LocalStack was given ({:?}); its listener is not ours to check",
            ls.origin()
        );
        return;
    }
    let port: u16 = ls.endpoint().rsplit(':').next().unwrap().parse().unwrap();
    let found = listeners(port);
    assert_eq!(
        found,
        [format!("127.0.0.1:{port}")],
        "listening sockets on {port}"
    );
}
