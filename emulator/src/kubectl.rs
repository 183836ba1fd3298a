//! The part of kubectl the chapter uses, as a client of a cluster's Kubernetes API (the
//! fargate-sim endpoint's `/k8s/CLUSTER`): create and delete namespaces and pods, read a pod,
//! wait for it, read its log. What the server refuses comes back as its `Status`, worded as
//! kubectl prints it (`Error from server (AlreadyExists): …`).
//!
//! JSON over plain HTTP on loopback, every response read bounded, every request timed.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use k8s_openapi::api::core::v1::Pod;
use serde::de::DeserializeOwned;

/// The largest response read (a pod, a log of at most 1 MiB per run, a Status).
pub const MAX_RESPONSE: usize = 8 << 20;
/// How long one request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a kubectl command failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KubectlError {
    /// The server answered with a `Status` (its reason and message).
    #[error("Error from server ({reason}): {message}")]
    Server {
        /// HTTP status.
        code: u16,
        /// `Status.reason` (`NotFound`, `AlreadyExists`, `Invalid`, …).
        reason: String,
        /// `Status.message`.
        message: String,
    },
    /// The server could not be reached or answered with something that is not the API's.
    #[error("{0}")]
    Transport(String),
    /// A manifest that is not a Kubernetes object.
    #[error("error: {0}")]
    Manifest(String),
}

impl KubectlError {
    /// Whether the server said the object is not there.
    pub fn is_not_found(&self) -> bool {
        matches!(self, KubectlError::Server { code: 404, .. })
    }
}

/// A client of one cluster's Kubernetes API.
#[derive(Debug, Clone)]
pub struct Kubectl {
    http: HttpClient<HttpConnector, Full<Bytes>>,
    /// `{endpoint}/k8s/{cluster}`.
    server: String,
    /// Time between two looks when waiting.
    poll: Duration,
}

/// One object `apply` created: `pod/s3`, and its namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// `pod`, `namespace`, … (kubectl's lower-case kind).
    pub kind: String,
    /// Its namespace (empty for cluster-wide objects).
    pub namespace: String,
    /// Its name.
    pub name: String,
}

impl std::fmt::Display for Applied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{} created", self.kind, self.name)
    }
}

impl Kubectl {
    /// A client of cluster `cluster` served at `endpoint` (the fargate-sim endpoint's URL).
    pub fn new(endpoint: &str, cluster: &str) -> Self {
        Self {
            http: HttpClient::builder(TokioExecutor::new()).build_http(),
            server: format!("{}/k8s/{cluster}", endpoint.trim_end_matches('/')),
            poll: Duration::from_millis(20),
        }
    }

    /// The server URL, as a kubeconfig names it.
    pub fn server(&self) -> &str {
        &self.server
    }

