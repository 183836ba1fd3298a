//! The IAM gateway against a real LocalStack: signatures, mapping, AWS-shaped denials.

use emulator::gateway::Gateway;
use s3_harness::s3::primitives::ByteStream;
use s3_harness::{Clients, Creds};

use crate::support::{localstack, unique};

async fn gateway() -> Gateway {
    Gateway::start(
        localstack().endpoint(),
        "eu-west-1",
        "000000000000",
        Creds::test_account(),
    )
    .await
    .unwrap()
}

/// An IAM user made through the gateway, with a key the gateway knows: its ARN and clients.
async fn user(gw: &Gateway, admin: &Clients) -> (String, Clients) {
    let name = unique("gw-user");
    let creds = admin.create_user_with_key(&name).await.unwrap();
    (
        format!("arn:aws:iam::000000000000:user/{name}"),
        Clients::new(gw.endpoint(), "eu-west-1", &creds).await,
    )
}

/// An S3 GET dated `at`, signed with a signature the test made up.
async fn made_up_signature(url: &str, at: std::time::SystemTime) -> (u16, String) {
    let date = emulator::gateway::sigv4::format_amz_date(at);
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=test/{}/eu-west-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={}",
        &date[..8],
        "0".repeat(64)
    );
    raw(
        url,
        "GET",
        &[
            ("Authorization", &auth),
            ("x-amz-date", &date),
            ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
        ],
    )
    .await
}

