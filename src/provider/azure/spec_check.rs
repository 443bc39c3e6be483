//! A small check of request bodies against the official ContainerInstance OpenAPI spec:
//! known property names, required properties, JSON types, enums and no read-only fields.
//! (To be replaced by the emulator's shared validator, `src/emulator/schema.rs`.)
//!
//! The official specs are `$FK_AZURE_SPECS`, else `shared/reference/azure-specs` beside the
//! repository; without them these checks print one line saying so and pass (CI sets
//! `FK_AZURE_SPECS` and fails without it).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::container_group::{self, body as container_group_body};
use super::fixtures::{full_group_config, simulated_get};

/// The official specs folder, or `None` after one line on stderr saying `check` was not run.
pub fn official_specs(check: &str) -> Option<PathBuf> {
    let folder = match std::env::var_os("FK_AZURE_SPECS") {
        Some(folder) => PathBuf::from(folder),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/azure-specs"),
    };
    if folder.join("containerinstance").is_dir() {
        return Some(folder);
    }
    // Written to the stream itself, so the test harness does not swallow the line.
    let _ = writeln!(
        std::io::stderr(),
        "note: `{check}` not run: no official Azure specs (set FK_AZURE_SPECS)"
    );
    None
}

pub fn load(specs: &Path, relative: &str) -> Json {
    let path = specs.join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read spec file {}: {error}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("spec file {} is not JSON: {error}", path.display()))
}

fn container_spec(check: &str) -> Option<Json> {
    let specs = official_specs(check)?;
    Some(load(
        &specs,
        "containerinstance/2026-05-01/containerInstance.json",
    ))
}

/// Problems of `value` against definition `name`, as `path: problem` lines.
pub fn check_definition(spec: &Json, name: &str, value: &Json) -> Vec<String> {
    let mut problems = Vec::new();
    let schema = serde_json::json!({ "$ref": format!("#/definitions/{name}") });
    check(spec, &schema, value, "$", &mut problems);
    problems
}

fn resolve<'a>(spec: &'a Json, schema: &'a Json) -> Option<&'a Json> {
    match schema.get("$ref").and_then(Json::as_str) {
        Some(reference) => {
            let name = reference.strip_prefix("#/definitions/")?;
            spec.pointer(&format!("/definitions/{name}"))
        }
        None => Some(schema),
    }
}

/// Properties a schema allows, own and through `allOf`; `true` in the second slot when an
/// external base (ProxyResource) adds `id`, `name`, `type`, `systemData`.
fn properties_of(spec: &Json, schema: &Json) -> (serde_json::Map<String, Json>, bool) {
    let mut properties = schema
        .get("properties")
        .and_then(Json::as_object)
        .cloned()
        .unwrap_or_default();
    let mut external_base = false;
    for base in schema
        .get("allOf")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        match resolve(spec, base) {
            Some(base) => properties.extend(properties_of(spec, base).0),
            None => external_base = true,
        }
    }
    (properties, external_base)
}

fn check(spec: &Json, schema: &Json, value: &Json, at: &str, problems: &mut Vec<String>) {
    let Some(schema) = resolve(spec, schema) else {
        return;
    };
    if let Some(allowed) = schema.get("enum").and_then(Json::as_array)
        && !allowed.contains(value)
    {
        problems.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    let kind = schema.get("type").and_then(Json::as_str);
    let type_ok = match kind {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    };
    if !type_ok {
        problems.push(format!(
            "{at}: expected {}, found {value}",
            kind.unwrap_or("?")
        ));
        return;
    }
    if let Some(items) = value.as_array() {
        if let Some(item_schema) = schema.get("items") {
            for (idx, item) in items.iter().enumerate() {
                check(spec, item_schema, item, &format!("{at}[{idx}]"), problems);
            }
        }
        return;
    }
    let Some(object) = value.as_object() else {
        return;
    };
    let (properties, external_base) = properties_of(spec, schema);
    for required in schema
        .get("required")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(required) = required.as_str()
            && !object.contains_key(required)
        {
            problems.push(format!("{at}: missing required `{required}`"));
        }
    }
    for (key, item) in object {
        let here = format!("{at}.{key}");
        if let Some(property) = properties.get(key) {
            let read_only = property.get("readOnly") == Some(&Json::Bool(true))
                || resolve(spec, property).and_then(|p| p.get("readOnly"))
                    == Some(&Json::Bool(true));
            if read_only {
                problems.push(format!("{here}: read-only, must not be sent"));
            }
            check(spec, property, item, &here, problems);
        } else if let Some(additional) =
            schema.get("additionalProperties").filter(|a| a.is_object())
        {
            check(spec, additional, item, &here, problems);
        } else if properties.is_empty() && schema.get("type").is_none() {
            // An untyped schema (`emptyDir`) accepts anything.
        } else if !(external_base && ["id", "name", "type", "systemData"].contains(&key.as_str())) {
            problems.push(format!("{here}: unknown property"));
        }
    }
}

