//! The Kubernetes API as `kubectl` speaks it, over a cluster's [`Kube`] objects and its Fargate
//! side: discovery (`/version`, `/api`, `/apis`, `/api/v1`, `/openapi/v3`), namespaces, pods
//! (create with strict field validation, get, list, watch, patch, delete), `pods/log`, nodes,
//! events and service accounts — objects as JSON or `Table`s, failures as `Status` objects.
//!
//! [`handle`] takes the request as the server received it, with the path relative to the
//! cluster's API prefix, and returns an [`Answer`]: a whole response, or a stream (a watch, a
//! followed log) that the serving side advances with [`Watch::next`] and [`LogFollow::next`]
//! as the cluster changes. Nothing here does IO.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;
use prost::Message;
use scheduler::Cluster;
use scheduler::kube::{Kube, KubeError, Namespace, Object};
use serde_json::{Value, json};

pub mod openapi;
pub mod patch;
pub mod select;
pub mod tables;

use select::{FieldSelector, LabelSelector};

/// Largest request body read (a manifest is kilobytes; the issue's 10 MB manifest is refused).
pub const MAX_BODY: usize = 3 << 20;

/// The Kubernetes version the API server reports.
pub const VERSION: (&str, &str, &str) = ("1", "32", scheduler::kube::objects::KUBELET_VERSION);

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

/// A whole answer: status, content type, body, and `Warning` headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// `application/json` or `text/plain`.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
    /// Warnings, each sent as `Warning: 299 - "TEXT"`.
    pub warnings: Vec<String>,
}

/// What the server sends.
#[derive(Debug)]
pub enum Answer {
    /// A whole response.
    Done(Response),
    /// A watch: JSON lines as the cluster changes.
    Watch(Box<Watch>),
    /// A followed log: text as the container writes it.
    Log(Box<LogFollow>),
}

impl Answer {
    /// The whole response, when this is one.
    pub fn done(self) -> Option<Response> {
        match self {
            Answer::Done(r) => Some(r),
            _ => None,
        }
    }
}

fn ok(status: u16, value: &Value) -> Response {
    Response {
        status,
        content_type: "application/json",
        body: value.to_string(),
        warnings: Vec::new(),
    }
}

fn done(status: u16, value: &Value) -> Answer {
    Answer::Done(ok(status, value))
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

/// The `reason` of a field cause, from its message's first words.
fn cause_reason(message: &str) -> &'static str {
    [
        ("Required value", "FieldValueRequired"),
        ("Forbidden", "FieldValueForbidden"),
        ("Duplicate value", "FieldValueDuplicate"),
        ("Unsupported value", "FieldValueNotSupported"),
    ]
    .iter()
    .find(|(p, _)| message.starts_with(p))
    .map_or("FieldValueInvalid", |(_, r)| r)
}

/// The `Status` for a model error.
pub fn error(e: &KubeError) -> Response {
    let kind_of = |resource: &str| json!({"name": "", "kind": resource});
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
        KubeError::Forbidden { resource, name, .. } => status(
            403,
            "Forbidden",
            &e.message(),
            Some(json!({"name": name, "kind": resource})),
        ),
        KubeError::BadRequest(m) => status(400, "BadRequest", m, None),
        KubeError::Expired(m) => status(410, "Expired", m, Some(kind_of(""))),
        KubeError::Invalid { kind, name, causes } => status(
            422,
            "Invalid",
            &e.message(),
            Some(json!({
                "name": name,
                "kind": kind,
                "causes": causes.iter().map(|(field, message)| json!({
                    "reason": cause_reason(message),
                    "message": message,
                    "field": field,
                })).collect::<Vec<_>>(),
            })),
        ),
    }
}

fn fail(e: &KubeError) -> Answer {
    Answer::Done(error(e))
}

fn bad_request(message: &str) -> Answer {
    Answer::Done(status(400, "BadRequest", message, None))
}

/// The API server's answer for a path it does not serve (or a cluster that has no API).
pub fn not_found_response() -> Response {
    status(
        404,
        "NotFound",
        "the server could not find the requested resource",
        Some(json!({})),
    )
}

fn not_found() -> Answer {
    Answer::Done(not_found_response())
}

