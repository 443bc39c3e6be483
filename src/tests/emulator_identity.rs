//! The real `azure_identity` managed-identity credential gets a token from the emulator
//! (App Service style: `IDENTITY_ENDPOINT` + `IDENTITY_HEADER` over plain http). The credential
//! reads the process environment, and setting it in a test binary shared with other tests
//! would race them, so the credential runs in a child process of this binary that starts with
//! the two variables set.

use crate::emulator_support;

use azure_core::credentials::TokenCredential;
use azure_identity::ManagedIdentityCredential;
use emulator_support::*;

/// Set only in the child process: it then runs the credential half of the test.
const CHILD_VARIABLE: &str = "FK_TEST_IDENTITY_CHILD";

/// The child half of the test below: a token through the real credential, from the
/// environment this process was started with.
async fn get_token_from_environment() {
    // As in the parent: reqwest, built without a crypto provider, needs one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let credential = ManagedIdentityCredential::new(None).expect("credential from environment");
    let token = credential
        .get_token(&["https://management.azure.com/.default"], None)
        .await
        .expect("token from the emulator");
    assert!(token.token.secret().starts_with("fk-emulator-"));
    assert!(token.expires_on > time::OffsetDateTime::now_utc());
}

#[tokio::test]
async fn managed_identity_credential_gets_a_token_from_the_emulator() {
    if std::env::var_os(CHILD_VARIABLE).is_some() {
        return get_token_from_environment().await;
    }
    let cloud = Cloud::start(test_config()).await;
    let test_name = format!(
        "{}::managed_identity_credential_gets_a_token_from_the_emulator",
        module_path!().split_once("::").map_or("", |(_, path)| path)
    );
    let child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &test_name, "--nocapture", "--test-threads=1"])
        .env(CHILD_VARIABLE, "1")
        .env("IDENTITY_ENDPOINT", cloud.url("/msi/token"))
        .env("IDENTITY_HEADER", "emulator-identity-header")
        .output()
        .await
        .expect("the test binary runs");
    let child_stdout = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success(),
        "the child failed:\n{child_stdout}\n{}",
        String::from_utf8_lossy(&child.stderr)
    );
    // The child ran the test, not an empty filter.
    assert!(child_stdout.contains("1 passed"), "{child_stdout}");

    let log = cloud.log().await;
    let token_request = log
        .iter()
        .find(|entry| entry["path"] == "/msi/token")
        .expect("logged");
    assert_eq!(token_request["status"], 200);
}
