//! A scripted ARM for tests: an axum server on 127.0.0.1:0 that answers each request with
//! the next scripted reply of the most specific matching rule (the last reply repeats), and
//! records every request it saw.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{Value as Json, json};

use super::auth::StaticToken;
use super::client::ArmClient;
use super::retry::RetryPolicy;

#[derive(Clone, Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Json,
}

impl Reply {
    pub(crate) fn json(status: u16, body: Json) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body,
        }
    }

    pub(crate) fn empty(status: u16) -> Reply {
        Reply::json(status, Json::Null)
    }

    pub(crate) fn error(status: u16, code: &str, message: &str) -> Reply {
        Reply::json(status, json!({"error": {"code": code, "message": message}}))
    }

    pub(crate) fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Recorded {
    pub(crate) method: String,
    /// Path and query.
    pub(crate) uri: String,
    pub(crate) body: Json,
    pub(crate) authorization: Option<String>,
}

struct Rule {
    method: String,
    path_contains: String,
    replies: VecDeque<Reply>,
    last: Option<Reply>,
}

#[derive(Default)]
struct Script {
    rules: Vec<Rule>,
    requests: Vec<Recorded>,
}

#[derive(Clone)]
pub(crate) struct TestArm {
    pub(crate) base: String,
    script: Arc<Mutex<Script>>,
}

impl TestArm {
    pub(crate) async fn start() -> TestArm {
        let script = Arc::new(Mutex::new(Script::default()));
        let router = axum::Router::new()
            .fallback(answer)
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let address = listener.local_addr().expect("local address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        TestArm {
            base: format!("http://{address}"),
            script,
        }
    }

    /// Replies for `method` on paths containing `path_contains`, in order; the last repeats.
    pub(crate) fn on(&self, method: &str, path_contains: &str, replies: Vec<Reply>) {
        let mut script = self.script.lock().expect("script lock");
        script.rules.push(Rule {
            method: method.to_string(),
            path_contains: path_contains.to_string(),
            replies: replies.into(),
            last: None,
        });
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.script.lock().expect("script lock").requests.clone()
    }

    pub(crate) fn count(&self, method: &str, path_contains: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == method && r.uri.contains(path_contains))
            .count()
    }

    /// A client for this server with fast polls and retries.
    pub(crate) fn client(&self) -> ArmClient {
        ArmClient::new(
            &self.base,
            "sub",
            Arc::new(StaticToken::new("test-token")),
            fast_retry(),
            Duration::from_millis(1),
        )
        .expect("client")
    }
}

pub(crate) fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    }
}

async fn answer(State(script): State<Arc<Mutex<Script>>>, request: Request) -> Response {
    let method = request.method().to_string();
    let uri = request.uri().to_string();
    let path = request.uri().path().to_string();
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let bytes = axum::body::to_bytes(request.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    let body = serde_json::from_slice(&bytes).unwrap_or(Json::Null);
    let reply = {
        let mut script = script.lock().expect("script lock");
        script.requests.push(Recorded {
            method: method.clone(),
            uri,
            body,
            authorization,
        });
        let rule = script
            .rules
            .iter_mut()
            .filter(|rule| rule.method == method && path.contains(&rule.path_contains))
            .max_by_key(|rule| rule.path_contains.len());
        match rule {
            Some(rule) => {
                if let Some(next) = rule.replies.pop_front() {
                    rule.last = Some(next);
                }
                rule.last.clone()
            }
            None => None,
        }
    };
    let reply = reply.unwrap_or_else(|| Reply::error(404, "ResourceNotFound", "not scripted"));
    let mut response = Response::new(if reply.body.is_null() {
        Body::empty()
    } else {
        Body::from(reply.body.to_string())
    });
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    for (name, value) in reply.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
}
