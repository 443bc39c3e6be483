//! The real `azure_identity` managed-identity credential gets a token from the emulator
//! (App Service style: `IDENTITY_ENDPOINT` + `IDENTITY_HEADER` over plain http). Alone in its
//! test binary because it sets process environment variables.

mod emulator_support;

use azure_core::credentials::TokenCredential;
use azure_identity::ManagedIdentityCredential;
use emulator_support::*;

#[tokio::test]
async fn managed_identity_credential_gets_a_token_from_the_emulator() {
    let cloud = Cloud::start(test_config()).await;
    // SAFETY: this binary has a single test and nothing else reads the environment meanwhile.
    unsafe {
        std::env::set_var("IDENTITY_ENDPOINT", cloud.url("/msi/token"));
        std::env::set_var("IDENTITY_HEADER", "emulator-identity-header");
    }
    let credential = ManagedIdentityCredential::new(None).expect("credential from environment");
    let token = credential
        .get_token(&["https://management.azure.com/.default"], None)
        .await
        .expect("token from the emulator");
    assert!(token.token.secret().starts_with("fk-emulator-"));
    assert!(token.expires_on > time::OffsetDateTime::now_utc());

    let log = cloud.log().await;
    let token_request = log
        .iter()
        .find(|entry| entry["path"] == "/msi/token")
        .expect("logged");
    assert_eq!(token_request["status"], 200);
}