fn method_not_allowed(req: &Request<'_>) -> Answer {
    Answer::Done(status(
        405,
        "MethodNotAllowed",
        &format!(
            "the server does not allow this method on the requested resource ({} {})",
            req.method, req.path
        ),
        Some(json!({})),
    ))
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
    let mut v = json!({
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {
            "name": ns.name,
            "uid": ns.uid,
            "resourceVersion": ns.resource_version.to_string(),
            "creationTimestamp": timestamp(ns.created),
            "labels": ns.labels,
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": ns.phase.as_str()},
    });
    if !ns.annotations.is_empty() {
        v["metadata"]["annotations"] = json!(ns.annotations);
    }
    v
}

/// An object as a watch event carries it: itself, or a one-row `Table` when the watch asked
/// for tables (`kubectl get -w`).
fn watched_json(o: &Object, table: Option<Resource>, version: u64, now: f64) -> Value {
    match table {
        Some(resource) => table_of(resource, &[o], &version.to_string(), now),
        None => object_json(o),
    }
}

/// Objects of `resource` as the API server's `Table` (its columns, even with no rows).
fn table_of(resource: Resource, objects: &[&Object], version: &str, now: f64) -> Value {
    macro_rules! of {
        ($variant:ident) => {
            objects.iter().filter_map(|o| match o {
                Object::$variant(x) => Some(x.as_ref()),
                _ => None,
            })
        };
    }
    match resource {
        Resource::Namespaces => {
            let items: Vec<&Namespace> = objects
                .iter()
                .filter_map(|o| match o {
                    Object::Namespace(n) => Some(n),
                    _ => None,
                })
                .collect();
            tables::namespaces(&items, version, now)
        }
        Resource::Pods => tables::pods(of!(Pod), version, now),
        Resource::Nodes => tables::nodes(of!(Node), version, now),
        Resource::Events => tables::events(of!(Event), version, now),
        Resource::ServiceAccounts => tables::service_accounts(of!(ServiceAccount), version, now),
    }
}

fn object_json(o: &Object) -> Value {
    match o {
        Object::Namespace(n) => namespace_json(n),
        Object::Pod(p) => serde_json::to_value(p).unwrap_or(Value::Null),
        Object::Node(n) => serde_json::to_value(n).unwrap_or(Value::Null),
        Object::Event(e) => serde_json::to_value(e).unwrap_or(Value::Null),
        Object::ServiceAccount(a) => serde_json::to_value(a).unwrap_or(Value::Null),
    }
}

/// The resources served under `/api/v1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// `namespaces`.
    Namespaces,
    /// `pods`.
    Pods,
    /// `nodes`.
    Nodes,
    /// `events`.
    Events,
    /// `serviceaccounts`.
    ServiceAccounts,
}

impl Resource {
    const ALL: [Resource; 5] = [
        Resource::Namespaces,
        Resource::Nodes,
        Resource::Pods,
        Resource::Events,
        Resource::ServiceAccounts,
    ];

    fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The plural name in URLs.
    pub fn name(self) -> &'static str {
        match self {
            Resource::Namespaces => "namespaces",
            Resource::Pods => "pods",
            Resource::Nodes => "nodes",
            Resource::Events => "events",
            Resource::ServiceAccounts => "serviceaccounts",
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Resource::Namespaces => "Namespace",
            Resource::Pods => "Pod",
            Resource::Nodes => "Node",
            Resource::Events => "Event",
            Resource::ServiceAccounts => "ServiceAccount",
        }
    }

    fn namespaced(self) -> bool {
        !matches!(self, Resource::Namespaces | Resource::Nodes)
    }

    fn verbs(self) -> &'static [&'static str] {
        match self {
            Resource::Namespaces => &["create", "delete", "get", "list", "watch"],
            Resource::Pods => &["create", "delete", "get", "list", "patch", "watch"],
            Resource::Nodes | Resource::Events | Resource::ServiceAccounts => {
                &["get", "list", "watch"]
            }
        }
    }

    fn short_names(self) -> &'static [&'static str] {
        match self {
            Resource::Namespaces => &["ns"],
            Resource::Pods => &["po"],
            Resource::Nodes => &["no"],
            Resource::Events => &["ev"],
            Resource::ServiceAccounts => &["sa"],
        }
    }

    /// The fields a field selector may name.
    fn fields(self) -> &'static [&'static str] {
        match self {
            Resource::Pods => &[
                "metadata.name",
                "metadata.namespace",
                "spec.nodeName",
                "spec.schedulerName",
                "spec.serviceAccountName",
                "status.phase",
                "status.podIP",
            ],
            Resource::Events => &[
                "metadata.name",
                "metadata.namespace",
                "involvedObject.kind",
                "involvedObject.name",
                "involvedObject.namespace",
                "involvedObject.uid",
                "involvedObject.fieldPath",
                "reason",
                "source",
                "type",
            ],
            Resource::Namespaces => &["metadata.name", "status.phase"],
            Resource::Nodes | Resource::ServiceAccounts => &["metadata.name", "metadata.namespace"],
        }
    }
}

