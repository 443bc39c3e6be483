//! `Microsoft.Storage/storageAccounts`: global names, 202 + `Location` creates, listKeys and
//! checkNameAvailability (azure-arm.md §5.1).

use super::resource_groups;
use crate::arm_response::{ArmResponse, parse_json_body, parse_located_body};
use crate::clock::rfc3339;
use crate::context::RequestContext;
use crate::names::{
    InGroup, is_valid_storage_account_name, key_of, normalize_location, storage_account_id,
};
use crate::operations;
use crate::world::{StorageAccountRecord, World};
use axum::http::StatusCode;
use base64::Engine;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

const ACCOUNT_KINDS: &[&str] = &[
    "Storage",
    "StorageV2",
    "BlobStorage",
    "FileStorage",
    "BlockBlobStorage",
];

pub(crate) fn put(
    world: &mut World,
    context: &RequestContext<'_>,
    storage_account: &InGroup,
    body: &[u8],
) -> ArmResponse {
    let (subscription, group, account) = storage_account.parts();
    if !is_valid_storage_account_name(account) {
        return ArmResponse::bad_request("AccountNameInvalid", invalid_name_message(account));
    }
    let resource_group = match resource_groups::find(world, subscription, group) {
        Ok(resource_group) => resource_group.clone(),
        Err(answer) => return answer,
    };
    let (request, location) = match parse_located_body(body) {
        Ok(located) => located,
        Err(answer) => return answer,
    };
    let location = location.as_str();
    if request
        .pointer("/sku/name")
        .and_then(Value::as_str)
        .is_none()
    {
        return ArmResponse::bad_request(
            "InvalidRequestContent",
            "The request content was invalid and cannot be deserialized: required property \
             'sku.name' is missing.",
        );
    }
    let kind = request
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !ACCOUNT_KINDS.contains(&kind) {
        return ArmResponse::bad_request(
            "InvalidRequestContent",
            format!(
                "The value '{kind}' of property 'kind' is invalid. Allowed values are '{}'.",
                ACCOUNT_KINDS.join(", ")
            ),
        );
    }
    let account_id = storage_account_id(&resource_group.id, account);
    let name_key = account.to_ascii_lowercase();
    if let Some(existing) = world.storage_accounts.get_mut(&name_key) {
        if key_of(&existing.id) != key_of(&account_id) {
            return ArmResponse::conflict(
                "StorageAccountAlreadyTaken",
                format!("The storage account named {account} is already taken."),
            );
        }
        if normalize_location(location) != existing.location {
            return ArmResponse::conflict(
                "InvalidResourceLocation",
                format!(
                    "The resource '{account}' already exists in location '{}' in resource group \
                     '{}'. A resource with the same name cannot be created in location '{}'. \
                     Please select a new resource name.",
                    existing.location,
                    resource_group.name,
                    normalize_location(location)
                ),
            );
        }
        existing.body = request;
        let body = render(existing, context);
        return ArmResponse::json(StatusCode::OK, body);
    }
    let record = StorageAccountRecord {
        id: account_id.clone(),
        resource_group_key: key_of(&resource_group.id),
        name: account.to_owned(),
        location: normalize_location(location),
        created_ms: context.now_ms,
        body: request,
    };
    world.log_event(context.now_ms, &account_id, "Creating");
    let location_name = record.location.clone();
    world.storage_accounts.insert(name_key, record);
    let operation_id = operations::begin(
        world,
        context,
        &account_id,
        "storage_account",
        context.delay_ms,
        None,
    );
    let poll_url = format!(
        "{}/subscriptions/{subscription}/providers/Microsoft.Storage/locations/{location_name}/\
         asyncoperations/{operation_id}?monitor=true&api-version={}",
        context.base_url, context.api_version
    );
    ArmResponse::empty(StatusCode::ACCEPTED)
        .with_header("location", poll_url)
        .with_header(
            "retry-after",
            operations::retry_after_seconds(context.delay_ms),
        )
}

pub(crate) fn get(
    world: &World,
    context: &RequestContext<'_>,
    storage_account: &InGroup,
) -> ArmResponse {
    match find(world, storage_account) {
        Ok(record) => ArmResponse::json(StatusCode::OK, render(record, context)),
        Err(answer) => answer,
    }
}

pub(crate) fn delete(
    world: &mut World,
    context: &RequestContext<'_>,
    storage_account: &InGroup,
) -> ArmResponse {
    if find(world, storage_account).is_err() {
        return ArmResponse::empty(StatusCode::NO_CONTENT);
    }
    let account = &storage_account.name;
    let name_key = account.to_ascii_lowercase();
    if let Some(removed) = world.storage_accounts.remove(&name_key) {
        world.log_event(context.now_ms, &removed.id, "Deleted");
    }
    world
        .file_shares
        .retain(|_, share| share.account_key != name_key);
    ArmResponse::empty(StatusCode::OK)
}

pub(crate) fn list_keys(world: &World, storage_account: &InGroup) -> ArmResponse {
    let record = match find(world, storage_account) {
        Ok(record) => record,
        Err(answer) => return answer,
    };
    let keys: Vec<Value> = ["key1", "key2"]
        .iter()
        .zip(account_keys(record))
        .map(|(key_name, value)| {
            json!({
                "keyName": key_name,
                "value": value,
                "permissions": "Full",
                "creationTime": rfc3339(record.created_ms),
            })
        })
        .collect();
    ArmResponse::json(StatusCode::OK, json!({ "keys": keys }))
}

