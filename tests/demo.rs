//! The chapter and every scenario against a real LocalStack: outcomes, AWS-shaped failures, and
//! nothing left behind.

use emulator::flow::{
    self, Created, FlowOptions, FlowReport, Interrupts, PodPhase, Scenario, Step,
};
use s3_harness::{Clients, Creds};

use crate::support::localstack;

async fn run(scenario: Scenario) -> (FlowReport, Vec<Step>) {
    let ls = localstack();
    let opts = FlowOptions {
        scenario,
        ..FlowOptions::default()
    };
    let mut steps = Vec::new();
    let mut emit = |s: &Step| steps.push(s.clone());
    let report = flow::run(ls.endpoint(), &opts, &mut emit, Interrupts::never())
        .await
        .expect("the flow runs");
    assert_nothing_left(&report).await;
    (report, steps)
}

/// After a run without --keep, neither the bucket nor the roles exist any more.
async fn assert_nothing_left(report: &FlowReport) {
    assert!(report.cleaned_up, "cleanup must succeed: {report:?}");
    let c = Clients::new(localstack().endpoint(), "eu-west-1", &Creds::test_account()).await;
    let buckets = c.s3.list_buckets().send().await.unwrap();
    for created in &report.created {
        if let Created::Bucket { name } = created {
            assert!(
                !buckets
                    .buckets()
                    .iter()
                    .any(|b| b.name() == Some(name.as_str())),
                "bucket {name} left behind"
            );
        }
    }
    assert!(
        !buckets
            .buckets()
            .iter()
            .any(|b| b.name() == Some(report.bucket.as_str())),
        "bucket {} left behind",
        report.bucket
    );
    let roles = c.iam.list_roles().send().await.unwrap();
    for created in &report.created {
        if let Created::Role { name } = created {
            assert!(
                !roles.roles().iter().any(|r| r.role_name() == name),
                "role {name} left behind"
            );
        }
    }
    assert!(
        report
            .created
            .iter()
            .any(|c| matches!(c, Created::Profile { .. })),
        "profiles were created and recorded"
    );
}

#[tokio::test]
async fn the_chapter_pod_prints_the_object() {
    let (r, steps) = run(Scenario::Chapter).await;
    assert!(r.as_expected, "{r:?}");
    assert_eq!(r.pod_phase, PodPhase::Succeeded);
    assert!(r.pod_log.starts_with("Hello from S3!"), "{}", r.pod_log);
    assert!(flow::read_allowed(&r));
    assert!(r.decisions.iter().any(|(a, _, p, d)| a == "sts:AssumeRole"
        && p == "eks-fargate-pods.amazonaws.com"
        && d == "Allow"));
    // The chapter's placement story, step by step.
    let titles: Vec<&str> = steps.iter().map(|s| s.title.as_str()).collect();
    assert!(
        titles.contains(&"existing pod is not moved") && titles.contains(&"pod recreated"),
        "{titles:?}"
    );
    assert!(steps.iter().all(|s| s.ok), "{steps:#?}");
    assert!(
        steps
            .iter()
            .any(|s| s.command.starts_with("kubectl logs s3"))
    );
}

#[tokio::test]
async fn without_an_s3_policy_the_pod_is_denied() {
    let (r, steps) = run(Scenario::NoS3Policy).await;
    assert!(r.as_expected, "{r:?}");
    let runs = steps
        .iter()
        .find(|s| s.title == "pod runs with the execution role")
        .unwrap();
    assert!(
        runs.lines.iter().any(|l| l.starts_with(
            "gateway: AccessDenied: User: arn:aws:sts::000000000000:assumed-role/s3-read"
        ) && l
            .ends_with("because no identity-based policy allows the s3:GetObject action")),
        "{runs:#?}"
    );
    assert_eq!(r.pod_phase, PodPhase::Failed);
    assert!(
        r.pod_log
            .contains("(403) when calling the HeadObject operation: Forbidden"),
        "{}",
        r.pod_log
    );
    assert!(
        r.decisions
            .iter()
            .any(|(a, _, _, d)| a == "s3:GetObject" && d == "ImplicitDeny")
    );
}

#[tokio::test]
async fn a_bucket_policy_deny_wins_over_the_role() {
    let (r, _) = run(Scenario::BucketDeny).await;
    assert!(r.as_expected, "{r:?}");
    assert_eq!(r.pod_phase, PodPhase::Failed);
    assert!(
        r.decisions
            .iter()
            .any(|(a, _, _, d)| a == "s3:GetObject" && d == "ExplicitDeny")
    );
}

#[tokio::test]
async fn a_trust_policy_for_eks_is_rejected_at_profile_creation() {
    let (r, steps) = run(Scenario::BadTrust).await;
    assert!(r.as_expected, "{r:?}");
    assert_eq!(r.pod_phase, PodPhase::NotCreated);
    let last = steps.last().unwrap();
    assert_eq!(
        last.lines[0],
        "Error: creating Fargate profile \"s3\" on EKS cluster \"fargate-sim\": InvalidParameterException: Misconfigured PodExecutionRole Trust Policy; Please add the eks-fargate-pods.amazonaws.com Service Principal"
    );
}