/// An object's labels and selectable fields.
fn labels_of(o: &Object) -> BTreeMap<String, String> {
    match o {
        Object::Namespace(n) => n.labels.clone(),
        Object::Pod(p) => p.metadata.labels.clone().unwrap_or_default(),
        Object::Node(n) => n.metadata.labels.clone().unwrap_or_default(),
        Object::Event(e) => e.metadata.labels.clone().unwrap_or_default(),
        Object::ServiceAccount(a) => a.metadata.labels.clone().unwrap_or_default(),
    }
}

fn field_of(o: &Object, field: &str) -> Option<String> {
    match (o, field) {
        (Object::Namespace(n), "metadata.name") => Some(n.name.clone()),
        (Object::Namespace(n), "status.phase") => Some(n.phase.as_str().to_owned()),
        (Object::Pod(p), "metadata.name") => p.metadata.name.clone(),
        (Object::Pod(p), "metadata.namespace") => p.metadata.namespace.clone(),
        (Object::Pod(p), "spec.nodeName") => p.spec.as_ref()?.node_name.clone(),
        (Object::Pod(p), "spec.schedulerName") => p.spec.as_ref()?.scheduler_name.clone(),
        (Object::Pod(p), "spec.serviceAccountName") => {
            p.spec.as_ref()?.service_account_name.clone()
        }
        (Object::Pod(p), "status.phase") => p.status.as_ref()?.phase.clone(),
        (Object::Pod(p), "status.podIP") => p.status.as_ref()?.pod_ip.clone(),
        (Object::Node(n), "metadata.name") => n.metadata.name.clone(),
        (Object::Event(e), "metadata.name") => e.metadata.name.clone(),
        (Object::Event(e), "metadata.namespace") => e.metadata.namespace.clone(),
        (Object::Event(e), "involvedObject.kind") => e.involved_object.kind.clone(),
        (Object::Event(e), "involvedObject.name") => e.involved_object.name.clone(),
        (Object::Event(e), "involvedObject.namespace") => e.involved_object.namespace.clone(),
        (Object::Event(e), "involvedObject.uid") => e.involved_object.uid.clone(),
        (Object::Event(e), "involvedObject.fieldPath") => e.involved_object.field_path.clone(),
        (Object::Event(e), "reason") => e.reason.clone(),
        (Object::Event(e), "type") => e.type_.clone(),
        (Object::Event(e), "source") => e.source.as_ref()?.component.clone(),
        (Object::ServiceAccount(a), "metadata.name") => a.metadata.name.clone(),
        (Object::ServiceAccount(a), "metadata.namespace") => a.metadata.namespace.clone(),
        _ => None,
    }
}

/// Which objects of a resource a list or watch is about.
#[derive(Debug, Clone)]
pub struct Filter {
    resource: Resource,
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    fn keep(&self, o: &Object) -> bool {
        o.resource() == self.resource.name()
            && (self.namespace.is_none() || o.namespace() == self.namespace.as_deref())
            && self.labels.matches(&labels_of(o))
            && self.fields.matches(|f| field_of(o, f))
    }
}

/// The current objects of a resource, as [`Object`]s (cloned: lists and watches filter them
/// the same way).
fn current(kube: &Kube, resource: Resource, namespace: Option<&str>) -> Vec<Object> {
    match resource {
        Resource::Namespaces => kube.namespaces().cloned().map(Object::Namespace).collect(),
        Resource::Pods => kube
            .pods(namespace)
            .map(|p| Object::Pod(Box::new(p.clone())))
            .collect(),
        Resource::Nodes => kube
            .nodes()
            .map(|n| Object::Node(Box::new(n.clone())))
            .collect(),
        Resource::Events => kube
            .events(namespace)
            .map(|e| Object::Event(Box::new(e.clone())))
            .collect(),
        Resource::ServiceAccounts => kube
            .service_accounts(namespace)
            .map(|a| Object::ServiceAccount(Box::new(a.clone())))
            .collect(),
    }
}

/// A watch in progress: the lines not yet sent and the version it has reached.
#[derive(Debug)]
pub struct Watch {
    filter: Filter,
    /// The resource version the watch has reported up to.
    pub since: u64,
    /// When the watch ends (`timeoutSeconds`), seconds since the epoch.
    pub until: Option<f64>,
    pending: Vec<String>,
    /// Objects go out as one-row `Table`s of this resource.
    table: Option<Resource>,
}

/// The next part of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send this; more may follow.
    More(String),
    /// Nothing new yet.
    Idle,
    /// Send this (possibly nothing) and end the stream.
    End(String),
}

