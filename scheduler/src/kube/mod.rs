//! The Kubernetes side of a cluster, as its API server holds it: namespaces, pods placed by
//! the Fargate scheduler at admission ([`pods`]), Fargate nodes, events and service accounts
//! ([`objects`]), and the change log that watches read — with the API server's rules and
//! words. Sans-IO like the rest of the crate: `now` (seconds since the epoch) is passed in,
//! uids come from [`Ids`], and what must happen outside (a container's process started or
//! stopped) is queued as [`pods::Effect`]s for the serving side.

use std::collections::{BTreeMap, VecDeque};

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::cluster::{Cluster, Ids};

pub mod objects;
pub mod pods;

pub use pods::{Effect, Exit, Launch, PodRef};

/// How many changes the watch log keeps; a watch from an older version is told it expired.
pub const MAX_CHANGES: usize = 20_000;

/// An API timestamp from seconds since the epoch.
pub fn time(secs: f64) -> Time {
    let s = secs.max(0.0);
    Time(k8s_openapi::chrono::DateTime::from_timestamp(s as i64, 0).unwrap_or_default())
}

/// What happened to an object, as a watch reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// Created.
    Added,
    /// Changed.
    Modified,
    /// Gone.
    Deleted,
}

impl ChangeKind {
    /// `ADDED`, `MODIFIED`, `DELETED`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "ADDED",
            ChangeKind::Modified => "MODIFIED",
            ChangeKind::Deleted => "DELETED",
        }
    }
}

/// An object as it was at a change.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    /// A namespace.
    Namespace(Namespace),
    /// A pod.
    Pod(Box<core::Pod>),
    /// A node.
    Node(Box<core::Node>),
    /// An event.
    Event(Box<core::Event>),
    /// A service account.
    ServiceAccount(Box<core::ServiceAccount>),
}

impl Object {
    /// The resource (`pods`, `namespaces`, …).
    pub fn resource(&self) -> &'static str {
        match self {
            Object::Namespace(_) => "namespaces",
            Object::Pod(_) => "pods",
            Object::Node(_) => "nodes",
            Object::Event(_) => "events",
            Object::ServiceAccount(_) => "serviceaccounts",
        }
    }

    /// The namespace of a namespaced object.
    pub fn namespace(&self) -> Option<&str> {
        match self {
            Object::Namespace(_) | Object::Node(_) => None,
            Object::Pod(p) => p.metadata.namespace.as_deref(),
            Object::Event(e) => e.metadata.namespace.as_deref(),
            Object::ServiceAccount(a) => a.metadata.namespace.as_deref(),
        }
    }
}

/// One change, in resource-version order.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The resource version it made.
    pub version: u64,
    /// What happened.
    pub kind: ChangeKind,
    /// The object after it (before it, for a deletion).
    pub object: Object,
}

/// The namespaces every cluster starts with.
pub const SYSTEM_NAMESPACES: [&str; 4] =
    ["default", "kube-node-lease", "kube-public", "kube-system"];

/// The label the API server puts on every namespace.
pub const NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// A namespace's phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamespacePhase {
    /// In use.
    Active,
    /// Being deleted: its contents go first.
    Terminating,
}

impl NamespacePhase {
    /// `Active`, `Terminating`.
    pub fn as_str(self) -> &'static str {
        match self {
            NamespacePhase::Active => "Active",
            NamespacePhase::Terminating => "Terminating",
        }
    }
}

/// A namespace as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Namespace {
    /// Its name.
    pub name: String,
    /// Its uid.
    pub uid: String,
    /// The resource version of its last change.
    pub resource_version: u64,
    /// Creation time, seconds since the epoch.
    pub created: f64,
    /// Labels (the name label included).
    pub labels: BTreeMap<String, String>,
    /// Annotations (`kubectl apply` keeps its last-applied configuration here).
    pub annotations: BTreeMap<String, String>,
    /// Its phase.
    pub phase: NamespacePhase,
}

