//! `Table` answers for `kubectl get`: the columns and cells the API server's printers give
//! for namespaces, pods, nodes, events and service accounts.

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use scheduler::kube::Namespace;
use serde_json::{Value, json};

use super::{age, timestamp};

/// One column: name, type, priority (1: shown with `-o wide` only), description.
type Column = (&'static str, &'static str, u8, &'static str);

const NAMESPACE: &[Column] = &[
    (
        "Name",
        "string",
        0,
        "Name must be unique within a namespace.",
    ),
    ("Status", "string", 0, "The phase of the namespace."),
    (
        "Age",
        "string",
        0,
        "How long ago the namespace was created.",
    ),
];

const POD: &[Column] = &[
    (
        "Name",
        "string",
        0,
        "Name must be unique within a namespace.",
    ),
    (
        "Ready",
        "string",
        0,
        "The aggregate readiness state of this pod for accepting traffic.",
    ),
    (
        "Status",
        "string",
        0,
        "The aggregate status of the containers in this pod.",
    ),
    (
        "Restarts",
        "string",
        0,
        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    ),
    ("Age", "string", 0, "How long ago the pod was created."),
    ("IP", "string", 1, "IP address allocated to the pod."),
    (
        "Node",
        "string",
        1,
        "Name of the Node this pod is assigned to.",
    ),
    (
        "Nominated Node",
        "string",
        1,
        "Name of the Node the pod is nominated to.",
    ),
    (
        "Readiness Gates",
        "string",
        1,
        "Readiness gates of the pod.",
    ),
];

const NODE: &[Column] = &[
    (
        "Name",
        "string",
        0,
        "Name must be unique within a namespace.",
    ),
    ("Status", "string", 0, "The status of the node"),
    ("Roles", "string", 0, "The roles of the node"),
    ("Age", "string", 0, "How long ago the node was created."),
    (
        "Version",
        "string",
        0,
        "Kubelet Version reported by the node.",
    ),
    ("Internal-IP", "string", 1, "List of internal IPs."),
    ("External-IP", "string", 1, "List of external IPs."),
    ("OS-Image", "string", 1, "OS image reported by the node."),
    (
        "Kernel-Version",
        "string",
        1,
        "Kernel version reported by the node.",
    ),
    (
        "Container-Runtime",
        "string",
        1,
        "Container runtime reported by the node.",
    ),
];

const EVENT: &[Column] = &[
    ("Last Seen", "string", 0, "Time when last event occurred"),
    ("Type", "string", 0, "Type of this event."),
    (
        "Reason",
        "string",
        0,
        "Short, machine understandable string that gives the reason for this event being generated.",
    ),
    ("Object", "string", 0, "The object this event is about."),
    (
        "Subobject",
        "string",
        1,
        "The subobject this event is about.",
    ),
    ("Source", "string", 1, "The component reporting this event."),
    (
        "Message",
        "string",
        0,
        "A human-readable description of the status of this operation.",
    ),
    (
        "First Seen",
        "string",
        1,
        "The first time this event was seen.",
    ),
    (
        "Count",
        "string",
        1,
        "The number of times this event has occurred.",
    ),
    (
        "Name",
        "string",
        1,
        "Name must be unique within a namespace.",
    ),
];

const SERVICE_ACCOUNT: &[Column] = &[
    (
        "Name",
        "string",
        0,
        "Name must be unique within a namespace.",
    ),
    (
        "Secrets",
        "string",
        0,
        "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.",
    ),
    (
        "Age",
        "string",
        0,
        "How long ago the service account was created.",
    ),
];

fn table(columns: &[Column], version: &str, rows: Vec<Value>) -> Value {
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": version},
        "columnDefinitions": columns.iter().map(|(name, kind, priority, description)| json!({
            "name": name,
            "type": kind,
            "format": if *name == "Name" { "name" } else { "" },
            "description": description,
            "priority": priority,
        })).collect::<Vec<_>>(),
        "rows": rows,
    })
}

fn partial(meta: &ObjectMeta) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
    })
}

fn secs(t: Option<&Time>) -> f64 {
    t.map_or(0.0, |t| t.0.timestamp() as f64)
}

fn since(t: Option<&Time>, now: f64) -> String {
    t.map_or_else(|| "<unknown>".to_owned(), |t| age(now - secs(Some(t))))
}

/// Namespaces: NAME STATUS AGE.
pub fn namespaces(items: &[&Namespace], version: &str, now: f64) -> Value {
    let rows = items
        .iter()
        .map(|n| {
            json!({
                "cells": [n.name, n.phase.as_str(), age(now - n.created)],
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": {
                        "name": n.name,
                        "uid": n.uid,
                        "resourceVersion": n.resource_version.to_string(),
                        "creationTimestamp": timestamp(n.created),
                    },
                },
            })
        })
        .collect();
    table(NAMESPACE, version, rows)
}

/// The STATUS cell of a pod, as the API server's printer derives it.
pub fn pod_status(pod: &core::Pod) -> String {
    let status = pod.status.clone().unwrap_or_default();
    let mut reason = status
        .reason
        .clone()
        .or(status.phase.clone())
        .unwrap_or_else(|| "Pending".into());
    let mut running = false;
    for c in status.container_statuses.iter().flatten().rev() {
        let state = c.state.clone().unwrap_or_default();
        if let Some(w) = state
            .waiting
            .as_ref()
            .and_then(|w| w.reason.clone())
            .filter(|r| !r.is_empty())
        {
            reason = w;
        } else if let Some(t) = state.terminated.as_ref() {
            reason = match &t.reason {
                Some(r) if !r.is_empty() => r.clone(),
                _ => match t.signal {
                    Some(s) if s != 0 => format!("Signal:{s}"),
                    _ => format!("ExitCode:{}", t.exit_code),
                },
            };
        } else if c.ready && state.running.is_some() {
            running = true;
        }
    }
    if reason == "Completed" && running {
        reason = "Running".into();
    }
    if pod.metadata.deletion_timestamp.is_some() {
        reason = "Terminating".into();
    }
    reason
}

