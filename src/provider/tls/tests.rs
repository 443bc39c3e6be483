//! The provider as the engine drives it: plan, create, read (refresh), plan again.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::*;
use crate::addr::Address;
use crate::provider::Provider;

fn map(pairs: &[(&str, Value)]) -> Value {
    Value::Map(
        pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.clone()))
            .collect::<BTreeMap<_, _>>(),
    )
}

fn schema_of(resource_type: &str) -> ResourceSchema {
    TlsProvider
        .schemas()
        .into_iter()
        .find(|schema| schema.type_name == resource_type)
        .unwrap()
}

fn ctx() -> OpContext {
    OpContext::new(Address::parse("tls_cert.x").unwrap())
}

/// Plans and creates a resource the way apply does; returns its state.
async fn create(resource_type: &str, config: &Value) -> Value {
    let change = TlsProvider
        .plan(&schema_of(resource_type), None, config)
        .unwrap();
    TlsProvider
        .create(&ctx(), resource_type, "id", &change.planned)
        .await
        .unwrap()
}

fn attr(value: &Value, name: &str) -> String {
    value.get(name).and_then(Value::as_str).unwrap().to_string()
}

/// A key, a CA and an admin client certificate with the given validity and window.
async fn chain(validity_hours: i64, renew_before_hours: i64) -> (Value, Value, Value) {
    let key = create("tls_private_key", &map(&[])).await;
    let ca = create(
        "tls_self_signed_ca",
        &map(&[
            (
                "private_key_pem",
                key.get("private_key_pem").unwrap().clone(),
            ),
            ("common_name", Value::str("kubernetes-ca")),
        ]),
    )
    .await;
    let admin = create(
        "tls_cert",
        &map(&[
            ("ca_cert_pem", Value::str(attr(&ca, "cert_pem"))),
            (
                "ca_private_key_pem",
                key.get("private_key_pem").unwrap().clone(),
            ),
            (
                "private_key_pem",
                key.get("private_key_pem").unwrap().clone(),
            ),
            ("common_name", Value::str("admin")),
            (
                "organization",
                Value::List(vec![Value::str("system:masters")]),
            ),
            (
                "usages",
                Value::List(vec![
                    Value::str("digital_signature"),
                    Value::str("client_auth"),
                ]),
            ),
            ("validity_hours", Value::Int(validity_hours)),
            ("renew_before_hours", Value::Int(renew_before_hours)),
        ]),
    )
    .await;
    (key, ca, admin)
}

/// The configuration part of a stored certificate (what the module would still say).
fn config_of(resource_type: &str, stored: &Value) -> Value {
    let schema = schema_of(resource_type);
    Value::Map(
        stored
            .as_map()
            .unwrap()
            .iter()
            .filter(|(name, _)| {
                schema
                    .attribute(name)
                    .is_some_and(|attribute| attribute.is_configurable())
            })
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect(),
    )
}

#[tokio::test]
async fn generated_secrets_are_sensitive_and_never_displayed() {
    let (key, _, _) = chain(48, 24).await;
    let private_pem = key.get("private_key_pem").unwrap();
    assert!(private_pem.is_sensitive());
    assert!(!key.get("public_key_pem").unwrap().is_sensitive());
    assert!(!key.to_string().contains("PRIVATE KEY"));
    let random = create("random_key", &map(&[])).await;
    assert!(random.get("base64").unwrap().is_sensitive());
    assert!(!random.to_string().contains(&attr(&random, "base64")));
}

