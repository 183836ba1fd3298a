//! Any text as an eksctl ClusterConfig and as Kubernetes manifests, then admitted into a
//! cluster: no panic, and every pod placed on Fargate has a node of its own (a pod applied
//! twice keeps its placement, and so its node).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scheduler::eksctl::{envsubst, parse_config};
use scheduler::{Cluster, SeqIds, parse_manifests};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (config_text, pods_text) = text.split_once("\n---pods---\n").unwrap_or((text, text));
    let expanded = envsubst(config_text, &|k| (k.len() < 8).then(|| k.to_ascii_lowercase()));
    let mut cluster = Cluster::new("c", "eu-west-1", "111122223333", Vec::new(), Box::new(SeqIds::new(1)));
    if let Ok(Ok(config)) = expanded.map(|t| parse_config(&t)) {
        cluster = Cluster::new(
            &config.name,
            &config.region,
            "111122223333",
            config.subnets.clone(),
            Box::new(SeqIds::new(1)),
        );
        for p in &config.profiles {
            let _ = cluster.adopt_profile(p, 0.0);
        }
    }
    if let Ok(m) = parse_manifests(pods_text) {
        let mut nodes = std::collections::HashMap::new();
        for pod in m.pods {
            let placed = cluster.apply_pod(pod, 1.0);
            if placed.on_fargate()
                && let Some(n) = placed.node
            {
                let pod = (placed.namespace.clone(), placed.name.clone());
                let owner = nodes.entry(n).or_insert_with(|| pod.clone());
                assert_eq!(*owner, pod, "one node for two pods");
            }
        }
    }
});
