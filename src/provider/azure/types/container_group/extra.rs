//! What a container group carries that fk does not model (a GPU request, `dnsConfig`,
//! `diagnostics`, Key Vault references, a managed identity while fk has no attribute for
//! it, ...), so that an in-place PUT — a full replacement of the group — does not drop it.
//!
//! The mechanism is generic: the part of a GET body that fk's own body for the same state
//! does not reproduce is kept in the computed attribute `unmodeled` (ARM's JSON spelling),
//! and merged back into every PUT of that group. Once fk models a property, its body carries
//! it and it drops out of `unmodeled` by itself. Elements of named lists (containers,
//! volumes, environment variables) are matched by `name`. Read-only fields are never kept.

use serde_json::{Map, Value as Json};

/// Response-only members of the resource itself: never sent back.
const TOP_READ_ONLY: &[&str] = &["id", "name", "type", "systemData"];

/// Response-only members at any depth: never sent back.
const READ_ONLY: &[&str] = &[
    "provisioningState",
    "instanceView",
    "fqdn",
    "ip",
    "isCreatedFromStandbyPool",
    "principalId",
    "tenantId",
    "clientId",
];

/// Lists whose entries fk may not model at all (an environment variable that is a Key
/// Vault reference): an entry fk's body lacks is added back. In other named lists
/// (containers, volumes) every entry is modeled, so one missing from the body was removed
/// by the module and stays removed.
const OPEN_LISTS: &[&str] = &["environmentVariables"];

fn is_empty(value: &Json) -> bool {
    match value {
        Json::Null => true,
        Json::Array(items) => items.is_empty(),
        Json::Object(map) => map.is_empty(),
        _ => false,
    }
}

fn name_of(value: &Json) -> Option<&str> {
    value.get("name").and_then(Json::as_str)
}

fn without_read_only(value: &Json) -> Json {
    match value {
        Json::Object(map) => Json::Object(
            map.iter()
                .filter(|(key, _)| !READ_ONLY.contains(&key.as_str()))
                .map(|(key, item)| (key.clone(), without_read_only(item)))
                .collect(),
        ),
        Json::Array(items) => Json::Array(items.iter().map(without_read_only).collect()),
        other => other.clone(),
    }
}

/// The part of `actual` (a GET body) that `modeled` (fk's body for the same state) lacks;
/// `None` when there is none.
pub(crate) fn unmodeled(actual: &Json, modeled: &Json) -> Option<Json> {
    let mut actual = actual.clone();
    if let Some(map) = actual.as_object_mut() {
        map.retain(|key, _| !TOP_READ_ONLY.contains(&key.as_str()));
    }
    unmodeled_at(&actual, modeled)
}

fn unmodeled_at(actual: &Json, modeled: &Json) -> Option<Json> {
    match (actual, modeled) {
        (Json::Object(actual), Json::Object(modeled)) => {
            let mut out = Map::new();
            for (key, value) in actual {
                if READ_ONLY.contains(&key.as_str()) || is_empty(value) {
                    continue;
                }
                let extra = match modeled.get(key) {
                    None => Some(without_read_only(value)).filter(|value| !is_empty(value)),
                    Some(model) => unmodeled_at(value, model),
                };
                if let Some(extra) = extra {
                    out.insert(key.clone(), extra);
                }
            }
            (!out.is_empty()).then_some(Json::Object(out))
        }
        (Json::Array(actual), Json::Array(modeled)) => {
            let mut out = Vec::new();
            for item in actual {
                let Some(name) = name_of(item) else {
                    continue;
                };
                match modeled.iter().find(|model| name_of(model) == Some(name)) {
                    None => out.push(without_read_only(item)),
                    Some(model) => {
                        if let Some(Json::Object(mut extra)) = unmodeled_at(item, model) {
                            extra.insert("name".into(), Json::String(name.into()));
                            out.push(Json::Object(extra));
                        }
                    }
                }
            }
            (!out.is_empty()).then_some(Json::Array(out))
        }
        _ => None,
    }
}

/// Merges `extra` into `body`; returns the part of `extra` that found a place (what the PUT
/// keeps). Members fk's body already has are never overwritten.
pub(crate) fn merge(body: &mut Json, extra: &Json) -> Option<Json> {
    merge_at(body, extra, "")
}

