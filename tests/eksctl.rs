//! `fargate-sim eksctl` against `up`'s endpoint: the chapter's eksctl commands with the
//! chapter's files, eksctl's lines, and its refusals.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use emulator::{Emulator, Options};
use s3_harness::localstack;

use crate::support::localstack as shared;

async fn emulator() -> Emulator {
    Emulator::start(Options {
        eks_delay: 0.1,
        localstack: localstack::Options {
            endpoint: Some(shared().endpoint().to_owned()),
            ..localstack::Options::default()
        },
        ..Options::default()
    })
    .await
    .unwrap()
}

/// `fargate-sim eksctl ARGS` with the endpoint's environment (and `stdin`, when given).
fn eksctl(endpoint: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fargate-sim"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "eu-west-1")
        .arg("eksctl")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

/// eksctl's lines without their timestamps.
fn lines(o: &Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .map(|l| l.get(20..).unwrap_or(l).to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_chapters_eksctl_commands_with_the_chapters_files() {
    let emu = emulator().await;
    let ep = emu.endpoint().to_owned();
    let o = eksctl(
        &ep,
        &["create", "cluster", "-f", "examples/cluster.yaml"],
        None,
    );
    assert!(o.status.success(), "{:?}", lines(&o));
    assert_eq!(
        lines(&o),
        [
            "[ℹ]  using region eu-west-1",
            "[ℹ]  using Kubernetes version 1.32",
            "[ℹ]  creating EKS cluster \"fargate-sim\" in \"eu-west-1\" region with Fargate profile",
            "[ℹ]  building cluster stack \"eksctl-fargate-sim-cluster\"",
            "[✔]  all EKS cluster resources for \"fargate-sim\" have been created",
            "[ℹ]  creating Fargate profile \"fp-default\" on EKS cluster \"fargate-sim\"",
            "[ℹ]  created Fargate profile \"fp-default\" on EKS cluster \"fargate-sim\"",
            "[✔]  EKS cluster \"fargate-sim\" in \"eu-west-1\" region is ready",
        ]
    );
    // The chapter: `envsubst < execution-role-cluster.yaml | eksctl create fargateprofile -f -`.
    let role = s3_harness::Clients::new(&ep, "eu-west-1", &s3_harness::Creds::test_account())
        .await
        .iam
        .create_role()
        .role_name(crate::support::unique("s3-read"))
        .assume_role_policy_document(
            std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/examples/role-trust-policy.json"
            ))
            .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let role_arn = role.role().unwrap().arn().to_owned();
    let config = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/execution-role-cluster.yaml"
    ))
    .unwrap()
    .replace("${ROLE_ARN}", &role_arn);
    let o = eksctl(&ep, &["create", "fargateprofile", "-f", "-"], Some(&config));
    assert!(o.status.success(), "{:?}", lines(&o));
    assert_eq!(
        lines(&o),
        [
            "[ℹ]  creating Fargate profile \"s3\" on EKS cluster \"fargate-sim\"",
            "[ℹ]  created Fargate profile \"s3\" on EKS cluster \"fargate-sim\"",
        ]
    );
    let o = eksctl(
        &ep,
        &[
            "get",
            "fargateprofile",
            "--cluster",
            "fargate-sim",
            "--name",
            "s3",
        ],
        None,
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!(
            "NAME  SELECTOR_NAMESPACE  SELECTOR_LABELS  POD_EXECUTION_ROLE_ARN{pad}  SUBNETS                                TAGS    STATUS\n\
             s3    test                app=s3-reader    {role_arn}  subnet-0a11private,subnet-0b22private  <none>  ACTIVE\n",
            pad = " ".repeat(role_arn.len() - "POD_EXECUTION_ROLE_ARN".len())
        )
    );
    let o = eksctl(
        &ep,
        &[
            "delete",
            "fargateprofile",
            "--cluster",
            "fargate-sim",
            "--name",
            "s3",
            "--wait",
        ],
        None,
    );
    assert_eq!(
        lines(&o),
        [
            "[ℹ]  deleting Fargate profile \"s3\"",
            "[ℹ]  deleted Fargate profile \"s3\"",
        ]
    );
    let o = eksctl(
        &ep,
        &["delete", "cluster", "-f", "examples/cluster.yaml", "--wait"],
        None,
    );
    assert!(o.status.success(), "{:?}", lines(&o));
    let o = eksctl(
        &ep,
        &["get", "fargateprofile", "--cluster", "fargate-sim"],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "Error: getting Fargate profiles: ResourceNotFoundException: No cluster found for name: fargate-sim.\n"
    );
}

#[test]
fn an_unexpanded_variable_is_named_with_the_fix() {
    let o = eksctl(
        "http://127.0.0.1:9",
        &[
            "create",
            "fargateprofile",
            "-f",
            "examples/execution-role-cluster.yaml",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "Error: examples/execution-role-cluster.yaml: podExecutionRoleARN of Fargate profile \"s3\" is `${ROLE_ARN}`: the variable was not expanded; pipe the file through envsubst first (`envsubst < FILE | fargate-sim eksctl … -f -`)\n"
    );
}

#[test]
fn an_endpoint_off_this_machine_is_refused() {
    let o = eksctl(
        "http://198.51.100.7:4599",
        &["get", "fargateprofile", "--cluster", "c"],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "Error: refusing the EKS endpoint `http://198.51.100.7:4599`: it is not on this machine (pass --allow-real-aws to use it)\n"
    );
}
