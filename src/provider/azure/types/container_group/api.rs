//! The container group's operations: PUT and wait until ready, PATCH tags, read, delete,
//! stop and start.
//!
//! Ready means ARM reports `Succeeded` and every container is `Running` (or, for a group
//! that is not restarted, the group finished `Succeeded`). A failed group is reported with
//! the service's own events (`FailedMount: ...`).

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value as Json, json};

use super::API_VERSION;
use super::body::to_body;
use super::state::from_response;
use crate::provider::azure::client::ArmClient;
use crate::provider::azure::error::ArmError;
use crate::provider::azure::lro::{Operation, Terminal, provisioning_state, terminal_state};
use crate::provider::azure::shape::{tags_to_json, with_version};
use crate::provider::azure::types::fail;
use crate::provider::{OpContext, ProviderError};
use crate::value::Value;

/// The operations of one provider on container groups.
pub(crate) struct ContainerGroups<'a> {
    pub(crate) client: &'a ArmClient,
    pub(crate) max_wait: Duration,
}

impl ContainerGroups<'_> {
    /// PUT the whole desired body, then wait until the group is ready. A group whose
    /// create fails is stopped: ACI would keep retrying (and billing) it. Its events stay in
    /// the error; the engine marks it tainted, so the next apply replaces it.
    pub(crate) async fn put(
        &self,
        ctx: &OpContext,
        id: &str,
        planned: &Value,
        creating: bool,
    ) -> Result<Value, ProviderError> {
        let path = with_version(id, API_VERSION);
        // Refused outright: no group was made, nothing to stop.
        let response = self
            .client
            .send(Method::PUT, &path, Some(&to_body(planned)))
            .await
            .map_err(fail(ctx))?;
        match self.wait_put(ctx, id, planned, response).await {
            Err(error) if creating => Err(self.stop_failed_create(id, error).await),
            other => other,
        }
    }

    /// Stops a group whose create failed, saying so in the error.
    async fn stop_failed_create(&self, id: &str, mut error: ProviderError) -> ProviderError {
        let action = with_version(&format!("{id}/stop"), API_VERSION);
        match self.client.send(Method::POST, &action, None).await {
            Ok(_) => error.details.push(
                "fk stopped the group so that ACI stops retrying and billing it; the next apply replaces it".into(),
            ),
            Err(stop_error) if stop_error.is_not_found() => {}
            Err(stop_error) => error.details.push(format!(
                "fk could not stop the failed group (ACI keeps retrying and billing it): {stop_error}"
            )),
        }
        error
    }

    async fn wait_put(
        &self,
        ctx: &OpContext,
        id: &str,
        planned: &Value,
        response: crate::provider::azure::client::ArmResponse,
    ) -> Result<Value, ProviderError> {
        let path = with_version(id, API_VERSION);
        ctx.report("provisioning");
        let operation = Operation {
            client: self.client,
            method: "PUT",
            path: id,
            resource_path: Some(&path),
            max_wait: self.max_wait,
        };
        self.settle(ctx, operation, response, &path, planned).await
    }

    /// Waits for `operation` (which `response` started), then until the group is ready:
    /// its state, `known` giving what the answer leaves out. A failure carries the group's
    /// events.
    async fn settle(
        &self,
        ctx: &OpContext,
        operation: Operation<'_>,
        response: crate::provider::azure::client::ArmResponse,
        path: &str,
        known: &Value,
    ) -> Result<Value, ProviderError> {
        if let Err(error) = operation.wait(response).await {
            return Err(self
                .with_events(group_failure(error.for_resource(&ctx.address)), path)
                .await);
        }
        let body = self.wait_ready(ctx, path).await?;
        Ok(from_response(&body, Some(known)))
    }

    /// Tags only: PATCH, which restarts nothing.
    pub(crate) async fn patch_tags(
        &self,
        ctx: &OpContext,
        id: &str,
        planned: &Value,
    ) -> Result<Value, ProviderError> {
        let path = with_version(id, API_VERSION);
        let body = json!({ "tags": tags_to_json(planned) });
        let response = self
            .client
            .send(Method::PATCH, &path, Some(&body))
            .await
            .map_err(fail(ctx))?;
        Ok(from_response(&response.body, Some(planned)))
    }

    pub(crate) async fn read(&self, id: &str, prior: &Value) -> Result<Option<Value>, ArmError> {
        let body = self
            .client
            .get_optional(&with_version(id, API_VERSION))
            .await?;
        Ok(body.map(|body| from_response(&body, Some(prior))))
    }

    /// GET the group as ARM shows it (instance view, events), `None` when it is gone.
    pub(crate) async fn view(&self, id: &str) -> Result<Option<Json>, ArmError> {
        self.client
            .get_optional(&with_version(id, API_VERSION))
            .await
    }

    /// ContainerListLogs: what `container` printed, the last `tail` lines when given.
    pub(crate) async fn logs(
        &self,
        id: &str,
        container: &str,
        tail: Option<u32>,
    ) -> Result<String, ArmError> {
        let mut path = with_version(&format!("{id}/containers/{container}/logs"), API_VERSION);
        if let Some(tail) = tail {
            path.push_str(&format!("&tail={tail}"));
        }
        let response = self.client.send(Method::GET, &path, None).await?;
        Ok(response
            .body
            .get("content")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string())
    }

    pub(crate) async fn delete(&self, id: &str) -> Result<(), ArmError> {
        let path = with_version(id, API_VERSION);
        let response = match self.client.send(Method::DELETE, &path, None).await {
            Err(error) if error.is_not_found() => return Ok(()),
            other => other?,
        };
        let operation = Operation {
            client: self.client,
            method: "DELETE",
            path: id,
            resource_path: None,
            max_wait: self.max_wait,
        };
        operation.wait(response).await.map(|_| ())
    }

    /// POST stop (synchronous; billing stops) and read the stopped group.
    pub(crate) async fn stop(
        &self,
        ctx: &OpContext,
        id: &str,
        prior: &Value,
    ) -> Result<Value, ProviderError> {
        let action = with_version(&format!("{id}/stop"), API_VERSION);
        self.client
            .send(Method::POST, &action, None)
            .await
            .map_err(fail(ctx))?;
        let mut state = self
            .read(id, prior)
            .await
            .map_err(fail(ctx))?
            .ok_or_else(|| {
                ProviderError::new(
                    "fk::azure::gone",
                    format!("`{}`: the group disappeared while stopping", ctx.address),
                )
            })?;
        if let Some(fields) = state.as_map_mut() {
            fields.insert("state".into(), Value::str("Stopped"));
        }
        Ok(state)
    }

    /// POST start (an LRO), then wait until the group is ready again.
    pub(crate) async fn start(
        &self,
        ctx: &OpContext,
        id: &str,
        prior: &Value,
    ) -> Result<Value, ProviderError> {
        let path = with_version(id, API_VERSION);
        let action = with_version(&format!("{id}/start"), API_VERSION);
        let response = self
            .client
            .send(Method::POST, &action, None)
            .await
            .map_err(fail(ctx))?;
        let operation = Operation {
            client: self.client,
            method: "POST",
            path: &format!("{id}/start"),
            resource_path: None,
            max_wait: self.max_wait,
        };
        self.settle(ctx, operation, response, &path, prior).await
    }

    /// Polls the group until it is ready, failed, or out of time.
    async fn wait_ready(&self, ctx: &OpContext, path: &str) -> Result<Json, ProviderError> {
        let started = tokio::time::Instant::now();
        loop {
            let body = self
                .client
                .send(Method::GET, path, None)
                .await
                .map_err(fail(ctx))?
                .body;
            let state = provisioning_state(&body).unwrap_or("Succeeded");
            match readiness(&body) {
                Readiness::Ready => return Ok(body),
                Readiness::Failed(why) => {
                    let message = format!("`{}`: container group failed: {why}", ctx.address);
                    let error = ProviderError::new("fk::azure::container_group_failed", message);
                    return Err(add_events(error, &body));
                }
                Readiness::Waiting(status) => ctx.report(&status),
            }
            if started.elapsed() >= self.max_wait {
                let message = format!(
                    "`{}`: container group not ready after {}s (provisioningState {state})",
                    ctx.address,
                    self.max_wait.as_secs()
                );
                let error = ProviderError::new("fk::azure::not_ready", message);
                return Err(add_events(error, &body));
            }
            tokio::time::sleep(self.client.poll_interval).await;
        }
    }

    /// Adds the group's events to an error, when the group can still be read.
    async fn with_events(&self, error: ProviderError, path: &str) -> ProviderError {
        match self.client.get_optional(path).await {
            Ok(Some(body)) => add_events(error, &body),
            _ => error,
        }
    }
}