/// Why the API server refused a request, as its `Status` reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubeError {
    /// 409 `AlreadyExists`.
    AlreadyExists {
        /// The resource (`namespaces`).
        resource: &'static str,
        /// The object's name.
        name: String,
    },
    /// 404 `NotFound`.
    NotFound {
        /// The resource.
        resource: &'static str,
        /// The object's name.
        name: String,
    },
    /// 403 `Forbidden`: `{resource} "{name}" is forbidden: {why}`.
    Forbidden {
        /// The resource.
        resource: &'static str,
        /// The object's name.
        name: String,
        /// Why.
        why: String,
    },
    /// 400 `BadRequest`, with the message.
    BadRequest(String),
    /// 410 `Expired`: a watch from a version the log no longer holds.
    Expired(String),
    /// 422 `Invalid`, with the field causes.
    Invalid {
        /// The kind (`Namespace`).
        kind: &'static str,
        /// The object's name as given.
        name: String,
        /// `(field, message)` for each problem.
        causes: Vec<(String, String)>,
    },
}

impl KubeError {
    /// The API server's message.
    pub fn message(&self) -> String {
        match self {
            KubeError::AlreadyExists { resource, name } => {
                format!("{resource} \"{name}\" already exists")
            }
            KubeError::NotFound { resource, name } => format!("{resource} \"{name}\" not found"),
            KubeError::Forbidden {
                resource,
                name,
                why,
            } => format!("{resource} \"{name}\" is forbidden: {why}"),
            KubeError::BadRequest(m) | KubeError::Expired(m) => m.clone(),
            KubeError::Invalid { kind, name, causes } => {
                let details: Vec<String> = causes
                    .iter()
                    .map(|(field, message)| format!("{field}: {message}"))
                    .collect();
                let details = if details.len() == 1 {
                    details.join("")
                } else {
                    format!("[{}]", details.join(", "))
                };
                format!("{kind} \"{name}\" is invalid: {details}")
            }
        }
    }
}

/// The Kubernetes objects of one cluster.
pub struct Kube {
    namespaces: BTreeMap<String, Namespace>,
    pods: BTreeMap<(String, String), pods::PodEntry>,
    nodes: BTreeMap<String, core::Node>,
    accounts: BTreeMap<(String, String), core::ServiceAccount>,
    events: VecDeque<core::Event>,
    changes: VecDeque<Change>,
    effects: Vec<Effect>,
    resource_version: u64,
    log_version: u64,
    region: String,
    ids: Box<dyn Ids>,
}

impl std::fmt::Debug for Kube {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kube")
            .field("namespaces", &self.namespaces.keys())
            .field("resource_version", &self.resource_version)
            .finish_non_exhaustive()
    }
}

impl Kube {
    /// A new cluster's objects: the system namespaces, created at `now`.
    pub fn new(ids: Box<dyn Ids>, region: &str, now: f64) -> Self {
        let mut kube = Self {
            namespaces: BTreeMap::new(),
            pods: BTreeMap::new(),
            nodes: BTreeMap::new(),
            accounts: BTreeMap::new(),
            events: VecDeque::new(),
            changes: VecDeque::new(),
            effects: Vec::new(),
            resource_version: 0,
            log_version: 0,
            region: region.to_owned(),
            ids,
        };
        for name in SYSTEM_NAMESPACES {
            let _ = kube.create_namespace(name, BTreeMap::new(), now);
        }
        kube
    }

    /// The resource version of the latest change.
    pub fn resource_version(&self) -> u64 {
        self.resource_version
    }

    /// A counter that grows whenever a container's log grows (log followers wait on it).
    pub fn log_version(&self) -> u64 {
        self.log_version
    }

    fn next_version(&mut self) -> u64 {
        self.resource_version += 1;
        self.resource_version
    }

