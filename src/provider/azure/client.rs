//! The ARM HTTP client: one place that sends requests, attaches tokens and request ids,
//! retries what [`is_retryable`] allows and registers missing resource providers.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value as Json;

use super::auth::TokenSource;
use super::error::{ArmError, CloudError};
use super::retry::{
    FailedAttempt, RetryNotice, RetryPolicy, parse_retry_after, with_retries_observed,
};

/// Told about every retry before its wait (the CLI shows them).
pub(crate) type RetryObserver = Arc<dyn Fn(&RetryNotice) + Send + Sync>;

/// The api-version of `Microsoft.Resources` (resource groups, provider registration).
pub(crate) const RESOURCES_API_VERSION: &str = "2021-04-01";

const USER_AGENT: &str = concat!("fk/", env!("CARGO_PKG_VERSION"));

/// A successful answer (any 2xx), with the headers long-running operations need.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ArmResponse {
    pub(crate) status: u16,
    /// The JSON body; `Null` when empty.
    pub(crate) body: Json,
    pub(crate) azure_async_operation: Option<String>,
    pub(crate) location: Option<String>,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) request_id: Option<String>,
}

/// Sends ARM requests for one subscription.
#[derive(Clone)]
pub struct ArmClient {
    http: reqwest::Client,
    base_url: String,
    tokens: Arc<dyn TokenSource>,
    pub(crate) subscription_id: String,
    pub(crate) retry: RetryPolicy,
    pub(crate) poll_interval: Duration,
    retry_observer: RetryObserver,
}

impl ArmClient {
    pub(crate) fn new(
        base_url: &str,
        subscription_id: &str,
        tokens: Arc<dyn TokenSource>,
        retry: RetryPolicy,
        poll_interval: Duration,
    ) -> Result<ArmClient, ArmError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(Duration::from_secs(120))
            .connect_timeout(Duration::from_secs(30))
            .build()
            .map_err(|error| ArmError::Protocol(format!("cannot build HTTP client: {error}")))?;
        Ok(ArmClient {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            tokens,
            subscription_id: subscription_id.to_string(),
            retry,
            poll_interval,
            retry_observer: Arc::new(|_: &RetryNotice| {}),
        })
    }

    /// Shows every retry to `observer` from now on.
    pub(crate) fn set_retry_observer(&mut self, observer: RetryObserver) {
        self.retry_observer = observer;
    }

    pub(crate) fn subscription_id(&self) -> &str {
        &self.subscription_id
    }

    /// Sends `method` to `target` (a path under the ARM base, or an absolute URL that ARM
    /// gave in a header), retrying and registering as needed. Any non-2xx is an error.
    pub(crate) async fn send(
        &self,
        method: Method,
        target: &str,
        body: Option<&Json>,
    ) -> Result<ArmResponse, ArmError> {
        let mut registered = false;
        loop {
            match self.send_with_retries(&method, target, body).await {
                Err(error)
                    if !registered
                        && error.arm_code() == Some("MissingSubscriptionRegistration") =>
                {
                    let namespace = namespace_to_register(&error, target).ok_or(error)?;
                    self.register_namespace(&namespace).await?;
                    registered = true;
                }
                other => return other,
            }
        }
    }

    /// GET that maps 404 to `None`.
    pub(crate) async fn get_optional(&self, target: &str) -> Result<Option<Json>, ArmError> {
        match self.send(Method::GET, target, None).await {
            Ok(response) => Ok(Some(response.body)),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// DELETE of `target`, done when ARM answers that there was nothing to delete (404).
    pub(crate) async fn delete_if_present(&self, target: &str) -> Result<(), ArmError> {
        match self.send(Method::DELETE, target, None).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_not_found() => Ok(()),
            Err(error) => Err(error),
        }
    }

    async fn send_with_retries(
        &self,
        method: &Method,
        target: &str,
        body: Option<&Json>,
    ) -> Result<ArmResponse, ArmError> {
        with_retries_observed(&self.retry, self.retry_observer.as_ref(), |_| {
            self.send_once(method, target, body)
        })
        .await
    }

    async fn send_once(
        &self,
        method: &Method,
        target: &str,
        body: Option<&Json>,
    ) -> Result<ArmResponse, FailedAttempt> {
        let url = self.url(target);
        let shown_path = display_path(&url);
        let fail = |error: ArmError, transport: bool| FailedAttempt {
            error,
            retry_after: None,
            transport,
        };
        let mut request = self
            .http
            .request(method.clone(), &url)
            .header("x-ms-client-request-id", uuid::Uuid::new_v4().to_string())
            .header("accept", "application/json");
        if url.starts_with(&self.base_url) {
            let token = self
                .tokens
                .token()
                .await
                .map_err(|error| fail(ArmError::Auth(error), false))?;
            request = request.bearer_auth(token.secret());
        }
        if let Some(body) = body {
            request = request.json(body);
        } else if *method == Method::POST {
            request = request.header("content-length", "0");
        }
        let response = request.send().await.map_err(|error| {
            let message = transport_message(&error);
            fail(
                ArmError::Transport {
                    method: method.to_string(),
                    path: shown_path.clone(),
                    message,
                },
                true,
            )
        })?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_string)
        };
        let azure_async_operation = header("azure-asyncoperation");
        let location = header("location");
        let retry_after = parse_retry_after(header("retry-after").as_deref());
        let request_id = header("x-ms-request-id");
        let text = response.text().await.map_err(|error| {
            fail(
                ArmError::Transport {
                    method: method.to_string(),
                    path: shown_path.clone(),
                    message: transport_message(&error),
                },
                true,
            )
        })?;
        let body: Json = if text.trim().is_empty() {
            Json::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Json::Null)
        };
        if !(200..300).contains(&status) {
            return Err(FailedAttempt {
                error: ArmError::Http {
                    method: method.to_string(),
                    path: shown_path,
                    status,
                    cloud_error: CloudError::parse(&body).map(Box::new),
                    request_id,
                },
                retry_after,
                transport: false,
            });
        }
        Ok(ArmResponse {
            status,
            body,
            azure_async_operation,
            location,
            retry_after,
            request_id,
        })
    }

    /// Registers a resource provider namespace and waits until ARM says `Registered`.
    async fn register_namespace(&self, namespace: &str) -> Result<(), ArmError> {
        let base = format!(
            "/subscriptions/{}/providers/{namespace}",
            self.subscription_id
        );
        let register = format!("{base}/register?api-version={RESOURCES_API_VERSION}");
        self.send_with_retries(&Method::POST, &register, None)
            .await?;
        let status_path = format!("{base}?api-version={RESOURCES_API_VERSION}");
        for _ in 0..120 {
            let response = self
                .send_with_retries(&Method::GET, &status_path, None)
                .await?;
            let state = response
                .body
                .get("registrationState")
                .and_then(Json::as_str);
            if state == Some("Registered") {
                return Ok(());
            }
            tokio::time::sleep(self.poll_interval).await;
        }
        Err(ArmError::Protocol(format!(
            "namespace `{namespace}` did not finish registering"
        )))
    }

    fn url(&self, target: &str) -> String {
        if target.starts_with("http://") || target.starts_with("https://") {
            target.to_string()
        } else {
            format!("{}{target}", self.base_url)
        }
    }
}

