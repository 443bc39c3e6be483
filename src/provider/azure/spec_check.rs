//! fk's request bodies held to the official ContainerInstance OpenAPI spec, with the
//! emulator's validator (`fk::emulator::schema`, the project's one OpenAPI validator) read to
//! the letter: known property names, required properties, JSON types, listed enum values and
//! no read-only fields.
//!
//! The official specs are `$FK_AZURE_SPECS`, else `shared/reference/azure-specs` beside the
//! repository; without them these checks print one line saying so and pass (CI sets
//! `FK_AZURE_SPECS` and fails without it).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::container_group::{self, body as container_group_body};
use super::fixtures::{full_group_config, simulated_get};
use crate::emulator::schema::SpecValidator;

/// The official specs folder, or `None` after one line on stderr saying `check` was not run.
pub(crate) fn official_specs(check: &str) -> Option<PathBuf> {
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

pub(crate) fn load(specs: &Path, relative: &str) -> Json {
    let path = specs.join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read spec file {}: {error}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("spec file {} is not JSON: {error}", path.display()))
}

fn container_spec(check: &str) -> Option<SpecValidator> {
    let specs = official_specs(check)?;
    let path = specs.join("containerinstance/2026-05-01/containerInstance.json");
    Some(SpecValidator::load(&path).unwrap_or_else(|error| panic!("{error}")))
}

/// Problems of `value` against definition `name`, read to the letter, as `path: problem`
/// lines.
fn check_definition(spec: &SpecValidator, name: &str, value: &Json) -> Vec<String> {
    spec.validate_strictly(name, value)
        .into_iter()
        .map(|violation| format!("{}: {}", violation.path, violation.message))
        .collect()
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
    assert!(
        problems.contains("ipAddress.type: missing required property `type`"),
        "{problems}"
    );
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