#[tokio::test]
async fn a_pod_in_another_namespace_is_not_on_fargate() {
    let (r, _) = run(Scenario::WrongNamespace).await;
    assert!(r.as_expected, "{r:?}");
    assert_eq!(r.pod_phase, PodPhase::NotOnFargate);
    assert!(r.outcome.contains("not on Fargate"));
}

/// Runs the chapter and interrupts it (`times` interruptions) when the step `at` is shown.
async fn interrupted_at(
    at: &'static str,
    times: u32,
    journal: Option<std::path::PathBuf>,
) -> FlowReport {
    let opts = FlowOptions {
        journal_dir: journal,
        ..FlowOptions::default()
    };
    let (interrupter, interrupts) = Interrupts::channel();
    let mut emit = move |s: &Step| {
        if s.title == at {
            for _ in 0..times {
                interrupter.interrupt();
            }
        }
    };
    flow::run(localstack().endpoint(), &opts, &mut emit, interrupts)
        .await
        .expect("the flow runs")
}

#[tokio::test]
async fn an_interrupted_run_stops_before_the_next_step_and_removes_what_it_made() {
    let report = interrupted_at("bucket and object", 1, None).await;
    assert!(report.interrupted && !report.as_expected);
    assert_eq!(report.outcome, "interrupted");
    // The bucket step was the last one: no role was created after it.
    assert!(
        !report
            .created
            .iter()
            .any(|c| matches!(c, Created::Role { name } if name == &report.role))
    );
    assert!(
        report.cleanup.removed.contains(&Created::Bucket {
            name: report.bucket.clone()
        }),
        "{:?}",
        report.cleanup
    );
    assert!(report.cleanup.left.is_empty(), "{:?}", report.cleanup);
    assert_nothing_left(&report).await;
}

#[tokio::test]
async fn every_name_carries_the_run_id() {
    let (r, _) = run(Scenario::NoS3Policy).await;
    let id = r.run_id.to_string();
    assert_eq!(r.bucket, format!("test-bucket-{id}"));
    assert_eq!(r.role, format!("s3-read-{id}"));
    for c in &r.created {
        if let Created::Role { name } | Created::Bucket { name } = c {
            assert!(name.ends_with(&id), "{name}");
        }
    }
}

#[tokio::test]
async fn runs_side_by_side_on_one_localstack_do_not_collide() {
    let runs = (0..4).map(|_| run(Scenario::Chapter));
    let results = futures_join(runs).await;
    for (r, _) in &results {
        assert!(r.as_expected, "{r:?}");
    }
}

/// Polls every future to completion on the current task (the test runtime is single-threaded).
async fn futures_join<F: std::future::Future>(futs: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut handles: Vec<_> = futs.into_iter().map(|f| Some(Box::pin(f))).collect();
    let mut out: Vec<Option<F::Output>> = handles.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (h, o) in handles.iter_mut().zip(out.iter_mut()) {
            if let Some(f) = h {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        *o = Some(v);
                        *h = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

#[tokio::test]
async fn a_finished_run_leaves_no_journal() {
    let dir = tempfile::tempdir().unwrap();
    let (r, _) = {
        let opts = FlowOptions {
            journal_dir: Some(dir.path().to_owned()),
            ..FlowOptions::default()
        };
        let mut steps = Vec::new();
        let mut emit = |s: &Step| steps.push(s.clone());
        let r = flow::run(
            localstack().endpoint(),
            &opts,
            &mut emit,
            Interrupts::never(),
        )
        .await
        .unwrap();
        (r, steps)
    };
    assert!(r.as_expected && r.cleaned_up, "{r:?}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn a_kept_run_is_a_leftover_that_cleanup_removes() {
    let dir = tempfile::tempdir().unwrap();
    let opts = FlowOptions {
        keep: true,
        journal_dir: Some(dir.path().to_owned()),
        ..FlowOptions::default()
    };
    let mut emit = |_: &Step| {};
    let r = flow::run(
        localstack().endpoint(),
        &opts,
        &mut emit,
        Interrupts::never(),
    )
    .await
    .unwrap();
    assert!(r.cleanup.kept.contains(&Created::Bucket {
        name: r.bucket.clone()
    }));
    let left = flow::leftovers(dir.path());
    assert_eq!(left.len(), 1);
    assert!(left[0].record.kept);
    let done = flow::clean_leftovers(dir.path(), false).await;
    assert_eq!(done.len(), 1);
    match &done[0].outcome {
        flow::LeftoverOutcome::Cleaned { report } => {
            assert!(report.left.is_empty(), "{report:?}");
            assert!(report.removed.contains(&Created::Role {
                name: r.role.clone()
            }));
        }
        other => panic!("{other:?}"),
    }
    assert!(flow::leftovers(dir.path()).is_empty());
    let mut after = r.clone();
    after.cleaned_up = true;
    assert_nothing_left(&after).await;
}

/// A LocalStack that answers its health check and then never answers anything else.
fn stalled_localstack() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            if buf[..n].starts_with(b"GET /_localstack/health") {
                let body = r#"{"services":{"s3":"running","iam":"running","sts":"running"}}"#;
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
            } else {
                held.push(s);
            }
        }
    });
    url
}

