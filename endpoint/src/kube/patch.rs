//! Patches as the API server applies them to a pod — JSON merge patch (RFC 7386) and the
//! strategic merge patch `kubectl apply` sends, for the lists a pod has merge keys for — and
//! the strict decoding check that finds fields a manifest has and the API does not.

use serde_json::{Map, Value};

/// The merge key of a list under a field name, as the Kubernetes API declares
/// (`patchMergeKey`); other lists are replaced whole.
fn merge_key(field: &str) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "hostAliases"
        | "resourceClaims"
        | "schedulingGates" => match field {
            "hostAliases" => "ip",
            _ => "name",
        },
        "volumeMounts" => "mountPath",
        "ports" => "containerPort",
        "ownerReferences" => "uid",
        _ => return None,
    })
}

/// RFC 7386: objects merge, `null` removes, anything else replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// A strategic merge patch: like [`merge`], except that lists with a merge key merge element
/// by element (`$patch: delete` removes one), `$setElementOrder/…` and `$retainKeys` are
/// directives, and `$deleteFromPrimitiveList/…` removes values.
pub fn strategic(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(t) = target else {
        return;
    };
    if let Some(Value::Array(keep)) = p.get("$retainKeys") {
        let keep: Vec<&str> = keep.iter().filter_map(Value::as_str).collect();
        t.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (k, v) in p {
        if k.starts_with('$') && !k.starts_with("$deleteFromPrimitiveList/") {
            continue;
        }
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(list)), Value::Array(gone)) = (t.get_mut(field), v) {
                list.retain(|x| !gone.contains(x));
            }
            continue;
        }
        if v.is_null() {
            t.remove(k);
            continue;
        }
        match (merge_key(k), v) {
            (Some(key), Value::Array(items)) => {
                let slot = t
                    .entry(k.clone())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if !slot.is_array() {
                    *slot = Value::Array(Vec::new());
                }
                if let Value::Array(list) = slot {
                    for item in items {
                        let id = item.get(key).cloned();
                        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
                        let at = id
                            .as_ref()
                            .and_then(|id| list.iter().position(|e| e.get(key) == Some(id)));
                        match (at, delete) {
                            (Some(i), true) => {
                                list.remove(i);
                            }
                            (Some(i), false) => strategic(&mut list[i], item),
                            (None, true) => {}
                            (None, false) => {
                                let mut fresh = Value::Object(Map::new());
                                strategic(&mut fresh, item);
                                list.push(fresh);
                            }
                        }
                    }
                }
            }
            (_, Value::Object(_)) => {
                strategic(t.entry(k.clone()).or_insert(Value::Null), v);
            }
            _ => {
                t.insert(k.clone(), v.clone());
            }
        }
    }
}

/// The fields of `given` that `understood` (the same document read into the API's types and
/// written back) lacks: `spec.containers[0].imagee`, as strict decoding names them.
pub fn unknown_fields(given: &Value, understood: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(given, understood, "", &mut out);
    out
}

fn walk(given: &Value, understood: &Value, path: &str, out: &mut Vec<String>) {
    match (given, understood) {
        (Value::Object(g), Value::Object(u)) => {
            for (k, v) in g {
                if v.is_null() {
                    continue;
                }
                let here = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match u.get(k) {
                    Some(w) => walk(v, w, &here, out),
                    None => out.push(here),
                }
            }
        }
        (Value::Array(g), Value::Array(u)) => {
            for (i, (v, w)) in g.iter().zip(u).enumerate() {
                walk(v, w, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn containers_merge_by_name_and_other_fields_stay() {
        let mut pod = json!({"spec": {"containers": [
            {"name": "a", "image": "nginx:1", "ports": [{"containerPort": 80}]},
            {"name": "b", "image": "busybox"},
        ]}});
        strategic(
            &mut pod,
            &json!({"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
                    "containers": [{"name": "a", "image": "nginx:2"}]}}),
        );
        assert_eq!(pod["spec"]["containers"][0]["image"], "nginx:2");
        assert_eq!(
            pod["spec"]["containers"][0]["ports"][0]["containerPort"],
            80
        );
        assert_eq!(pod["spec"]["containers"][1]["image"], "busybox");
    }

    #[test]
    fn null_removes_and_patch_delete_drops_an_element() {
        let mut pod = json!({"metadata": {"labels": {"a": "1", "b": "2"}},
                             "spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        strategic(
            &mut pod,
            &json!({"metadata": {"labels": {"a": null}},
                    "spec": {"containers": [{"name": "b", "$patch": "delete"}]}}),
        );
        assert_eq!(pod["metadata"]["labels"], json!({"b": "2"}));
        assert_eq!(pod["spec"]["containers"], json!([{"name": "a"}]));
    }

    #[test]
    fn unknown_fields_are_named_with_their_path() {
        let given = json!({"spec": {"containers": [{"name": "a", "imagee": "x"}], "bogus": 1}});
        let understood = json!({"spec": {"containers": [{"name": "a"}]}});
        assert_eq!(
            unknown_fields(&given, &understood),
            // In key order: the body is read into a sorted map.
            ["spec.bogus", "spec.containers[0].imagee"]
        );
    }
}
