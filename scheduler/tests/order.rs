//! Property: placement does not depend on the order profiles were created in.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;

use proptest::prelude::*;
use scheduler::{Cluster, CreateProfile, InMemoryRoles, Pod, Selector, SeqIds};

const ROLE: &str = "arn:aws:iam::111122223333:role/pod-exec";
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks-fargate-pods.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

fn selector() -> impl Strategy<Value = Selector> {
    ("[ab*?]{1,3}", prop::option::of(("[xy]", "[12*]"))).prop_map(|(ns, label)| Selector {
        namespace: Some(ns),
        labels: label.into_iter().collect(),
    })
}

fn placed(order: &[usize], sels: &[Vec<Selector>], pod: &Pod) -> Option<String> {
    let roles = InMemoryRoles(HashMap::from([(ROLE.to_owned(), TRUST.to_owned())]));
    let mut c = Cluster::new(
        "demo",
        "eu-west-1",
        "111122223333",
        vec![],
        Box::new(SeqIds::new(1)),
    );
    let mut now = 0.0;
    for &i in order {
        let req = CreateProfile {
            fargate_profile_name: format!("p{i}"),
            pod_execution_role_arn: ROLE.into(),
            selectors: sels[i].clone(),
            ..CreateProfile::default()
        };
        c.create_profile(&req, &roles, now).unwrap();
        now += 1.0;
    }
    c.apply_pod(pod.clone(), now + 1.0).profile
}

proptest! {
    #[test]
    fn placement_ignores_profile_order(
        sels in prop::collection::vec(prop::collection::vec(selector(), 1..3), 1..6),
        ns in "[ab]{1,3}",
        label in prop::option::of(("[xy]", "[12]")),
        pin in prop::option::of(0..6usize),
        seed in any::<u64>(),
    ) {
        let mut pod = Pod::new(&ns, "pod", &[]);
        if let Some((k, v)) = label {
            pod.labels.insert(k, v);
        }
        if let Some(p) = pin {
            pod.labels.insert("eks.amazonaws.com/fargate-profile".into(), format!("p{p}"));
        }
        let forward: Vec<usize> = (0..sels.len()).collect();
        let mut shuffled = forward.clone();
        let mut s = seed;
        for i in (1..shuffled.len()).rev() {
            s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            shuffled.swap(i, (s >> 33) as usize % (i + 1));
        }
        prop_assert_eq!(placed(&forward, &sels, &pod), placed(&shuffled, &sels, &pod));
    }
}

proptest! {
    /// The cached decision agrees with a plain scan of the profiles in name order.
    #[test]
    fn cached_choice_agrees_with_a_plain_scan(
        sels in prop::collection::vec(prop::collection::vec(selector(), 1..3), 1..6),
        pods in prop::collection::vec(("[ab]{1,3}", prop::option::of(("[xy]", "[12]")), prop::option::of(0..7usize)), 1..20),
    ) {
        use scheduler::cluster::CompiledProfile;
        use scheduler::placement::{Choice, Placer};
        let profiles: Vec<CompiledProfile> = sels.iter().enumerate().map(|(i, s)| CompiledProfile::new(&format!("p{i}"), s)).collect();
        let mut placer = Placer::new(profiles.iter());
        for (ns, label, pin) in pods {
            let mut pod = Pod::new(&ns, "pod", &[]);
            if let Some((k, v)) = label {
                pod.labels.insert(k, v);
            }
            if let Some(p) = pin {
                pod.labels.insert("eks.amazonaws.com/fargate-profile".into(), format!("p{p}"));
            }
            let pinned = pod.labels.get("eks.amazonaws.com/fargate-profile").cloned();
            let naive = profiles
                .iter()
                .enumerate()
                .filter(|(_, p)| pinned.as_ref().is_none_or(|pin| *pin == p.name))
                .find_map(|(i, p)| p.matches(&pod.namespace, &pod.labels).map(|s| (i, s)));
            let got = match placer.choose(&pod) {
                Choice::Profile { profile, selector } => Some((profile, selector)),
                _ => None,
            };
            prop_assert_eq!(got, naive);
        }
    }
}