    fn record(&mut self, change: Change) {
        if self.changes.len() >= MAX_CHANGES {
            self.changes.pop_front();
        }
        self.changes.push_back(change);
    }

    /// The changes after resource version `since`, oldest first.
    ///
    /// # Errors
    /// `Expired` when the log no longer reaches back to `since`.
    pub fn changes_since(&self, since: u64) -> Result<impl Iterator<Item = &Change>, KubeError> {
        let oldest = self
            .changes
            .front()
            .map_or(self.resource_version + 1, |c| c.version);
        if since + 1 < oldest && since < self.resource_version {
            return Err(KubeError::Expired(format!(
                "too old resource version: {since} ({})",
                oldest.saturating_sub(1)
            )));
        }
        let start = self.changes.partition_point(|c| c.version <= since);
        Ok(self.changes.range(start..))
    }

    /// Creates a namespace.
    ///
    /// # Errors
    /// `Invalid` for a name that is not an RFC 1123 label, `AlreadyExists`.
    pub fn create_namespace(
        &mut self,
        name: &str,
        labels: BTreeMap<String, String>,
        now: f64,
    ) -> Result<Namespace, KubeError> {
        self.create_namespace_with(name, labels, BTreeMap::new(), now)
    }

    /// [`Kube::create_namespace`] with annotations.
    ///
    /// # Errors
    /// `Invalid` for a name that is not an RFC 1123 label, `AlreadyExists`.
    pub fn create_namespace_with(
        &mut self,
        name: &str,
        mut labels: BTreeMap<String, String>,
        annotations: BTreeMap<String, String>,
        now: f64,
    ) -> Result<Namespace, KubeError> {
        if let Some(problem) = rfc1123_label_problem(name) {
            return Err(KubeError::Invalid {
                kind: "Namespace",
                name: name.to_owned(),
                causes: vec![(
                    "metadata.name".to_owned(),
                    format!("Invalid value: \"{name}\": {problem}"),
                )],
            });
        }
        if self.namespaces.contains_key(name) {
            return Err(KubeError::AlreadyExists {
                resource: "namespaces",
                name: name.to_owned(),
            });
        }
        labels.insert(NAME_LABEL.to_owned(), name.to_owned());
        let ns = Namespace {
            name: name.to_owned(),
            uid: self.ids.uuid(),
            resource_version: self.next_version(),
            created: now,
            labels,
            annotations,
            phase: NamespacePhase::Active,
        };
        self.namespaces.insert(name.to_owned(), ns.clone());
        self.record(Change {
            version: ns.resource_version,
            kind: ChangeKind::Added,
            object: Object::Namespace(ns.clone()),
        });
        self.add_default_account(name, now);
        Ok(ns)
    }

    /// Replaces a namespace's labels and annotations (a patch or a `PUT`); the name label
    /// stays what the API server sets it to.
    ///
    /// # Errors
    /// `NotFound`.
    pub fn update_namespace_metadata(
        &mut self,
        name: &str,
        mut labels: BTreeMap<String, String>,
        annotations: BTreeMap<String, String>,
    ) -> Result<Namespace, KubeError> {
        labels.insert(NAME_LABEL.to_owned(), name.to_owned());
        let current = self.namespace(name)?;
        if current.labels == labels && current.annotations == annotations {
            return Ok(current.clone());
        }
        let version = self.next_version();
        let Some(ns) = self.namespaces.get_mut(name) else {
            return Err(KubeError::NotFound {
                resource: "namespaces",
                name: name.to_owned(),
            });
        };
        ns.labels = labels;
        ns.annotations = annotations;
        ns.resource_version = version;
        let snapshot = ns.clone();
        self.record(Change {
            version,
            kind: ChangeKind::Modified,
            object: Object::Namespace(snapshot.clone()),
        });
        Ok(snapshot)
    }