/// Where a group stands on its way to ready.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Readiness {
    Ready,
    /// Progress text: `provisioning Creating; containers: etcd Waiting`.
    Waiting(String),
    Failed(String),
}

pub(crate) fn readiness(body: &Json) -> Readiness {
    let provisioning = provisioning_state(body).unwrap_or("Succeeded");
    let group_state = body
        .pointer("/properties/instanceView/state")
        .and_then(Json::as_str);
    match terminal_state(provisioning) {
        Some(Terminal::Failed) | Some(Terminal::Canceled) => {
            return Readiness::Failed(format!("provisioningState {provisioning}"));
        }
        Some(Terminal::Succeeded) if group_state == Some("Succeeded") => return Readiness::Ready,
        Some(Terminal::Succeeded) if group_state == Some("Failed") => {
            return Readiness::Failed("its containers exited with failure".into());
        }
        _ => {}
    }
    // An init container that exited non-zero keeps every container waiting: the group will
    // not become ready by itself (etcd's restore refusing to start empty over snapshots).
    let failed_init =
        super::state::failed_init_containers(body.get("properties").unwrap_or(&Json::Null));
    if !failed_init.is_empty() {
        return Readiness::Failed(format!("init container {} failed", failed_init.join(", ")));
    }
    let containers = body
        .pointer("/properties/containers")
        .and_then(Json::as_array);
    let mut waiting = Vec::new();
    for container in containers.into_iter().flatten() {
        let name = container.get("name").and_then(Json::as_str).unwrap_or("?");
        let state = container
            .pointer("/properties/instanceView/currentState/state")
            .and_then(Json::as_str)
            .unwrap_or("Unknown");
        if state != "Running" {
            waiting.push(format!("{name} {state}"));
        }
    }
    if terminal_state(provisioning) == Some(Terminal::Succeeded) && waiting.is_empty() {
        return Readiness::Ready;
    }
    let mut status = format!("provisioning {provisioning}");
    if !waiting.is_empty() {
        status.push_str(&format!("; containers: {}", waiting.join(", ")));
    }
    Readiness::Waiting(status)
}