/// The two access keys of an account: 64 bytes each, base64, stable for the account's life.
pub(crate) fn account_keys(record: &StorageAccountRecord) -> Vec<String> {
    ["key1", "key2"]
        .iter()
        .map(|key_name| {
            let seed = format!("{}|{}|{key_name}", key_of(&record.id), record.created_ms);
            let first = Sha256::digest(format!("{seed}|a").as_bytes());
            let second = Sha256::digest(format!("{seed}|b").as_bytes());
            let bytes: Vec<u8> = first.iter().chain(second.iter()).copied().collect();
            base64::engine::general_purpose::STANDARD.encode(bytes)
        })
        .collect()
}

pub(crate) fn check_name_availability(world: &World, body: &[u8]) -> ArmResponse {
    let request = match parse_json_body(body) {
        Ok(request) => request,
        Err(answer) => return answer,
    };
    let name = request
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let answer = if !is_valid_storage_account_name(name) {
        json!({ "nameAvailable": false, "reason": "AccountNameInvalid",
                "message": invalid_name_message(name) })
    } else if world
        .storage_accounts
        .contains_key(&name.to_ascii_lowercase())
    {
        json!({ "nameAvailable": false, "reason": "AlreadyExists",
                "message": format!("The storage account named {name} is already taken.") })
    } else {
        json!({ "nameAvailable": true })
    };
    ArmResponse::json(StatusCode::OK, answer)
}

/// The body of the account with this id, as GET shows it.
pub(crate) fn render_by_id(
    world: &World,
    context: &RequestContext<'_>,
    account_id: &str,
) -> Option<Value> {
    world
        .storage_accounts
        .values()
        .find(|record| key_of(&record.id) == key_of(account_id))
        .map(|record| render(record, context))
}

pub(crate) fn find<'w>(
    world: &'w World,
    storage_account: &InGroup,
) -> Result<&'w StorageAccountRecord, ArmResponse> {
    let (subscription, group, account) = storage_account.parts();
    let resource_group = resource_groups::find_readable(world, subscription, group)?;
    let account_id = storage_account_id(&resource_group.id, account);
    world
        .storage_accounts
        .get(&account.to_ascii_lowercase())
        .filter(|record| key_of(&record.id) == key_of(&account_id))
        .ok_or_else(|| {
            ArmResponse::not_found(
                "ResourceNotFound",
                format!(
                    "The Resource 'Microsoft.Storage/storageAccounts/{account}' under resource \
                     group '{group}' was not found."
                ),
            )
        })
}

fn render(record: &StorageAccountRecord, context: &RequestContext<'_>) -> Value {
    let finished = context.now_ms >= record.created_ms.saturating_add(context.delay_ms);
    let name = &record.name;
    let mut properties = record
        .body
        .get("properties")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let defaults = json!({
        "supportsHttpsTrafficOnly": true,
        "provisioningState": if finished { "Succeeded" } else { "Creating" },
        "creationTime": rfc3339(record.created_ms),
        "primaryLocation": record.location,
        "statusOfPrimary": "available",
        "primaryEndpoints": {
            "blob": format!("https://{name}.blob.core.windows.net/"),
            "file": format!("https://{name}.file.core.windows.net/"),
            "queue": format!("https://{name}.queue.core.windows.net/"),
            "table": format!("https://{name}.table.core.windows.net/"),
            "dfs": format!("https://{name}.dfs.core.windows.net/"),
            "web": format!("https://{name}.web.core.windows.net/"),
        },
    });
    merge(&mut properties, &defaults);
    if let Some(properties) = properties.as_object_mut() {
        properties.insert(
            "provisioningState".into(),
            defaults["provisioningState"].clone(),
        );
    }
    let sku_name = record
        .body
        .pointer("/sku/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let tier = if sku_name.starts_with("Premium") {
        "Premium"
    } else {
        "Standard"
    };
    let mut body = json!({
        "id": record.id,
        "name": record.name,
        "type": "Microsoft.Storage/storageAccounts",
        "location": record.location,
        "kind": record.body.get("kind").cloned().unwrap_or(Value::Null),
        "sku": { "name": sku_name, "tier": tier },
        "properties": properties,
    });
    for optional in ["tags", "extendedLocation", "identity"] {
        if let (Some(value), Some(object)) = (record.body.get(optional), body.as_object_mut()) {
            object.insert(optional.into(), value.clone());
        }
    }
    body
}

/// Adds every member of `defaults` that `target` lacks (one level deep).
pub(crate) fn merge(target: &mut Value, defaults: &Value) {
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let (Some(target), Some(defaults)) = (target.as_object_mut(), defaults.as_object()) {
        for (name, value) in defaults {
            target.entry(name.clone()).or_insert_with(|| value.clone());
        }
    }
}

fn invalid_name_message(name: &str) -> String {
    format!(
        "{name} is not a valid storage account name. Storage account name must be between 3 \
         and 24 characters in length and use numbers and lower-case letters only."
    )
}
