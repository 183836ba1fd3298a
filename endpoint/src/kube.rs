//! The Kubernetes API as `kubectl` speaks it, over a cluster's [`Kube`] objects: discovery
//! (`/version`, `/api`, `/apis`, `/api/v1`), and namespaces — create (JSON or protobuf), get,
//! list (as objects or as a `Table`), delete — with the API server's `Status` errors.
//!
//! [`handle`] takes the request as the server received it, the path relative to the cluster's
//! API prefix, and writes the answer; it does no IO.

use std::collections::BTreeMap;

use prost::Message;
use scheduler::kube::{Kube, KubeError, Namespace};
use serde_json::{Value, json};

/// Largest request body read (a manifest is kilobytes; the issue's 10 MB manifest is refused).
pub const MAX_BODY: usize = 3 << 20;

/// The Kubernetes version the API server reports.
pub const VERSION: (&str, &str, &str) = ("1", "32", "v1.32.0-eks-fargate-sim");

/// A request as the adapter sees it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `GET`, `POST`, `DELETE`, …
    pub method: &'a str,
    /// The path under the cluster's API prefix (`/api/v1/namespaces`).
    pub path: &'a str,
    /// The query string, still encoded.
    pub query: Option<&'a str>,
    /// `Accept`.
    pub accept: Option<&'a str>,
    /// `Content-Type`.
    pub content_type: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
}

/// An answer: status, content type, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Always `application/json` here.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

fn ok(status: u16, value: &Value) -> Response {
    Response {
        status,
        content_type: "application/json",
        body: value.to_string(),
    }
}

/// A `Status` object with `reason` and `code`, as the API server writes failures.
pub fn status(code: u16, reason: &str, message: &str, details: Option<Value>) -> Response {
    let mut v = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if let (Some(d), Some(map)) = (details, v.as_object_mut()) {
        map.insert("details".into(), d);
    }
    ok(code, &v)
}

fn error(e: &KubeError) -> Response {
    match e {
        KubeError::AlreadyExists { resource, name } => status(
            409,
            "AlreadyExists",
            &e.message(),
            Some(json!({"name": name, "kind": resource})),
        ),
        KubeError::NotFound { resource, name } => status(
            404,
            "NotFound",
            &e.message(),
            Some(json!({"name": name, "kind": resource})),
        ),
        KubeError::Invalid { kind, name, causes } => status(
            422,
            "Invalid",
            &e.message(),
            Some(json!({
                "name": name,
                "kind": kind,
                "causes": causes.iter().map(|(field, message)| json!({
                    "reason": "FieldValueInvalid",
                    "message": message,
                    "field": field,
                })).collect::<Vec<_>>(),
            })),
        ),
    }
}

/// The API server's answer for a path it does not serve.
fn not_found() -> Response {
    status(
        404,
        "NotFound",
        "the server could not find the requested resource",
        Some(json!({})),
    )
}

/// `metadata.creationTimestamp`'s form (`2026-12-06T18:50:00Z`).
pub fn timestamp(secs: f64) -> String {
    crate::time::Utc::from_unix(secs.max(0.0) as i64).rfc3339()
}

/// An age as `kubectl get` shows it (`5s`, `3m2s`, `4h`, `2d3h`, `12d`).
pub fn age(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    match s {
        0..=119 => format!("{s}s"),
        120..=599 => {
            if s.is_multiple_of(60) {
                format!("{}m", s / 60)
            } else {
                format!("{}m{}s", s / 60, s % 60)
            }
        }
        600..=10_799 => format!("{}m", s / 60),
        10_800..=28_799 => {
            let (h, m) = (s / 3600, (s % 3600) / 60);
            if m == 0 {
                format!("{h}h")
            } else {
                format!("{h}h{m}m")
            }
        }
        28_800..=172_799 => format!("{}h", s / 3600),
        172_800..=691_199 => {
            let (d, h) = (s / 86_400, (s % 86_400) / 3600);
            if h == 0 {
                format!("{d}d")
            } else {
                format!("{d}d{h}h")
            }
        }
        _ => format!("{}d", s / 86_400),
    }
}

fn namespace_json(ns: &Namespace) -> Value {
    json!({
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {
            "name": ns.name,
            "uid": ns.uid,
            "resourceVersion": ns.resource_version.to_string(),
            "creationTimestamp": timestamp(ns.created),
            "labels": ns.labels,
            "managedFields": [],
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": ns.phase.as_str()},
    })
}

/// A `metadata.name=NAME` field selector, the only one namespaces take here.
fn name_selector(query: &[(String, String)]) -> Result<Option<String>, Response> {
    let Some((_, sel)) = query.iter().find(|(k, _)| k == "fieldSelector") else {
        return Ok(None);
    };
    match sel.split_once('=') {
        Some(("metadata.name", v)) => Ok(Some(v.trim_start_matches('=').to_owned())),
        _ => Err(status(
            400,
            "BadRequest",
            &format!("field label not supported: {sel}"),
            None,
        )),
    }
}

/// Whether the client asked for a `Table` (`kubectl get`).
fn wants_table(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| {
        a.split(',')
            .next()
            .is_some_and(|first| first.contains("as=Table"))
    })
}