impl Watch {
    /// The lines for changes since the last call (`{"type":"ADDED","object":{…}}`), or the
    /// end of the watch (its timeout, or an `ERROR` event when the log has moved past it).
    pub fn next(&mut self, kube: &Kube, now: f64) -> Step {
        let mut out: String = self.pending.drain(..).collect();
        match kube.changes_since(self.since) {
            Ok(changes) => {
                for c in changes {
                    self.since = c.version;
                    if self.filter.keep(&c.object) {
                        let line = json!({"type": c.kind.as_str(), "object": watched_json(&c.object, self.table, c.version, now)});
                        out.push_str(&format!("{line}\n"));
                    }
                }
            }
            Err(e) => {
                let line = json!({"type": "ERROR", "object": serde_json::from_str::<Value>(&error(&e).body).unwrap_or(Value::Null)});
                return Step::End(format!("{line}\n"));
            }
        }
        if self.until.is_some_and(|u| now >= u) {
            return Step::End(out);
        }
        if out.is_empty() {
            Step::Idle
        } else {
            Step::More(out)
        }
    }
}

/// A followed log: how much has been sent.
#[derive(Debug)]
pub struct LogFollow {
    namespace: String,
    name: String,
    container: Option<String>,
    uid: String,
    /// Bytes of the log sent so far.
    pub sent: usize,
    /// What is sent first (the log so far, after `tailLines`).
    prefix: String,
}

impl LogFollow {
    /// What the container wrote since the last call; the stream ends when its process has
    /// ended (or the pod is gone).
    pub fn next(&mut self, kube: &Kube) -> Step {
        let same = kube
            .pod(&self.namespace, &self.name)
            .is_ok_and(|p| p.metadata.uid.as_deref() == Some(self.uid.as_str()));
        let mut new = std::mem::take(&mut self.prefix);
        if !same {
            return Step::End(new);
        }
        match kube.log(
            &self.namespace,
            &self.name,
            self.container.as_deref(),
            false,
        ) {
            Ok((text, live)) => {
                // A restart starts a new log: follow it from its beginning.
                let start = if text.len() < self.sent { 0 } else { self.sent };
                new.push_str(text.get(start..).unwrap_or(""));
                self.sent = text.len();
                match (live, new.is_empty()) {
                    (false, _) => Step::End(new),
                    (true, true) => Step::Idle,
                    (true, false) => Step::More(new),
                }
            }
            Err(_) => Step::End(new),
        }
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
    annotations: BTreeMap<String, String>,
}

fn is_protobuf(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|c| c.starts_with("application/vnd.kubernetes.protobuf"))
}

fn read_namespace(content_type: Option<&str>, body: &[u8]) -> Result<NewNamespace, Answer> {
    if is_protobuf(content_type) {
        // The envelope: the magic `k8s\0`, then a runtime.Unknown holding the object.
        let rest = body
            .strip_prefix(b"k8s\0")
            .ok_or_else(|| bad_request("the protobuf body does not start with the k8s envelope"))?;
        let unknown = k8s_pb::apimachinery::pkg::runtime::Unknown::decode(rest)
            .map_err(|e| bad_request(&format!("the protobuf body cannot be read: {e}")))?;
        let kind = unknown.type_meta.as_ref().and_then(|t| t.kind.as_deref());
        if kind != Some("Namespace") {
            return Err(bad_request(&format!(
                "the body is a {}, not a Namespace",
                kind.unwrap_or("message of no kind")
            )));
        }
        let ns = k8s_pb::api::core::v1::Namespace::decode(unknown.raw.as_deref().unwrap_or(&[]))
            .map_err(|e| bad_request(&format!("the Namespace cannot be read: {e}")))?;
        let meta = ns.metadata.unwrap_or_default();
        return Ok(NewNamespace {
            name: meta.name.unwrap_or_default(),
            labels: meta.labels.into_iter().collect(),
            annotations: meta.annotations.into_iter().collect(),
        });
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| bad_request(&format!("couldn't get version/kind; json parse error: {e}")))?;
    Ok(namespace_of(&v))
}

/// A namespace's name, labels and annotations from its JSON (strings only).
fn namespace_of(v: &Value) -> NewNamespace {
    let meta = &v["metadata"];
    let map = |field: &str| {
        meta[field]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default()
    };
    NewNamespace {
        name: meta["name"].as_str().unwrap_or_default().to_owned(),
        labels: map("labels"),
        annotations: map("annotations"),
    }
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
        "/api/v1" => {
            let mut resources = Vec::new();
            for r in Resource::ALL {
                resources.push(json!({
                    "name": r.name(),
                    "singularName": r.kind().to_lowercase(),
                    "namespaced": r.namespaced(),
                    "kind": r.kind(),
                    "verbs": r.verbs(),
                    "shortNames": r.short_names(),
                }));
                if r == Resource::Pods {
                    resources.push(json!({
                        "name": "pods/log",
                        "singularName": "",
                        "namespaced": true,
                        "kind": "Pod",
                        "verbs": ["get"],
                    }));
                }
            }
            json!({"kind": "APIResourceList", "groupVersion": "v1", "resources": resources})
        }
        _ => return None,
    })
}

