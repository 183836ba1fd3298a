//! The parts of Kubernetes pods that Fargate placement looks at, read from manifests.
//!
//! Only the fields placement uses are modelled (unknown fields are ignored, as the API server
//! would keep them); `k8s-openapi` would add a large build for types this crate never
//! round-trips (see `ARCHITECTURE.md`).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// A resource quantity as written (`250m`, `1`, `512Mi`); numbers are kept as their text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quantity(pub String);

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Q {
            S(String),
            I(i64),
            F(f64),
        }
        Ok(Quantity(match Q::deserialize(d)? {
            Q::S(s) => s,
            Q::I(i) => i.to_string(),
            Q::F(f) => f.to_string(),
        }))
    }
}

/// Object metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Namespace (`default` when absent).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// Requests and limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Resources {
    /// `requests`.
    #[serde(default)]
    pub requests: Option<BTreeMap<String, Quantity>>,
    /// `limits` (used when requests are absent, as Kubernetes defaults requests to limits).
    #[serde(default)]
    pub limits: Option<BTreeMap<String, Quantity>>,
}

/// A container port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Port {
    /// `hostPort`.
    #[serde(default)]
    pub host_port: Option<u32>,
    /// `hostIP`.
    #[serde(default, rename = "hostIP")]
    pub host_ip: Option<String>,
}

/// Security context (only `privileged`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct SecurityContext {
    /// `privileged`.
    #[serde(default)]
    pub privileged: Option<bool>,
}

/// A container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Image.
    #[serde(default)]
    pub image: String,
    /// Command.
    #[serde(default)]
    pub command: Vec<String>,
    /// Args.
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment (name/value pairs only).
    #[serde(default)]
    pub env: Vec<EnvVar>,
    /// Resources.
    #[serde(default)]
    pub resources: Option<Resources>,
    /// Ports.
    #[serde(default)]
    pub ports: Vec<Port>,
    /// Security context.
    #[serde(default)]
    pub security_context: Option<SecurityContext>,
}

/// An environment variable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct EnvVar {
    /// Name.
    pub name: String,
    /// Value.
    #[serde(default)]
    pub value: Option<String>,
}

/// A volume; only the source kinds that matter here are named.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// `hostPath` (unsupported on Fargate).
    #[serde(default)]
    pub host_path: Option<serde_yaml_ng::Value>,
}

/// The pod spec.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    /// Containers.
    #[serde(default)]
    pub containers: Vec<Container>,
    /// Init containers.
    #[serde(default)]
    pub init_containers: Vec<Container>,
    /// `hostNetwork`.
    #[serde(default)]
    pub host_network: bool,
    /// `hostPID`.
    #[serde(default, rename = "hostPID")]
    pub host_pid: bool,
    /// `hostIPC`.
    #[serde(default, rename = "hostIPC")]
    pub host_ipc: bool,
    /// Volumes.
    #[serde(default)]
    pub volumes: Vec<Volume>,
    /// `schedulerName`.
    #[serde(default)]
    pub scheduler_name: Option<String>,
    /// `serviceAccountName`.
    #[serde(default)]
    pub service_account_name: Option<String>,
    /// `nodeName`.
    #[serde(default)]
    pub node_name: Option<String>,
}

/// A pod to place.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Pod {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// The spec.
    pub spec: PodSpec,
    /// The kind of controller that owns it (`Deployment`, `DaemonSet`, …), if any.
    pub owner_kind: Option<String>,
}

