//! The cluster model's containers: what the kubelet shows as a container's process exits —
//! restarts with back-off and `CrashLoopBackOff`, `Completed`/`Error`, the log of a container
//! waiting to restart — driven through the runner's callbacks, as the pod runner drives them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;

use k8s_openapi::api::core::v1 as core;
use scheduler::kube::{Effect, Exit, Kube, Launch};
use scheduler::{Cluster, CreateProfile, InMemoryRoles, Selector, SeqIds};

const ROLE: &str = "arn:aws:iam::111122223333:role/pod-exec";
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks-fargate-pods.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

fn cluster() -> (Kube, Cluster) {
    let mut fargate = Cluster::new(
        "demo",
        "eu-west-1",
        "111122223333",
        vec![],
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
    fargate.refresh(100.0);
    let mut kube = Kube::new(Box::new(SeqIds::new(2)), "eu-west-1", 100.0);
    kube.create_namespace("test", Default::default(), 100.0)
        .unwrap();
    (kube, fargate)
}

/// Creates an AWS CLI pod with `policy` and returns its launch.
fn aws_pod(kube: &mut Kube, fargate: &mut Cluster, policy: &str) -> Launch {
    let pod: core::Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "cli", "namespace": "test"},
        "spec": {"restartPolicy": policy, "containers": [{"name": "aws", "image": "amazon/aws-cli", "args": ["s3", "ls"]}]}
    }))
    .unwrap();
    kube.create_pod(fargate, pod, 101.0).unwrap();
    match kube.take_effects().as_slice() {
        [Effect::Start(l)] => l.clone(),
        other => panic!("one start expected: {other:?}"),
    }
}

fn status(kube: &Kube) -> core::ContainerStatus {
    kube.pod("test", "cli")
        .unwrap()
        .status
        .as_ref()
        .unwrap()
        .container_statuses
        .as_ref()
        .unwrap()[0]
        .clone()
}

fn phase(kube: &Kube) -> String {
    kube.pod("test", "cli")
        .unwrap()
        .status
        .as_ref()
        .unwrap()
        .phase
        .clone()
        .unwrap()
}

#[test]
fn a_failing_container_with_restart_always_is_in_crash_loop_back_off() {
    let (mut kube, mut fargate) = cluster();
    let launch = aws_pod(&mut kube, &mut fargate, "Always");
    kube.container_exited(&mut fargate, &launch.pod, "aws", &Exit::Code(1), 102.0);
    let s = status(&kube);
    let waiting = s.state.unwrap().waiting.unwrap();
    assert_eq!(waiting.reason.as_deref(), Some("CrashLoopBackOff"));
    assert!(
        waiting
            .message
            .unwrap()
            .starts_with("back-off 10s restarting failed container=aws pod=cli_test(")
    );
    assert_eq!(s.restart_count, 1);
    assert_eq!(
        s.last_state.unwrap().terminated.unwrap().reason.as_deref(),
        Some("Error")
    );
    assert_eq!(phase(&kube), "Running");
}

#[test]
fn each_restart_doubles_the_back_off() {
    let (mut kube, mut fargate) = cluster();
    let launch = aws_pod(&mut kube, &mut fargate, "Always");
    let mut delays = Vec::new();
    for n in 0..4 {
        let now = 102.0 + f64::from(n) * 400.0;
        kube.container_exited(&mut fargate, &launch.pod, "aws", &Exit::Code(1), now);
        for e in kube.take_effects() {
            if let Effect::Start(l) = e {
                delays.push(l.delay);
            }
        }
        kube.container_started(&launch.pod, "aws", now + 350.0);
    }
    assert_eq!(delays, [10.0, 20.0, 40.0, 80.0]);
}

#[test]
fn a_container_waiting_to_restart_shows_its_last_runs_log() {
    let (mut kube, mut fargate) = cluster();
    let launch = aws_pod(&mut kube, &mut fargate, "Always");
    kube.append_log(&launch.pod, "aws", b"An error occurred (AccessDenied)\n");
    kube.container_exited(&mut fargate, &launch.pod, "aws", &Exit::Code(1), 102.0);
    let (log, live) = kube.log("test", "cli", None, false).unwrap();
    assert_eq!((log, live), ("An error occurred (AccessDenied)\n", false));
    let (previous, _) = kube.log("test", "cli", None, true).unwrap();
    assert_eq!(previous, "An error occurred (AccessDenied)\n");
}

#[test]
fn a_restarted_container_logs_its_own_run() {
    let (mut kube, mut fargate) = cluster();
    let launch = aws_pod(&mut kube, &mut fargate, "Always");
    kube.append_log(&launch.pod, "aws", b"first\n");
    kube.container_exited(&mut fargate, &launch.pod, "aws", &Exit::Code(1), 102.0);
    kube.container_started(&launch.pod, "aws", 112.0);
    kube.append_log(&launch.pod, "aws", b"second\n");
    assert_eq!(
        kube.log("test", "cli", None, false).unwrap(),
        ("second\n", true)
    );
    assert_eq!(kube.log("test", "cli", None, true).unwrap().0, "first\n");
}

#[test]
fn a_container_that_never_restarted_has_no_previous_log() {
    let (mut kube, mut fargate) = cluster();
    aws_pod(&mut kube, &mut fargate, "Never");
    let e = kube.log("test", "cli", None, true).unwrap_err();
    assert_eq!(
        e,
        scheduler::kube::KubeError::BadRequest(
            "previous terminated container \"aws\" in pod \"cli\" not found".into()
        )
    );
}

#[test]
fn with_restart_never_a_failed_container_fails_the_pod() {
    let (mut kube, mut fargate) = cluster();
    let launch = aws_pod(&mut kube, &mut fargate, "Never");
    kube.container_exited(&mut fargate, &launch.pod, "aws", &Exit::Code(255), 102.0);
    let t = status(&kube).state.unwrap().terminated.unwrap();
    assert_eq!((t.exit_code, t.reason.as_deref()), (255, Some("Error")));
    assert_eq!(phase(&kube), "Failed");
    assert!(kube.take_effects().is_empty(), "no restart");
}

#[test]
fn with_restart_on_failure_a_successful_container_completes_the_pod() {
    let (mut kube, mut fargate) = cluster();
    let launch = aws_pod(&mut kube, &mut fargate, "OnFailure");
    kube.container_exited(&mut fargate, &launch.pod, "aws", &Exit::Code(0), 102.0);
    let t = status(&kube).state.unwrap().terminated.unwrap();
    assert_eq!((t.exit_code, t.reason.as_deref()), (0, Some("Completed")));
    assert_eq!(phase(&kube), "Succeeded");
    assert!(kube.take_effects().is_empty(), "no restart");
}