/// The path of a URL without scheme, host or query: what error messages show.
fn display_path(url: &str) -> String {
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = without_scheme
        .find('/')
        .map_or("/", |idx| &without_scheme[idx..]);
    path.split('?').next().unwrap_or(path).to_string()
}

/// reqwest's error text without the URL (which it appends), and its root cause.
fn transport_message(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "cannot connect"
    } else {
        "connection failed"
    };
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(error);
    let mut root = None;
    while let Some(inner) = source {
        root = Some(inner.to_string());
        source = inner.source();
    }
    match root {
        Some(root) => format!("{kind}: {root}"),
        None => kind.to_string(),
    }
}

/// `namespace 'Microsoft.ContainerInstance'` from the message, else from the path.
fn namespace_to_register(error: &ArmError, target: &str) -> Option<String> {
    if let ArmError::Http {
        cloud_error: Some(cloud),
        ..
    } = error
        && let Some((_, after)) = cloud.message.split_once("namespace '")
        && let Some((namespace, _)) = after.split_once('\'')
    {
        return Some(namespace.to_string());
    }
    let (_, after) = target.split_once("/providers/")?;
    after.split(['/', '?']).next().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_path_drops_host_and_query() {
        assert_eq!(
            display_path("https://management.azure.com/subscriptions/s?api-version=1"),
            "/subscriptions/s"
        );
        assert_eq!(display_path("http://127.0.0.1:80"), "/");
    }

    #[test]
    fn finds_namespace_in_message_or_path() {
        let error = ArmError::Http {
            method: "PUT".into(),
            path: "/x".into(),
            status: 409,
            cloud_error: Some(Box::new(CloudError {
                code: "MissingSubscriptionRegistration".into(),
                message: "The subscription is not registered to use namespace 'Microsoft.Storage'."
                    .into(),
                details: Vec::new(),
            })),
            request_id: None,
        };
        assert_eq!(
            namespace_to_register(&error, "/a").as_deref(),
            Some("Microsoft.Storage")
        );
        let bare = ArmError::Protocol(String::new());
        assert_eq!(
            namespace_to_register(
                &bare,
                "/subscriptions/s/resourceGroups/r/providers/Microsoft.ContainerInstance/containerGroups/x?api-version=1"
            )
            .as_deref(),
            Some("Microsoft.ContainerInstance")
        );
    }
}