/// Pods: NAME READY STATUS RESTARTS AGE (IP NODE NOMINATED NODE READINESS GATES with `-o wide`).
pub fn pods<'a>(items: impl Iterator<Item = &'a core::Pod>, version: &str, now: f64) -> Value {
    let rows = items
        .map(|p| {
            let spec = p.spec.clone().unwrap_or_default();
            let status = p.status.clone().unwrap_or_default();
            let statuses = status.container_statuses.clone().unwrap_or_default();
            let ready = statuses.iter().filter(|s| s.ready).count();
            let restarts: i32 = statuses.iter().map(|s| s.restart_count).sum();
            let last_restart = statuses
                .iter()
                .filter_map(|s| {
                    s.last_state
                        .as_ref()?
                        .terminated
                        .as_ref()?
                        .finished_at
                        .as_ref()
                })
                .map(|t| secs(Some(t)))
                .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.max(t))));
            let restarts = match last_restart {
                Some(t) if restarts > 0 => format!("{restarts} ({} ago)", age(now - t)),
                _ => restarts.to_string(),
            };
            let gates = spec.readiness_gates.as_ref().map_or(0, Vec::len);
            json!({
                "cells": [
                    p.metadata.name,
                    format!("{ready}/{}", spec.containers.len()),
                    pod_status(p),
                    restarts,
                    since(p.metadata.creation_timestamp.as_ref(), now),
                    status.pod_ip.clone().unwrap_or_else(|| "<none>".into()),
                    spec.node_name.clone().unwrap_or_else(|| "<none>".into()),
                    status.nominated_node_name.clone().unwrap_or_else(|| "<none>".into()),
                    if gates == 0 { "<none>".to_owned() } else { format!("0/{gates}") },
                ],
                "object": partial(&p.metadata),
            })
        })
        .collect();
    table(POD, version, rows)
}

/// Nodes: NAME STATUS ROLES AGE VERSION (and the wide columns).
pub fn nodes<'a>(items: impl Iterator<Item = &'a core::Node>, version: &str, now: f64) -> Value {
    let rows = items
        .map(|n| {
            let status = n.status.clone().unwrap_or_default();
            let ready = status
                .conditions
                .iter()
                .flatten()
                .find(|c| c.type_ == "Ready")
                .map_or("Unknown", |c| {
                    if c.status == "True" {
                        "Ready"
                    } else {
                        "NotReady"
                    }
                });
            let ip = |kind: &str| {
                status
                    .addresses
                    .iter()
                    .flatten()
                    .find(|a| a.type_ == kind)
                    .map_or_else(|| "<none>".to_owned(), |a| a.address.clone())
            };
            let info = status.node_info.clone().unwrap_or_default();
            json!({
                "cells": [
                    n.metadata.name,
                    ready,
                    "<none>",
                    since(n.metadata.creation_timestamp.as_ref(), now),
                    info.kubelet_version,
                    ip("InternalIP"),
                    ip("ExternalIP"),
                    info.os_image,
                    info.kernel_version,
                    info.container_runtime_version,
                ],
                "object": partial(&n.metadata),
            })
        })
        .collect();
    table(NODE, version, rows)
}

/// Events: LAST SEEN TYPE REASON OBJECT MESSAGE (and the wide columns).
pub fn events<'a>(items: impl Iterator<Item = &'a core::Event>, version: &str, now: f64) -> Value {
    let rows = items
        .map(|e| {
            let o = &e.involved_object;
            let object = format!(
                "{}/{}",
                o.kind.clone().unwrap_or_default().to_lowercase(),
                o.name.clone().unwrap_or_default()
            );
            let source = e.source.clone().unwrap_or_default();
            let source = match (source.component, source.host) {
                (Some(c), Some(h)) => format!("{c}, {h}"),
                (Some(c), None) => c,
                _ => String::new(),
            };
            json!({
                "cells": [
                    since(e.last_timestamp.as_ref(), now),
                    e.type_,
                    e.reason,
                    object,
                    o.field_path.clone().unwrap_or_default(),
                    source,
                    e.message.clone().unwrap_or_default().trim(),
                    since(e.first_timestamp.as_ref(), now),
                    e.count.unwrap_or(1),
                    e.metadata.name,
                ],
                "object": partial(&e.metadata),
            })
        })
        .collect();
    table(EVENT, version, rows)
}

/// Service accounts: NAME SECRETS AGE.
pub fn service_accounts<'a>(
    items: impl Iterator<Item = &'a core::ServiceAccount>,
    version: &str,
    now: f64,
) -> Value {
    let rows = items
        .map(|a| {
            json!({
                "cells": [
                    a.metadata.name,
                    a.secrets.as_ref().map_or(0, Vec::len),
                    since(a.metadata.creation_timestamp.as_ref(), now),
                ],
                "object": partial(&a.metadata),
            })
        })
        .collect();
    table(SERVICE_ACCOUNT, version, rows)
}