/// A namespace to create, from a JSON or protobuf body.
struct NewNamespace {
    name: String,
    labels: BTreeMap<String, String>,
}

fn read_namespace(content_type: Option<&str>, body: &[u8]) -> Result<NewNamespace, Response> {
    let bad = |m: String| status(400, "BadRequest", &m, None);
    if content_type.is_some_and(|c| c.starts_with("application/vnd.kubernetes.protobuf")) {
        // The envelope: the magic `k8s\0`, then a runtime.Unknown holding the object.
        let rest = body
            .strip_prefix(b"k8s\0")
            .ok_or_else(|| bad("the protobuf body does not start with the k8s envelope".into()))?;
        let unknown = k8s_pb::apimachinery::pkg::runtime::Unknown::decode(rest)
            .map_err(|e| bad(format!("the protobuf body cannot be read: {e}")))?;
        let kind = unknown.type_meta.as_ref().and_then(|t| t.kind.as_deref());
        if kind != Some("Namespace") {
            return Err(bad(format!(
                "the body is a {}, not a Namespace",
                kind.unwrap_or("message of no kind")
            )));
        }
        let ns = k8s_pb::api::core::v1::Namespace::decode(unknown.raw.as_deref().unwrap_or(&[]))
            .map_err(|e| bad(format!("the Namespace cannot be read: {e}")))?;
        let meta = ns.metadata.unwrap_or_default();
        return Ok(NewNamespace {
            name: meta.name.unwrap_or_default(),
            labels: meta.labels.into_iter().collect(),
        });
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| bad(format!("the request body is not valid JSON: {e}")))?;
    let meta = &v["metadata"];
    let labels = meta["labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    Ok(NewNamespace {
        name: meta["name"].as_str().unwrap_or_default().to_owned(),
        labels,
    })
}

fn discovery(path: &str) -> Option<Value> {
    Some(match path {
        "/version" => json!({
            "major": VERSION.0,
            "minor": VERSION.1,
            "gitVersion": VERSION.2,
            "gitCommit": "",
            "gitTreeState": "clean",
            "buildDate": "2026-12-06T00:00:00Z",
            "goVersion": "",
            "compiler": "gc",
            "platform": "linux/amd64",
        }),
        "/api" => json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
        }),
        "/apis" => json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": []}),
        "/api/v1" => json!({
            "kind": "APIResourceList",
            "groupVersion": "v1",
            "resources": [{
                "name": "namespaces",
                "singularName": "namespace",
                "namespaced": false,
                "kind": "Namespace",
                "verbs": ["create", "delete", "get", "list"],
                "shortNames": ["ns"],
            }],
        }),
        _ => return None,
    })
}

/// Answers one request on `kube` at `now`.
pub fn handle(kube: &mut Kube, req: &Request<'_>, now: f64) -> Response {
    let path = req.path.trim_end_matches('/');
    if req.method == "GET"
        && let Some(v) = discovery(if path.is_empty() { "/" } else { path })
    {
        return ok(200, &v);
    }
    let query = crate::query_pairs(req.query);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (req.method, segments.as_slice()) {
        ("POST", ["api", "v1", "namespaces"]) => {
            let new = match read_namespace(req.content_type, req.body) {
                Ok(n) => n,
                Err(r) => return r,
            };
            match kube.create_namespace(&new.name, new.labels, now) {
                Ok(ns) => ok(201, &namespace_json(&ns)),
                Err(e) => error(&e),
            }
        }
        ("GET", ["api", "v1", "namespaces"]) => {
            let only = match name_selector(&query) {
                Ok(o) => o,
                Err(r) => return r,
            };
            let items: Vec<&Namespace> = kube
                .namespaces()
                .filter(|n| only.as_deref().is_none_or(|o| o == n.name))
                .collect();
            let version = kube.resource_version().to_string();
            if wants_table(req.accept) {
                ok(200, &namespace_table(&items, &version, now))
            } else {
                ok(
                    200,
                    &json!({
                        "kind": "NamespaceList",
                        "apiVersion": "v1",
                        "metadata": {"resourceVersion": version},
                        "items": items.iter().map(|n| namespace_json(n)).collect::<Vec<_>>(),
                    }),
                )
            }
        }
        ("GET", ["api", "v1", "namespaces", name]) => match kube.namespace(name) {
            Ok(ns) if wants_table(req.accept) => ok(
                200,
                &namespace_table(&[ns], &kube.resource_version().to_string(), now),
            ),
            Ok(ns) => ok(200, &namespace_json(ns)),
            Err(e) => error(&e),
        },
        ("DELETE", ["api", "v1", "namespaces", name]) => match kube.delete_namespace(name) {
            Ok(ns) => ok(200, &namespace_json(&ns)),
            Err(e) => error(&e),
        },
        (_, ["api", "v1", "namespaces", ..]) => status(
            405,
            "MethodNotAllowed",
            &format!(
                "the server does not allow this method on the requested resource ({} {})",
                req.method, req.path
            ),
            Some(json!({})),
        ),
        _ => not_found(),
    }
}

