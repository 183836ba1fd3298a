//! The Kubernetes side of a cluster, as its API server holds it: namespaces (the first
//! resource served; pods, events, nodes and service accounts come next), with the API server's
//! rules and words. Sans-IO like the rest of the crate: `now` (seconds since the epoch) is
//! passed in, uids come from [`Ids`].

use std::collections::BTreeMap;

use crate::cluster::Ids;

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
    resource_version: u64,
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
    pub fn new(ids: Box<dyn Ids>, now: f64) -> Self {
        let mut kube = Self {
            namespaces: BTreeMap::new(),
            resource_version: 0,
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

    fn next_version(&mut self) -> u64 {
        self.resource_version += 1;
        self.resource_version
    }

    /// Creates a namespace.
    ///
    /// # Errors
    /// `Invalid` for a name that is not an RFC 1123 label, `AlreadyExists`.
    pub fn create_namespace(
        &mut self,
        name: &str,
        mut labels: BTreeMap<String, String>,
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
            phase: NamespacePhase::Active,
        };
        self.namespaces.insert(name.to_owned(), ns.clone());
        Ok(ns)
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

    /// Deletes a namespace: the answer is the namespace `Terminating`; it holds nothing yet
    /// (pods come next), so it is gone at once.
    ///
    /// # Errors
    /// `NotFound`.
    pub fn delete_namespace(&mut self, name: &str) -> Result<Namespace, KubeError> {
        let version = self.next_version();
        let mut ns = self
            .namespaces
            .remove(name)
            .ok_or_else(|| KubeError::NotFound {
                resource: "namespaces",
                name: name.to_owned(),
            })?;
        ns.phase = NamespacePhase::Terminating;
        ns.resource_version = version;
        Ok(ns)
    }
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
        Kube::new(Box::new(SeqIds::new(1)), 0.0)
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
        let ns = k.delete_namespace("test").unwrap();
        assert_eq!(ns.phase, NamespacePhase::Terminating);
        assert!(ns.resource_version > before);
        assert_eq!(
            k.namespace("test").unwrap_err().message(),
            "namespaces \"test\" not found"
        );
    }
}