async fn raw(url: &str, method: &str, headers: &[(&str, &str)]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (host, path) = (addr, "/some-bucket/key");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn a_request_more_than_15_minutes_old_is_request_time_too_skewed() {
    let gw = gateway().await;
    let then = std::time::SystemTime::now() - std::time::Duration::from_secs(16 * 60);
    let (status, text) = made_up_signature(gw.endpoint(), then).await;
    assert_eq!(status, 403);
    assert!(
        text.contains("<Code>RequestTimeTooSkewed</Code><Message>The difference between the request time and the current time is too large.</Message>"),
        "{text}"
    );
}

#[tokio::test]
async fn unsigned_and_wrongly_signed_requests_are_refused() {
    let gw = gateway().await;
    let (status, text) = raw(gw.endpoint(), "GET", &[]).await;
    assert_eq!(status, 403);
    assert!(text.contains("<Code>AccessDenied</Code>"));

    let (status, text) = made_up_signature(gw.endpoint(), std::time::SystemTime::now()).await;
    assert_eq!(status, 403);
    assert!(
        text.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{text}"
    );

    // A client with the right key id but the wrong secret is refused too.
    let wrong = Creds {
        access_key_id: "test".into(),
        secret_access_key: "not-the-secret".into(),
        session_token: None,
    };
    let c = Clients::new(gw.endpoint(), "eu-west-1", &wrong).await;
    let err = c.s3.list_buckets().send().await.unwrap_err();
    assert_eq!(
        s3_harness::s3::error::ProvideErrorMetadata::code(&err.into_service_error()),
        Some("SignatureDoesNotMatch")
    );

    // An unknown access key.
    let stranger = Creds {
        access_key_id: "AKIASTRANGER".into(),
        secret_access_key: "x".into(),
        session_token: None,
    };
    let c = Clients::new(gw.endpoint(), "eu-west-1", &stranger).await;
    let err = c.s3.list_buckets().send().await.unwrap_err();
    assert_eq!(
        s3_harness::s3::error::ProvideErrorMetadata::code(&err.into_service_error()),
        Some("InvalidAccessKeyId")
    );
}

#[tokio::test]
async fn a_session_reads_what_its_role_allows_and_gets_s3_errors_otherwise() {
    let gw = gateway().await;
    let admin = Clients::new(gw.endpoint(), "eu-west-1", &Creds::test_account()).await;
    let bucket = unique("gw-bucket");
    admin.create_bucket_in(&bucket, "eu-west-1").await.unwrap();
    admin
        .s3
        .put_object()
        .bucket(&bucket)
        .key("k")
        .body(ByteStream::from_static(b"data"))
        .send()
        .await
        .unwrap();
    let role = unique("gw-role");
    let (dev_arn, dev) = user(&gw, &admin).await;
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{dev_arn}"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    admin
        .iam
        .create_role()
        .role_name(&role)
        .assume_role_policy_document(&trust)
        .send()
        .await
        .unwrap();
    // Only GetObject on this bucket, no ListBucket.
    let inline = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/*"}}]}}"#
    );
    admin
        .iam
        .put_role_policy()
        .role_name(&role)
        .policy_name("read")
        .policy_document(&inline)
        .send()
        .await
        .unwrap();
    let assumed = dev
        .sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::000000000000:role/{role}"))
        .role_session_name("t")
        .send()
        .await
        .unwrap();
    let c = assumed.credentials().unwrap();
    let session = Creds {
        access_key_id: c.access_key_id().into(),
        secret_access_key: c.secret_access_key().into(),
        session_token: Some(c.session_token().into()),
    };
    let pod = Clients::new(gw.endpoint(), "eu-west-1", &session).await;

    let got = pod
        .s3
        .get_object()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .unwrap();
    assert_eq!(&got.body.collect().await.unwrap().into_bytes()[..], b"data");

    let put = pod
        .s3
        .put_object()
        .bucket(&bucket)
        .key("x")
        .body(ByteStream::from_static(b"no"))
        .send()
        .await
        .unwrap_err();
    let se = put.into_service_error();
    assert_eq!(
        s3_harness::s3::error::ProvideErrorMetadata::code(&se),
        Some("AccessDenied")
    );
    let msg = s3_harness::s3::error::ProvideErrorMetadata::message(&se)
        .unwrap()
        .to_owned();
    assert_eq!(
        msg,
        format!(
            "User: arn:aws:sts::000000000000:assumed-role/{role}/t is not authorized to perform: s3:PutObject on resource: \"arn:aws:s3:::{bucket}/x\" because no identity-based policy allows the s3:PutObject action"
        )
    );

    // A missing key: 403 without s3:ListBucket (S3 does not tell whether it exists).
    let missing = pod
        .s3
        .get_object()
        .bucket(&bucket)
        .key("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        s3_harness::s3::error::ProvideErrorMetadata::code(&missing.into_service_error()),
        Some("AccessDenied")
    );
    // …and 404 once the role may list the bucket.
    let list = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::{bucket}"}}]}}"#
    );
    admin
        .iam
        .put_role_policy()
        .role_name(&role)
        .policy_name("list")
        .policy_document(&list)
        .send()
        .await
        .unwrap();
    let missing = pod
        .s3
        .get_object()
        .bucket(&bucket)
        .key("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        s3_harness::s3::error::ProvideErrorMetadata::code(&missing.into_service_error()),
        Some("NoSuchKey")
    );

    // A bucket policy Deny, set through the gateway, takes effect at once (cache invalidated).
    let deny = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/*"}}]}}"#
    );
    admin
        .s3
        .put_bucket_policy()
        .bucket(&bucket)
        .policy(&deny)
        .send()
        .await
        .unwrap();
    let denied = pod
        .s3
        .get_object()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .unwrap_err();
    let se = denied.into_service_error();
    assert!(
        s3_harness::s3::error::ProvideErrorMetadata::message(&se)
            .unwrap()
            .ends_with("with an explicit deny in a resource-based policy")
    );

    // Clean up.
    admin
        .s3
        .delete_bucket_policy()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    admin
        .s3
        .delete_object()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .unwrap();
    admin
        .s3
        .delete_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    for p in ["read", "list"] {
        admin
            .iam
            .delete_role_policy()
            .role_name(&role)
            .policy_name(p)
            .send()
            .await
            .unwrap();
    }
    admin
        .iam
        .delete_role()
        .role_name(&role)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn the_account_root_may_not_assume_a_role() {
    let gw = gateway().await;
    let admin = Clients::new(gw.endpoint(), "eu-west-1", &Creds::test_account()).await;
    let role = unique("gw-root");
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole"}]}"#;
    admin
        .iam
        .create_role()
        .role_name(&role)
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    let se = admin
        .sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::000000000000:role/{role}"))
        .role_session_name("t")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(
        s3_harness::sts::error::ProvideErrorMetadata::message(&se),
        Some("Roles may not be assumed by root accounts.")
    );
}

#[tokio::test]
async fn assume_role_follows_the_trust_policy() {
    let gw = gateway().await;
    let admin = Clients::new(gw.endpoint(), "eu-west-1", &Creds::test_account()).await;
    let role = unique("gw-trust");
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    admin
        .iam
        .create_role()
        .role_name(&role)
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    let (dev_arn, dev) = user(&gw, &admin).await;
    let err = dev
        .sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::000000000000:role/{role}"))
        .role_session_name("t")
        .send()
        .await
        .unwrap_err();
    let se = err.into_service_error();
    assert_eq!(
        s3_harness::sts::error::ProvideErrorMetadata::code(&se),
        Some("AccessDenied")
    );
    assert_eq!(
        s3_harness::sts::error::ProvideErrorMetadata::message(&se),
        Some(format!("User: {dev_arn} is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::000000000000:role/{role}").as_str())
    );
    admin
        .iam
        .delete_role()
        .role_name(&role)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_request_through_the_vpc_endpoint_needs_the_endpoint_policys_allow() {
    let policy = iam_sim::CompiledPolicy::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"*"}]}"#,
    )
    .unwrap();
    let gw = Gateway::start_with(
        localstack().endpoint(),
        "eu-west-1",
        "000000000000",
        Creds::test_account(),
        Some(emulator::gateway::VpcEndpoint {
            id: "vpce-0123456789abcdef0".into(),
            vpc: "vpc-0123456789abcdef0".into(),
            policy,
        }),
    )
    .await
    .unwrap();
    let root = Creds::test_account();
    let direct = Clients::new(gw.endpoint(), "eu-west-1", &root).await;
    let bucket = unique("vpce");
    direct.create_bucket_in(&bucket, "eu-west-1").await.unwrap();
    direct
        .s3
        .put_object()
        .bucket(&bucket)
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    let via = Clients::new(gw.vpc_endpoint_url().unwrap(), "eu-west-1", &root).await;
    let err = via
        .s3
        .get_object()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(
        s3_harness::s3::error::ProvideErrorMetadata::message(&err),
        Some(format!("User: arn:aws:iam::000000000000:root is not authorized to perform: s3:GetObject on resource: \"arn:aws:s3:::{bucket}/k\" because no VPC endpoint policy allows the s3:GetObject action").as_str())
    );
    // The same caller outside the endpoint is not subject to its policy.
    direct
        .s3
        .get_object()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .unwrap();
    direct
        .s3
        .delete_object()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .unwrap();
    direct
        .s3
        .delete_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
}

/// Sends a request head announcing `length` body bytes and a few of them; the answer.
async fn announce(url: &str, auth: &str, length: u64) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let date = emulator::gateway::sigv4::format_amz_date(std::time::SystemTime::now());
    let head = format!(
        "PUT /some-bucket/big HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\nx-amz-date: {date}\r\nx-amz-content-sha256: UNSIGNED-PAYLOAD\r\nContent-Length: {length}\r\nConnection: close\r\n\r\nabc"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_before_it_is_read() {
    let gw = gateway().await;
    let auth = "AWS4-HMAC-SHA256 Credential=test/20261206/eu-west-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=00";
    let (status, text) = announce(gw.endpoint(), auth, (64 << 20) + 1).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("<Code>EntityTooLarge</Code>"), "{text}");
}

#[tokio::test]
async fn an_unknown_key_is_refused_before_its_body_is_read() {
    let gw = gateway().await;
    let auth = "AWS4-HMAC-SHA256 Credential=AKIDNOBODY/20261206/eu-west-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=00";
    // 1 GiB announced, 3 bytes sent: the answer comes from the head alone.
    let (status, text) = announce(gw.endpoint(), auth, 1 << 30).await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("<Code>InvalidAccessKeyId</Code>"), "{text}");
}

#[tokio::test]
async fn a_role_session_may_assume_a_role_that_trusts_its_role() {
    let gw = gateway().await;
    let admin = Clients::new(gw.endpoint(), "eu-west-1", &Creds::test_account()).await;
    let (dev_arn, dev) = user(&gw, &admin).await;
    let first = unique("gw-first");
    let second = unique("gw-second");
    let trusts = |principal: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"sts:AssumeRole"}}]}}"#
        )
    };
    for (role, trust) in [
        (&first, trusts(&dev_arn)),
        (
            &second,
            trusts(&format!("arn:aws:iam::000000000000:role/{first}")),
        ),
    ] {
        admin
            .iam
            .create_role()
            .role_name(role)
            .assume_role_policy_document(trust)
            .send()
            .await
            .unwrap();
    }
    let a = dev
        .sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::000000000000:role/{first}"))
        .role_session_name("one")
        .send()
        .await
        .unwrap();
    let c = a.credentials().unwrap();
    let as_first = Clients::new(
        gw.endpoint(),
        "eu-west-1",
        &Creds {
            access_key_id: c.access_key_id().into(),
            secret_access_key: c.secret_access_key().into(),
            session_token: Some(c.session_token().into()),
        },
    )
    .await;
    let chained = as_first
        .sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::000000000000:role/{second}"))
        .role_session_name("two")
        .send()
        .await
        .unwrap();
    assert_eq!(
        chained.assumed_role_user().map(|u| u.arn()),
        Some(format!("arn:aws:sts::000000000000:assumed-role/{second}/two").as_str())
    );
    // The user itself is not trusted by the second role.
    let se = dev
        .sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::000000000000:role/{second}"))
        .role_session_name("three")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(
        s3_harness::sts::error::ProvideErrorMetadata::code(&se),
        Some("AccessDenied")
    );
}