/// Where a request goes.
enum Route<'a> {
    Collection(Resource, Option<&'a str>),
    Item(Resource, Option<&'a str>, &'a str),
    Log(&'a str, &'a str),
}

fn route<'a>(segments: &[&'a str]) -> Option<Route<'a>> {
    Some(match segments {
        ["api", "v1", r] => Route::Collection(Resource::named(r)?, None),
        ["api", "v1", r, name] if !Resource::named(r)?.namespaced() => {
            Route::Item(Resource::named(r)?, None, name)
        }
        ["api", "v1", "namespaces", ns, r] if Resource::named(r)?.namespaced() => {
            Route::Collection(Resource::named(r)?, Some(ns))
        }
        ["api", "v1", "namespaces", ns, r, name] if Resource::named(r)?.namespaced() => {
            Route::Item(Resource::named(r)?, Some(ns), name)
        }
        ["api", "v1", "namespaces", ns, "pods", name, "log"] => Route::Log(ns, name),
        _ => return None,
    })
}

fn query_value<'q>(query: &'q [(String, String)], key: &str) -> Option<&'q str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn flag(query: &[(String, String)], key: &str) -> bool {
    matches!(query_value(query, key), Some("true" | "1"))
}

/// Answers one request on a cluster's objects at `now`.
pub fn handle(kube: &mut Kube, fargate: &mut Cluster, req: &Request<'_>, now: f64) -> Answer {
    let path = req.path.trim_end_matches('/');
    let path = if path.is_empty() { "/" } else { path };
    if req.method == "GET" {
        if let Some(v) = discovery(path) {
            return done(200, &v);
        }
        if let Some(doc) = openapi::document(path) {
            return done(200, &doc);
        }
    }
    let query = crate::query_pairs(req.query);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let Some(route) = route(&segments) else {
        return not_found();
    };
    match (req.method, route) {
        ("GET", Route::Collection(resource, namespace)) => {
            list(kube, resource, namespace, req, &query, now)
        }
        ("GET", Route::Item(resource, namespace, name)) => {
            get(kube, resource, namespace, name, req, now)
        }
        ("POST", Route::Collection(Resource::Namespaces, None)) => {
            let new = match read_namespace(req.content_type, req.body) {
                Ok(n) => n,
                Err(a) => return a,
            };
            match kube.create_namespace_with(&new.name, new.labels, new.annotations, now) {
                Ok(ns) => done(201, &namespace_json(&ns)),
                Err(e) => fail(&e),
            }
        }
        ("POST", Route::Collection(Resource::Pods, Some(ns))) => {
            create_pod(kube, fargate, ns, req, &query, now)
        }
        ("DELETE", Route::Item(Resource::Namespaces, None, name)) => {
            match kube.delete_namespace(fargate, name, now) {
                Ok(ns) => done(200, &namespace_json(&ns)),
                Err(e) => fail(&e),
            }
        }
        ("DELETE", Route::Item(Resource::Pods, Some(ns), name)) => {
            match kube.delete_pod(fargate, ns, name, now) {
                Ok(p) => done(200, &serde_json::to_value(&p).unwrap_or(Value::Null)),
                Err(e) => fail(&e),
            }
        }
        ("PATCH", Route::Item(Resource::Pods, Some(ns), name)) => {
            patch_pod(kube, ns, name, req, &query)
        }
        ("PUT", Route::Item(Resource::Pods, Some(ns), name)) => {
            replace_pod(kube, ns, name, req, &query)
        }
        ("PATCH" | "PUT", Route::Item(Resource::Namespaces, None, name)) => {
            update_namespace(kube, name, req)
        }
        ("GET", Route::Log(ns, name)) => log(kube, ns, name, &query),
        _ => method_not_allowed(req),
    }
}