/// `kubectl get namespaces`' table: NAME, STATUS, AGE.
fn namespace_table(items: &[&Namespace], version: &str, now: f64) -> Value {
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": version},
        "columnDefinitions": [
            {"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace.", "priority": 0},
            {"name": "Status", "type": "string", "format": "", "description": "The phase of the namespace.", "priority": 0},
            {"name": "Age", "type": "string", "format": "", "description": "How long ago the namespace was created.", "priority": 0},
        ],
        "rows": items.iter().map(|n| json!({
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
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use scheduler::cluster::SeqIds;

    fn kube() -> Kube {
        Kube::new(Box::new(SeqIds::new(1)), 0.0)
    }

    fn req<'a>(method: &'a str, path: &'a str, body: &'a [u8]) -> Request<'a> {
        Request {
            method,
            path,
            query: None,
            accept: Some("application/json"),
            content_type: Some("application/json"),
            body,
        }
    }

    #[test]
    fn a_namespace_from_kubectls_protobuf_body() {
        // `kubectl create namespace test` as kubectl 1.32 sends it.
        let body: &[u8] = b"k8s\x00\n\x0f\n\x02v1\x12\tNamespace\x12\x1c\n\x14\n\x04test\x12\x00\x1a\x00\"\x00*\x002\x008\x00B\x00\x12\x00\x1a\x02\n\x00\x1a\x00\"\x00";
        let mut k = kube();
        let r = handle(
            &mut k,
            &Request {
                content_type: Some("application/vnd.kubernetes.protobuf"),
                ..req("POST", "/api/v1/namespaces", body)
            },
            1.0,
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let v: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["metadata"]["name"], "test");
        assert_eq!(v["status"]["phase"], "Active");
    }

    #[test]
    fn a_taken_name_is_an_already_exists_status() {
        let mut k = kube();
        let r = handle(
            &mut k,
            &req(
                "POST",
                "/api/v1/namespaces",
                br#"{"metadata":{"name":"default"}}"#,
            ),
            1.0,
        );
        assert_eq!(r.status, 409);
        assert_eq!(
            r.body,
            r#"{"apiVersion":"v1","code":409,"details":{"kind":"namespaces","name":"default"},"kind":"Status","message":"namespaces \"default\" already exists","metadata":{},"reason":"AlreadyExists","status":"Failure"}"#
        );
    }

    #[test]
    fn get_as_a_table_has_kubectls_columns() {
        let mut k = kube();
        let r = handle(
            &mut k,
            &Request {
                accept: Some("application/json;as=Table;v=v1;g=meta.k8s.io,application/json"),
                ..req("GET", "/api/v1/namespaces", b"")
            },
            65.0,
        );
        let v: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["kind"], "Table");
        let names: Vec<&str> = v["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Name", "Status", "Age"]);
        assert_eq!(v["rows"][0]["cells"], json!(["default", "Active", "65s"]));
    }

    #[test]
    fn a_field_selector_on_the_name_lists_that_namespace_only() {
        let mut k = kube();
        let r = handle(
            &mut k,
            &Request {
                query: Some("fieldSelector=metadata.name%3Dkube-system"),
                ..req("GET", "/api/v1/namespaces", b"")
            },
            1.0,
        );
        let v: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["items"].as_array().unwrap().len(), 1);
        assert_eq!(v["items"][0]["metadata"]["name"], "kube-system");
    }

    #[test]
    fn an_unknown_path_is_the_api_servers_not_found() {
        let r = handle(&mut kube(), &req("GET", "/apis/apps/v1", b""), 1.0);
        assert_eq!(r.status, 404);
        assert!(
            r.body
                .contains("the server could not find the requested resource")
        );
    }

    #[test]
    fn ages_read_as_kubectl_shows_them() {
        assert_eq!(age(5.0), "5s");
        assert_eq!(age(150.0), "2m30s");
        assert_eq!(age(900.0), "15m");
        assert_eq!(age(3.0 * 3600.0 + 60.0), "3h1m");
        assert_eq!(age(2.0 * 86_400.0), "2d");
        assert_eq!(timestamp(86_401.0), "1970-01-02T00:00:01Z");
    }
}
