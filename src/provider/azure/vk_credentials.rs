//! A container group that runs the azure-aci virtual kubelet must give it an Azure identity.
//!
//! azure-aci (v1.6.4, `pkg/auth/auth_config.go`, `SetAuthConfig`) reads, in order,
//! `AZURE_AUTH_LOCATION`, `AKS_CREDENTIAL_LOCATION`, then `AZURE_CLIENT_ID` (with
//! `AZURE_CLIENT_SECRET` and `AZURE_TENANT_ID`: a service principal) and
//! `VIRTUALNODE_USER_IDENTITY_CLIENTID` (a user-assigned managed identity); an empty value
//! counts as unset. With none it exits at start ("neither AZURE_CLIENT_ID or
//! VIRTUALNODE_USER_IDENTITY_CLIENTID is being set"). A container is taken for azure-aci
//! when its environment has `ACI_RESOURCE_GROUP`, which azure-aci requires. This check
//! refuses such a container before anything reaches Azure.

use crate::provider::AttrProblem;
use crate::value::{Path, PathSeg, Value};

/// Whether an environment value is set: a non-empty string, or unknown until apply.
fn is_set(value: Option<&Value>) -> bool {
    match value.map(Value::unmarked) {
        Some(Value::Unknown) => true,
        Some(Value::String(text)) => !text.trim().is_empty(),
        _ => false,
    }
}

/// The identity settings azure-aci reads, in its order.
const IDENTITY_KEYS: [&str; 4] = [
    "AZURE_AUTH_LOCATION",
    "AKS_CREDENTIAL_LOCATION",
    "VIRTUALNODE_USER_IDENTITY_CLIENTID",
    "AZURE_CLIENT_ID",
];

