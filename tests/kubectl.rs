//! The Kubernetes API of `up`'s clusters driven by the real `kubectl` (v1.32 on this machine
//! image): discovery and namespaces, with the API server's lines and errors.

use std::process::{Command, Output};

use emulator::{Emulator, Options};
use s3_harness::{Clients, Creds, localstack};

use crate::support::{localstack as shared, unique};

/// An emulator with an ACTIVE cluster `fargate-sim`; the kubeconfig for it (a temporary
/// directory holding it and kubectl's cache).
async fn cluster() -> (Emulator, tempfile::TempDir) {
    let emu = Emulator::start(Options {
        eks_delay: 0.0,
        localstack: localstack::Options {
            endpoint: Some(shared().endpoint().to_owned()),
            ..localstack::Options::default()
        },
        ..Options::default()
    })
    .await
    .unwrap();
    let root = Clients::new(emu.endpoint(), emu.region(), &Creds::test_account()).await;
    let role = unique("eks-cluster");
    let created = root
        .iam
        .create_role()
        .role_name(&role)
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap();
    root.eks
        .create_cluster()
        .name("fargate-sim")
        .role_arn(created.role().unwrap().arn())
        .resources_vpc_config(
            s3_harness::eks::types::VpcConfigRequest::builder()
                .subnet_ids("subnet-a")
                .subnet_ids("subnet-b")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let endpoint = root
        .eks
        .describe_cluster()
        .name("fargate-sim")
        .send()
        .await
        .unwrap()
        .cluster()
        .and_then(|c| c.endpoint().map(str::to_owned))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config"),
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- cluster: {{server: \"{endpoint}\"}}\n  name: fargate-sim\ncontexts:\n- context: {{cluster: fargate-sim, user: fargate-sim}}\n  name: fargate-sim\ncurrent-context: fargate-sim\nusers:\n- name: fargate-sim\n  user: {{}}\n"
        ),
    )
    .unwrap();
    (emu, dir)
}

fn kubectl(dir: &tempfile::TempDir, args: &[&str]) -> Output {
    Command::new("kubectl")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("KUBECONFIG", dir.path().join("config"))
        .args(args)
        .output()
        .unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_create_namespace_is_created() {
    let (_emu, dir) = cluster().await;
    let o = kubectl(&dir, &["create", "namespace", "test"]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o), "namespace/test created\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_namespace_of_a_name_already_exists() {
    let (_emu, dir) = cluster().await;
    kubectl(&dir, &["create", "namespace", "test"]);
    let o = kubectl(&dir, &["create", "namespace", "test"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        err(&o),
        "Error from server (AlreadyExists): namespaces \"test\" already exists\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_get_namespaces_shows_the_api_servers_table() {
    let (_emu, dir) = cluster().await;
    let o = kubectl(&dir, &["get", "namespaces"]);
    assert!(o.status.success(), "{}", err(&o));
    let text = out(&o);
    let mut lines = text.lines();
    assert_eq!(
        lines
            .next()
            .map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["NAME", "STATUS", "AGE"])
    );
    let names: Vec<&str> = lines
        .map(|l| l.split_whitespace().next().unwrap_or_default())
        .collect();
    assert_eq!(
        names,
        ["default", "kube-node-lease", "kube-public", "kube-system"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_name_that_is_not_a_label_is_invalid() {
    let (_emu, dir) = cluster().await;
    let o = kubectl(&dir, &["create", "namespace", "Test"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).starts_with(
            "The Namespace \"Test\" is invalid: metadata.name: Invalid value: \"Test\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'"
        ),
        "{}",
        err(&o)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_delete_namespace_waits_until_it_is_gone() {
    let (_emu, dir) = cluster().await;
    kubectl(&dir, &["create", "namespace", "test"]);
    let o = kubectl(&dir, &["delete", "namespace", "test"]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o), "namespace \"test\" deleted\n");
    let o = kubectl(&dir, &["get", "namespace", "test"]);
    assert_eq!(
        err(&o),
        "Error from server (NotFound): namespaces \"test\" not found\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_that_does_not_exist_has_no_api() {
    let (emu, dir) = cluster().await;
    let config = std::fs::read_to_string(dir.path().join("config"))
        .unwrap()
        .replace("/k8s/fargate-sim", "/k8s/nope");
    std::fs::write(dir.path().join("config"), config).unwrap();
    let o = kubectl(&dir, &["get", "namespaces"]);
    assert_eq!(o.status.code(), Some(1), "{}", emu.endpoint());
    assert!(
        err(&o).contains("the server could not find the requested resource"),
        "{}",
        err(&o)
    );
}