impl Pod {
    /// A bare pod with a name, namespace and labels.
    pub fn new(namespace: &str, name: &str, labels: &[(&str, &str)]) -> Self {
        Self {
            name: name.to_owned(),
            namespace: namespace.to_owned(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Self::default()
        }
    }
}

#[derive(Deserialize)]
struct Manifest {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    metadata: ObjectMeta,
    #[serde(default)]
    spec: Option<serde_yaml_ng::Value>,
}

#[derive(Deserialize)]
struct Template {
    #[serde(default)]
    metadata: ObjectMeta,
    #[serde(default)]
    spec: PodSpec,
}

/// A manifest problem, with the document it was found in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("document {document}{}: {message}", line.map(|l| format!(" (line {l})")).unwrap_or_default())]
pub struct ManifestError {
    /// 1-based document index in the stream.
    pub document: usize,
    /// Line, when the YAML parser knows it.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// What a manifest stream held.
#[derive(Debug, Clone, Default)]
pub struct Manifests {
    /// Pods, and the pod templates of workload controllers (one pod each).
    pub pods: Vec<Pod>,
    /// Kinds that hold no pod (`Namespace`, `ServiceAccount`, …), skipped.
    pub skipped: Vec<String>,
}

/// Reads a multi-document YAML stream of Kubernetes manifests: `Pod`, and the pod template of
/// `Deployment`, `ReplicaSet`, `StatefulSet`, `Job`, `DaemonSet`, `CronJob`.
///
/// # Errors
/// YAML that cannot be read, or a pod spec of the wrong shape.
pub fn parse_manifests(text: &str) -> Result<Manifests, ManifestError> {
    let mut out = Manifests::default();
    for (i, doc) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let document = i + 1;
        let err = |e: serde_yaml_ng::Error| ManifestError {
            document,
            line: e.location().map(|l| l.line()),
            message: e.to_string(),
        };
        let value = serde_yaml_ng::Value::deserialize(doc).map_err(err)?;
        if value.is_null() {
            continue;
        }
        let m: Manifest = serde_yaml_ng::from_value(value).map_err(err)?;
        let ns = m
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        let template_path: Option<&[&str]> = match m.kind.as_str() {
            "Pod" => None,
            "Deployment"
            | "ReplicaSet"
            | "StatefulSet"
            | "Job"
            | "DaemonSet"
            | "ReplicationController" => Some(&["template"]),
            "CronJob" => Some(&["jobTemplate", "spec", "template"]),
            "" => {
                return Err(ManifestError {
                    document,
                    line: None,
                    message: "the document has no `kind`".into(),
                });
            }
            other => {
                out.skipped.push(format!("{other}/{}", m.metadata.name));
                continue;
            }
        };
        let spec_value = m.spec.clone().unwrap_or(serde_yaml_ng::Value::Null);
        match template_path {
            None => {
                let spec: PodSpec = serde_yaml_ng::from_value(spec_value).map_err(err)?;
                out.pods.push(Pod {
                    name: m.metadata.name.clone(),
                    namespace: ns,
                    labels: m.metadata.labels.clone(),
                    annotations: m.metadata.annotations.clone(),
                    spec,
                    owner_kind: None,
                });
            }
            Some(path) => {
                let mut v = &spec_value;
                for p in path {
                    v = v.get(*p).ok_or_else(|| ManifestError {
                        document,
                        line: None,
                        message: format!(
                            "{} `{}` has no spec.{}",
                            m.kind,
                            m.metadata.name,
                            path.join(".")
                        ),
                    })?;
                }
                let t: Template = serde_yaml_ng::from_value(v.clone()).map_err(err)?;
                out.pods.push(Pod {
                    name: format!("{}-{}", m.metadata.name, pseudo_suffix(&m.metadata.name)),
                    namespace: t.metadata.namespace.clone().unwrap_or(ns),
                    labels: t.metadata.labels,
                    annotations: t.metadata.annotations,
                    spec: t.spec,
                    owner_kind: Some(m.kind.clone()),
                });
            }
        }
    }
    Ok(out)
}

/// A stable five-character suffix like the ones controllers give their pods.
fn pseudo_suffix(name: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    (0..5)
        .map(|i| {
            let idx = ((h >> (i * 8)) % ALPHABET.len() as u64) as usize;
            char::from(ALPHABET.get(idx).copied().unwrap_or(b'x'))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pods_and_templates_from_a_stream() {
        let text = r#"
apiVersion: v1
kind: Namespace
metadata: {name: test}
---
apiVersion: v1
kind: Pod
metadata:
  name: test
  namespace: test
  labels: {app: web}
spec:
  containers:
    - name: c
      image: nginx
      resources: {requests: {cpu: 250m, memory: 512Mi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: prod}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: nginx, resources: {requests: {cpu: 1}}}]
"#;
        let m = parse_manifests(text).unwrap();
        assert_eq!(m.skipped, ["Namespace/test"]);
        assert_eq!(m.pods.len(), 2);
        assert_eq!(
            (m.pods[0].namespace.as_str(), m.pods[0].name.as_str()),
            ("test", "test")
        );
        assert_eq!(m.pods[1].namespace, "prod");
        assert!(m.pods[1].name.starts_with("web-"));
        assert_eq!(m.pods[1].owner_kind.as_deref(), Some("Deployment"));
    }

    #[test]
    fn bad_yaml_names_the_document_and_line() {
        let e = parse_manifests("kind: Pod\nmetadata: {name: a}\n---\nkind: Pod\nspec: [\n")
            .unwrap_err();
        assert_eq!(e.document, 2);
        assert!(e.line.is_some());
        let e = parse_manifests("metadata: {name: a}\n").unwrap_err();
        assert!(e.message.contains("kind"));
    }
}