/// The group's and its containers' events, oldest first, as detail lines.
pub(crate) fn events(body: &Json) -> Vec<String> {
    let mut lines = Vec::new();
    let mut push = |prefix: &str, events: Option<&Json>| {
        for event in events.and_then(Json::as_array).into_iter().flatten() {
            let name = event.get("name").and_then(Json::as_str).unwrap_or("Event");
            let message = event.get("message").and_then(Json::as_str).unwrap_or("");
            let line = format!("{prefix}{name}: {message}");
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
    };
    push("", body.pointer("/properties/instanceView/events"));
    for key in ["initContainers", "containers"] {
        let containers = body
            .pointer(&format!("/properties/{key}"))
            .and_then(Json::as_array);
        for container in containers.into_iter().flatten() {
            let name = container.get("name").and_then(Json::as_str).unwrap_or("?");
            push(
                &format!("container `{name}`: "),
                container.pointer("/properties/instanceView/events"),
            );
        }
    }
    lines
}

/// An operation that ended `Failed` without an ARM code is the group failing.
fn group_failure(mut error: ProviderError) -> ProviderError {
    if error.code == "fk::azure::operation_failed" {
        error.code = "fk::azure::container_group_failed".into();
    }
    error
}

fn add_events(mut error: ProviderError, body: &Json) -> ProviderError {
    error.details.extend(events(body));
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(provisioning: &str, group_state: &str, containers: &[(&str, &str)]) -> Json {
        let containers: Vec<Json> = containers
            .iter()
            .map(|(name, state)| {
                json!({"name": name, "properties": {"instanceView": {
                    "currentState": {"state": state},
                    "events": [{"name": "Pulled", "message": format!("pulled {name}")}]
                }}})
            })
            .collect();
        json!({"properties": {
            "provisioningState": provisioning,
            "instanceView": {"state": group_state, "events": [{"name": "FailedMount", "message": "denied"}]},
            "containers": containers
        }})
    }

    #[test]
    fn ready_only_when_succeeded_and_every_container_runs() {
        let waiting = group(
            "Succeeded",
            "Running",
            &[("etcd", "Running"), ("sidecar", "Waiting")],
        );
        assert_eq!(
            readiness(&waiting),
            Readiness::Waiting("provisioning Succeeded; containers: sidecar Waiting".into())
        );
        let creating = group("Creating", "Pending", &[("etcd", "Running")]);
        assert!(matches!(readiness(&creating), Readiness::Waiting(_)));
        let ready = group("Succeeded", "Running", &[("etcd", "Running")]);
        assert_eq!(readiness(&ready), Readiness::Ready);
    }

    #[test]
    fn finished_run_once_groups_are_ready_or_failed() {
        let done = group("Succeeded", "Succeeded", &[("job", "Terminated")]);
        assert_eq!(readiness(&done), Readiness::Ready);
        let failed = group("Succeeded", "Failed", &[("job", "Terminated")]);
        assert!(matches!(readiness(&failed), Readiness::Failed(_)));
        let canceled = group("Canceled", "Pending", &[("job", "Waiting")]);
        assert!(matches!(readiness(&canceled), Readiness::Failed(_)));
    }

    #[test]
    fn events_name_their_container() {
        let body = group("Failed", "Pending", &[("etcd", "Waiting")]);
        assert_eq!(
            events(&body),
            [
                "FailedMount: denied",
                "container `etcd`: Pulled: pulled etcd"
            ]
        );
    }
}
