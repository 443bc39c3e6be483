//! Helpers shared by the emulator's HTTP tests: start one on 127.0.0.1:0, talk ARM to it.

use fk::emulator::{EmulatorConfig, RunningEmulator};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

pub const SUB: &str = "00000000-0000-0000-0000-000000000000";
pub const ACI: &str = "api-version=2025-09-01";
pub const STORAGE: &str = "api-version=2025-08-01";
pub const RESOURCES: &str = "api-version=2021-04-01";

/// The official Azure specs for the cross-checks: `$FK_AZURE_SPECS`, else
/// `shared/reference/azure-specs` beside the repository; `None` (and one line on stderr
/// saying that `check` was not run) when neither is there. CI sets `FK_AZURE_SPECS` and
/// fails without it (`.ci/run`).
pub fn official_specs(check: &str) -> Option<PathBuf> {
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

/// An emulator checking request bodies against its own description, as everywhere.
pub fn test_config() -> EmulatorConfig {
    EmulatorConfig {
        provisioning_delay: Duration::from_millis(100),
        ..Default::default()
    }
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    }

    pub fn code(&self) -> &str {
        self.body
            .pointer("/error/code")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

pub struct Cloud {
    pub emulator: RunningEmulator,
    pub client: reqwest::Client,
}

impl Cloud {
    pub async fn start(config: EmulatorConfig) -> Cloud {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let emulator = fk::emulator::start(config).await.expect("emulator starts");
        let client = reqwest::Client::builder().build().expect("client builds");
        Cloud { emulator, client }
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.emulator.base_url)
        }
    }

    pub async fn send(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth("test-token");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request is answered");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("json body")
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send("GET", path, None).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.send("PUT", path, Some(body)).await
    }

    pub async fn post(&self, path: &str, body: Option<Value>) -> Answer {
        self.send("POST", path, body).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send("DELETE", path, None).await
    }

    /// Polls an `Azure-AsyncOperation` URL until its status is terminal.
    pub async fn wait_async(&self, url: &str) -> Answer {
        for _ in 0..1_000 {
            let answer = self.get(url).await;
            let status = answer.body["status"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if ["Succeeded", "Failed", "Canceled"].contains(&status.as_str()) {
                return answer;
            }
            assert_eq!(status, "InProgress", "non-terminal status is InProgress");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("operation {url} never finished");
    }

    /// Polls a `Location` URL until it stops answering 202.
    pub async fn wait_location(&self, url: &str) -> Answer {
        for _ in 0..1_000 {
            let answer = self.get(url).await;
            if answer.status != StatusCode::ACCEPTED {
                return answer;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("operation {url} never finished");
    }

    pub async fn create_resource_group(&self, group: &str, location: &str) {
        let answer = self
            .put(&rg_path(group), json!({ "location": location }))
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    }

    /// Creates a container group and waits for its provisioning to finish.
    pub async fn create_group(&self, group: &str, name: &str, body: Value) -> Answer {
        let answer = self.put(&cg_path(group, name), body).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        let operation = answer
            .header("azure-asyncoperation")
            .expect("Azure-AsyncOperation");
        self.wait_async(&operation).await
    }

    pub async fn log(&self) -> Vec<Value> {
        let answer = self
            .client
            .get(self.url("/_emulator/log"))
            .send()
            .await
            .expect("log");
        let body: Value = answer.json().await.expect("log json");
        body["entries"].as_array().cloned().unwrap_or_default()
    }
}

pub fn rg_path(group: &str) -> String {
    format!("/subscriptions/{SUB}/resourcegroups/{group}?{RESOURCES}")
}

pub fn cg_path(group: &str, name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.ContainerInstance/containerGroups/{name}?{ACI}"
    )
}

pub fn cg_action(group: &str, name: &str, action: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.ContainerInstance/containerGroups/{name}/{action}?{ACI}"
    )
}

pub fn account_path(group: &str, account: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Storage/storageAccounts/{account}?{STORAGE}"
    )
}

/// A small valid group: one nginx container with a secure env value and a secret volume.
pub fn group_body(location: &str, dns_label: &str, cpu: f64, image: &str) -> Value {
    json!({
        "location": location,
        "properties": {
            "osType": "Linux",
            "containers": [{
                "name": "web",
                "properties": {
                    "image": image,
                    "ports": [{ "port": 443 }],
                    "environmentVariables": [
                        { "name": "PLAIN", "value": "visible" },
                        { "name": "TOKEN", "secureValue": "hunter2" }
                    ],
                    "resources": { "requests": { "cpu": cpu, "memoryInGB": 1.0 } },
                    "volumeMounts": [{ "name": "certs", "mountPath": "/certs" }]
                }
            }],
            "ipAddress": { "type": "Public", "dnsNameLabel": dns_label, "ports": [{ "port": 443 }] },
            "volumes": [{ "name": "certs", "secret": { "tls.key": "c2VjcmV0" } }]
        }
    })
}