#[tokio::test]
async fn plan_of_a_new_certificate_knows_nothing_signed_yet() {
    let (key, ca, _) = chain(48, 24).await;
    let config = map(&[
        ("ca_cert_pem", Value::str(attr(&ca, "cert_pem"))),
        (
            "ca_private_key_pem",
            key.get("private_key_pem").unwrap().clone(),
        ),
        ("private_key_pem", Value::Unknown.sensitive()),
        ("common_name", Value::str("etcd0")),
        ("usages", Value::List(vec![Value::str("server_auth")])),
    ]);
    let change = TlsProvider
        .plan(&schema_of("tls_cert"), None, &config)
        .unwrap();
    assert_eq!(change.planned.get("cert_pem"), Some(&Value::Unknown));
    assert_eq!(change.planned.get("not_after"), Some(&Value::Unknown));
    assert_eq!(change.planned.get("renewal_due"), Some(&Value::Null));
    assert_eq!(
        change.planned.get("validity_hours"),
        Some(&Value::Int(8_760))
    );
}

#[tokio::test]
async fn refresh_outside_the_window_changes_nothing() {
    let (_, _, admin) = chain(48, 24).await;
    let live = TlsProvider
        .read(&ctx(), "tls_cert", "id", &admin)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.get("renewal_due"), Some(&Value::Null));
    let change = TlsProvider
        .plan(
            &schema_of("tls_cert"),
            Some(&live),
            &config_of("tls_cert", &live),
        )
        .unwrap();
    assert!(
        change.requires_replace.is_empty(),
        "{:?}",
        change.requires_replace
    );
    assert!(change.planned.same_data(&live));
}

#[tokio::test]
async fn certificate_inside_its_window_is_replaced_with_the_days_left() {
    let (_, _, mut admin) = chain(8_760, 720).await;
    // Twelve days (and an hour, so the count does not round down) before expiry.
    let not_after = OffsetDateTime::now_utc() + Duration::days(12) + Duration::hours(1);
    admin.as_map_mut().unwrap().insert(
        "not_after".into(),
        Value::str(not_after.format(&Rfc3339).unwrap()),
    );
    let live = TlsProvider
        .read(&ctx(), "tls_cert", "id", &admin)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        live.get("renewal_due"),
        Some(&Value::str("expires in 12 days"))
    );
    let change = TlsProvider
        .plan(
            &schema_of("tls_cert"),
            Some(&live),
            &config_of("tls_cert", &live),
        )
        .unwrap();
    assert_eq!(change.requires_replace.len(), 1);
    assert_eq!(
        change.requires_replace[0].reason,
        "the certificate expires in 12 days, inside its renewal window of 30 days"
    );
}

#[tokio::test]
async fn plan_refuses_values_that_only_became_known() {
    let config = map(&[
        ("algorithm", Value::str("RSA")),
        ("rsa_bits", Value::Int(1024)),
    ]);
    let err = TlsProvider
        .plan(&schema_of("tls_private_key"), None, &config)
        .unwrap_err();
    assert_eq!(err.code, "fk::tls::rsa_bits");
}

async fn admin_kubeconfig() -> (Value, Value, Value, String) {
    let (key, ca, admin) = chain(48, 24).await;
    let kubeconfig = create(
        "kubeconfig",
        &map(&[
            ("cluster_name", Value::str("frankenetes")),
            (
                "server",
                Value::str("https://fk-apiserver.westeurope.azurecontainer.io:6443"),
            ),
            ("ca_cert_pem", Value::str(attr(&ca, "cert_pem"))),
            ("client_cert_pem", Value::str(attr(&admin, "cert_pem"))),
            (
                "client_key_pem",
                key.get("private_key_pem").unwrap().clone(),
            ),
            ("user", Value::str("admin")),
        ]),
    )
    .await;
    assert!(kubeconfig.get("kubeconfig").unwrap().is_sensitive());
    let text = attr(&kubeconfig, "kubeconfig");
    (key, ca, admin, text)
}

