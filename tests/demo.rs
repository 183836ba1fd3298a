//! The chapter and every scenario against a real LocalStack: outcomes, AWS-shaped failures, and
//! nothing left behind.

use s3_harness::flow::{self, Created, FlowOptions, FlowReport, PodPhase, Scenario, Step};
use s3_harness::{Clients, Creds};

use crate::support::{localstack, unique};

async fn run(scenario: Scenario) -> (FlowReport, Vec<Step>) {
    let ls = localstack();
    let opts = FlowOptions {
        scenario,
        suffix: format!("-{}", unique(scenario.name())),
        ..FlowOptions::default()
    };
    let mut steps = Vec::new();
    let mut emit = |s: &Step| steps.push(s.clone());
    let report = flow::run(ls.endpoint(), &opts, &mut emit, std::future::pending())
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
        "An error occurred (InvalidParameterException) when calling the CreateFargateProfile operation: Misconfigured PodExecutionRole Trust Policy; Please add the eks-fargate-pods.amazonaws.com Service Principal"
    );
}

#[tokio::test]
async fn a_pod_in_another_namespace_is_not_on_fargate() {
    let (r, _) = run(Scenario::WrongNamespace).await;
    assert!(r.as_expected, "{r:?}");
    assert_eq!(r.pod_phase, PodPhase::NotOnFargate);
    assert!(r.outcome.contains("not on Fargate"));
}

#[tokio::test]
async fn an_interrupted_run_still_cleans_up() {
    // Ctrl-C arrives once the bucket exists: the run stops and everything created is deleted.
    let ls = localstack();
    let opts = FlowOptions {
        suffix: format!("-{}", unique("interrupted")),
        ..FlowOptions::default()
    };
    let notify = std::sync::Arc::new(tokio::sync::Notify::new());
    let trigger = notify.clone();
    let mut emit = move |s: &Step| {
        if s.title == "bucket and object" {
            trigger.notify_one();
        }
    };
    let cancel = async move { notify.notified().await };
    let report = flow::run(ls.endpoint(), &opts, &mut emit, cancel)
        .await
        .expect("the flow runs");
    assert!(!report.as_expected);
    assert!(
        report.outcome.starts_with("interrupted"),
        "{}",
        report.outcome
    );
    assert!(
        report
            .created
            .iter()
            .any(|c| matches!(c, Created::Bucket { .. }))
    );
    assert_nothing_left(&report).await;
}