    /// A namespace.
    ///
    /// # Errors
    /// `NotFound`.
    pub fn namespace(&self, name: &str) -> Result<&Namespace, KubeError> {
        self.namespaces
            .get(name)
            .ok_or_else(|| KubeError::NotFound {
                resource: "namespaces",
                name: name.to_owned(),
            })
    }

    /// Every namespace, in name order.
    pub fn namespaces(&self) -> impl Iterator<Item = &Namespace> {
        self.namespaces.values()
    }

    /// Deletes a namespace: it turns `Terminating`, its pods, events and service accounts are
    /// deleted, and it goes when its last pod has (at once when no process is running).
    ///
    /// # Errors
    /// `NotFound`; `Forbidden` for `default`, `kube-system` and `kube-public`.
    pub fn delete_namespace(
        &mut self,
        fargate: &mut Cluster,
        name: &str,
        now: f64,
    ) -> Result<Namespace, KubeError> {
        self.namespace(name)?;
        if ["default", "kube-system", "kube-public"].contains(&name) {
            return Err(KubeError::Forbidden {
                resource: "namespaces",
                name: name.to_owned(),
                why: "this namespace may not be deleted".to_owned(),
            });
        }
        let version = self.next_version();
        let snapshot = match self.namespaces.get_mut(name) {
            Some(ns) => {
                ns.phase = NamespacePhase::Terminating;
                ns.resource_version = version;
                ns.clone()
            }
            None => {
                return Err(KubeError::NotFound {
                    resource: "namespaces",
                    name: name.to_owned(),
                });
            }
        };
        self.record(Change {
            version,
            kind: ChangeKind::Modified,
            object: Object::Namespace(snapshot.clone()),
        });
        let pods: Vec<String> = self
            .pods
            .keys()
            .filter(|(ns, _)| ns == name)
            .map(|(_, p)| p.clone())
            .collect();
        for pod in pods {
            let _ = self.delete_pod(fargate, name, &pod, now);
        }
        self.events
            .retain(|e| e.metadata.namespace.as_deref() != Some(name));
        let accounts: Vec<(String, String)> = self
            .accounts
            .keys()
            .filter(|(ns, _)| ns == name)
            .cloned()
            .collect();
        for key in accounts {
            if let Some(mut a) = self.accounts.remove(&key) {
                let version = self.next_version();
                a.metadata.resource_version = Some(version.to_string());
                self.record(Change {
                    version,
                    kind: ChangeKind::Deleted,
                    object: Object::ServiceAccount(Box::new(a)),
                });
            }
        }
        self.namespace_emptied(name);
        Ok(snapshot)
    }

    /// A terminating namespace with no pods left goes.
    fn namespace_emptied(&mut self, name: &str) {
        let terminating = self
            .namespaces
            .get(name)
            .is_some_and(|ns| ns.phase == NamespacePhase::Terminating);
        let empty = self
            .pods
            .range((name.to_owned(), String::new())..)
            .next()
            .is_none_or(|((ns, _), _)| ns != name);
        if terminating
            && empty
            && let Some(mut ns) = self.namespaces.remove(name)
        {
            ns.resource_version = self.next_version();
            self.record(Change {
                version: ns.resource_version,
                kind: ChangeKind::Deleted,
                object: Object::Namespace(ns),
            });
        }
    }
}

/// Why `name` is not an RFC 1123 subdomain (pod names), in the API server's words.
pub fn rfc1123_subdomain_problem(name: &str) -> Option<String> {
    const SHAPE: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    if name.len() > 253 {
        return Some("must be no more than 253 characters".to_owned());
    }
    let ok = name.split('.').all(|part| {
        let b = part.as_bytes();
        let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        !b.is_empty()
            && b.first().is_some_and(alnum)
            && b.last().is_some_and(alnum)
            && b.iter().all(|c| alnum(c) || *c == b'-')
    });
    (!ok).then(|| SHAPE.to_owned())
}

