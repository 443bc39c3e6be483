//! Long-running operations, in ARM's three styles: an `Azure-AsyncOperation` status monitor,
//! a `Location` result URL, or the resource's own `provisioningState`. Only `Succeeded`,
//! `Failed` and `Canceled` are terminal; anything else means "keep polling".

use std::time::Duration;

use reqwest::Method;
use serde_json::Value as Json;

use super::client::{ArmClient, ArmResponse};
use super::error::{ArmError, CloudError};

/// How an operation ended, for terminal status strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Terminal {
    Succeeded,
    Failed,
    Canceled,
}

/// `Succeeded`, `Failed`, `Canceled` (ARM also spells it `Cancelled`); `None` = in progress.
pub(crate) fn terminal_state(status: &str) -> Option<Terminal> {
    match status.to_ascii_lowercase().as_str() {
        "succeeded" => Some(Terminal::Succeeded),
        "failed" => Some(Terminal::Failed),
        "canceled" | "cancelled" => Some(Terminal::Canceled),
        _ => None,
    }
}

/// `properties.provisioningState` of a resource body.
pub(crate) fn provisioning_state(body: &Json) -> Option<&str> {
    body.pointer("/properties/provisioningState")
        .and_then(Json::as_str)
}

/// One operation being waited for.
pub(crate) struct Operation<'a> {
    pub(crate) client: &'a ArmClient,
    /// The request that started it, for messages: `PUT`, `/subscriptions/...`.
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    /// Where the final resource is read after success; `None` for deletes and actions.
    pub(crate) resource_path: Option<&'a str>,
    /// Give up after this long.
    pub(crate) max_wait: Duration,
}

impl Operation<'_> {
    /// Waits for the operation `initial` started; returns the final resource body (`Null`
    /// when there is none).
    pub(crate) async fn wait(&self, initial: ArmResponse) -> Result<Json, ArmError> {
        let started = tokio::time::Instant::now();
        if let Some(monitor) = &initial.azure_async_operation {
            self.poll_status_monitor(monitor, initial.retry_after, started)
                .await?;
            return self.final_body(Json::Null).await;
        }
        if let Some(location) = &initial.location
            && matches!(initial.status, 201 | 202)
        {
            let body = self
                .poll_location(location, initial.retry_after, started)
                .await?;
            return self.final_body(body).await;
        }
        // A delete or an action answered 200/204 is done: a body it carries describes the
        // resource as it was (a failed group being deleted says `Failed`), not the operation.
        if self.resource_path.is_none() && matches!(initial.status, 200 | 204) {
            return Ok(initial.body);
        }
        let state = provisioning_state(&initial.body).map(str::to_string);
        match state.as_deref().map(|state| (state, terminal_state(state))) {
            None | Some((_, Some(Terminal::Succeeded))) => Ok(initial.body),
            Some((state, Some(_))) => Err(self.ended(state, &initial)),
            Some((_, None)) => self.poll_provisioning_state(initial, started).await,
        }
    }

    async fn poll_status_monitor(
        &self,
        monitor: &str,
        mut retry_after: Option<Duration>,
        started: tokio::time::Instant,
    ) -> Result<(), ArmError> {
        loop {
            self.pause(retry_after, started, "running").await?;
            let response = self.client.send(Method::GET, monitor, None).await?;
            let status = response
                .body
                .get("status")
                .and_then(Json::as_str)
                .unwrap_or("InProgress");
            match terminal_state(status) {
                Some(Terminal::Succeeded) => return Ok(()),
                Some(_) => return Err(self.ended(status, &response)),
                None => retry_after = response.retry_after,
            }
        }
    }

    async fn poll_location(
        &self,
        location: &str,
        mut retry_after: Option<Duration>,
        started: tokio::time::Instant,
    ) -> Result<Json, ArmError> {
        loop {
            self.pause(retry_after, started, "running").await?;
            let response = self.client.send(Method::GET, location, None).await?;
            if response.status != 202 {
                return Ok(response.body);
            }
            retry_after = response.retry_after;
        }
    }

    async fn poll_provisioning_state(
        &self,
        initial: ArmResponse,
        started: tokio::time::Instant,
    ) -> Result<Json, ArmError> {
        let Some(resource_path) = self.resource_path else {
            return Ok(initial.body);
        };
        let mut retry_after = initial.retry_after;
        loop {
            let state = provisioning_state(&initial.body).unwrap_or("InProgress");
            self.pause(retry_after, started, state).await?;
            let response = self.client.send(Method::GET, resource_path, None).await?;
            let state = provisioning_state(&response.body).unwrap_or("Succeeded");
            match terminal_state(state) {
                Some(Terminal::Succeeded) => return Ok(response.body),
                Some(_) => return Err(self.ended(state, &response)),
                None => retry_after = response.retry_after,
            }
        }
    }

    /// After success: the body the poll gave, else a fresh GET of the resource.
    async fn final_body(&self, polled: Json) -> Result<Json, ArmError> {
        match self.resource_path {
            Some(path) if polled.get("properties").is_none() => {
                Ok(self.client.send(Method::GET, path, None).await?.body)
            }
            _ => Ok(polled),
        }
    }

    async fn pause(
        &self,
        retry_after: Option<Duration>,
        started: tokio::time::Instant,
        state: &str,
    ) -> Result<(), ArmError> {
        if started.elapsed() >= self.max_wait {
            return Err(ArmError::Protocol(format!(
                "{} {} still {state} after {}s",
                self.method,
                self.path,
                self.max_wait.as_secs()
            )));
        }
        // `Retry-After: 0` asks for an immediate poll; a floor keeps that from becoming a
        // busy loop against the service.
        let wait = retry_after
            .unwrap_or(self.client.poll_interval)
            .clamp(Duration::from_millis(200), Duration::from_secs(60));
        tokio::time::sleep(wait).await;
        Ok(())
    }

    fn ended(&self, status: &str, response: &ArmResponse) -> ArmError {
        let body = &response.body;
        let cloud_error = body
            .get("error")
            .and_then(|_| CloudError::parse(body))
            .or_else(|| {
                body.pointer("/properties/error")
                    .and_then(CloudError::parse)
            });
        ArmError::Operation {
            method: self.method.to_string(),
            path: self.path.to_string(),
            status: status.to_string(),
            cloud_error: cloud_error.map(Box::new),
            request_id: response.request_id.clone(),
        }
    }
}
