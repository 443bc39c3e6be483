//! `Microsoft.Storage/storageAccounts/fileServices/default/shares`: synchronous PUT (201
//! new, 200 existing), GET and DELETE (azure-arm.md §5.2).

use super::storage_accounts::{find, merge};
use crate::arm_response::{ArmResponse, parse_json_body};
use crate::context::RequestContext;
use crate::names::{InGroup, file_share_id, is_valid_share_name, key_of};
use crate::world::{FileShareRecord, StorageAccountRecord, World};
use axum::http::StatusCode;
use serde_json::{Value, json};

pub(crate) fn put(
    world: &mut World,
    context: &RequestContext<'_>,
    storage_account: &InGroup,
    share: &str,
    body: &[u8],
) -> ArmResponse {
    let record = match find_parent(world, storage_account) {
        Ok(record) => record.clone(),
        Err(answer) => return answer,
    };
    if !is_valid_share_name(share) {
        return ArmResponse::bad_request(
            "InvalidResourceName",
            format!(
                "The specified resource name '{share}' is invalid: a share name has 3-63 \
                 lowercase letters, digits and hyphens, each hyphen between letters or digits."
            ),
        );
    }
    let request = match parse_json_body(body) {
        Ok(request) => request,
        Err(answer) => return answer,
    };
    if let Some(validator) = context.file_share_validator
        && let Some(refusal) =
            ArmResponse::schema_refusal(validator.validate("FileShare", &request))
    {
        return refusal;
    }
    let properties = request
        .get("properties")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let max_quota = if large_file_shares(&record) {
        102_400
    } else {
        5_120
    };
    if let Some(quota) = properties.get("shareQuota")
        && !quota
            .as_u64()
            .is_some_and(|quota| (1..=max_quota).contains(&quota))
    {
        return ArmResponse::bad_request(
            "InvalidRequestPropertyValue",
            format!(
                "The value '{quota}' of property 'shareQuota' must be between 1 and {max_quota}."
            ),
        );
    }
    let share_id = file_share_id(&record.id, share);
    let share_key = key_of(&share_id);
    let (status, share_record) = match world.file_shares.get_mut(&share_key) {
        Some(existing) => {
            let mut updated = properties.clone();
            merge(&mut updated, &existing.properties);
            existing.properties = updated;
            (StatusCode::OK, existing.clone())
        }
        None => {
            let created = FileShareRecord {
                id: share_id,
                account_key: record.name.to_ascii_lowercase(),
                name: share.to_owned(),
                properties,
            };
            world.file_shares.insert(share_key, created.clone());
            (StatusCode::CREATED, created)
        }
    };
    ArmResponse::json(status, render(&share_record, &record))
}

pub(crate) fn get(world: &World, storage_account: &InGroup, share: &str) -> ArmResponse {
    let record = match find_parent(world, storage_account) {
        Ok(record) => record,
        Err(answer) => return answer,
    };
    match world
        .file_shares
        .get(&key_of(&file_share_id(&record.id, share)))
    {
        Some(share_record) => ArmResponse::json(StatusCode::OK, render(share_record, record)),
        None => ArmResponse::not_found("ShareNotFound", "The specified share does not exist."),
    }
}

pub(crate) fn delete(world: &mut World, storage_account: &InGroup, share: &str) -> ArmResponse {
    let share_key = match find_parent(world, storage_account) {
        Ok(record) => key_of(&file_share_id(&record.id, share)),
        Err(answer) => return answer,
    };
    match world.file_shares.remove(&share_key) {
        Some(_) => ArmResponse::empty(StatusCode::OK),
        None => ArmResponse::empty(StatusCode::NO_CONTENT),
    }
}

fn find_parent<'w>(
    world: &'w World,
    storage_account: &InGroup,
) -> Result<&'w StorageAccountRecord, ArmResponse> {
    find(world, storage_account).map_err(|answer| {
        if answer
            .body
            .as_ref()
            .and_then(|body| body.pointer("/error/code"))
            == Some(&json!("ResourceNotFound"))
        {
            ArmResponse::not_found(
                "ParentResourceNotFound",
                format!(
                    "Can not perform requested operation on nested resource. Parent resource \
                     '{}' not found.",
                    storage_account.name
                ),
            )
        } else {
            answer
        }
    })
}

fn render(share: &FileShareRecord, account: &StorageAccountRecord) -> Value {
    let mut properties = share.properties.clone();
    let default_quota = if large_file_shares(account) {
        102_400
    } else {
        5_120
    };
    merge(
        &mut properties,
        &json!({
            "shareQuota": default_quota,
            "enabledProtocols": "SMB",
            "accessTier": "TransactionOptimized",
            "leaseStatus": "unlocked",
            "leaseState": "available",
        }),
    );
    json!({
        "id": share.id,
        "name": share.name,
        "type": "Microsoft.Storage/storageAccounts/fileServices/shares",
        "properties": properties,
    })
}

fn large_file_shares(account: &StorageAccountRecord) -> bool {
    account
        .body
        .pointer("/properties/largeFileSharesState")
        .and_then(Value::as_str)
        == Some("Enabled")
}