/// Why `name` is not an RFC 1123 label, in the API server's words; `None` when it is one.
pub fn rfc1123_label_problem(name: &str) -> Option<String> {
    const SHAPE: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    let b = name.as_bytes();
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if b.len() > 63 {
        return Some("must be no more than 63 characters".to_owned());
    }
    let ok = !b.is_empty()
        && b.first().is_some_and(alnum)
        && b.last().is_some_and(alnum)
        && b.iter().all(|c| alnum(c) || *c == b'-');
    (!ok).then(|| SHAPE.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::SeqIds;

    fn kube() -> Kube {
        Kube::new(Box::new(SeqIds::new(1)), "eu-west-1", 0.0)
    }

    #[test]
    fn a_namespace_update_keeps_the_name_label_and_records_a_change() {
        let mut k = kube();
        k.create_namespace("test", BTreeMap::new(), 1.0).unwrap();
        let before = k.resource_version();
        let labels = BTreeMap::from([("team".to_owned(), "a".to_owned())]);
        let ns = k
            .update_namespace_metadata("test", labels.clone(), BTreeMap::new())
            .unwrap();
        assert_eq!(ns.labels.get(NAME_LABEL).map(String::as_str), Some("test"));
        assert_eq!(ns.labels.get("team").map(String::as_str), Some("a"));
        let kinds: Vec<ChangeKind> = k.changes_since(before).unwrap().map(|c| c.kind).collect();
        assert_eq!(kinds, [ChangeKind::Modified]);
        // The same metadata again changes nothing.
        let again = k.resource_version();
        k.update_namespace_metadata("test", labels, BTreeMap::new())
            .unwrap();
        assert_eq!(k.resource_version(), again);
    }

    #[test]
    fn updating_a_namespace_that_does_not_exist_is_not_found() {
        let mut k = kube();
        assert_eq!(
            k.update_namespace_metadata("nope", BTreeMap::new(), BTreeMap::new()),
            Err(KubeError::NotFound {
                resource: "namespaces",
                name: "nope".into()
            })
        );
    }

    #[test]
    fn a_cluster_starts_with_the_system_namespaces() {
        let k = kube();
        let names: Vec<&str> = k.namespaces().map(|n| n.name.as_str()).collect();
        assert_eq!(names, SYSTEM_NAMESPACES);
        assert_eq!(
            k.namespace("default")
                .unwrap()
                .labels
                .get(NAME_LABEL)
                .map(String::as_str),
            Some("default")
        );
    }

    #[test]
    fn a_second_namespace_of_a_name_already_exists() {
        let mut k = kube();
        k.create_namespace("test", BTreeMap::new(), 1.0).unwrap();
        let e = k
            .create_namespace("test", BTreeMap::new(), 2.0)
            .unwrap_err();
        assert_eq!(e.message(), "namespaces \"test\" already exists");
    }

    #[test]
    fn a_name_that_is_not_a_label_is_invalid_in_the_api_servers_words() {
        let e = kube()
            .create_namespace("Test", BTreeMap::new(), 1.0)
            .unwrap_err();
        assert_eq!(
            e.message(),
            "Namespace \"Test\" is invalid: metadata.name: Invalid value: \"Test\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        );
    }

    #[test]
    fn deleting_answers_terminating_and_the_namespace_is_gone() {
        let mut k = kube();
        k.create_namespace("test", BTreeMap::new(), 1.0).unwrap();
        let before = k.resource_version();
        let mut fargate = crate::Cluster::new(
            "c",
            "eu-west-1",
            "111122223333",
            vec![],
            Box::new(SeqIds::new(2)),
        );
        let ns = k.delete_namespace(&mut fargate, "test", 2.0).unwrap();
        assert_eq!(ns.phase, NamespacePhase::Terminating);
        assert!(ns.resource_version > before);
        assert_eq!(
            k.namespace("test").unwrap_err().message(),
            "namespaces \"test\" not found"
        );
    }
}