fn get(
    kube: &Kube,
    resource: Resource,
    namespace: Option<&str>,
    name: &str,
    req: &Request<'_>,
    now: f64,
) -> Answer {
    let version = kube.resource_version().to_string();
    let table = wants_table(req.accept);
    let ns = namespace.unwrap_or("");
    let found = match resource {
        Resource::Namespaces => kube.namespace(name).map(|n| {
            if table {
                tables::namespaces(&[n], &version, now)
            } else {
                namespace_json(n)
            }
        }),
        Resource::Pods => kube.pod(ns, name).map(|p| {
            if table {
                tables::pods(std::iter::once(p), &version, now)
            } else {
                serde_json::to_value(p).unwrap_or(Value::Null)
            }
        }),
        Resource::Nodes => kube.node(name).map(|n| {
            if table {
                tables::nodes(std::iter::once(n), &version, now)
            } else {
                serde_json::to_value(n).unwrap_or(Value::Null)
            }
        }),
        Resource::ServiceAccounts => kube.service_account(ns, name).map(|a| {
            if table {
                tables::service_accounts(std::iter::once(a), &version, now)
            } else {
                serde_json::to_value(a).unwrap_or(Value::Null)
            }
        }),
        Resource::Events => kube
            .events(Some(ns))
            .find(|e| e.metadata.name.as_deref() == Some(name))
            .ok_or_else(|| KubeError::NotFound {
                resource: "events",
                name: name.to_owned(),
            })
            .map(|e| {
                if table {
                    tables::events(std::iter::once(e), &version, now)
                } else {
                    serde_json::to_value(e).unwrap_or(Value::Null)
                }
            }),
    };
    match found {
        Ok(v) => done(200, &v),
        Err(e) => fail(&e),
    }
}

fn list(
    kube: &Kube,
    resource: Resource,
    namespace: Option<&str>,
    req: &Request<'_>,
    query: &[(String, String)],
    now: f64,
) -> Answer {
    let labels = match LabelSelector::parse(query_value(query, "labelSelector").unwrap_or("")) {
        Ok(l) => l,
        Err(m) => return bad_request(&m),
    };
    let fields = match FieldSelector::parse(
        query_value(query, "fieldSelector").unwrap_or(""),
        resource.fields(),
    ) {
        Ok(f) => f,
        Err(m) => return bad_request(&m),
    };
    let filter = Filter {
        resource,
        namespace: namespace.map(str::to_owned),
        labels,
        fields,
    };
    let version = kube.resource_version();
    if flag(query, "watch") {
        let table = wants_table(req.accept).then_some(resource);
        let from = query_value(query, "resourceVersion").unwrap_or("");
        let (since, pending) = match from.parse::<u64>() {
            Ok(v) if v > 0 => (v, Vec::new()),
            _ => {
                // No version: the current objects first, as ADDED events.
                let lines = current(kube, resource, namespace)
                    .into_iter()
                    .filter(|o| filter.keep(o))
                    .map(|o| format!("{}\n", json!({"type": "ADDED", "object": watched_json(&o, table, version, now)})))
                    .collect();
                (version, lines)
            }
        };
        if let Err(e) = kube.changes_since(since) {
            return fail(&e);
        }
        let until = query_value(query, "timeoutSeconds")
            .and_then(|t| t.parse::<f64>().ok())
            .map(|t| now + t);
        return Answer::Watch(Box::new(Watch {
            filter,
            since,
            until,
            pending,
            table,
        }));
    }
    let version = version.to_string();
    let table = wants_table(req.accept);
    // Pods are the one list that grows large; they are filtered by reference, not cloned.
    if resource == Resource::Pods {
        let wrap = |p: &core::Pod| Object::Pod(Box::new(p.clone()));
        let simple =
            filter.fields == FieldSelector::default() && filter.labels == LabelSelector::default();
        let items: Vec<&core::Pod> = kube
            .pods(namespace)
            .filter(|p| simple || filter.keep(&wrap(p)))
            .collect();
        return if table {
            done(200, &tables::pods(items.into_iter(), &version, now))
        } else {
            done(
                200,
                &json!({
                    "kind": "PodList",
                    "apiVersion": "v1",
                    "metadata": {"resourceVersion": version},
                    "items": items,
                }),
            )
        };
    }
    let objects: Vec<Object> = current(kube, resource, namespace)
        .into_iter()
        .filter(|o| filter.keep(o))
        .collect();
    if table {
        let refs: Vec<&Object> = objects.iter().collect();
        return done(200, &table_of(resource, &refs, &version, now));
    }
    done(
        200,
        &json!({
            "kind": format!("{}List", resource.kind()),
            "apiVersion": "v1",
            "metadata": {"resourceVersion": version},
            "items": objects.iter().map(object_json).collect::<Vec<_>>(),
        }),
    )
}