/// A problem with the virtual kubelet's identity is one problem reported at each place that
/// should have held a value (the engine joins them into one diagnostic, and points at the
/// variable a place was given from): the env entries that are present but empty, else the
/// map itself.
pub(crate) fn check(config: &Value) -> Vec<AttrProblem> {
    let mut problems = Vec::new();
    let containers = config.get("containers").and_then(Value::as_list);
    for (index, container) in containers.into_iter().flatten().enumerate() {
        let Some(env) = container.get("env").and_then(Value::as_map) else {
            continue;
        };
        if !env.contains_key("ACI_RESOURCE_GROUP") {
            continue;
        }
        let secure = container.get("secure_env").and_then(Value::as_map);
        let secure_value = |name: &str| secure.and_then(|secure| secure.get(name));
        let at = |keys: &[&str]| -> Path {
            let mut path = vec![PathSeg::Key("containers".into()), PathSeg::Index(index)];
            path.extend(keys.iter().map(|key| PathSeg::Key((*key).into())));
            path
        };
        // The entry when it is written, else the map it belongs in.
        let entry = |map: &str, key: &str, present: bool| {
            if present { at(&[map, key]) } else { at(&[map]) }
        };
        let from_file =
            is_set(env.get("AZURE_AUTH_LOCATION")) || is_set(env.get("AKS_CREDENTIAL_LOCATION"));
        let identity = is_set(env.get("VIRTUALNODE_USER_IDENTITY_CLIENTID"));
        let client_id = is_set(env.get("AZURE_CLIENT_ID"));
        if client_id
            && !(is_set(secure_value("AZURE_CLIENT_SECRET")) && is_set(env.get("AZURE_TENANT_ID")))
        {
            let mut places = Vec::new();
            if !is_set(secure_value("AZURE_CLIENT_SECRET")) {
                let written =
                    secure.is_some_and(|secure| secure.contains_key("AZURE_CLIENT_SECRET"));
                places.push(if secure.is_some() {
                    entry("secure_env", "AZURE_CLIENT_SECRET", written)
                } else {
                    at(&[])
                });
            }
            if !is_set(env.get("AZURE_TENANT_ID")) {
                places.push(entry(
                    "env",
                    "AZURE_TENANT_ID",
                    env.contains_key("AZURE_TENANT_ID"),
                ));
            }
            problems.extend(places.into_iter().map(|path| {
                AttrProblem {
                    path,
                    code: "fk::azure::virtual_kubelet_half_a_service_principal",
                    message: "the virtual kubelet gets `AZURE_CLIENT_ID` without both \
                          `AZURE_CLIENT_SECRET` (in `secure_env`) and `AZURE_TENANT_ID`: it \
                          would fail to sign in to Azure"
                        .into(),
                    help: Some(
                        "give the service principal's secret and tenant too, or leave \
                     `AZURE_CLIENT_ID` empty to use the managed identity"
                            .into(),
                    ),
                }
            }));
        } else if !(from_file || identity || client_id) {
            let mut places: Vec<Path> = IDENTITY_KEYS
                .iter()
                .filter(|key| env.contains_key(**key))
                .map(|key| at(&["env", key]))
                .collect();
            if places.is_empty() {
                places.push(at(&["env"]));
            }
            problems.extend(places.into_iter().map(|path| {
                AttrProblem {
                    path,
                    code: "fk::azure::virtual_kubelet_without_identity",
                    message:
                        "the virtual kubelet gets neither `VIRTUALNODE_USER_IDENTITY_CLIENTID` \
                          nor `AZURE_CLIENT_ID`: azure-aci exits at start"
                            .into(),
                    help: Some(
                        "set `VIRTUALNODE_USER_IDENTITY_CLIENTID` to a user-assigned identity's \
                     `client_id` (and give the group that `identity`), or a service \
                     principal's `AZURE_CLIENT_ID`, `AZURE_TENANT_ID` and secret"
                            .into(),
                    ),
                }
            }));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn group(env: &[(&str, Value)], secret: Option<&str>) -> Value {
        let mut container = BTreeMap::from([(
            "env".to_string(),
            Value::Map(
                env.iter()
                    .map(|(key, value)| (key.to_string(), value.clone()))
                    .collect(),
            ),
        )]);
        if let Some(secret) = secret {
            container.insert(
                "secure_env".into(),
                Value::Map(BTreeMap::from([(
                    "AZURE_CLIENT_SECRET".to_string(),
                    Value::str(secret).sensitive(),
                )])),
            );
        }
        Value::Map(BTreeMap::from([(
            "containers".to_string(),
            Value::List(vec![Value::Map(container)]),
        )]))
    }

    fn codes(config: &Value) -> Vec<&'static str> {
        check(config).iter().map(|problem| problem.code).collect()
    }

    #[test]
    fn a_virtual_kubelet_needs_an_identity_or_a_whole_service_principal() {
        let rg = ("ACI_RESOURCE_GROUP", Value::str("rg"));
        let empty = Value::str("");
        assert_eq!(
            codes(&group(
                &[rg.clone(), ("AZURE_CLIENT_ID", empty.clone())],
                None
            )),
            ["fk::azure::virtual_kubelet_without_identity"]
        );
        assert!(
            codes(&group(
                &[
                    rg.clone(),
                    ("VIRTUALNODE_USER_IDENTITY_CLIENTID", Value::Unknown)
                ],
                None
            ))
            .is_empty()
        );
        // Half a service principal: reported at each missing piece (no `secure_env`: the
        // container; no tenant entry: the env map).
        let half = check(&group(
            &[rg.clone(), ("AZURE_CLIENT_ID", Value::str("app"))],
            None,
        ));
        let places: Vec<String> = half
            .iter()
            .map(|problem| crate::value::path_to_string(&problem.path))
            .collect();
        assert_eq!(places, ["containers[0]", "containers[0].env"]);
        assert!(
            half.iter().all(
                |problem| problem.code == "fk::azure::virtual_kubelet_half_a_service_principal"
            )
        );
        assert!(
            codes(&group(
                &[
                    rg.clone(),
                    ("AZURE_CLIENT_ID", Value::str("app")),
                    ("AZURE_TENANT_ID", Value::str("t"))
                ],
                Some("s")
            ))
            .is_empty()
        );
        // Neither: at every identity entry written empty, in azure-aci's order; with none
        // written, at the env map.
        let neither = check(&group(
            &[
                rg.clone(),
                ("AZURE_CLIENT_ID", empty.clone()),
                ("VIRTUALNODE_USER_IDENTITY_CLIENTID", Value::str(" ")),
            ],
            None,
        ));
        let places: Vec<String> = neither
            .iter()
            .map(|problem| crate::value::path_to_string(&problem.path))
            .collect();
        assert_eq!(
            places,
            [
                "containers[0].env.VIRTUALNODE_USER_IDENTITY_CLIENTID",
                "containers[0].env.AZURE_CLIENT_ID"
            ]
        );
        let bare = check(&group(std::slice::from_ref(&rg), None));
        assert_eq!(bare.len(), 1);
        assert_eq!(
            crate::value::path_to_string(&bare[0].path),
            "containers[0].env"
        );
        // Not a virtual kubelet: nothing to say.
        assert!(codes(&group(&[("AZURE_CLIENT_ID", empty)], None)).is_empty());
    }
}
