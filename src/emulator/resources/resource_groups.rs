//! `Microsoft.Resources/resourceGroups`: synchronous PUT, GET/HEAD, and a DELETE that is a
//! long-running operation (202 + `Location`) deleting everything inside (azure-arm.md §6.1).

use crate::arm_response::{ArmResponse, parse_located_body};
use crate::context::RequestContext;
use crate::names::{is_valid_resource_group_name, key_of, normalize_location, resource_group_id};
use crate::operations;
use crate::world::{ResourceGroupRecord, World};
use axum::http::StatusCode;
use serde_json::{Value, json};

pub(crate) fn put(
    world: &mut World,
    context: &RequestContext<'_>,
    subscription: &str,
    group: &str,
    body: &[u8],
) -> ArmResponse {
    if !is_valid_resource_group_name(group) {
        return ArmResponse::bad_request(
            "InvalidResourceGroupName",
            format!(
                "The resource group name '{group}' is invalid. It can be 1-90 characters of \
                 letters, digits, '-', '_', '.', '(' and ')', and cannot end with a period."
            ),
        );
    }
    let (request, location) = match parse_located_body(body) {
        Ok(located) => located,
        Err(answer) => return answer,
    };
    let location = location.as_str();
    let key = key_of(&resource_group_id(subscription, group));
    let tags = request.get("tags").cloned();
    if let Some(existing) = world.resource_groups.get_mut(&key) {
        if existing.deleting_since_ms.is_some() {
            return being_deleted(&existing.name);
        }
        if normalize_location(location) != existing.location {
            return ArmResponse::conflict(
                "InvalidResourceGroupLocation",
                format!(
                    "Invalid resource group location '{}'. The Resource group already exists in \
                     location '{}'.",
                    normalize_location(location),
                    existing.location
                ),
            );
        }
        existing.tags = tags;
        return ArmResponse::json(StatusCode::OK, render(existing));
    }
    let record = ResourceGroupRecord {
        id: resource_group_id(subscription, group),
        name: group.to_owned(),
        location: normalize_location(location),
        tags,
        deleting_since_ms: None,
    };
    world.log_event(context.now_ms, &record.id, "Created");
    let answer = ArmResponse::json(StatusCode::CREATED, render(&record));
    world.resource_groups.insert(key, record);
    answer
}

pub(crate) fn get(world: &World, subscription: &str, group: &str, head: bool) -> ArmResponse {
    let key = key_of(&resource_group_id(subscription, group));
    match world.resource_groups.get(&key) {
        Some(_) if head => ArmResponse::empty(StatusCode::NO_CONTENT),
        Some(record) => ArmResponse::json(StatusCode::OK, render(record)),
        None if head => ArmResponse::empty(StatusCode::NOT_FOUND),
        None => not_found(group),
    }
}

pub(crate) fn delete(
    world: &mut World,
    context: &RequestContext<'_>,
    subscription: &str,
    group: &str,
) -> ArmResponse {
    let key = key_of(&resource_group_id(subscription, group));
    let Some(record) = world.resource_groups.get_mut(&key) else {
        return not_found(group);
    };
    let group_id = record.id.clone();
    if record.deleting_since_ms.is_none() {
        record.deleting_since_ms = Some(context.now_ms);
        world.log_event(context.now_ms, &group_id, "Deleting");
        delete_contents(world, context.now_ms, &key);
    }
    let operation_id = operations::begin(
        world,
        context,
        &group_id,
        "resource_group_delete",
        context.delay_ms,
        None,
    );
    let location = format!(
        "{}/subscriptions/{subscription}/operationresults/{operation_id}?api-version={}",
        context.base_url, context.api_version
    );
    ArmResponse::empty(StatusCode::ACCEPTED)
        .with_header("location", location)
        .with_header(
            "retry-after",
            operations::retry_after_seconds(context.delay_ms),
        )
}

/// The group a child resource lives in, or the error ARM gives when it is absent or going.
pub(crate) fn find<'w>(
    world: &'w World,
    subscription: &str,
    group: &str,
) -> Result<&'w ResourceGroupRecord, ArmResponse> {
    let key = key_of(&resource_group_id(subscription, group));
    match world.resource_groups.get(&key) {
        Some(record) if record.deleting_since_ms.is_some() => Err(being_deleted(&record.name)),
        Some(record) => Ok(record),
        None => Err(not_found(group)),
    }
}

/// The group for a read of a child: a group being deleted still answers (its contents are
/// already gone, so the child is simply not found).
pub(crate) fn find_readable<'w>(
    world: &'w World,
    subscription: &str,
    group: &str,
) -> Result<&'w ResourceGroupRecord, ArmResponse> {
    let key = key_of(&resource_group_id(subscription, group));
    world
        .resource_groups
        .get(&key)
        .ok_or_else(|| not_found(group))
}

/// Removes resource groups whose delete has finished.
pub(crate) fn settle(world: &mut World, now_ms: u64, delay_ms: u64) {
    let finished: Vec<String> = world
        .resource_groups
        .iter()
        .filter(|(_, record)| {
            record
                .deleting_since_ms
                .is_some_and(|since| now_ms >= since.saturating_add(delay_ms))
        })
        .map(|(key, _)| key.clone())
        .collect();
    for key in finished {
        if let Some(record) = world.resource_groups.remove(&key) {
            world.log_event(now_ms, &record.id, "Deleted");
        }
    }
}

fn delete_contents(world: &mut World, now_ms: u64, group_key: &str) {
    let account_keys: Vec<String> = world
        .storage_accounts
        .iter()
        .filter(|(_, account)| account.resource_group_key == group_key)
        .map(|(key, _)| key.clone())
        .collect();
    for account_key in account_keys {
        if let Some(account) = world.storage_accounts.remove(&account_key) {
            world
                .file_shares
                .retain(|_, share| share.account_key != account_key);
            world.log_event(now_ms, &account.id, "Deleted");
        }
    }
    let prefix = format!("{group_key}/");
    world.identities.retain(|key, _| !key.starts_with(&prefix));
    world
        .role_assignments
        .retain(|key, _| !key.starts_with(&prefix));
    let group_keys: Vec<String> = world
        .container_groups
        .iter()
        .filter(|(_, container_group)| container_group.resource_group_key == group_key)
        .map(|(key, _)| key.clone())
        .collect();
    for container_group_key in group_keys {
        if let Some(container_group) = world.container_groups.remove(&container_group_key) {
            world.log_event(now_ms, &container_group.id, "Deleted");
        }
    }
}

fn render(record: &ResourceGroupRecord) -> Value {
    let state = if record.deleting_since_ms.is_some() {
        "Deleting"
    } else {
        "Succeeded"
    };
    let mut body = json!({
        "id": record.id,
        "name": record.name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": record.location,
        "properties": { "provisioningState": state },
    });
    if let (Some(tags), Some(object)) = (&record.tags, body.as_object_mut()) {
        object.insert("tags".into(), tags.clone());
    }
    body
}

fn not_found(group: &str) -> ArmResponse {
    ArmResponse::not_found(
        "ResourceGroupNotFound",
        format!("Resource group '{group}' could not be found."),
    )
}

fn being_deleted(group: &str) -> ArmResponse {
    ArmResponse::conflict(
        "ResourceGroupBeingDeleted",
        format!(
            "The resource group '{group}' is in deprovisioning state and cannot perform this \
             operation."
        ),
    )
}
