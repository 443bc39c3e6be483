//! The PKI through the whole engine: a chain applied from a module, checked with openssl and
//! kubectl, renewed when refresh finds a certificate inside its window, and never shown in a
//! plan.

use crate::support;

use std::path::{Path, PathBuf};

use fk::provider::fake::FakeConfig;
use fk::state::State;
use support::{PlanOptions, Session, fake, session};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("testdata/plan/{name}"))
}

fn load(dir: &Path) -> Session {
    session(dir, fake(FakeConfig::default())).expect("the module is valid")
}

/// Applies the PKI chain from nothing; returns its session and state.
async fn applied_chain() -> (Session, State) {
    let module = load(&case("pki-chain/module"));
    let state = State::new("00000000-0000-4000-8000-000000000000");
    let plan = module.plan(&state, &PlanOptions::default()).await.unwrap();
    let (state, report) = module.apply(&plan, 4).await;
    assert!(report.succeeded(), "{:?}", report.results);
    (module, state)
}

fn attribute(state: &State, address: &str, name: &str) -> String {
    state.resources[address].attributes[name]
        .as_str()
        .unwrap_or_else(|| panic!("{address}.{name} is not a string"))
        .to_string()
}

/// The lines of base64 between a PEM block's markers.
fn pem_body_lines(pem: &str) -> Vec<String> {
    pem.lines()
        .filter(|line| !line.starts_with("-----"))
        .map(String::from)
        .collect()
}

fn render(plan: &fk::plan::Plan) -> (String, String) {
    (
        fk::render::plan_text(plan, false),
        serde_json::to_string_pretty(&fk::render::plan_json(plan)).unwrap(),
    )
}

#[tokio::test]
async fn applied_chain_verifies_with_openssl_and_kubectl() {
    let (_, state) = applied_chain().await;
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let ca = write(
        "ca.crt",
        &attribute(&state, "tls_self_signed_ca.kubernetes", "cert_pem"),
    );
    let admin = write(
        "admin.crt",
        &attribute(&state, "tls_cert.admin", "cert_pem"),
    );
    let verified = std::process::Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(&ca)
        .arg(&admin)
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let kubeconfig = write(
        "admin.conf",
        &attribute(&state, "kubeconfig.admin", "kubeconfig"),
    );
    let viewed = std::process::Command::new("kubectl")
        .args(["config", "view", "--minify", "--raw", "--kubeconfig"])
        .arg(&kubeconfig)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&viewed.stdout);
    assert!(viewed.status.success(), "{shown}");
    assert!(shown.contains("current-context: frankenetes"), "{shown}");
    // The state knows which values are secrets, so they are hidden when it is read back.
    let sensitive = &state.resources["tls_private_key.admin"].sensitive_paths;
    assert_eq!(sensitive, &["private_key_pem".to_string()]);
}

#[tokio::test]
async fn plan_of_an_update_shows_no_secret() {
    let (_, state) = applied_chain().await;
    let mut secrets: Vec<String> = Vec::new();
    for address in ["tls_private_key.admin", "tls_private_key.ca"] {
        secrets.extend(pem_body_lines(&attribute(
            &state,
            address,
            "private_key_pem",
        )));
    }
    secrets.push(attribute(&state, "random_key.encryption", "base64"));
    let kubeconfig = attribute(&state, "kubeconfig.admin", "kubeconfig");
    let key_data = kubeconfig
        .lines()
        .find_map(|line| line.trim().strip_prefix("client-key-data: "))
        .unwrap()
        .to_string();
    secrets.push(key_data);
    assert!(secrets.iter().all(|secret| secret.len() >= 20));

    let reissue = load(&case("pki-reissue/module"));
    let options = PlanOptions {
        refresh: true,
        ..PlanOptions::default()
    };
    let plan = reissue.plan(&state, &options).await.unwrap();
    let (text, json) = render(&plan);
    assert!(
        text.contains("kubeconfig.admin will be updated in place"),
        "{text}"
    );
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "a secret is in the plan:\n{text}"
        );
        assert!(
            !json.contains(secret.as_str()),
            "a secret is in the JSON plan"
        );
    }
}

