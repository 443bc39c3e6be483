//! The few Blob service REST operations the state store needs, over reqwest.
//!
//! Every call returns the service's status, ETag and body as they are; the callers decide
//! on status codes (Azurite and Azure agree on codes, not always on `x-ms-error-code`).
//! The API version is pinned: `2024-11-04` (finite leases of 15–60 s, proposed lease ids,
//! append blobs and conditional headers are all far older than it).

use reqwest::{Method, Url};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::state::blob::auth::{BlobAuth, STORAGE_SCOPE};
use crate::state::blob::shared_key::{self, SignedRequest};
use crate::state::error::StateError;

pub(crate) const API_VERSION: &str = "2024-11-04";

/// A whole request may take this long before it counts as unreachable.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A read is tried this often before its failure is reported.
const MAX_READ_ATTEMPTS: usize = 3;

/// What the service answered.
#[derive(Debug)]
pub struct BlobResponse {
    pub status: u16,
    pub(crate) etag: Option<String>,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl BlobResponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Turns a refusal into an error naming what was attempted.
    pub(crate) fn refused(&self, action: &'static str, blob: &str) -> StateError {
        StateError::Blob {
            action,
            blob: blob.to_string(),
            status: self.status,
            code: self.header("x-ms-error-code").unwrap_or("").to_string(),
        }
    }
}

/// The conditions a write carries.
#[derive(Clone, Copy, Debug, Default)]
pub struct Conditions<'a> {
    pub lease_id: Option<&'a str>,
    pub if_match: Option<&'a str>,
    /// `If-None-Match: *`: only when the blob does not exist.
    pub if_none_match_any: bool,
}

impl Conditions<'_> {
    fn headers(&self) -> Vec<(String, String)> {
        let mut headers = Vec::new();
        if let Some(lease_id) = self.lease_id {
            headers.push(("x-ms-lease-id".to_string(), lease_id.to_string()));
        }
        if let Some(etag) = self.if_match {
            headers.push(("If-Match".to_string(), etag.to_string()));
        }
        if self.if_none_match_any {
            headers.push(("If-None-Match".to_string(), "*".to_string()));
        }
        headers
    }
}

/// A lease operation (Lease Blob, `comp=lease`).
#[derive(Clone, Copy, Debug)]
pub(crate) enum LeaseAction<'a> {
    Acquire {
        seconds: u32,
        proposed_id: &'a str,
    },
    Renew {
        id: &'a str,
    },
    Release {
        id: &'a str,
    },
    /// Breaks the lease at once, whoever holds it.
    Break,
}

#[derive(Clone, Debug)]
pub struct BlobClient {
    http: reqwest::Client,
    /// `https://<account>.blob.core.windows.net` or a path-style emulator endpoint.
    endpoint: Url,
    account: String,
    container: String,
    auth: BlobAuth,
}

