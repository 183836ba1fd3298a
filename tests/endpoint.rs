//! `fargate-sim up`'s endpoint driven by the real AWS CLI (the pinned one from LocalStack's
//! hash-checked environment) and by the binary itself: EKS served locally, denials in AWS's
//! words, refused services, up/status/down.

use std::path::PathBuf;
use std::process::{Command, Output};

use emulator::{Emulator, Options};
use s3_harness::Creds;
use s3_harness::localstack::{self, CacheDirs};

use crate::support::{fargate_trust, localstack, unique};

/// The pinned AWS CLI (awscli from LocalStack's locked environment).
fn aws_cli() -> PathBuf {
    let dirs = CacheDirs::new().unwrap();
    let python = localstack::ensure_environment(&dirs, &|_| {}).unwrap();
    python.with_file_name("aws")
}

async fn emulator() -> Emulator {
    Emulator::start(Options {
        eks_delay: 0.2,
        localstack: localstack::Options {
            endpoint: Some(localstack().endpoint().to_owned()),
            ..localstack::Options::default()
        },
        ..Options::default()
    })
    .await
    .unwrap()
}

/// The pinned `aws` for the endpoint with `creds`, in an environment scrubbed of the host's
/// AWS configuration (its home directory lives as long as the returned guard).
pub(crate) fn aws_command(endpoint: &str, creds: &Creds) -> (Command, tempfile::TempDir) {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(aws_cli());
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", home.path().join("config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join("credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_DEFAULT_REGION", "eu-west-1")
        .env("AWS_ACCESS_KEY_ID", &creds.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &creds.secret_access_key)
        .env("AWS_MAX_ATTEMPTS", "1");
    if let Some(t) = &creds.session_token {
        cmd.env("AWS_SESSION_TOKEN", t);
    }
    (cmd, home)
}