#[tokio::test]
async fn certificate_inside_its_renewal_window_is_replaced_then_converges() {
    let (module, mut state) = applied_chain().await;
    let soon = OffsetDateTime::now_utc() + Duration::days(12) + Duration::hours(1);
    state
        .resources
        .get_mut("tls_cert.admin")
        .unwrap()
        .attributes["not_after"] = serde_json::Value::String(soon.format(&Rfc3339).unwrap());
    let options = PlanOptions {
        refresh: true,
        ..PlanOptions::default()
    };
    let plan = module.plan(&state, &options).await.unwrap();
    let (text, _) = render(&plan);
    assert!(
        text.contains(
            "`not_after` forces replacement: the certificate expires in 12 days, inside its \
             renewal window of 30 days"
        ),
        "{text}"
    );
    assert!(
        text.contains("kubeconfig.admin will be updated in place"),
        "{text}"
    );
    assert!(
        text.contains("Plan: 1 to add, 1 to change, 1 to destroy."),
        "{text}"
    );

    let (renewed, report) = module.apply(&plan, 4).await;
    assert!(report.succeeded(), "{:?}", report.results);
    assert_ne!(
        attribute(&renewed, "tls_cert.admin", "not_after"),
        soon.format(&Rfc3339).unwrap()
    );
    let again = module.plan(&renewed, &options).await.unwrap();
    assert!(
        !again.has_changes(),
        "{}",
        fk::render::plan_text(&again, false)
    );
}

#[tokio::test]
async fn ignoring_not_after_turns_renewal_off() {
    let dir = tempfile::tempdir().unwrap();
    let module_dir = dir.path().join("pki");
    std::fs::create_dir(&module_dir).unwrap();
    let mut text = std::fs::read_to_string(case("pki-chain/module/main.toml")).unwrap();
    text.push_str("\n[resource.tls_cert.admin.lifecycle]\nignore_changes = [\"not_after\"]\n");
    std::fs::write(module_dir.join("main.toml"), text).unwrap();
    let module = load(&module_dir);
    let plan = module
        .plan(
            &State::new("00000000-0000-4000-8000-000000000000"),
            &PlanOptions::default(),
        )
        .await
        .unwrap();
    let (mut state, report) = module.apply(&plan, 4).await;
    assert!(report.succeeded(), "{:?}", report.results);
    let soon = OffsetDateTime::now_utc() + Duration::days(2);
    state
        .resources
        .get_mut("tls_cert.admin")
        .unwrap()
        .attributes["not_after"] = serde_json::Value::String(soon.format(&Rfc3339).unwrap());
    let options = PlanOptions {
        refresh: true,
        ..PlanOptions::default()
    };
    let plan = module.plan(&state, &options).await.unwrap();
    assert!(
        !plan.has_changes(),
        "{}",
        fk::render::plan_text(&plan, false)
    );
}

#[test]
fn validate_reports_every_pki_mistake_at_its_value() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_fk"))
        .arg("validate")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/pki/bad-values"))
        .env("NO_COLOR", "1")
        .output()
        .expect("fk runs");
    let shown = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{shown}");
    for (code, line) in [
        ("fk::tls::rsa_bits", "main.toml:5:12"),
        ("fk::tls::bad_renewal_window", "main.toml:13:22"),
        ("fk::tls::empty_common_name", "main.toml:19:15"),
        ("fk::tls::bad_ip_address", "main.toml:20:30"),
        ("fk::tls::unknown_usage", "main.toml:21:26"),
        ("fk::tls::bad_server_url", "main.toml:25:10"),
    ] {
        let at = shown
            .find(&format!("error[{code}]"))
            .unwrap_or_else(|| panic!("no {code} in:\n{shown}"));
        assert!(shown[at..].contains(line), "{code} not at {line}:\n{shown}");
    }
    assert!(shown.contains("did you mean `client_auth`?"), "{shown}");
    assert!(shown.contains("6 errors"), "{shown}");
}

#[tokio::test]
async fn renewing_the_ca_signs_its_certificates_anew() {
    let (module, mut state) = applied_chain().await;
    let expired = OffsetDateTime::now_utc() - Duration::days(3) - Duration::hours(1);
    state
        .resources
        .get_mut("tls_self_signed_ca.kubernetes")
        .unwrap()
        .attributes["not_after"] = serde_json::Value::String(expired.format(&Rfc3339).unwrap());
    let options = PlanOptions {
        refresh: true,
        ..PlanOptions::default()
    };
    let plan = module.plan(&state, &options).await.unwrap();
    let (text, _) = render(&plan);
    assert!(
        text.contains("`not_after` forces replacement: the certificate expired 3 days ago"),
        "{text}"
    );
    assert!(
        text.contains("`ca_cert_pem` forces replacement: a new `ca_cert_pem` needs a newly signed"),
        "{text}"
    );
    assert!(
        text.contains("Plan: 2 to add, 1 to change, 2 to destroy."),
        "{text}"
    );
    let (renewed, report) = module.apply(&plan, 4).await;
    assert!(report.succeeded(), "{:?}", report.results);
    let again = module.plan(&renewed, &options).await.unwrap();
    assert!(
        !again.has_changes(),
        "{}",
        fk::render::plan_text(&again, false)
    );
}