/// Reads a pod from a JSON body, applying `fieldValidation` (`Strict`, `Warn` — the default —
/// or `Ignore`) to fields the API does not have.
fn read_pod(body: &[u8], validation: Option<&str>) -> Result<(core::Pod, Vec<String>), Answer> {
    let given: Value = serde_json::from_slice(body)
        .map_err(|e| bad_request(&format!("couldn't get version/kind; json parse error: {e}")))?;
    let kind = given.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind != "Pod" {
        return Err(bad_request(&format!(
            "the body is a {}, not a Pod",
            if kind.is_empty() {
                "document with no kind"
            } else {
                kind
            }
        )));
    }
    let pod: core::Pod = serde_json::from_value(given.clone()).map_err(|e| {
        bad_request(&format!(
            "Pod in version \"v1\" cannot be handled as a Pod: {e}"
        ))
    })?;
    let understood = serde_json::to_value(&pod).unwrap_or(Value::Null);
    let unknown = patch::unknown_fields(&given, &understood);
    let words: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field \"{f}\""))
        .collect();
    match validation.unwrap_or("Warn") {
        "Strict" if !words.is_empty() => Err(bad_request(&format!(
            "Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: {}",
            words.join(", ")
        ))),
        "Ignore" => Ok((pod, Vec::new())),
        _ => Ok((pod, words)),
    }
}

/// A pod from a request's body: JSON only (a protobuf body is 415), `fieldValidation` applied.
fn read_pod_request(
    req: &Request<'_>,
    query: &[(String, String)],
) -> Result<(core::Pod, Vec<String>), Answer> {
    if is_protobuf(req.content_type) {
        return Err(Answer::Done(status(
            415,
            "UnsupportedMediaType",
            "fargate-sim reads pods as JSON; send the pod with Content-Type: application/json",
            Some(json!({})),
        )));
    }
    read_pod(req.body, query_value(query, "fieldValidation"))
}

/// Puts the pod in the request's namespace; one it names must be that one.
fn place_in(pod: &mut core::Pod, namespace: &str) -> Result<(), Answer> {
    match pod.metadata.namespace.as_deref() {
        Some(ns) if ns != namespace => Err(bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        )),
        _ => {
            pod.metadata.namespace = Some(namespace.to_owned());
            Ok(())
        }
    }
}

/// The stored pod with `code` and the validation warnings, or the model's refusal.
fn pod_answer(code: u16, result: Result<core::Pod, KubeError>, warnings: Vec<String>) -> Answer {
    match result {
        Ok(p) => {
            let mut r = ok(code, &serde_json::to_value(&p).unwrap_or(Value::Null));
            r.warnings = warnings;
            Answer::Done(r)
        }
        Err(e) => fail(&e),
    }
}

fn create_pod(
    kube: &mut Kube,
    fargate: &mut Cluster,
    namespace: &str,
    req: &Request<'_>,
    query: &[(String, String)],
    now: f64,
) -> Answer {
    let (mut pod, warnings) = match read_pod_request(req, query) {
        Ok(p) => p,
        Err(a) => return a,
    };
    if let Err(a) = place_in(&mut pod, namespace) {
        return a;
    }
    pod_answer(201, kube.create_pod(fargate, pod, now), warnings)
}

fn patch_pod(
    kube: &mut Kube,
    namespace: &str,
    name: &str,
    req: &Request<'_>,
    query: &[(String, String)],
) -> Answer {
    let current = match kube.pod(namespace, name) {
        Ok(p) => serde_json::to_value(p).unwrap_or(Value::Null),
        Err(e) => return fail(&e),
    };
    let patch: Value = match serde_json::from_slice(req.body) {
        Ok(v) => v,
        Err(e) => return bad_request(&format!("error decoding patch: {e}")),
    };
    let mut merged = current;
    match patch_kind(req.content_type) {
        Some(PatchKind::Strategic) => patch::strategic(&mut merged, &patch),
        Some(PatchKind::Merge) => patch::merge(&mut merged, &patch),
        None => return unsupported_patch(req.content_type),
    }
    let body = merged.to_string();
    let (pod, warnings) = match read_pod(body.as_bytes(), query_value(query, "fieldValidation")) {
        Ok(p) => p,
        Err(a) => return a,
    };
    if pod.metadata.name.as_deref() != Some(name)
        || pod.metadata.namespace.as_deref() != Some(namespace)
    {
        return bad_request("the name and namespace of a pod cannot be changed by a patch");
    }
    pod_answer(200, kube.update_pod(pod), warnings)
}