impl BlobClient {
    pub(crate) fn new(
        endpoint: &str,
        account: &str,
        container: &str,
        auth: BlobAuth,
    ) -> Result<BlobClient, String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let endpoint = Url::parse(endpoint.trim_end_matches('/'))
            .map_err(|error| format!("`endpoint = \"{endpoint}\"` is not a URL: {error}"))?;
        if !matches!(endpoint.scheme(), "http" | "https") {
            return Err(format!(
                "`endpoint` must be http or https, not `{}`",
                endpoint.scheme()
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|error| format!("cannot build the HTTP client: {error}"))?;
        Ok(BlobClient {
            http,
            endpoint,
            account: account.to_string(),
            container: container.to_string(),
            auth,
        })
    }

    /// The same client with a connection pool of its own (for use from another runtime).
    pub(crate) fn with_new_connections(&self) -> BlobClient {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap_or_else(|_| self.http.clone());
        BlobClient {
            http,
            ..self.clone()
        }
    }

    /// `container/blob` as messages name it.
    pub(crate) fn describe(&self, blob: &str) -> String {
        let endpoint = self.endpoint.as_str().trim_end_matches('/');
        format!("{endpoint}/{}/{blob}", self.container)
    }

    /// Put Blob (block blob) with `body`.
    pub async fn put_block_blob(
        &self,
        blob: &str,
        body: Vec<u8>,
        conditions: Conditions<'_>,
    ) -> Result<BlobResponse, StateError> {
        let mut headers = conditions.headers();
        headers.push(("x-ms-blob-type".into(), "BlockBlob".into()));
        headers.push(("Content-Type".into(), "application/json".into()));
        self.send(Method::PUT, Some(blob), &[], headers, body).await
    }

    /// Put Blob (append blob): creates or empties it.
    pub(crate) async fn put_append_blob(
        &self,
        blob: &str,
        conditions: Conditions<'_>,
    ) -> Result<BlobResponse, StateError> {
        let mut headers = conditions.headers();
        headers.push(("x-ms-blob-type".into(), "AppendBlob".into()));
        self.send(Method::PUT, Some(blob), &[], headers, Vec::new())
            .await
    }

    /// Append Block: the bytes land whole or not at all.
    pub async fn append_block(
        &self,
        blob: &str,
        body: Vec<u8>,
        conditions: Conditions<'_>,
    ) -> Result<BlobResponse, StateError> {
        let headers = conditions.headers();
        self.send(
            Method::PUT,
            Some(blob),
            &[("comp", "appendblock")],
            headers,
            body,
        )
        .await
    }

    pub async fn get_blob(&self, blob: &str) -> Result<BlobResponse, StateError> {
        self.send(Method::GET, Some(blob), &[], Vec::new(), Vec::new())
            .await
    }

    /// Get Blob Properties: `x-ms-lease-state`, `Last-Modified`, `ETag`, no body.
    pub async fn get_properties(&self, blob: &str) -> Result<BlobResponse, StateError> {
        self.send(Method::HEAD, Some(blob), &[], Vec::new(), Vec::new())
            .await
    }

    pub async fn delete_blob(
        &self,
        blob: &str,
        conditions: Conditions<'_>,
    ) -> Result<BlobResponse, StateError> {
        let headers = conditions.headers();
        self.send(Method::DELETE, Some(blob), &[], headers, Vec::new())
            .await
    }

    pub(crate) async fn lease(
        &self,
        blob: &str,
        action: LeaseAction<'_>,
    ) -> Result<BlobResponse, StateError> {
        let mut headers: Vec<(String, String)> = Vec::new();
        let mut push = |name: &str, value: String| headers.push((name.to_string(), value));
        match action {
            LeaseAction::Acquire {
                seconds,
                proposed_id,
            } => {
                push("x-ms-lease-action", "acquire".into());
                push("x-ms-lease-duration", seconds.to_string());
                push("x-ms-proposed-lease-id", proposed_id.to_string());
            }
            LeaseAction::Renew { id } => {
                push("x-ms-lease-action", "renew".into());
                push("x-ms-lease-id", id.to_string());
            }
            LeaseAction::Release { id } => {
                push("x-ms-lease-action", "release".into());
                push("x-ms-lease-id", id.to_string());
            }
            LeaseAction::Break => {
                push("x-ms-lease-action", "break".into());
                push("x-ms-lease-break-period", "0".into());
            }
        }
        self.send(
            Method::PUT,
            Some(blob),
            &[("comp", "lease")],
            headers,
            Vec::new(),
        )
        .await
    }

    /// Create Container; 409 when it exists.
    pub async fn create_container(&self) -> Result<BlobResponse, StateError> {
        self.send(
            Method::PUT,
            None,
            &[("restype", "container")],
            Vec::new(),
            Vec::new(),
        )
        .await
    }

    fn url(&self, blob: Option<&str>, query: &[(&str, &str)]) -> Result<Url, StateError> {
        let mut url = self.endpoint.clone();
        {
            let mut segments = url.path_segments_mut().map_err(|()| {
                self.unreachable(
                    blob,
                    "build the URL of",
                    "the endpoint cannot hold a path".into(),
                )
            })?;
            segments.pop_if_empty().push(&self.container);
            if let Some(blob) = blob {
                segments.extend(blob.split('/'));
            }
        }
        let mut query_text: Vec<String> = query
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        if let BlobAuth::Sas { query: sas } = &self.auth {
            query_text.push(sas.clone());
        }
        if !query_text.is_empty() {
            url.set_query(Some(&query_text.join("&")));
        }
        Ok(url)
    }

    fn unreachable(&self, blob: Option<&str>, action: &'static str, message: String) -> StateError {
        StateError::BlobUnreachable {
            action,
            blob: self.describe(blob.unwrap_or("")),
            message,
        }
    }

    /// Sends a request. Reads (GET, HEAD) are retried on throttling, server errors and
    /// connection failures, with backoff; writes never are: a conditional write whose answer
    /// was lost would be refused on the retry (its ETag moved) and mislead the caller.
    async fn send(
        &self,
        method: Method,
        blob: Option<&str>,
        query: &[(&str, &str)],
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<BlobResponse, StateError> {
        let is_read = method == Method::GET || method == Method::HEAD;
        let mut backoff = std::time::Duration::from_millis(500);
        for _ in 1..MAX_READ_ATTEMPTS {
            if !is_read {
                break;
            }
            let outcome = self
                .send_once(method.clone(), blob, query, headers.clone(), body.clone())
                .await;
            if let Ok(response) = &outcome
                && !is_retryable(response.status)
            {
                return outcome;
            }
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
        self.send_once(method, blob, query, headers, body).await
    }

    async fn send_once(
        &self,
        method: Method,
        blob: Option<&str>,
        query: &[(&str, &str)],
        mut headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<BlobResponse, StateError> {
        let url = self.url(blob, query)?;
        headers.push(("x-ms-version".into(), API_VERSION.into()));
        headers.push(("x-ms-date".into(), http_date(OffsetDateTime::now_utc())));
        match &self.auth {
            BlobAuth::SharedKey { key } => {
                let signed = SignedRequest {
                    method: method.as_str(),
                    url: &url,
                    headers: &headers,
                    content_length: body.len(),
                };
                let authorization = shared_key::authorization(&self.account, key, &signed);
                headers.push(("Authorization".into(), authorization));
            }
            BlobAuth::Sas { .. } => {}
            BlobAuth::Entra { credential } => {
                let token =
                    credential
                        .get_token(&[STORAGE_SCOPE], None)
                        .await
                        .map_err(|error| {
                            self.unreachable(blob, "get a token for", error.to_string())
                        })?;
                headers.push((
                    "Authorization".into(),
                    format!("Bearer {}", token.token.secret()),
                ));
            }
        }
        if body.is_empty() && method == Method::PUT {
            // hyper leaves the length out of an empty body; the service requires it.
            headers.push(("Content-Length".into(), "0".into()));
        }
        let mut request = self.http.request(method, url);
        for (name, value) in &headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = request
            .body(body)
            .send()
            .await
            // Never the URL in a message: it may carry a SAS token.
            .map_err(|error| {
                self.unreachable(blob, "send a request to", error.without_url().to_string())
            })?;
        let status = response.status().as_u16();
        let response_headers = response.headers().clone();
        let etag = response_headers
            .get("etag")
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        let body = response.bytes().await.map_err(|error| {
            self.unreachable(
                blob,
                "read the answer from",
                error.without_url().to_string(),
            )
        })?;
        Ok(BlobResponse {
            status,
            etag,
            headers: response_headers,
            body: body.to_vec(),
        })
    }
}

/// Throttling and server-side failures: worth another try for a read.
pub(crate) fn is_retryable(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// RFC 1123 in GMT, as `x-ms-date` and `Last-Modified` are written.
pub(crate) fn http_date(moment: OffsetDateTime) -> String {
    let format = format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    moment
        .format(&format)
        .unwrap_or_else(|_| moment.unix_timestamp().to_string())
}

/// Parses an RFC 1123 date (`Last-Modified`, `Date`); `None` when it is not one.
pub(crate) fn parse_http_date(text: &str) -> Option<OffsetDateTime> {
    let format = format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(text, &format)
        .ok()
        .map(time::PrimitiveDateTime::assume_utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_throttling_and_server_failures_are_retried() {
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(is_retryable(status), "{status}");
        }
        for status in [200, 201, 304, 400, 403, 404, 409, 412, 501] {
            assert!(!is_retryable(status), "{status}");
        }
    }

    #[test]
    fn http_dates_round_trip() {
        let moment = OffsetDateTime::from_unix_timestamp(1_795_321_800).unwrap();
        let text = http_date(moment);
        assert_eq!(text, "Sun, 22 Nov 2026 04:30:00 GMT");
        assert_eq!(parse_http_date(&text), Some(moment));
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn blob_urls_are_path_style_under_the_endpoint_with_the_sas_appended() {
        let auth = BlobAuth::Sas {
            query: "sv=1&sig=a%2Bb".into(),
        };
        let client = BlobClient::new(
            "http://127.0.0.1:10000/devstoreaccount1/",
            "devstoreaccount1",
            "fk",
            auth,
        )
        .unwrap();
        let url = client
            .url(Some("team/m.json"), &[("comp", "lease")])
            .unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:10000/devstoreaccount1/fk/team/m.json?comp=lease&sv=1&sig=a%2Bb"
        );
    }
}
