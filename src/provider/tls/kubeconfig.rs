//! `kubeconfig`: a kubeconfig file with the CA and the client certificate and key embedded.
//!
//! Attributes (all update in place: the kubeconfig is only text):
//! - `cluster_name` (string, required): the cluster entry's name.
//! - `server` (string, required): the API server, `https://<apiserver-fqdn>:6443`.
//! - `ca_cert_pem` (string, required): the CA that signed the server certificate.
//! - `client_cert_pem` (string, required), `client_key_pem` (string, sensitive, required):
//!   the user's client certificate and key.
//! - `user` (string, required): the user entry's name.
//! - `context` (string, default `cluster_name`): the context's name; it is the
//!   `current-context`.
//! - `kubeconfig` (computed, sensitive): the YAML text, with `certificate-authority-data`,
//!   `client-certificate-data` and `client-key-data` base64-embedded. Known at plan time when
//!   every input is.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::inputs::{TlsError, problem, text, with_defaults};
use super::{TlsType, with_computed};
use crate::provider::{AttrProblem, Attribute, PlannedChange, ResourceSchema, Type};
use crate::value::Value;

pub(crate) const KUBECONFIG_TYPE: &str = "kubeconfig";

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema {
        type_name: KUBECONFIG_TYPE.into(),
        description: "a kubeconfig with its CA and client credentials embedded".into(),
        attributes: vec![
            Attribute::required("cluster_name", Type::String).describe("the cluster's name"),
            Attribute::required("server", Type::String)
                .describe("the API server URL, `https://...`"),
            Attribute::required("ca_cert_pem", Type::String).describe("the cluster CA, PEM"),
            Attribute::required("client_cert_pem", Type::String)
                .describe("the client certificate, PEM"),
            Attribute::required("client_key_pem", Type::String)
                .sensitive()
                .describe("the client private key, PEM"),
            Attribute::required("user", Type::String).describe("the user entry's name"),
            Attribute::optional("context", Type::String)
                .describe("the context's name; default `cluster_name`"),
            Attribute::computed("kubeconfig", Type::String)
                .sensitive()
                .describe("the kubeconfig YAML"),
        ],
        remote: false,
    }
}

/// `context` defaults to `cluster_name` (when that is known).
pub(crate) fn defaults(config: &Value) -> Value {
    match config.get("cluster_name") {
        Some(name) if !name.is_null() => with_defaults(config, &[("context", name.clone())]),
        _ => config.clone(),
    }
}

pub(crate) fn validate(config: &Value) -> Vec<AttrProblem> {
    let mut problems = Vec::new();
    if let Some(server) = config.get("server").and_then(Value::as_str) {
        let host = server.strip_prefix("https://").unwrap_or_default();
        if host.is_empty() || host.starts_with('/') || host.starts_with(':') {
            let mut found = problem(
                "server",
                "fk::tls::bad_server_url",
                format!("`{server}` is not an https URL with a host"),
            );
            found.help = Some("for example `https://${dns_label.apiserver.fqdn}:6443`".into());
            problems.push(found);
        }
    }
    for name in ["cluster_name", "user", "context"] {
        if config
            .get(name)
            .and_then(Value::as_str)
            .is_some_and(|text| text.trim().is_empty())
        {
            problems.push(problem(
                name,
                "fk::tls::empty_name",
                format!("`{name}` is empty"),
            ));
        }
    }
    problems
}

/// The kubeconfig text for `values`, when every input is known.
pub(crate) fn render(values: &Value) -> Result<String, TlsError> {
    let quoted = |name: &str| -> Result<String, TlsError> {
        // A JSON string is a valid YAML double-quoted scalar.
        Ok(serde_json::Value::String(text(values, name)?.to_string()).to_string())
    };
    let embedded = |name: &str| -> Result<String, TlsError> {
        Ok(STANDARD.encode(text(values, name)?.as_bytes()))
    };
    let cluster = quoted("cluster_name")?;
    let user = quoted("user")?;
    let context = quoted("context")?;
    let lines = [
        "apiVersion: v1".to_string(),
        "kind: Config".into(),
        "clusters:".into(),
        format!("- name: {cluster}"),
        "  cluster:".into(),
        format!(
            "    certificate-authority-data: {}",
            embedded("ca_cert_pem")?
        ),
        format!("    server: {}", quoted("server")?),
        "contexts:".into(),
        format!("- name: {context}"),
        "  context:".into(),
        format!("    cluster: {cluster}"),
        format!("    user: {user}"),
        format!("current-context: {context}"),
        "users:".into(),
        format!("- name: {user}"),
        "  user:".into(),
        format!(
            "    client-certificate-data: {}",
            embedded("client_cert_pem")?
        ),
        format!("    client-key-data: {}", embedded("client_key_pem")?),
        "preferences: {}".into(),
    ];
    Ok(lines.join("\n") + "\n")
}

/// The planned `kubeconfig`: the text when every input is known, else unknown.
pub(crate) fn planned_text(config: &Value) -> Value {
    let text = if config.is_wholly_known() {
        render(config).map(Value::str).unwrap_or(Value::Unknown)
    } else {
        Value::Unknown
    };
    text.sensitive()
}

/// The kubeconfig type: the only `tls` type that updates in place.
pub(super) static KUBECONFIG: TlsType = TlsType {
    refine_plan,
    update: remake,
    ..TlsType::new(KUBECONFIG_TYPE, schema, defaults, validate, make)
};

fn make(planned: &Value) -> Result<Value, TlsError> {
    Ok(with_computed(
        planned,
        vec![("kubeconfig", Value::str(render(planned)?).sensitive())],
    ))
}

/// The text is known at plan time when every input is.
fn refine_plan(change: &mut PlannedChange, config: &Value) {
    if let Some(planned) = change.planned.as_map_mut() {
        planned.insert("kubeconfig".into(), planned_text(config));
    }
}

/// The text is made again from the new inputs.
fn remake(_prior: &Value, planned: &Value) -> Result<Value, TlsError> {
    make(planned)
}