/// `PATCH` (`kubectl apply`, `label`, `annotate`) or `PUT` of a namespace: its labels and
/// annotations change; the rest of it is the server's.
fn update_namespace(kube: &mut Kube, name: &str, req: &Request<'_>) -> Answer {
    let current = match kube.namespace(name) {
        Ok(ns) => namespace_json(ns),
        Err(e) => return fail(&e),
    };
    let new = if req.method == "PUT" {
        match read_namespace(req.content_type, req.body) {
            Ok(n) => n,
            Err(a) => return a,
        }
    } else {
        let patch: Value = match serde_json::from_slice(req.body) {
            Ok(v) => v,
            Err(e) => return bad_request(&format!("error decoding patch: {e}")),
        };
        let mut merged = current;
        match patch_kind(req.content_type) {
            Some(PatchKind::Strategic) => patch::strategic(&mut merged, &patch),
            Some(PatchKind::Merge) => patch::merge(&mut merged, &patch),
            None => return unsupported_patch(req.content_type),
        }
        namespace_of(&merged)
    };
    if new.name != name {
        return bad_request(&format!(
            "the name of the object ({}) does not match the name on the URL ({name})",
            new.name
        ));
    }
    match kube.update_namespace_metadata(name, new.labels, new.annotations) {
        Ok(ns) => done(200, &namespace_json(&ns)),
        Err(e) => fail(&e),
    }
}

/// The patch formats served.
enum PatchKind {
    Strategic,
    Merge,
}

fn patch_kind(content_type: Option<&str>) -> Option<PatchKind> {
    match content_type.unwrap_or("").split(';').next().unwrap_or("") {
        "application/strategic-merge-patch+json" => Some(PatchKind::Strategic),
        "application/merge-patch+json" => Some(PatchKind::Merge),
        _ => None,
    }
}

fn unsupported_patch(content_type: Option<&str>) -> Answer {
    let other = content_type.unwrap_or("").split(';').next().unwrap_or("");
    Answer::Done(status(
        415,
        "UnsupportedMediaType",
        &format!(
            "the body of the request was in an unknown format - accepted media types include: application/strategic-merge-patch+json, application/merge-patch+json (not {other})"
        ),
        Some(json!({})),
    ))
}

/// `PUT` (`kubectl replace`): the whole pod, under the same rules as a patch (only images,
/// `activeDeadlineSeconds` and added tolerations may change in its spec).
fn replace_pod(
    kube: &mut Kube,
    namespace: &str,
    name: &str,
    req: &Request<'_>,
    query: &[(String, String)],
) -> Answer {
    let (mut pod, warnings) = match read_pod_request(req, query) {
        Ok(p) => p,
        Err(a) => return a,
    };
    let given = pod.metadata.name.clone().unwrap_or_default();
    if given != name {
        return bad_request(&format!(
            "the name of the object ({given}) does not match the name on the URL ({name})"
        ));
    }
    if let Err(a) = place_in(&mut pod, namespace) {
        return a;
    }
    pod_answer(200, kube.update_pod(pod), warnings)
}

fn log(kube: &Kube, namespace: &str, name: &str, query: &[(String, String)]) -> Answer {
    let container = query_value(query, "container").filter(|c| !c.is_empty());
    let previous = flag(query, "previous");
    let pod = match kube.pod(namespace, name) {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    let (text, live) = match kube.log(namespace, name, container, previous) {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    let full = text.len();
    let mut text = text.to_owned();
    if let Some(n) = query_value(query, "tailLines").and_then(|n| n.parse::<usize>().ok()) {
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        text = lines[lines.len().saturating_sub(n)..].concat();
    }
    if let Some(n) = query_value(query, "limitBytes").and_then(|n| n.parse::<usize>().ok()) {
        let mut end = n.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    if flag(query, "follow") && live && !previous {
        return Answer::Log(Box::new(LogFollow {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            container: container.map(str::to_owned),
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            sent: full,
            prefix: text,
        }));
    }
    Answer::Done(Response {
        status: 200,
        content_type: "text/plain",
        body: text,
        warnings: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use scheduler::cluster::SeqIds;

    fn kube() -> Kube {
        Kube::new(Box::new(SeqIds::new(1)), "eu-west-1", 0.0)
    }

    fn fargate() -> Cluster {
        Cluster::new(
            "c",
            "eu-west-1",
            "111122223333",
            vec![],
            Box::new(SeqIds::new(2)),
        )
    }

    /// A whole answer to one request on a fresh cluster's objects.
    fn answer(k: &mut Kube, r: &Request<'_>, now: f64) -> Response {
        handle(k, &mut fargate(), r, now)
            .done()
            .expect("a whole response")
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
        let r = answer(
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
        let r = answer(
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
        let r = answer(
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
        let r = answer(
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
        let r = answer(&mut kube(), &req("GET", "/apis/apps/v1", b""), 1.0);
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
