//! The OpenAPI v3 documents `kubectl apply` reads: the index at `/openapi/v3` and the `api/v1`
//! document. kubectl looks in the latter for a `PATCH` operation of the object's
//! group-version-kind that takes a `fieldValidation` parameter; finding it, it leaves field
//! validation to the server (`fieldValidation=Strict`) instead of downloading OpenAPI v2. The
//! schemas themselves are not published (`components.schemas` is empty), so kubectl builds
//! strategic merge patches from its own built-in types.

use serde_json::{Value, json};

use super::Resource;

/// The `api/v1` document.
fn api_v1() -> Value {
    let mut paths = serde_json::Map::new();
    for r in [Resource::Namespaces, Resource::Pods] {
        let path = if r == Resource::Pods {
            "/api/v1/namespaces/{namespace}/pods/{name}".to_owned()
        } else {
            "/api/v1/namespaces/{name}".to_owned()
        };
        let body = json!({"schema": {"type": "object"}});
        paths.insert(
            path,
            json!({
                "patch": {
                    "operationId": format!("patchCoreV1{}{}", if r.namespaced() { "Namespaced" } else { "" }, r.kind()),
                    "x-kubernetes-action": "patch",
                    "x-kubernetes-group-version-kind": {"group": "", "version": "v1", "kind": r.kind()},
                    "parameters": [
                        {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                        {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                        {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                        {"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": true}},
                    ],
                    "requestBody": {"content": {
                        "application/merge-patch+json": body,
                        "application/strategic-merge-patch+json": body,
                    }, "required": true},
                    "responses": {"200": {"description": "OK"}},
                },
            }),
        );
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": super::VERSION.2},
        "paths": paths,
        "components": {"schemas": {}},
    })
}

/// A stable hash of a document, for the index's `serverRelativeURL`s.
fn hash(doc: &Value) -> String {
    use std::hash::Hasher as _;
    let mut h = scheduler::placement::Fnv::default();
    h.write(doc.to_string().as_bytes());
    format!("{:016X}", h.finish())
}

/// The document at `path` (`/openapi/v3`, `/openapi/v3/api/v1`), if it is one.
pub fn document(path: &str) -> Option<Value> {
    match path {
        "/openapi/v3" => Some(json!({"paths": {
            "api/v1": {"serverRelativeURL": format!("/openapi/v3/api/v1?hash={}", hash(&api_v1()))},
        }})),
        "/openapi/v3/api/v1" => Some(api_v1()),
        _ => None,
    }
}