#[tokio::test]
async fn kubeconfig_embeds_the_inputs_as_base64() {
    let (key, ca, admin, text) = admin_kubeconfig().await;
    let field = |name: &str| -> String {
        let line = text
            .lines()
            .find_map(|line| line.trim().strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} in the kubeconfig"));
        String::from_utf8(STANDARD.decode(line).unwrap()).unwrap()
    };
    assert_eq!(field("certificate-authority-data"), attr(&ca, "cert_pem"));
    assert_eq!(field("client-certificate-data"), attr(&admin, "cert_pem"));
    assert_eq!(field("client-key-data"), attr(&key, "private_key_pem"));
    assert!(
        text.contains("current-context: \"frankenetes\"\n"),
        "{text}"
    );
}

#[tokio::test]
async fn kubectl_accepts_the_kubeconfig() {
    let (_, _, _, text) = admin_kubeconfig().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("admin.conf");
    std::fs::write(&file, &text).unwrap();
    let output = std::process::Command::new("kubectl")
        .args([
            "config",
            "view",
            "--minify",
            "--raw",
            "-o",
            "json",
            "--kubeconfig",
        ])
        .arg(&file)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{shown}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let view: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(view["current-context"], "frankenetes");
    assert_eq!(
        view["clusters"][0]["cluster"]["server"],
        "https://fk-apiserver.westeurope.azurecontainer.io:6443"
    );
    assert_eq!(view["contexts"][0]["context"]["user"], "admin");
    assert!(view["users"][0]["user"]["client-key-data"].is_string());
}

#[tokio::test]
async fn kubeconfig_updates_in_place_and_is_known_at_plan_time() {
    let (_, _, _, _) = admin_kubeconfig().await;
    let (key, ca, admin) = chain(48, 24).await;
    let config = map(&[
        ("cluster_name", Value::str("frankenetes")),
        ("server", Value::str("https://a.example:6443")),
        ("ca_cert_pem", Value::str(attr(&ca, "cert_pem"))),
        ("client_cert_pem", Value::str(attr(&admin, "cert_pem"))),
        (
            "client_key_pem",
            key.get("private_key_pem").unwrap().clone(),
        ),
        ("user", Value::str("admin")),
    ]);
    let schema = schema_of("kubeconfig");
    let prior = create("kubeconfig", &config).await;
    let mut moved = config.clone();
    moved
        .as_map_mut()
        .unwrap()
        .insert("server".into(), Value::str("https://b.example:6443"));
    let change = TlsProvider.plan(&schema, Some(&prior), &moved).unwrap();
    assert!(change.requires_replace.is_empty());
    let planned_text = attr(&change.planned, "kubeconfig");
    assert!(planned_text.contains("server: \"https://b.example:6443\""));
    let updated = TlsProvider
        .update(&ctx(), "kubeconfig", "id", &prior, &change.planned)
        .await
        .unwrap();
    assert_eq!(attr(&updated, "kubeconfig"), planned_text);
    // With the client certificate not yet known, the text is not either.
    moved
        .as_map_mut()
        .unwrap()
        .insert("client_cert_pem".into(), Value::Unknown);
    let change = TlsProvider.plan(&schema, Some(&prior), &moved).unwrap();
    assert!(change.planned.get("kubeconfig").unwrap().is_unknown());
}

#[test]
fn every_type_is_listed_once_under_its_schema_name() {
    let names: Vec<&str> = TYPES.iter().map(|ty| ty.name()).collect();
    assert_eq!(
        names,
        [
            "tls_private_key",
            "tls_self_signed_ca",
            "tls_cert",
            "kubeconfig",
            "random_key"
        ]
    );
    for ty in TYPES {
        assert_eq!(ty.schema().type_name, ty.name());
        assert_eq!(find(ty.name()).map(|found| found.name()), Ok(ty.name()));
    }
    let certificates: Vec<&str> = TYPES
        .iter()
        .filter(|ty| ty.is_certificate())
        .map(|ty| ty.name())
        .collect();
    assert_eq!(certificates, ["tls_self_signed_ca", "tls_cert"]);
    let unknown = find("tls_csr").map(|ty| ty.name()).unwrap_err();
    assert_eq!(unknown.code, "fk::tls::unknown_type");
}
