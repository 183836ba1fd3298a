//! The OpenAPI documents: v3 — what `kubectl apply` reads: the index at `/openapi/v3` and the
//! `api/v1` document — and the v2 document at `/openapi/v2` (JSON) for clients that still read
//! it, with the same operations. kubectl looks in the latter for a `PATCH` operation of the object's
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

/// The OpenAPI v2 (Swagger 2.0) document: the same `PATCH` operations, with v2's shapes (the
/// group-version-kind a list, body parameters in `parameters`).
fn v2() -> Value {
    let mut paths = serde_json::Map::new();
    for r in [Resource::Namespaces, Resource::Pods] {
        let path = if r == Resource::Pods {
            "/api/v1/namespaces/{namespace}/pods/{name}"
        } else {
            "/api/v1/namespaces/{name}"
        };
        let query = |name: &str, kind: &str| json!({"name": name, "in": "query", "type": kind, "uniqueItems": true});
        paths.insert(
            path.to_owned(),
            json!({
                "patch": {
                    "operationId": format!("patchCoreV1{}{}", if r.namespaced() { "Namespaced" } else { "" }, r.kind()),
                    "consumes": ["application/merge-patch+json", "application/strategic-merge-patch+json"],
                    "produces": ["application/json"],
                    "x-kubernetes-action": "patch",
                    "x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": r.kind()}],
                    "parameters": [
                        {"name": "body", "in": "body", "required": true, "schema": {"type": "object"}},
                        query("dryRun", "string"),
                        query("fieldManager", "string"),
                        query("fieldValidation", "string"),
                        query("force", "boolean"),
                    ],
                    "responses": {"200": {"description": "OK"}},
                },
            }),
        );
    }
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": super::VERSION.2},
        "paths": paths,
        "definitions": {},
    })
}

/// A stable hash of a document, for the index's `serverRelativeURL`s.
fn hash(doc: &Value) -> String {
    use std::hash::Hasher as _;
    let mut h = scheduler::placement::Fnv::default();
    h.write(doc.to_string().as_bytes());
    format!("{:016X}", h.finish())
}

/// The document at `path` (`/openapi/v2`, `/openapi/v3`, `/openapi/v3/api/v1`), if it is one.
pub fn document(path: &str) -> Option<Value> {
    match path {
        "/openapi/v2" => Some(v2()),
        "/openapi/v3" => Some(json!({"paths": {
            "api/v1": {"serverRelativeURL": format!("/openapi/v3/api/v1?hash={}", hash(&api_v1()))},
        }})),
        "/openapi/v3/api/v1" => Some(api_v1()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_has_the_pod_patch_with_field_validation_and_its_kind() {
        let doc = document("/openapi/v2").unwrap();
        assert_eq!(doc["swagger"], "2.0");
        let patch = &doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"],
            json!([{"group": "", "version": "v1", "kind": "Pod"}])
        );
        let params: Vec<&str> = patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert!(params.contains(&"fieldValidation"), "{params:?}");
    }

    #[test]
    fn the_v3_index_points_at_the_api_v1_document_by_hash() {
        let index = document("/openapi/v3").unwrap();
        let url = index["paths"]["api/v1"]["serverRelativeURL"]
            .as_str()
            .unwrap();
        assert_eq!(url, format!("/openapi/v3/api/v1?hash={}", hash(&api_v1())));
        assert_eq!(document("/openapi/v3/api/v1").unwrap()["openapi"], "3.0.0");
    }
}