    async fn call(
        &self,
        method: hyper::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Bytes, KubectlError> {
        let bytes = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
        let req = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.server))
            .header("accept", "application/json")
            .header("content-type", "application/json")
            .header("user-agent", "fargate-sim/kubectl")
            .body(Full::new(bytes))
            .map_err(|e| KubectlError::Transport(e.to_string()))?;
        let exchange = async {
            let resp = self.http.request(req).await.map_err(|e| {
                KubectlError::Transport(format!("the server {} did not answer: {e}", self.server))
            })?;
            let status = resp.status().as_u16();
            let body = Limited::new(resp.into_body(), MAX_RESPONSE)
                .collect()
                .await
                .map_err(|e| KubectlError::Transport(format!("the answer could not be read: {e}")))?
                .to_bytes();
            Ok::<_, KubectlError>((status, body))
        };
        let (status, body) = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| {
                KubectlError::Transport(format!(
                    "the server {} did not answer within {} s",
                    self.server,
                    REQUEST_TIMEOUT.as_secs()
                ))
            })??;
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let s: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let text = |k: &str| s.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned();
        Err(KubectlError::Server {
            code: status,
            reason: text("reason"),
            message: text("message"),
        })
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, KubectlError> {
        let body = self.call(hyper::Method::GET, path, None).await?;
        serde_json::from_slice(&body).map_err(|e| {
            KubectlError::Transport(format!("the server's answer is not the API's: {e}"))
        })
    }

    /// `kubectl create namespace NAME`.
    ///
    /// # Errors
    /// The server's refusal (`AlreadyExists`, `Invalid`), or no answer.
    pub async fn create_namespace(&self, name: &str) -> Result<Applied, KubectlError> {
        let ns = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        self.call(hyper::Method::POST, "/api/v1/namespaces", Some(&ns))
            .await?;
        Ok(Applied {
            kind: "namespace".into(),
            namespace: String::new(),
            name: name.to_owned(),
        })
    }

    /// `kubectl apply -f` of pods that do not exist yet: each YAML document is created in its
    /// namespace (`default` when it names none).
    ///
    /// # Errors
    /// A document that is not a pod, or the server's refusal of one (those before it stay).
    pub async fn apply(&self, manifest: &str) -> Result<Vec<Applied>, KubectlError> {
        let mut applied = Vec::new();
        for doc in serde_yaml_ng::Deserializer::from_str(manifest) {
            let value: serde_json::Value = serde::Deserialize::deserialize(doc)
                .map_err(|e| KubectlError::Manifest(format!("error parsing the manifest: {e}")))?;
            if value.is_null() {
                continue;
            }
            let kind = value.get("kind").and_then(|k| k.as_str()).unwrap_or("");
            if kind != "Pod" {
                return Err(KubectlError::Manifest(format!(
                    "this client applies pods only, not `{kind}`"
                )));
            }
            let meta = value.get("metadata");
            let field = |k: &str| {
                meta.and_then(|m| m.get(k))
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_owned()
            };
            let namespace = Some(field("namespace"))
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "default".into());
            self.call(
                hyper::Method::POST,
                &format!("/api/v1/namespaces/{namespace}/pods"),
                Some(&value),
            )
            .await?;
            applied.push(Applied {
                kind: "pod".into(),
                namespace,
                name: field("name"),
            });
        }
        Ok(applied)
    }

    /// `kubectl get pod NAME -n NAMESPACE -o json`.
    ///
    /// # Errors
    /// `NotFound`, or no answer.
    pub async fn pod(&self, namespace: &str, name: &str) -> Result<Pod, KubectlError> {
        self.get(&format!("/api/v1/namespaces/{namespace}/pods/{name}"))
            .await
    }

    /// Waits until the pod satisfies `done`, at most `timeout`.
    ///
    /// # Errors
    /// The pod went away, the time ran out (the message says what was awaited), or no answer.
    pub async fn wait_pod(
        &self,
        namespace: &str,
        name: &str,
        what: &str,
        timeout: Duration,
        done: impl Fn(&Pod) -> bool,
    ) -> Result<Pod, KubectlError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let pod = self.pod(namespace, name).await?;
            if done(&pod) {
                return Ok(pod);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(KubectlError::Transport(format!(
                    "error: timed out waiting for the condition on pods/{name} ({what})"
                )));
            }
            tokio::time::sleep(self.poll).await;
        }
    }

    /// `kubectl delete pod NAME -n NAMESPACE`: deletes it and waits until it is gone.
    ///
    /// # Errors
    /// `NotFound`, a pod still there after `timeout`, or no answer.
    pub async fn delete_pod(
        &self,
        namespace: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<(), KubectlError> {
        let path = format!("/api/v1/namespaces/{namespace}/pods/{name}");
        self.call(hyper::Method::DELETE, &path, None).await?;
        self.wait_gone(&path, name, timeout).await
    }

    /// `kubectl delete namespace NAME`: deletes it (and its pods) and waits until it is gone.
    ///
    /// # Errors
    /// `NotFound`, `Forbidden` for the system namespaces, a namespace still there after
    /// `timeout`, or no answer.
    pub async fn delete_namespace(
        &self,
        name: &str,
        timeout: Duration,
    ) -> Result<(), KubectlError> {
        let path = format!("/api/v1/namespaces/{name}");
        self.call(hyper::Method::DELETE, &path, None).await?;
        self.wait_gone(&path, name, timeout).await
    }

    async fn wait_gone(
        &self,
        path: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<(), KubectlError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match self.call(hyper::Method::GET, path, None).await {
                Err(e) if e.is_not_found() => return Ok(()),
                Err(e) => return Err(e),
                Ok(_) if tokio::time::Instant::now() >= deadline => {
                    return Err(KubectlError::Transport(format!(
                        "error: timed out waiting for the deletion of {name}"
                    )));
                }
                Ok(_) => tokio::time::sleep(self.poll).await,
            }
        }
    }

    /// `kubectl logs NAME -n NAMESPACE`: what the pod's (first) container printed.
    ///
    /// # Errors
    /// `NotFound`, a pod whose container never started (`BadRequest`), or no answer.
    pub async fn logs(&self, namespace: &str, name: &str) -> Result<String, KubectlError> {
        let body = self
            .call(
                hyper::Method::GET,
                &format!("/api/v1/namespaces/{namespace}/pods/{name}/log"),
                None,
            )
            .await?;
        Ok(String::from_utf8_lossy(&body).into_owned())
    }
}

/// What `kubectl get pod -o wide` says of a pod's placement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// On a Fargate node, from a profile.
    Fargate {
        /// `eks.amazonaws.com/fargate-profile`.
        profile: String,
        /// `spec.nodeName`.
        node: String,
        /// The `CapacityProvisioned` annotation.
        capacity: String,
    },
    /// Not scheduled; the `PodScheduled` condition's message.
    Pending(String),
}

/// Where `pod` runs.
pub fn placement(pod: &Pod) -> Placement {
    let meta = &pod.metadata;
    let label = meta
        .labels
        .as_ref()
        .and_then(|l| l.get(scheduler::placement::PROFILE_LABEL))
        .cloned();
    let node = pod.spec.as_ref().and_then(|s| s.node_name.clone());
    match (label, node) {
        (Some(profile), Some(node)) => Placement::Fargate {
            profile,
            node,
            capacity: meta
                .annotations
                .as_ref()
                .and_then(|a| a.get(scheduler::placement::CAPACITY_ANNOTATION))
                .cloned()
                .unwrap_or_default(),
        },
        _ => Placement::Pending(
            pod.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|c| c.iter().find(|c| c.type_ == "PodScheduled"))
                .and_then(|c| c.message.clone())
                .unwrap_or_else(|| "not scheduled".into()),
        ),
    }
}

/// The pod's phase (`Pending`, `Running`, `Succeeded`, `Failed`).
pub fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending")
}
