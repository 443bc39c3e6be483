//! Resource-provider registration (`POST .../providers/{ns}/register`, azure-arm.md §6.3).
//! Only enforced when the faults ask for it: then ARM routes of an unregistered namespace
//! answer 409 `MissingSubscriptionRegistration`.

use crate::arm_response::ArmResponse;
use crate::context::RequestContext;
use crate::world::World;
use axum::http::StatusCode;
use serde_json::json;

pub(crate) fn register(
    world: &mut World,
    context: &RequestContext<'_>,
    subscription: &str,
    namespace: &str,
) -> ArmResponse {
    world
        .registrations
        .entry(registration_key(subscription, namespace))
        .or_insert(context.now_ms);
    get(world, context, subscription, namespace)
}

pub(crate) fn get(
    world: &World,
    context: &RequestContext<'_>,
    subscription: &str,
    namespace: &str,
) -> ArmResponse {
    let state = match world
        .registrations
        .get(&registration_key(subscription, namespace))
    {
        _ if !context.require_registration => "Registered",
        Some(since) if context.now_ms >= since.saturating_add(context.delay_ms) => "Registered",
        Some(_) => "Registering",
        None => "NotRegistered",
    };
    ArmResponse::json(
        StatusCode::OK,
        json!({
            "id": format!("/subscriptions/{subscription}/providers/{namespace}"),
            "namespace": namespace,
            "registrationState": state,
        }),
    )
}

/// The 409 ARM answers for a namespace the subscription has not registered, if it is one.
pub(crate) fn refuse_unregistered(
    world: &World,
    context: &RequestContext<'_>,
    subscription: &str,
    namespace: &str,
) -> Option<ArmResponse> {
    if !context.require_registration {
        return None;
    }
    let registered = world
        .registrations
        .get(&registration_key(subscription, namespace))
        .is_some_and(|since| context.now_ms >= since.saturating_add(context.delay_ms));
    (!registered).then(|| {
        ArmResponse::conflict(
            "MissingSubscriptionRegistration",
            format!(
                "The subscription is not registered to use namespace '{namespace}'. See \
                 https://aka.ms/rps-not-found for how to register subscriptions."
            ),
        )
    })
}

fn registration_key(subscription: &str, namespace: &str) -> String {
    format!("{subscription}/{namespace}").to_ascii_lowercase()
}
