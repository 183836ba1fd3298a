//! `fargate-sim up`'s endpoint driven by the real AWS CLI (the pinned one from LocalStack's
//! hash-checked environment) and by the binary itself: EKS served locally, denials in AWS's
//! words, refused services, up/status/down.

use std::path::PathBuf;
use std::process::{Command, Output};

use s3_harness::Creds;
use s3_harness::emulator::{Emulator, Options};
use s3_harness::localstack::{self, CacheDirs};

use crate::support::{localstack, unique};

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

/// Runs `aws ARGS` against the endpoint with `creds`, in an environment scrubbed of the
/// host's AWS configuration.
fn aws(endpoint: &str, creds: &Creds, args: &[&str]) -> Output {
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
        .env("AWS_MAX_ATTEMPTS", "1")
        .args(args);
    if let Some(t) = &creds.session_token {
        cmd.env("AWS_SESSION_TOKEN", t);
    }
    cmd.output().unwrap()
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

fn fargate_trust() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/role-trust-policy.json"
    ))
    .unwrap()
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
        ep
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
fn fargate_sim(cache: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fargate-sim"))
        .env("FARGATE_SIM_CACHE_DIR", cache)
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
