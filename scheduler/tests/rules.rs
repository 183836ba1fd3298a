//! Every rule of the Fargate-profile API and of placement, with EKS's messages.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};

use scheduler::pod::{Container, Port, Quantity, Resources, SecurityContext, Volume};
use scheduler::{
    Cluster, CreateProfile, ErrorType, InMemoryRoles, Pod, Selector, SeqIds, Status, Subnet,
};

const ROLE: &str = "arn:aws:iam::111122223333:role/pod-exec";
const GOOD_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks-fargate-pods.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:eks:eu-west-1:111122223333:fargateprofile/demo/*"}}}]}"#;
const MISCONFIGURED: &str = "Misconfigured PodExecutionRole Trust Policy; Please add the eks-fargate-pods.amazonaws.com Service Principal";

fn roles() -> InMemoryRoles {
    let eks_only = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    InMemoryRoles(HashMap::from([
        (ROLE.to_owned(), GOOD_TRUST.to_owned()),
        (
            "arn:aws:iam::111122223333:role/eks-only".to_owned(),
            eks_only.to_owned(),
        ),
        (
            "arn:aws:iam::111122223333:role/other-cluster".to_owned(),
            GOOD_TRUST.replace("fargateprofile/demo/*", "fargateprofile/other/*"),
        ),
    ]))
}

fn cluster() -> Cluster {
    let subnets = vec![
        Subnet {
            id: "subnet-private".into(),
            az: "eu-west-1a".into(),
            private: true,
            cidr: None,
        },
        Subnet {
            id: "subnet-public".into(),
            az: "eu-west-1a".into(),
            private: false,
            cidr: None,
        },
    ];
    Cluster::new(
        "demo",
        "eu-west-1",
        "111122223333",
        subnets,
        Box::new(SeqIds::new(7)),
    )
}

fn sel(ns: &str, labels: &[(&str, &str)]) -> Selector {
    Selector {
        namespace: Some(ns.to_owned()),
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

fn req(name: &str, selectors: Vec<Selector>) -> CreateProfile {
    CreateProfile {
        fargate_profile_name: name.into(),
        pod_execution_role_arn: ROLE.into(),
        selectors,
        ..CreateProfile::default()
    }
}

/// Creates profiles one after another, letting each become ACTIVE; returns the time after.
fn with_profiles(c: &mut Cluster, reqs: &[CreateProfile]) -> f64 {
    let mut now = 0.0;
    for r in reqs {
        c.create_profile(r, &roles(), now).unwrap();
        now += 1.0;
    }
    c.refresh(now);
    now
}

fn create_err(c: &mut Cluster, r: &CreateProfile) -> (ErrorType, String) {
    let e = c.create_profile(r, &roles(), 0.0).unwrap_err();
    (e.kind, e.message)
}

#[test]
fn profile_api_shape_and_state_machine() {
    let mut c = cluster();
    let p = c
        .create_profile(&req("test", vec![sel("test", &[])]), &roles(), 100.0)
        .unwrap();
    assert_eq!(p.status, Status::Creating);
    assert!(
        p.fargate_profile_arn
            .starts_with("arn:aws:eks:eu-west-1:111122223333:fargateprofile/demo/test/")
    );
    let uuid = p.fargate_profile_arn.rsplit('/').next().unwrap();
    assert_eq!(
        uuid.split('-').map(str::len).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12]
    );
    assert_eq!(
        p.subnets,
        ["subnet-private"],
        "the cluster's private subnets by default"
    );
    let json = serde_json::to_value(&p).unwrap();
    for key in [
        "fargateProfileName",
        "fargateProfileArn",
        "clusterName",
        "createdAt",
        "podExecutionRoleArn",
        "subnets",
        "selectors",
        "status",
        "tags",
    ] {
        assert!(json.get(key).is_some(), "{key} missing from {json}");
    }
    assert_eq!(json["status"], "CREATING");
    assert_eq!(
        c.describe_profile("test", 100.01).unwrap().status,
        Status::Creating
    );
    assert_eq!(
        c.describe_profile("test", 101.0).unwrap().status,
        Status::Active
    );
    assert_eq!(c.list_profiles(101.0), ["test"]);
    let (deleted, _) = c.delete_profile("test", 102.0).unwrap();
    assert_eq!(deleted.status, Status::Deleting);
    assert_eq!(c.list_profiles(102.01), ["test"], "visible while DELETING");
    assert!(c.list_profiles(103.0).is_empty());
    let e = c.describe_profile("test", 103.0).unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (
            ErrorType::ResourceNotFoundException,
            "No Fargate Profile found with name: test."
        )
    );
}

#[test]
fn create_errors_carry_eks_types_and_messages() {
    let mut c = cluster();
    assert_eq!(
        create_err(&mut c, &req("a", vec![])),
        (
            ErrorType::InvalidParameterException,
            "Fargate Profile requires at least one selector.".into()
        )
    );
    let mut no_ns = req("a", vec![sel("x", &[])]);
    no_ns.selectors[0].namespace = None;
    assert_eq!(
        create_err(&mut c, &no_ns),
        (
            ErrorType::InvalidParameterException,
            "Fargate Profile must have at least one selector with at least one namespace value."
                .into()
        )
    );
    let six = (0..6).map(|i| sel(&format!("n{i}"), &[])).collect();
    assert_eq!(
        create_err(&mut c, &req("a", six)).0,
        ErrorType::InvalidParameterException
    );
    let labels: BTreeMap<String, String> =
        (0..6).map(|i| (format!("k{i}"), "v".to_owned())).collect();
    let many = Selector {
        namespace: Some("x".into()),
        labels,
    };
    assert_eq!(
        create_err(&mut c, &req("a", vec![many])),
        (
            ErrorType::InvalidParameterException,
            "Request contains Selector with more than 5 Label pairs".into()
        )
    );
    let mut public = req("a", vec![sel("x", &[])]);
    public.subnets = vec!["subnet-public".into()];
    assert_eq!(
        create_err(&mut c, &public),
        (
            ErrorType::InvalidParameterException,
            "Subnet subnet-public provided in Fargate Profile is not a private subnet".into()
        )
    );
    let mut tagged = req("a", vec![sel("x", &[])]);
    tagged.tags.insert("aws:owner".into(), "me".into());
    assert_eq!(
        create_err(&mut c, &tagged).0,
        ErrorType::InvalidParameterException
    );
    let mut too_many_tags = req("a", vec![sel("x", &[])]);
    too_many_tags.tags = (0..51).map(|i| (format!("t{i}"), String::new())).collect();
    assert_eq!(
        create_err(&mut c, &too_many_tags).0,
        ErrorType::InvalidParameterException
    );
    assert!(c.list_profiles(0.0).is_empty(), "nothing was created");
}

#[test]
fn trust_policy_is_checked_with_the_profile_arn() {
    let mut c = cluster();
    let mut r = req("a", vec![sel("x", &[])]);
    r.pod_execution_role_arn = "arn:aws:iam::111122223333:role/eks-only".into();
    assert_eq!(
        create_err(&mut c, &r),
        (ErrorType::InvalidParameterException, MISCONFIGURED.into())
    );
    r.pod_execution_role_arn = "arn:aws:iam::111122223333:role/other-cluster".into();
    assert_eq!(
        create_err(&mut c, &r),
        (ErrorType::InvalidParameterException, MISCONFIGURED.into()),
        "SourceArn names another cluster"
    );
    r.pod_execution_role_arn = "arn:aws:iam::111122223333:role/missing".into();
    assert_eq!(
        create_err(&mut c, &r).0,
        ErrorType::InvalidParameterException
    );
    r.pod_execution_role_arn = "not-an-arn".into();
    assert_eq!(
        create_err(&mut c, &r).0,
        ErrorType::InvalidParameterException
    );
    assert!(c.list_profiles(0.0).is_empty(), "nothing was created");
}

#[test]
fn duplicates_quota_concurrency_and_idempotency() {
    let mut c = cluster();
    let mut first = req("a", vec![sel("x", &[])]);
    first.client_request_token = Some("tok-1".into());
    let p = c.create_profile(&first, &roles(), 0.0).unwrap();
    assert_eq!(
        c.create_profile(&first, &roles(), 0.01).unwrap(),
        p,
        "same token, same request: same profile"
    );
    let (kind, msg) = create_err(&mut c, &req("b", vec![sel("y", &[])]));
    assert_eq!(kind, ErrorType::ResourceInUseException);
    assert_eq!(
        msg,
        "Cannot create Fargate Profile b because cluster demo currently has Fargate profile a in status CREATING"
    );
    c.refresh(1.0);
    let (kind, msg) = create_err(&mut c, &req("a", vec![sel("z", &[])]));
    assert_eq!(
        (kind, msg.as_str()),
        (
            ErrorType::ResourceInUseException,
            "A Fargate Profile already exists with this name in this cluster."
        )
    );

    let mut now = 1.0;
    for i in 1..10 {
        c.create_profile(&req(&format!("p{i}"), vec![sel("x", &[])]), &roles(), now)
            .unwrap();
        now += 1.0;
    }
    let e = c
        .create_profile(&req("eleventh", vec![sel("x", &[])]), &roles(), now)
        .unwrap_err();
    assert_eq!(e.kind, ErrorType::ResourceLimitExceededException);

    c.delete_profile("p1", now).unwrap();
    let e = c.delete_profile("p2", now).unwrap_err();
    assert_eq!(e.kind, ErrorType::ResourceInUseException);
    assert_eq!(
        e.message,
        "Cannot Delete Fargate Profile p2 because cluster demo currently has Fargate profile p1 in status DELETING"
    );
    let e = c.delete_profile("nope", now + 5.0).unwrap_err();
    assert_eq!(e.message, "No Fargate Profile found with name: nope.");
}

#[test]
fn a_pod_matches_by_namespace_and_every_selector_label() {
    let mut c = cluster();
    let now = with_profiles(
        &mut c,
        &[req(
            "web",
            vec![sel("prod", &[("app", "web"), ("tier", "front")])],
        )],
    );
    let full = c.apply_pod(
        Pod::new(
            "prod",
            "a",
            &[("app", "web"), ("tier", "front"), ("extra", "x")],
        ),
        now,
    );
    assert_eq!(full.profile.as_deref(), Some("web"));
    let partial = c.apply_pod(Pod::new("prod", "b", &[("app", "web")]), now);
    assert_eq!(partial.profile, None);
    assert!(!partial.pending);
    assert!(partial.reason.contains("left to the default scheduler"));
    assert!(
        partial
            .events
            .iter()
            .any(|e| e.reason == "NotFargate" && e.message == partial.reason),
        "every decision records an event"
    );
    let other_ns = c.apply_pod(
        Pod::new("dev", "c", &[("app", "web"), ("tier", "front")]),
        now,
    );
    assert_eq!(other_ns.profile, None);
}

#[test]
fn wildcards_in_namespace_label_keys_and_values() {
    let mut c = cluster();
    let now = with_profiles(
        &mut c,
        &[req("wild", vec![sel("prod*", &[("key?", "value?")])])],
    );
    assert_eq!(
        c.apply_pod(Pod::new("prod-eu", "a", &[("key1", "valuea")]), now)
            .profile
            .as_deref(),
        Some("wild")
    );
    assert_eq!(
        c.apply_pod(Pod::new("prod", "b", &[("key1", "value")]), now)
            .profile,
        None,
        "`?` is exactly one character"
    );
    assert_eq!(
        c.apply_pod(Pod::new("prod", "c", &[("key1", "value-a")]), now)
            .profile,
        None
    );
    assert_eq!(
        c.apply_pod(Pod::new("staging", "d", &[("key1", "valuea")]), now)
            .profile,
        None
    );
}

#[test]
fn first_profile_by_name_wins_and_the_label_pins() {
    let mut c = cluster();
    let now = with_profiles(
        &mut c,
        &[
            req("prod-workload", vec![sel("shared", &[])]),
            req("beta-workload", vec![sel("shared", &[])]),
        ],
    );
    let p = c.apply_pod(Pod::new("shared", "a", &[]), now);
    assert_eq!(p.profile.as_deref(), Some("beta-workload"));
    assert_eq!(
        p.pod
            .labels
            .get("eks.amazonaws.com/fargate-profile")
            .map(String::as_str),
        Some("beta-workload")
    );
    assert_eq!(
        p.pod.spec.scheduler_name.as_deref(),
        Some("fargate-scheduler")
    );
    let pinned = c.apply_pod(
        Pod::new(
            "shared",
            "b",
            &[("eks.amazonaws.com/fargate-profile", "prod-workload")],
        ),
        now,
    );
    assert_eq!(pinned.profile.as_deref(), Some("prod-workload"));
    let bad_pin = c.apply_pod(
        Pod::new(
            "other",
            "c",
            &[("eks.amazonaws.com/fargate-profile", "prod-workload")],
        ),
        now,
    );
    assert_eq!(
        bad_pin.profile, None,
        "the pinned profile must still select the pod"
    );
}

#[test]
fn only_active_profiles_place_pods_and_placement_happens_once() {
    let mut c = cluster();
    // The chapter: the pod exists before the profile, stays put, and moves only when recreated.
    let before = c.apply_pod(Pod::new("test", "test", &[]), 0.0);
    assert_eq!(before.profile, None);
    c.create_profile(&req("test", vec![sel("test", &[])]), &roles(), 1.0)
        .unwrap();
    let creating = c.apply_pod(Pod::new("test", "early", &[]), 1.01);
    assert_eq!(creating.profile, None, "a CREATING profile places nothing");
    c.refresh(2.0);
    let still = c.apply_pod(Pod::new("test", "test", &[]), 2.0);
    assert_eq!(
        still.profile, None,
        "an existing pod is not moved by a new profile"
    );
    assert!(c.delete_pod("test", "test"));
    let again = c.apply_pod(Pod::new("test", "test", &[]), 3.0);
    assert_eq!(again.profile.as_deref(), Some("test"));
    assert!(again.node.as_deref().is_some_and(
        |n| n.starts_with("fargate-ip-") && n.ends_with(".eu-west-1.compute.internal")
    ));
    assert!(again.events.iter().any(|e| e.reason == "Scheduled"));
}

#[test]
fn deleting_a_profile_deletes_its_pods_and_replaces_controller_owned_ones() {
    let mut c = cluster();
    let now = with_profiles(
        &mut c,
        &[
            req("a-first", vec![sel("apps", &[])]),
            req("b-second", vec![sel("apps", &[])]),
        ],
    );
    c.apply_pod(Pod::new("apps", "bare", &[]), now);
    let mut owned = Pod::new("apps", "web-xyz", &[]);
    owned.owner_kind = Some("Deployment".into());
    assert_eq!(c.apply_pod(owned, now).profile.as_deref(), Some("a-first"));
    let (_, replaced) = c.delete_profile("a-first", now).unwrap();
    assert!(
        c.pod("apps", "bare").is_none(),
        "a bare pod is gone for good"
    );
    assert_eq!(replaced.len(), 1);
    assert_eq!(
        replaced[0].profile.as_deref(),
        Some("b-second"),
        "the replacement is placed anew without the deleted profile"
    );
}

fn pod_with(f: impl FnOnce(&mut Pod)) -> Pod {
    let mut p = Pod::new("test", "p", &[]);
    p.spec.containers.push(Container {
        name: "c".into(),
        image: "nginx".into(),
        ..Container::default()
    });
    f(&mut p);
    p
}

fn requests(pairs: &[(&str, &str)]) -> Option<Resources> {
    let r = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Quantity((*v).to_owned())))
        .collect();
    Some(Resources {
        requests: Some(r),
        limits: None,
    })
}

#[test]
fn pods_fargate_cannot_run_stay_pending_with_eks_messages() {
    let mut c = cluster();
    let now = with_profiles(&mut c, &[req("test", vec![sel("test", &[])])]);
    let privileged = Some(SecurityContext {
        privileged: Some(true),
    });
    let host_port = Port {
        host_port: Some(80),
        host_ip: None,
    };
    let cases: Vec<(Pod, &str)> = vec![
        (
            pod_with(|p| p.spec.containers[0].security_context = privileged.clone()),
            "Pod not supported on Fargate: invalid SecurityContext fields: Privileged",
        ),
        (
            pod_with(|p| p.spec.host_network = true),
            "Pod not supported on Fargate: fields not supported: HostNetwork",
        ),
        (
            pod_with(|p| p.spec.containers[0].ports.push(host_port.clone())),
            "Pod not supported on Fargate: port contains HostIP or HostPort",
        ),
        (
            pod_with(|p| {
                p.spec.host_network = true;
                p.spec.containers[0].security_context = privileged.clone();
                p.spec.containers[0].ports.push(host_port.clone());
            }),
            "Pod not supported on Fargate: fields not supported: HostNetwork, invalid SecurityContext fields: Privileged, port contains HostIP or HostPort",
        ),
        (
            pod_with(|p| {
                p.spec.volumes.push(Volume {
                    name: "logs".into(),
                    host_path: Some(serde_yaml_ng::Value::Null),
                })
            }),
            "Pod not supported on Fargate: volumes not supported: logs is of an unsupported volume Type",
        ),
        (
            pod_with(|p| p.owner_kind = Some("DaemonSet".into())),
            "Pod not supported on Fargate: DaemonSet pods are not supported",
        ),
        (
            pod_with(|p| p.spec.containers[0].resources = requests(&[("cpu", "32")])),
            "POD_CPU_MEM_EXCEEDS_MAX_FARGATE_SIZE: Your pod's cpu/memory requirements exceed the max Fargate configuration",
        ),
    ];
    for (i, (mut pod, want)) in cases.into_iter().enumerate() {
        pod.name = format!("p{i}");
        let placed = c.apply_pod(pod, now);
        assert!(placed.pending, "{want}");
        assert_eq!(placed.profile.as_deref(), Some("test"));
        assert_eq!(placed.reason, want);
        assert!(
            placed
                .events
                .iter()
                .any(|e| e.reason == "FailedScheduling" && e.message == want)
        );
        assert_eq!(placed.node, None);
    }
}

#[test]
fn sizing_uses_the_largest_init_container_or_the_sum_of_app_containers() {
    let mut c = cluster();
    let now = with_profiles(&mut c, &[req("test", vec![sel("test", &[])])]);
    let pod = pod_with(|p| {
        p.spec.containers[0].resources = requests(&[("cpu", "500m"), ("memory", "1Gi")]);
        p.spec.containers.push(Container {
            name: "side".into(),
            resources: requests(&[("cpu", "500m"), ("memory", "7Gi")]),
            ..Container::default()
        });
        p.spec.init_containers.push(Container {
            name: "init".into(),
            resources: requests(&[("cpu", "2"), ("memory", "1Gi")]),
            ..Container::default()
        });
    });
    // cpu max(1, 2) = 2; memory max(8Gi, 1Gi) + 256Mi = 8.25 → 2 vCPU / 9 GB.
    let placed = c.apply_pod(pod, now);
    assert_eq!(placed.capacity_provisioned.as_deref(), Some("2vCPU 9GB"));
    assert_eq!(
        placed
            .pod
            .annotations
            .get("CapacityProvisioned")
            .map(String::as_str),
        Some("2vCPU 9GB")
    );
    let none = c.apply_pod(Pod::new("test", "tiny", &[]), now);
    assert_eq!(none.capacity_provisioned.as_deref(), Some("0.25vCPU 0.5GB"));
}

#[test]
fn a_pod_asking_for_the_fargate_scheduler_without_a_profile_stays_pending() {
    let mut c = cluster();
    let pod = pod_with(|p| p.spec.scheduler_name = Some("fargate-scheduler".into()));
    let placed = c.apply_pod(pod, 0.0);
    assert!(placed.pending);
    assert_eq!(placed.profile, None);
}

fn nodes_of(c: &mut Cluster, n: usize, now: f64) -> Vec<Option<String>> {
    (0..n)
        .map(|i| {
            let pod = pod_with(|p| p.name = format!("p{i}"));
            c.apply_pod(pod, now).node
        })
        .collect()
}

#[test]
fn node_names_stay_unique_past_32768_pods_across_subnets() {
    let private = |i: usize| Subnet {
        id: format!("subnet-{i}"),
        az: "eu-west-1a".into(),
        private: true,
        cidr: None,
    };
    let mut c = Cluster::new(
        "demo",
        "eu-west-1",
        "111122223333",
        (0..5).map(private).collect(),
        Box::new(SeqIds::new(7)),
    );
    let now = with_profiles(&mut c, &[req("test", vec![sel("test", &[])])]);
    let nodes = nodes_of(&mut c, 40_000, now);
    let mut seen = std::collections::HashSet::new();
    for n in &nodes {
        let n = n.as_deref().expect("every pod gets a node");
        assert!(seen.insert(n.to_owned()), "{n} given twice");
    }
}

#[test]
fn a_full_subnet_leaves_the_next_pod_pending_until_one_is_deleted() {
    let mut c = Cluster::new(
        "demo",
        "eu-west-1",
        "111122223333",
        vec![Subnet {
            id: "subnet-small".into(),
            az: "eu-west-1a".into(),
            private: true,
            cidr: Some(scheduler::addresses::Cidr::parse("10.0.0.0/28").unwrap()),
        }],
        Box::new(SeqIds::new(7)),
    );
    let now = with_profiles(&mut c, &[req("test", vec![sel("test", &[])])]);
    let nodes = nodes_of(&mut c, 11, now);
    assert!(nodes.iter().all(Option::is_some));
    let extra = c.apply_pod(pod_with(|p| p.name = "extra".into()), now);
    assert!(extra.pending && extra.reason.starts_with("no free IP address"));
    assert!(c.delete_pod("test", "p3"));
    assert!(c.delete_pod("test", "extra"));
    let again = c.apply_pod(pod_with(|p| p.name = "extra".into()), now);
    assert_eq!(
        again.node.as_deref(),
        Some("fargate-ip-10-0-0-7.eu-west-1.compute.internal")
    );
}