/// Runs `aws ARGS` against the endpoint with `creds`.
fn aws(endpoint: &str, creds: &Creds, args: &[&str]) -> Output {
    let (mut cmd, _home) = aws_command(endpoint, creds);
    cmd.args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const EKS_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// A role (through the endpoint, as the root) trusting `principal`'s service; its ARN.
fn role(endpoint: &str, name: &str, trust: &str) -> String {
    let o = aws(
        endpoint,
        &Creds::test_account(),
        &[
            "iam",
            "create-role",
            "--role-name",
            name,
            "--assume-role-policy-document",
            trust,
            "--query",
            "Role.Arn",
            "--output",
            "text",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_chapters_eks_commands_through_the_real_cli() {
    let emu = emulator().await;
    let ep = emu.endpoint().to_owned();
    let root = Creds::test_account();
    let cluster_role = role(&ep, &unique("eks-cluster"), EKS_TRUST);
    let exec_role = role(&ep, &unique("s3-read"), &fargate_trust());
    let run = |args: &[&str]| {
        let o = aws(&ep, &root, args);
        assert!(o.status.success(), "aws {args:?}: {}", stderr(&o));
        stdout(&o)
    };
    let created = run(&[
        "eks",
        "create-cluster",
        "--name",
        "fargate-sim",
        "--role-arn",
        &cluster_role,
        "--resources-vpc-config",
        "subnetIds=subnet-a,subnet-b",
        "--query",
        "cluster.status",
        "--output",
        "text",
    ]);
    assert_eq!(created, "CREATING");
    run(&["eks", "wait", "cluster-active", "--name", "fargate-sim"]);
    assert_eq!(
        run(&[
            "eks",
            "describe-cluster",
            "--name",
            "fargate-sim",
            "--query",
            "cluster.endpoint",
            "--output",
            "text"
        ]),
        format!("{ep}/k8s/fargate-sim")
    );
    let status = run(&[
        "eks",
        "create-fargate-profile",
        "--cluster-name",
        "fargate-sim",
        "--fargate-profile-name",
        "test",
        "--pod-execution-role-arn",
        &exec_role,
        "--selectors",
        "namespace=test",
        "--query",
        "fargateProfile.status",
        "--output",
        "text",
    ]);
    assert_eq!(status, "CREATING");
    run(&[
        "eks",
        "wait",
        "fargate-profile-active",
        "--cluster-name",
        "fargate-sim",
        "--fargate-profile-name",
        "test",
    ]);
    let described = run(&[
        "eks",
        "describe-fargate-profile",
        "--cluster-name",
        "fargate-sim",
        "--fargate-profile-name",
        "test",
        "--query",
        "fargateProfile.[status,podExecutionRoleArn,selectors[0].namespace]",
        "--output",
        "text",
    ]);
    assert_eq!(described, format!("ACTIVE\t{exec_role}\ttest"));
    run(&[
        "eks",
        "delete-fargate-profile",
        "--cluster-name",
        "fargate-sim",
        "--fargate-profile-name",
        "test",
    ]);
    run(&[
        "eks",
        "wait",
        "fargate-profile-deleted",
        "--cluster-name",
        "fargate-sim",
        "--fargate-profile-name",
        "test",
    ]);
    run(&["eks", "delete-cluster", "--name", "fargate-sim"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_cluster_is_eks_own_error_through_the_cli() {
    let emu = emulator().await;
    let o = aws(
        emu.endpoint(),
        &Creds::test_account(),
        &["eks", "describe-cluster", "--name", "nope"],
    );
    assert!(!o.status.success());
    assert_eq!(
        stderr(&o),
        "\nAn error occurred (ResourceNotFoundException) when calling the DescribeCluster operation: No cluster found for name: nope.\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_role_that_does_not_trust_eks_is_refused_through_the_cli() {
    let emu = emulator().await;
    let ep = emu.endpoint().to_owned();
    let not_eks = role(&ep, &unique("s3-read"), &fargate_trust());
    let o = aws(
        &ep,
        &Creds::test_account(),
        &[
            "eks",
            "create-cluster",
            "--name",
            "c",
            "--role-arn",
            &not_eks,
            "--resources-vpc-config",
            "subnetIds=subnet-a,subnet-b",
        ],
    );
    assert_eq!(
        stderr(&o),
        format!(
            "\nAn error occurred (InvalidParameterException) when calling the CreateCluster operation: Role with arn: {not_eks}, could not be assumed because it does not exist or the trusted entity is not correct\n"
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_without_pass_role_cannot_create_a_fargate_profile() {
    let emu = emulator().await;
    let ep = emu.endpoint().to_owned();
    let root = Creds::test_account();
    let cluster_role = role(&ep, &unique("eks-cluster"), EKS_TRUST);
    let exec_role = role(&ep, &unique("s3-read"), &fargate_trust());
    let user_name = unique("dev");
    let user = s3_harness::Clients::new(&ep, "eu-west-1", &root)
        .await
        .create_user_with_key(&user_name)
        .await
        .unwrap();
    let admin_name = unique("eks-admin");
    let admin = role(
        &ep,
        &admin_name,
        &format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::000000000000:user/{user_name}"}},"Action":"sts:AssumeRole"}}]}}"#
        ),
    );
    let put = aws(
        &ep,
        &root,
        &[
            "iam",
            "put-role-policy",
            "--role-name",
            &admin_name,
            "--policy-name",
            "eks-only",
            "--policy-document",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"eks:*","Resource":"*"}]}"#,
        ],
    );
    assert!(put.status.success(), "{}", stderr(&put));
    let o = aws(
        &ep,
        &root,
        &[
            "eks",
            "create-cluster",
            "--name",
            "pass",
            "--role-arn",
            &cluster_role,
            "--resources-vpc-config",
            "subnetIds=subnet-a,subnet-b",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let session = aws(
        &ep,
        &user,
        &[
            "sts",
            "assume-role",
            "--role-arn",
            &admin,
            "--role-session-name",
            "dev",
            "--query",
            "Credentials.[AccessKeyId,SecretAccessKey,SessionToken]",
            "--output",
            "text",
        ],
    );
    assert!(session.status.success(), "{}", stderr(&session));
    let parts: Vec<String> = stdout(&session).split('\t').map(str::to_owned).collect();
    let dev = Creds {
        access_key_id: parts[0].clone(),
        secret_access_key: parts[1].clone(),
        session_token: Some(parts[2].clone()),
    };
    let o = aws(
        &ep,
        &dev,
        &[
            "eks",
            "create-fargate-profile",
            "--cluster-name",
            "pass",
            "--fargate-profile-name",
            "test",
            "--pod-execution-role-arn",
            &exec_role,
            "--selectors",
            "namespace=test",
        ],
    );
    assert_eq!(
        stderr(&o),
        format!(
            "\nAn error occurred (AccessDeniedException) when calling the CreateFargateProfile operation: User: arn:aws:sts::000000000000:assumed-role/{admin_name}/dev is not authorized to perform: iam:PassRole on resource: {exec_role} because no identity-based policy allows the iam:PassRole action\n"
        )
    );
    // The EKS action itself was allowed by the role's policy.
    let o = aws(
        &ep,
        &dev,
        &["eks", "list-fargate-profiles", "--cluster-name", "pass"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_not_served_is_refused_in_its_protocols_shape() {
    let emu = emulator().await;
    let o = aws(
        emu.endpoint(),
        &Creds::test_account(),
        &["lambda", "list-functions"],
    );
    assert_eq!(
        stderr(&o),
        "\nAn error occurred (NotImplemented) when calling the ListFunctions operation: fargate-sim serves s3, sts, iam and eks; the `lambda` service is not served here, so the request was refused\n"
    );
    let o = aws(
        emu.endpoint(),
        &Creds::test_account(),
        &["ec2", "describe-vpcs"],
    );
    assert!(
        stderr(&o).contains(
            "(NotImplemented) when calling the DescribeVpcs operation: fargate-sim serves"
        ),
        "{}",
        stderr(&o)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_secret_is_an_invalid_signature_for_eks() {
    let emu = emulator().await;
    let wrong = Creds {
        access_key_id: "test".into(),
        secret_access_key: "not-the-secret".into(),
        session_token: None,
    };
    let o = aws(emu.endpoint(), &wrong, &["eks", "list-clusters"]);
    assert_eq!(
        stderr(&o),
        "\nAn error occurred (InvalidSignatureException) when calling the ListClusters operation: The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n"
    );
}

/// `fargate-sim` with a private cache directory and the shared LocalStack.
pub(crate) fn fargate_sim(cache: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fargate-sim"))
        .env("FARGATE_SIM_STATE_DIR", cache)
        .env("FARGATE_SIM_LOCALSTACK_URL", localstack().endpoint())
        .env_remove("AWS_ENDPOINT_URL")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn up_detached_then_status_then_down() {
    let cache = tempfile::tempdir().unwrap();
    let o = fargate_sim(cache.path(), &["up", "--detach", "--port", "0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let exports = stdout(&o);
    let endpoint = exports
        .lines()
        .find_map(|l| l.strip_prefix("export AWS_ENDPOINT_URL="))
        .unwrap()
        .to_owned();
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{exports}");
    assert!(exports.contains("export AWS_ACCESS_KEY_ID=test\n"));
    // LocalStack itself is named too, for `fargate-sim demo` in the same shell.
    assert!(
        exports.contains(&format!(
            "export FARGATE_SIM_LOCALSTACK_URL={}",
            localstack().endpoint()
        )),
        "{exports}"
    );
    let status = fargate_sim(cache.path(), &["status", "--format", "json"]);
    assert!(status.status.success());
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(v["endpoint"], endpoint.as_str());
    let who = aws(
        &endpoint,
        &Creds::test_account(),
        &[
            "sts",
            "get-caller-identity",
            "--query",
            "Arn",
            "--output",
            "text",
        ],
    );
    assert_eq!(stdout(&who), "arn:aws:iam::000000000000:root");
    let down = fargate_sim(cache.path(), &["down"]);
    assert!(down.status.success(), "{}", stderr(&down));
    let status = fargate_sim(cache.path(), &["status"]);
    assert_eq!(status.status.code(), Some(1));
    assert_eq!(stdout(&status), "no detached `fargate-sim up` is running");
}

#[test]
fn a_taken_port_is_a_one_line_error_naming_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let cache = tempfile::tempdir().unwrap();
    let o = fargate_sim(cache.path(), &["up", "--port", &port]);
    assert_eq!(o.status.code(), Some(2));
    let last = stderr(&o).lines().last().unwrap_or_default().to_owned();
    assert_eq!(
        last,
        format!("error: port {port} on 127.0.0.1 is taken; choose another with --port")
    );
}

/// An IAM user made through the endpoint with the CLI, and its key.
fn cli_user(endpoint: &str, name: &str) -> Creds {
    let root = Creds::test_account();
    let o = aws(
        endpoint,
        &root,
        &["iam", "create-user", "--user-name", name],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = aws(
        endpoint,
        &root,
        &[
            "iam",
            "create-access-key",
            "--user-name",
            name,
            "--query",
            "AccessKey.[AccessKeyId,SecretAccessKey]",
            "--output",
            "text",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let (id, secret) = out.split_once('\t').unwrap();
    Creds {
        access_key_id: id.to_owned(),
        secret_access_key: secret.to_owned(),
        session_token: None,
    }
}

/// A bucket in eu-west-1 holding `hello.txt` (made as the root, with the CLI).
fn bucket_with_hello(endpoint: &str) -> String {
    let root = Creds::test_account();
    let bucket = unique("chapter");
    let o = aws(
        endpoint,
        &root,
        &[
            "s3api",
            "create-bucket",
            "--bucket",
            &bucket,
            "--region",
            "eu-west-1",
            "--create-bucket-configuration",
            "LocationConstraint=eu-west-1",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), "Hello from S3\n").unwrap();
    let o = aws(
        endpoint,
        &root,
        &[
            "s3",
            "cp",
            file.path().to_str().unwrap(),
            &format!("s3://{bucket}/hello.txt"),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    bucket
}

/// Sends `request` (head and body) over a fresh loopback connection; the answer's status, its
/// head and its body.
async fn exchange(host: &str, request: &[u8]) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (status, head.to_owned(), body.to_owned())
}

/// A bucket holding `hello.txt`, and an IAM user with `AmazonS3ReadOnlyAccess`: the bucket,
/// the user's name and its key.
fn reader(endpoint: &str) -> (String, String, Creds) {
    let bucket = bucket_with_hello(endpoint);
    let name = unique("reader");
    let creds = cli_user(endpoint, &name);
    let o = aws(
        endpoint,
        &Creds::test_account(),
        &[
            "iam",
            "attach-user-policy",
            "--user-name",
            &name,
            "--policy-arn",
            "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    (bucket, name, creds)
}

/// GET a URL on loopback; status and body.
async fn http_get(url: &str) -> (u16, String) {
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    let (status, _, body) = exchange(host, req.as_bytes()).await;
    (status, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_iam_user_without_a_policy_is_denied_the_object_in_aws_words() {
    let emu = emulator().await;
    let ep = emu.endpoint().to_owned();
    let bucket = bucket_with_hello(&ep);
    let name = unique("dev");
    let dev = cli_user(&ep, &name);
    let o = aws(
        &ep,
        &dev,
        &[
            "s3api",
            "get-object",
            "--bucket",
            &bucket,
            "--key",
            "hello.txt",
            "/dev/null",
        ],
    );
    assert_eq!(
        stderr(&o),
        format!(
            "\nAn error occurred (AccessDenied) when calling the GetObject operation: User: arn:aws:iam::000000000000:user/{name} is not authorized to perform: s3:GetObject on resource: \"arn:aws:s3:::{bucket}/hello.txt\" because no identity-based policy allows the s3:GetObject action\n"
        )
    );
    // `aws s3 cp` asks HeadObject first: a HEAD answer has no body, so the CLI shows the status.
    let o = aws(
        &ep,
        &dev,
        &["s3", "cp", &format!("s3://{bucket}/hello.txt"), "-"],
    );
    assert_eq!(
        stderr(&o),
        format!(
            "download failed: s3://{bucket}/hello.txt to - An error occurred (403) when calling the HeadObject operation: Forbidden\n"
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_iam_user_needs_iam_create_role_to_create_a_role() {
    let emu = emulator().await;
    let ep = emu.endpoint().to_owned();
    let name = unique("dev");
    let dev = cli_user(&ep, &name);
    let role = unique("s3-read");
    let o = aws(
        &ep,
        &dev,
        &[
            "iam",
            "create-role",
            "--role-name",
            &role,
            "--assume-role-policy-document",
            &fargate_trust(),
        ],
    );
    assert_eq!(
        stderr(&o),
        format!(
            "\nAn error occurred (AccessDenied) when calling the CreateRole operation: User: arn:aws:iam::000000000000:user/{name} is not authorized to perform: iam:CreateRole on resource: arn:aws:iam::000000000000:role/{role} because no identity-based policy allows the iam:CreateRole action\n"
        )
    );
    // Allowed once the user's policy says so (the cache is cleared by the change).
    let o = aws(
        &ep,
        &Creds::test_account(),
        &[
            "iam",
            "put-user-policy",
            "--user-name",
            &name,
            "--policy-name",
            "roles",
            "--policy-document",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:CreateRole","Resource":"*"}]}"#,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = aws(
        &ep,
        &dev,
        &[
            "iam",
            "create-role",
            "--role-name",
            &role,
            "--assume-role-policy-document",
            &fargate_trust(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_whose_trust_does_not_name_the_caller_is_refused_by_sts() {
    let emu = emulator().await;
    let ep = emu.endpoint().to_owned();
    let name = unique("dev");
    let dev = cli_user(&ep, &name);
    let exec_role = role(&ep, &unique("s3-read"), &fargate_trust());
    let o = aws(
        &ep,
        &dev,
        &[
            "sts",
            "assume-role",
            "--role-arn",
            &exec_role,
            "--role-session-name",
            "try",
        ],
    );
    assert_eq!(
        stderr(&o),
        format!(
            "\nAn error occurred (AccessDenied) when calling the AssumeRole operation: User: arn:aws:iam::000000000000:user/{name} is not authorized to perform: sts:AssumeRole on resource: {exec_role}\n"
        )
    );
    let o = aws(
        &ep,
        &Creds::test_account(),
        &[
            "sts",
            "assume-role",
            "--role-arn",
            &exec_role,
            "--role-session-name",
            "try",
        ],
    );
    assert_eq!(
        stderr(&o),
        "\nAn error occurred (AccessDenied) when calling the AssumeRole operation: Roles may not be assumed by root accounts.\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_token_acts_as_its_user() {
    let emu = emulator().await;
    let ep = emu.endpoint().to_owned();
    let (bucket, _, dev) = reader(&ep);
    let o = aws(
        &ep,
        &dev,
        &[
            "sts",
            "get-session-token",
            "--query",
            "Credentials.[AccessKeyId,SecretAccessKey,SessionToken]",
            "--output",
            "text",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let parts: Vec<&str> = out.split('\t').collect();
    let session = Creds {
        access_key_id: parts[0].to_owned(),
        secret_access_key: parts[1].to_owned(),
        session_token: Some(parts[2].to_owned()),
    };
    let o = aws(
        &ep,
        &session,
        &["s3", "cp", &format!("s3://{bucket}/hello.txt"), "-"],
    );
    assert_eq!(stdout(&o), "Hello from S3", "{}", stderr(&o));
    // Without its token, the session's key is refused.
    let tokenless = Creds {
        session_token: None,
        ..session
    };
    let o = aws(&ep, &tokenless, &["sts", "get-caller-identity"]);
    assert_eq!(
        stderr(&o),
        "\nAn error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation: The security token included in the request is invalid.\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn presigned_urls_are_verified_and_expire() {
    let emu = emulator().await;
    let ep = emu.endpoint().to_owned();
    let bucket = bucket_with_hello(&ep);
    let root = Creds::test_account();
    let url = |extra: &[&str]| {
        let mut args = vec!["s3", "presign"];
        let target = format!("s3://{bucket}/hello.txt");
        args.push(&target);
        args.extend_from_slice(extra);
        let o = aws(&ep, &root, &args);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    // The AWS CLI v1 signs presigned URLs with S3's SigV2 query authentication.
    let v2 = url(&[]);
    assert!(v2.contains("AWSAccessKeyId="), "{v2}");
    assert_eq!(http_get(&v2).await, (200, "Hello from S3\n".to_owned()));
    let tampered = v2.replace("hello.txt", "other.txt");
    let (status, body) = http_get(&tampered).await;
    assert_eq!(status, 403);
    assert!(
        body.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{body}"
    );
    let short = url(&["--expires-in", "1"]);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, body) = http_get(&short).await;
    assert_eq!(status, 403);
    assert!(
        body.contains("<Code>AccessDenied</Code><Message>Request has expired</Message>"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sigv4_presigned_url_is_verified() {
    let emu = emulator().await;
    let ep = emu.endpoint().to_owned();
    let bucket = bucket_with_hello(&ep);
    let conf = emu.sdk_config().await;
    let s3 = s3_harness::s3::Client::from_conf(
        s3_harness::s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    let presigned = s3
        .get_object()
        .bucket(&bucket)
        .key("hello.txt")
        .presigned(
            s3_harness::s3::presigning::PresigningConfig::expires_in(
                std::time::Duration::from_secs(60),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let url = presigned.uri().to_owned();
    assert!(url.contains("X-Amz-Algorithm=AWS4-HMAC-SHA256"), "{url}");
    assert_eq!(http_get(&url).await, (200, "Hello from S3\n".to_owned()));
}

#[tokio::test(flavor = "multi_thread")]
async fn passthrough_forwards_other_services_to_localstack() {
    let emu = Emulator::start(Options {
        passthrough: true,
        localstack: localstack::Options {
            endpoint: Some(localstack().endpoint().to_owned()),
            ..localstack::Options::default()
        },
        ..Options::default()
    })
    .await
    .unwrap();
    let o = aws(
        emu.endpoint(),
        &Creds::test_account(),
        &["dynamodb", "list-tables"],
    );
    // LocalStack's own answer (the project's LocalStack runs S3, IAM and STS only), not the
    // endpoint's refusal.
    let err = stderr(&o);
    assert!(!err.contains("fargate-sim serves"), "{err}");
    assert!(err.contains("dynamodb"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn localstack_gone_is_a_503_in_the_services_shape_and_an_event() {
    // A port nothing listens on: what the endpoint sees once LocalStack has stopped.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let emu = Emulator::around(s3_harness::LocalStack::known(&dead), Options::default())
        .await
        .unwrap();
    let gw = emu.gateway();
    let mut events = gw.subscribe();
    let o = aws(
        gw.endpoint(),
        &Creds::test_account(),
        &["s3api", "list-buckets"],
    );
    let err = stderr(&o);
    assert!(
        err.starts_with(
            "\nAn error occurred (ServiceUnavailable) when calling the ListBuckets operation (reached max retries: 0): fargate-sim could not get an answer from LocalStack: "
        ),
        "{err}"
    );
    let upstream = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            if let emulator::gateway::Event::Upstream(m) = events.recv().await.unwrap() {
                return m;
            }
        }
    })
    .await
    .unwrap();
    assert!(
        upstream.starts_with("s3: fargate-sim could not get an answer from LocalStack"),
        "{upstream}"
    );
    // EKS is served by the endpoint itself, with or without LocalStack.
    let o = aws(
        gw.endpoint(),
        &Creds::test_account(),
        &["eks", "list-clusters"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn up_in_the_foreground_prints_each_decision_with_the_statement_that_decided() {
    use std::io::{BufRead, BufReader};
    let cache = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fargate-sim"))
        .env("FARGATE_SIM_STATE_DIR", cache.path())
        .env("FARGATE_SIM_LOCALSTACK_URL", localstack().endpoint())
        .env_remove("AWS_ENDPOINT_URL")
        .args(["up", "--port", "0", "--format", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let endpoint = loop {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "up ended early");
        if let Some(url) = line.trim().strip_prefix("export AWS_ENDPOINT_URL=") {
            break url.to_owned();
        }
    };
    let (bucket, name, reader) = reader(&endpoint);
    let o = aws(
        &endpoint,
        &reader,
        &[
            "s3api",
            "get-object",
            "--bucket",
            &bucket,
            "--key",
            "hello.txt",
            "/dev/null",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    let decision: serde_json::Value = err
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "decision" && v["action"] == "s3:GetObject")
        .unwrap_or_else(|| panic!("no GetObject decision in:\n{err}"));
    assert_eq!(decision["decision"], "Allow");
    assert_eq!(
        decision["principal"],
        format!("arn:aws:iam::000000000000:user/{name}")
    );
    let statement = decision["statement"].as_str().unwrap();
    assert!(
        statement.starts_with("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess:"),
        "{statement}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_rust_sdk_drives_eks_and_gets_eks_errors() {
    use s3_harness::eks::error::ProvideErrorMetadata;
    use s3_harness::eks::types::{FargateProfileSelector, FargateProfileStatus, VpcConfigRequest};
    let emu = emulator().await;
    let ep = emu.endpoint().to_owned();
    let root = s3_harness::Clients::new(&ep, "eu-west-1", &Creds::test_account()).await;
    let cluster_role = role(&ep, &unique("eks-cluster"), EKS_TRUST);
    let exec_role = role(&ep, &unique("s3-read"), &fargate_trust());
    // The chapter's trust policy names this cluster in its aws:SourceArn condition.
    let name = "fargate-sim";
    let created = root
        .eks
        .create_cluster()
        .name(name)
        .role_arn(&cluster_role)
        .resources_vpc_config(
            VpcConfigRequest::builder()
                .subnet_ids("subnet-a")
                .subnet_ids("subnet-b")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        created.cluster().unwrap().arn(),
        Some(format!("arn:aws:eks:eu-west-1:000000000000:cluster/{name}").as_str())
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let profile = root
        .eks
        .create_fargate_profile()
        .cluster_name(name)
        .fargate_profile_name("test")
        .pod_execution_role_arn(&exec_role)
        .selectors(FargateProfileSelector::builder().namespace("test").build())
        .send()
        .await
        .unwrap();
    assert_eq!(
        profile.fargate_profile().unwrap().status(),
        Some(&FargateProfileStatus::Creating)
    );
    let err = root
        .eks
        .delete_cluster()
        .name(name)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_in_use_exception(), "{err:?}");
    assert_eq!(
        err.message(),
        Some("Cluster has Fargate Profiles in ACTIVE/CREATING state")
    );
    let missing = root
        .eks
        .describe_fargate_profile()
        .cluster_name(name)
        .fargate_profile_name("nope")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(missing.is_resource_not_found_exception(), "{missing:?}");
}

/// `aws ARGS` as the account root, run from the repository root, so that
/// `file://examples/…` reads the chapter's files as the chapter types it.
fn aws_in_repo(endpoint: &str, args: &[&str]) -> Output {
    let (mut cmd, _home) = aws_command(endpoint, &Creds::test_account());
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_chapters_aws_commands_typed_as_the_chapter_types_them() {
    let emu = emulator().await;
    let ep = emu.endpoint().to_owned();
    let run = |args: &[&str]| {
        let o = aws_in_repo(&ep, args);
        assert!(o.status.success(), "aws {args:?}: {}", stderr(&o));
        stdout(&o)
    };
    let bucket = unique("test-bucket");
    run(&[
        "s3api",
        "create-bucket",
        "--bucket",
        &bucket,
        "--region",
        "eu-west-1",
        "--create-bucket-configuration",
        "LocationConstraint=eu-west-1",
    ]);
    run(&[
        "iam",
        "create-role",
        "--role-name",
        "s3-read",
        "--assume-role-policy-document",
        "file://examples/role-trust-policy.json",
    ]);
    run(&[
        "iam",
        "attach-role-policy",
        "--role-name",
        "s3-read",
        "--policy-arn",
        "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
    ]);
    let role_arn = run(&[
        "iam",
        "get-role",
        "--role-name",
        "s3-read",
        "--query",
        "Role.Arn",
        "--output",
        "text",
    ]);
    assert_eq!(role_arn, "arn:aws:iam::000000000000:role/s3-read");
    let cluster_role = role(&ep, &unique("eks-cluster"), EKS_TRUST);
    run(&[
        "eks",
        "create-cluster",
        "--name",
        "fargate-sim",
        "--role-arn",
        &cluster_role,
        "--resources-vpc-config",
        "subnetIds=subnet-0a11private,subnet-0b22private",
    ]);
    run(&["eks", "wait", "cluster-active", "--name", "fargate-sim"]);
    run(&[
        "eks",
        "create-fargate-profile",
        "--cluster-name",
        "fargate-sim",
        "--fargate-profile-name",
        "s3",
        "--pod-execution-role-arn",
        &role_arn,
        "--selectors",
        "namespace=test,labels={app=s3-reader}",
    ]);
    run(&[
        "eks",
        "wait",
        "fargate-profile-active",
        "--cluster-name",
        "fargate-sim",
        "--fargate-profile-name",
        "s3",
    ]);
    // `aws eks update-kubeconfig` writes a kubeconfig from DescribeCluster's endpoint and CA.
    let kube = tempfile::tempdir().unwrap();
    let kubeconfig = kube.path().join("config");
    run(&[
        "eks",
        "update-kubeconfig",
        "--name",
        "fargate-sim",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
    ]);
    let written = std::fs::read_to_string(&kubeconfig).unwrap();
    assert!(
        written.contains(&format!("server: {ep}/k8s/fargate-sim")),
        "{written}"
    );
    assert!(
        written.contains("certificate-authority-data: "),
        "{written}"
    );
    assert!(
        written.contains("arn:aws:eks:eu-west-1:000000000000:cluster/fargate-sim"),
        "{written}"
    );
    run(&[
        "eks",
        "delete-fargate-profile",
        "--cluster-name",
        "fargate-sim",
        "--fargate-profile-name",
        "s3",
    ]);
}

/// A request to the endpoint's EKS, signed by hand (as an SDK signs, at `time`) and sent over
/// a fresh connection; status, `x-amzn-ErrorType` and body.
async fn signed_eks(
    endpoint: &str,
    method: &str,
    path: &str,
    body: &str,
    time: std::time::SystemTime,
) -> (u16, String, String) {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let host = endpoint.trim_start_matches("http://");
    let identity =
        aws_credential_types::Credentials::new("test", "test", None, None, "test").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("eu-west-1")
        .name("eks")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .unwrap();
    let uri = format!("{endpoint}{path}");
    let signable = SignableRequest::new(
        method,
        &uri,
        [("host", host), ("content-type", "application/json")].into_iter(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params.into()).unwrap().into_parts();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in instructions.headers() {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    head.push_str(body);
    let (status, response_head, body) = exchange(host, head.as_bytes()).await;
    let error_type = response_head
        .lines()
        .find_map(|l| l.strip_prefix("x-amzn-errortype: "))
        .unwrap_or_default()
        .trim()
        .to_owned();
    (status, error_type, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_eks_json_is_refused_as_eks_refuses_it() {
    let emu = emulator().await;
    let now = std::time::SystemTime::now();
    let (status, kind, body) =
        signed_eks(emu.endpoint(), "POST", "/clusters", "{\"name\":", now).await;
    assert_eq!(
        (status, kind.as_str()),
        (400, "SerializationException"),
        "{body}"
    );
    let (status, kind, body) = signed_eks(
        emu.endpoint(),
        "POST",
        "/clusters",
        r#"{"name":"x","roleArn":7,"resourcesVpcConfig":{}}"#,
        now,
    )
    .await;
    assert_eq!(
        (status, kind.as_str()),
        (400, "InvalidParameterException"),
        "{body}"
    );
    assert!(
        body.contains("roleArn") || body.contains("invalid type"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_eks_request_signed_20_minutes_ago_is_an_expired_signature() {
    let emu = emulator().await;
    let then = std::time::SystemTime::now() - std::time::Duration::from_secs(20 * 60);
    let (status, kind, body) = signed_eks(emu.endpoint(), "GET", "/clusters", "", then).await;
    assert_eq!(
        (status, kind.as_str()),
        (403, "InvalidSignatureException"),
        "{body}"
    );
    let date = emulator::gateway::sigv4::format_amz_date(then);
    assert!(
        body.starts_with(&format!(
            "{{\"message\":\"Signature expired: {date} is now earlier than "
        )),
        "{body}"
    );
}

#[test]
fn eval_up_detach_in_a_shell_script_then_down_stops_the_localstack_it_started() {
    // The shell script a user writes; `up` starts its own LocalStack (none is named).
    let state = tempfile::tempdir().unwrap();
    let aws = aws_cli();
    let script = format!(
        r#"set -e
eval "$("{bin}" up --detach --port 0 2>/dev/null)"
"{aws}" sts get-caller-identity --query Arn --output text
"{bin}" status --format json
"#,
        bin = env!("CARGO_BIN_EXE_fargate-sim"),
        aws = aws.display(),
    );
    let o = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("FARGATE_SIM_LOCALSTACK_URL")
        .env("FARGATE_SIM_STATE_DIR", state.path())
        .env("AWS_CONFIG_FILE", state.path().join("config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            state.path().join("credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("arn:aws:iam::000000000000:root"));
    let status: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    let ls = status["localstack"].as_str().unwrap().to_owned();
    let down = Command::new(env!("CARGO_BIN_EXE_fargate-sim"))
        .arg("down")
        .env("FARGATE_SIM_STATE_DIR", state.path())
        .output()
        .unwrap();
    assert!(down.status.success(), "{}", stderr(&down));
    // The LocalStack `up` started is gone with it.
    let port = ls.rsplit(':').next().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "LocalStack at {ls} still answers after down"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_policy_that_cannot_be_read_is_refused_not_dropped() {
    let emu = emulator().await;
    let ep = emu.endpoint().to_owned();
    let name = unique("dev");
    let dev = cli_user(&ep, &name);
    let target = role(
        &ep,
        &unique("target"),
        &format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::000000000000:user/{name}"}},"Action":"sts:AssumeRole"}}]}}"#
        ),
    );
    let o = aws(
        &ep,
        &dev,
        &[
            "sts",
            "assume-role",
            "--role-arn",
            &target,
            "--role-session-name",
            "try",
            "--policy",
            "{not json",
        ],
    );
    assert_eq!(
        stderr(&o),
        "\nAn error occurred (MalformedPolicyDocument) when calling the AssumeRole operation: The policy is not in the valid JSON format.\n"
    );
}