#[test]
fn full_featured_put_body_validates_against_the_official_spec() {
    let Some(spec) = container_spec("full_featured_put_body_validates_against_the_official_spec")
    else {
        return;
    };
    let body = container_group_body::to_body(&full_group_config());
    let problems = check_definition(&spec, "ContainerGroup", &body);
    assert_eq!(problems, Vec::<String>::new(), "body: {body:#}");
    let properties = &body["properties"];
    assert!(properties["initContainers"].is_array());
    assert!(properties["volumes"][2]["azureFile"]["storageAccountKey"].is_string());
    let secure = &properties["containers"][0]["properties"]["environmentVariables"];
    assert!(secure.to_string().contains("secureValue"));
}

#[test]
fn validator_rejects_what_the_spec_forbids() {
    let Some(spec) = container_spec("validator_rejects_what_the_spec_forbids") else {
        return;
    };
    let mut body = container_group_body::to_body(&full_group_config());
    body["properties"]["osType"] = Json::String("Plan9".into());
    body["properties"]["containers"][0]["properties"]["memoryGB"] = Json::from(1);
    body["properties"]["provisioningState"] = Json::String("Succeeded".into());
    if let Some(ip) = body["properties"]["ipAddress"].as_object_mut() {
        ip.remove("type");
    }
    let problems = check_definition(&spec, "ContainerGroup", &body).join("\n");
    assert!(problems.contains("Plan9"), "{problems}");
    assert!(
        problems.contains("memoryGB: unknown property"),
        "{problems}"
    );
    assert!(
        problems.contains("provisioningState: read-only"),
        "{problems}"
    );
    assert!(problems.contains("missing required `type`"), "{problems}");
}

#[test]
fn patch_body_validates_against_container_group_update() {
    let Some(spec) = container_spec("patch_body_validates_against_container_group_update") else {
        return;
    };
    let body = serde_json::json!({ "tags": super::shape::tags_to_json(&full_group_config()) });
    assert_eq!(
        check_definition(&spec, "ContainerGroupUpdate", &body),
        Vec::<String>::new()
    );
}

#[test]
fn simulated_get_of_a_full_body_is_a_valid_response() {
    let Some(spec) = container_spec("simulated_get_of_a_full_body_is_a_valid_response") else {
        return;
    };
    let change = container_group::plan(
        &super::cloud::CloudProfile::public(),
        "sub",
        None,
        &full_group_config(),
    );
    let body = container_group_body::to_body(&change.planned);
    let answer = simulated_get(&body, "Succeeded", "Running");
    let problems: Vec<String> = check_definition(&spec, "ContainerGroup", &answer)
        .into_iter()
        .filter(|problem| !problem.contains("read-only"))
        .collect();
    assert_eq!(problems, Vec::<String>::new());
}

/// Runs everywhere: the body fk sends passes what the emulator checks without the specs.
#[test]
fn full_featured_put_body_passes_the_emulators_own_description() {
    let body = container_group_body::to_body(&full_group_config());
    let validator = crate::emulator::schema::described::validator();
    assert_eq!(validator.validate("ContainerGroup", &body), vec![]);
    let mut broken = body.clone();
    broken["properties"]["containers"][0]["properties"]["resources"]["requests"]["cpu"] =
        Json::from("two");
    assert_eq!(validator.validate("ContainerGroup", &broken).len(), 1);
}