fn merge_at(body: &mut Json, extra: &Json, key: &str) -> Option<Json> {
    match (body, extra) {
        (Json::Object(body), Json::Object(extra)) => {
            let mut kept = Map::new();
            for (member, value) in extra {
                match body.get_mut(member) {
                    None => {
                        body.insert(member.clone(), value.clone());
                        kept.insert(member.clone(), value.clone());
                    }
                    Some(existing) => {
                        if let Some(part) = merge_at(existing, value, member) {
                            kept.insert(member.clone(), part);
                        }
                    }
                }
            }
            (!kept.is_empty()).then_some(Json::Object(kept))
        }
        (Json::Array(body), Json::Array(extra)) => {
            let mut kept = Vec::new();
            let open = OPEN_LISTS.contains(&key);
            for item in extra {
                let Some(name) = name_of(item) else {
                    continue;
                };
                match body
                    .iter_mut()
                    .find(|existing| name_of(existing) == Some(name))
                {
                    // The module now sets this entry itself: its value wins.
                    Some(_) if open => {}
                    Some(existing) => {
                        if let Some(Json::Object(mut part)) = merge_at(existing, item, "") {
                            part.insert("name".into(), Json::String(name.into()));
                            kept.push(Json::Object(part));
                        }
                    }
                    None if open => {
                        body.push(item.clone());
                        kept.push(item.clone());
                    }
                    None => {}
                }
            }
            (!kept.is_empty()).then_some(Json::Array(kept))
        }
        _ => None,
    }
}

/// Dotted paths of the leaves of `extra`
/// (`properties.containers[etcd].properties.resources.requests.gpu.count`) for plan notes.
pub(crate) fn paths(extra: &Json) -> Vec<String> {
    let mut out = Vec::new();
    collect_paths(extra, String::new(), false, &mut out);
    out.sort();
    out
}

fn collect_paths(value: &Json, at: String, in_named: bool, out: &mut Vec<String>) {
    match value {
        Json::Object(map) => {
            for (key, item) in map {
                if in_named && key == "name" {
                    continue;
                }
                let path = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                collect_paths(item, path, false, out);
            }
        }
        Json::Array(items) if !items.is_empty() && items.iter().all(|i| name_of(i).is_some()) => {
            for item in items {
                let path = format!("{at}[{}]", name_of(item).unwrap_or("?"));
                collect_paths(item, path, true, out);
            }
        }
        _ => out.push(at),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keeps_what_the_model_lacks_and_merges_it_back() {
        let actual = json!({
            "id": "/x", "name": "g", "location": "westeurope",
            "identity": {"type": "SystemAssigned", "principalId": "p", "tenantId": "t"},
            "properties": {
                "provisioningState": "Succeeded",
                "osType": "Linux",
                "dnsConfig": {"nameServers": ["1.1.1.1"]},
                "initContainers": [],
                "containers": [{"name": "etcd", "properties": {
                    "image": "etcd",
                    "resources": {"requests": {"cpu": 1.0, "memoryInGB": 2.0,
                                                "gpu": {"count": 1, "sku": "V100"}}},
                    "environmentVariables": [
                        {"name": "A", "value": "1"},
                        {"name": "K", "secureValueReference": "kv-ref"}
                    ],
                    "instanceView": {"restartCount": 0}
                }}]
            }
        });
        let modeled = json!({
            "location": "westeurope",
            "properties": {
                "osType": "Linux",
                "containers": [{"name": "etcd", "properties": {
                    "image": "etcd",
                    "resources": {"requests": {"cpu": 1.0, "memoryInGB": 2.0}},
                    "environmentVariables": [{"name": "A", "value": "1"}]
                }}]
            }
        });
        let extra = unmodeled(&actual, &modeled).expect("something unmodeled");
        assert_eq!(
            extra,
            json!({
                "identity": {"type": "SystemAssigned"},
                "properties": {
                    "dnsConfig": {"nameServers": ["1.1.1.1"]},
                    "containers": [{"name": "etcd", "properties": {
                        "resources": {"requests": {"gpu": {"count": 1, "sku": "V100"}}},
                        "environmentVariables": [{"name": "K", "secureValueReference": "kv-ref"}]
                    }}]
                }
            })
        );
        let mut body = modeled.clone();
        let kept = merge(&mut body, &extra);
        assert_eq!(kept.as_ref(), Some(&extra));
        assert_eq!(
            body.pointer("/properties/containers/0/properties/resources/requests/gpu/count"),
            Some(&json!(1))
        );
        assert_eq!(
            body.pointer("/properties/containers/0/properties/environmentVariables/1/name"),
            Some(&json!("K"))
        );
        assert_eq!(
            unmodeled(&body, &body),
            None,
            "a merged body has nothing left over"
        );
        assert_eq!(
            paths(&extra),
            [
                "identity.type",
                "properties.containers[etcd].properties.environmentVariables[K].secureValueReference",
                "properties.containers[etcd].properties.resources.requests.gpu.count",
                "properties.containers[etcd].properties.resources.requests.gpu.sku",
                "properties.dnsConfig.nameServers",
            ]
        );
    }

    #[test]
    fn what_belongs_to_a_removed_container_is_not_merged() {
        let extra = json!({"properties": {"containers": [
            {"name": "gone", "properties": {"securityContext": {"privileged": true}}}
        ]}});
        let mut body = json!({"properties": {"containers": [{"name": "etcd", "properties": {}}]}});
        assert_eq!(merge(&mut body, &extra), None);
        assert_eq!(
            body,
            json!({"properties": {"containers": [{"name": "etcd", "properties": {}}]}})
        );
    }
}