#[tokio::test]
async fn a_stalled_localstack_ends_the_run_with_a_message_not_a_hang() {
    let url = stalled_localstack();
    let quick = s3_harness::client::Timeouts {
        connect: std::time::Duration::from_secs(1),
        attempt: std::time::Duration::from_millis(500),
        operation: std::time::Duration::from_secs(1),
        attempts: 2,
    };
    let opts = FlowOptions {
        timeouts: quick,
        ..FlowOptions::default()
    };
    let mut emit = |_: &Step| {};
    let started = std::time::Instant::now();
    let r = flow::run(&url, &opts, &mut emit, Interrupts::never())
        .await
        .expect("the run reports, it does not fail to start");
    // Generous bound: this checks that the run ends, not how fast.
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let error = r.error.clone().unwrap_or_default();
    assert!(
        error.starts_with("CreateRole fargate-sim-cluster-") && error.contains("no answer in time"),
        "{error}"
    );
    // The role was recorded before its call: the report names it as not known to be removed.
    assert_eq!(r.cleanup.left.len(), 1, "{:?}", r.cleanup);
    assert!(
        r.cleanup.left[0]
            .reason
            .starts_with("LocalStack did not answer")
    );
}

#[tokio::test]
async fn a_killed_run_leaves_a_journal_that_cleanup_empties() {
    use std::io::BufRead;
    let ls = localstack();
    let cache = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fargate-sim"))
        .args(["demo", "--endpoint", ls.endpoint()])
        .env("FARGATE_SIM_CACHE_DIR", cache.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut run_id = String::new();
    let lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("run ") {
            run_id = rest.split(':').next().unwrap().to_owned();
        }
        // The bucket and its object exist: kill the run without letting it clean up.
        if line.contains("] execution role") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(run_id.len(), 8, "the run id is shown");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fargate-sim"))
        .args(["demo", "--cleanup"])
        .env("FARGATE_SIM_CACHE_DIR", cache.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains(&format!("bucket test-bucket-{run_id}"))
            && text.contains(&format!("role s3-read-{run_id}")),
        "{text}"
    );
    let c = Clients::new(ls.endpoint(), "eu-west-1", &Creds::test_account()).await;
    let buckets = c.s3.list_buckets().send().await.unwrap();
    assert!(
        !buckets
            .buckets()
            .iter()
            .any(|b| b.name().is_some_and(|n| n.ends_with(&run_id)))
    );
    let roles = c.iam.list_roles().send().await.unwrap();
    assert!(
        !roles
            .roles()
            .iter()
            .any(|r| r.role_name().ends_with(&run_id))
    );
}

#[test]
fn a_closed_output_stops_the_demo_cleans_up_and_exits_141() {
    let ls = localstack();
    let cache = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fargate-sim"))
        .args(["demo", "--endpoint", ls.endpoint()])
        .env("FARGATE_SIM_CACHE_DIR", cache.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // `fargate-sim demo | sed '/bucket and object/q'`: the reader goes away once the bucket
    // exists.
    use std::io::{BufRead, Read};
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while out.read_line(&mut line).unwrap() > 0 && !line.contains("] bucket and object") {
        line.clear();
    }
    drop(out);
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(141), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // The run cleaned up: its journal is gone, so nothing it recorded is left.
    let runs = cache.path().join("runs");
    let journals = std::fs::read_dir(&runs)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .count()
        })
        .unwrap_or(0);
    assert_eq!(journals, 0);
}

#[tokio::test]
async fn an_endpoint_only_bucket_is_read_by_the_pod_and_refused_to_the_host() {
    let (r, steps) = run(Scenario::EndpointOnly).await;
    assert!(r.as_expected, "{r:?}");
    assert_eq!(r.pod_phase, PodPhase::Succeeded);
    assert!(r.pod_log.starts_with("Hello from S3!"), "{}", r.pod_log);
    // The pod's read came through the endpoint and was allowed; the host's was denied by the
    // bucket policy's explicit Deny.
    assert!(r.decisions.iter().any(|(a, _, p, d)| a == "s3:GetObject"
        && p.contains(":assumed-role/s3-read-")
        && d == "Allow"));
    assert!(r.decisions.iter().any(|(a, _, p, d)| a == "s3:GetObject"
        && p == "arn:aws:iam::000000000000:root"
        && d == "ExplicitDeny"));
    let outside = steps
        .iter()
        .find(|s| s.title == "the same read from outside the endpoint")
        .unwrap();
    assert!(
        outside.lines[0].ends_with("with an explicit deny in a resource-based policy"),
        "{outside:?}"
    );
}
