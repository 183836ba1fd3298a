//! The objects that come with pods: Fargate nodes (one per running Fargate pod), events (what
//! `kubectl describe` and `kubectl get events` show), and service accounts (`default` in every
//! namespace).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::pods::PodRef;
use super::{Change, ChangeKind, Kube, Object, time};

/// The most events kept (the API server keeps them an hour; this bound keeps memory flat).
pub const MAX_EVENTS: usize = 5_000;

/// The label every Fargate node carries.
pub const COMPUTE_TYPE_LABEL: &str = "eks.amazonaws.com/compute-type";

/// The kubelet version Fargate nodes report.
pub const KUBELET_VERSION: &str = "v1.32.0-eks-fargate-sim";

impl Kube {
    /// Every node, by name.
    pub fn nodes(&self) -> impl Iterator<Item = &core::Node> {
        self.nodes.values()
    }

    /// A node.
    ///
    /// # Errors
    /// `NotFound`.
    pub fn node(&self, name: &str) -> Result<&core::Node, super::KubeError> {
        self.nodes
            .get(name)
            .ok_or_else(|| super::KubeError::NotFound {
                resource: "nodes",
                name: name.to_owned(),
            })
    }

    pub(crate) fn add_node(&mut self, name: &str, ip: &str, profile: &str, now: f64) {
        let version = self.next_version();
        let mut labels = BTreeMap::new();
        for (k, v) in [
            ("beta.kubernetes.io/arch", "amd64"),
            ("beta.kubernetes.io/os", "linux"),
            (COMPUTE_TYPE_LABEL, "fargate"),
            ("eks.amazonaws.com/fargate-profile", profile),
            (
                "failure-domain.beta.kubernetes.io/region",
                self.region.as_str(),
            ),
            ("kubernetes.io/arch", "amd64"),
            ("kubernetes.io/hostname", name),
            ("kubernetes.io/os", "linux"),
            ("topology.kubernetes.io/region", self.region.as_str()),
        ] {
            labels.insert(k.to_owned(), v.to_owned());
        }
        let condition =
            |type_: &str, status: &str, reason: &str, message: &str| core::NodeCondition {
                type_: type_.to_owned(),
                status: status.to_owned(),
                reason: Some(reason.to_owned()),
                message: Some(message.to_owned()),
                last_heartbeat_time: Some(time(now)),
                last_transition_time: Some(time(now)),
            };
        let quantities = |cpu: &str, mem: &str| {
            BTreeMap::from([
                ("cpu".to_owned(), Quantity(cpu.to_owned())),
                ("memory".to_owned(), Quantity(mem.to_owned())),
                ("pods".to_owned(), Quantity("1".to_owned())),
            ])
        };
        let node = core::Node {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                uid: Some(self.ids.uuid()),
                resource_version: Some(version.to_string()),
                creation_timestamp: Some(time(now)),
                labels: Some(labels),
                ..Default::default()
            },
            spec: Some(core::NodeSpec {
                provider_id: Some(format!("aws:///{}/fargate-{name}", self.region)),
                taints: Some(vec![core::Taint {
                    key: COMPUTE_TYPE_LABEL.to_owned(),
                    value: Some("fargate".to_owned()),
                    effect: "NoSchedule".to_owned(),
                    time_added: None,
                }]),
                ..Default::default()
            }),
            status: Some(core::NodeStatus {
                addresses: Some(vec![
                    core::NodeAddress {
                        type_: "InternalIP".to_owned(),
                        address: ip.to_owned(),
                    },
                    core::NodeAddress {
                        type_: "Hostname".to_owned(),
                        address: name.to_owned(),
                    },
                ]),
                capacity: Some(quantities("2", "3977916Ki")),
                allocatable: Some(quantities("2", "3875516Ki")),
                conditions: Some(vec![
                    condition(
                        "MemoryPressure",
                        "False",
                        "KubeletHasSufficientMemory",
                        "kubelet has sufficient memory available",
                    ),
                    condition(
                        "DiskPressure",
                        "False",
                        "KubeletHasNoDiskPressure",
                        "kubelet has no disk pressure",
                    ),
                    condition(
                        "PIDPressure",
                        "False",
                        "KubeletHasSufficientPID",
                        "kubelet has sufficient PID available",
                    ),
                    condition(
                        "Ready",
                        "True",
                        "KubeletReady",
                        "kubelet is posting ready status",
                    ),
                ]),
                node_info: Some(core::NodeSystemInfo {
                    architecture: "amd64".into(),
                    boot_id: String::new(),
                    container_runtime_version: "containerd://1.7.27".into(),
                    kernel_version: "5.10.236-228.935.amzn2.x86_64".into(),
                    kube_proxy_version: KUBELET_VERSION.into(),
                    kubelet_version: KUBELET_VERSION.into(),
                    machine_id: String::new(),
                    operating_system: "linux".into(),
                    os_image: "Amazon Linux 2".into(),
                    system_uuid: String::new(),
                }),
                ..Default::default()
            }),
        };
        self.nodes.insert(name.to_owned(), node.clone());
        self.record(Change {
            version,
            kind: ChangeKind::Added,
            object: Object::Node(Box::new(node)),
        });
    }

    pub(crate) fn remove_node(&mut self, name: &str) {
        if let Some(mut node) = self.nodes.remove(name) {
            let version = self.next_version();
            node.metadata.resource_version = Some(version.to_string());
            self.record(Change {
                version,
                kind: ChangeKind::Deleted,
                object: Object::Node(Box::new(node)),
            });
        }
    }

    /// Every event of a namespace (every namespace for `None`), oldest first.
    pub fn events<'a>(
        &'a self,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = &'a core::Event> {
        self.events
            .iter()
            .filter(move |e| namespace.is_none_or(|ns| e.metadata.namespace.as_deref() == Some(ns)))
    }

    /// Records an event about a pod.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn pod_event(
        &mut self,
        pod: &PodRef,
        kind: &str,
        reason: &str,
        message: &str,
        from: &str,
        field_path: Option<&str>,
        now: f64,
    ) {
        let version = self.next_version();
        let host = self
            .pods
            .get(&(pod.namespace.clone(), pod.name.clone()))
            .and_then(|e| e.object.spec.as_ref()?.node_name.clone());
        let suffix = self.ids.uuid().replace('-', "");
        let event = core::Event {
            metadata: ObjectMeta {
                name: Some(format!("{}.{}", pod.name, &suffix[..16])),
                namespace: Some(pod.namespace.clone()),
                uid: Some(self.ids.uuid()),
                resource_version: Some(version.to_string()),
                creation_timestamp: Some(time(now)),
                ..Default::default()
            },
            involved_object: core::ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                namespace: Some(pod.namespace.clone()),
                name: Some(pod.name.clone()),
                uid: Some(pod.uid.clone()),
                field_path: field_path.map(str::to_owned),
                ..Default::default()
            },
            reason: Some(reason.to_owned()),
            message: Some(message.to_owned()),
            source: Some(core::EventSource {
                component: Some(from.to_owned()),
                host: host.filter(|_| from == "kubelet"),
            }),
            type_: Some(kind.to_owned()),
            first_timestamp: Some(time(now)),
            last_timestamp: Some(time(now)),
            count: Some(1),
            reporting_component: Some(from.to_owned()),
            reporting_instance: Some(String::new()),
            ..Default::default()
        };
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(event.clone());
        self.record(Change {
            version,
            kind: ChangeKind::Added,
            object: Object::Event(Box::new(event)),
        });
    }

    /// The service accounts of a namespace (every namespace for `None`).
    pub fn service_accounts<'a>(
        &'a self,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = &'a core::ServiceAccount> {
        self.accounts
            .iter()
            .filter(move |((ns, _), _)| namespace.is_none_or(|n| n == ns))
            .map(|(_, a)| a)
    }

    /// A service account.
    ///
    /// # Errors
    /// `NotFound`.
    pub fn service_account(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<&core::ServiceAccount, super::KubeError> {
        self.accounts
            .get(&(namespace.to_owned(), name.to_owned()))
            .ok_or_else(|| super::KubeError::NotFound {
                resource: "serviceaccounts",
                name: name.to_owned(),
            })
    }

    pub(crate) fn add_default_account(&mut self, namespace: &str, now: f64) {
        let version = self.next_version();
        let account = core::ServiceAccount {
            metadata: ObjectMeta {
                name: Some("default".into()),
                namespace: Some(namespace.to_owned()),
                uid: Some(self.ids.uuid()),
                resource_version: Some(version.to_string()),
                creation_timestamp: Some(time(now)),
                ..Default::default()
            },
            ..Default::default()
        };
        self.accounts
            .insert((namespace.to_owned(), "default".into()), account.clone());
        self.record(Change {
            version,
            kind: ChangeKind::Added,
            object: Object::ServiceAccount(Box::new(account)),
        });
    }
}
