//! Bearer tokens for ARM.
//!
//! [`TokenSource`] is fk's own seam: [`StaticToken`] serves the emulator and tests,
//! [`IdentityTokenSource`] wraps an `azure_identity` credential chosen from an
//! [`EnvSnapshot`] in the documented order: client secret (`AZURE_TENANT_ID`,
//! `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`) → workload identity (`AZURE_FEDERATED_TOKEN_FILE`)
//! → managed identity (`IDENTITY_ENDPOINT` or IMDS) → Azure CLI (`az login`). The engine never
//! reads the environment: the CLI passes the snapshot in. Tokens never appear in Debug or
//! Display output.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::ClientOptions;
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, ClientAssertionCredentialOptions,
    ClientSecretCredential, ClientSecretCredentialOptions, ManagedIdentityCredential,
    ManagedIdentityCredentialOptions, UserAssignedId, WorkloadIdentityCredential,
    WorkloadIdentityCredentialOptions,
};
use tokio::sync::Mutex;

use super::cloud::CloudProfile;

/// An access token. Debug and Display print `(redacted)`; only [`BearerToken::secret`]
/// gives the text, for the `Authorization` header.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(String);

impl BearerToken {
    pub(crate) fn new(token: impl Into<String>) -> BearerToken {
        BearerToken(token.into())
    }

    pub(crate) fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(redacted)")
    }
}

impl fmt::Display for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

/// A token could not be obtained. The message comes from the credential and names it; it
/// never carries a token or a client secret.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[error("could not get an ARM token from {source_name}: {message}")]
pub struct AuthError {
    pub(crate) source_name: String,
    pub(crate) message: String,
}

#[async_trait]
pub trait TokenSource: Send + Sync {
    /// A token valid for the next few minutes.
    async fn token(&self) -> Result<BearerToken, AuthError>;

    /// What the token comes from, for messages: `Azure CLI`, `static token`.
    fn describe(&self) -> String;
}

/// One fixed token, for the emulator (which accepts any bearer) and tests.
#[derive(Clone, Debug)]
pub struct StaticToken(BearerToken);

impl StaticToken {
    pub fn new(token: impl Into<String>) -> StaticToken {
        StaticToken(BearerToken::new(token))
    }
}

#[async_trait]
impl TokenSource for StaticToken {
    async fn token(&self) -> Result<BearerToken, AuthError> {
        Ok(self.0.clone())
    }

    fn describe(&self) -> String {
        "static token".into()
    }
}

/// The process environment as the CLI saw it. Debug shows names only, never values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EnvSnapshot(BTreeMap<String, String>);

impl EnvSnapshot {
    pub(crate) fn new(vars: impl IntoIterator<Item = (String, String)>) -> EnvSnapshot {
        EnvSnapshot(vars.into_iter().collect())
    }

    /// A variable's value; empty values count as unset.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }

    /// Sets a variable (the CLI fills in placeholders before building a config).
    pub(crate) fn set(&mut self, name: &str, value: &str) {
        self.0.insert(name.to_string(), value.to_string());
    }

    fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

impl fmt::Debug for EnvSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// The credential fk picks from the environment, in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CredentialKind {
    ClientSecret,
    WorkloadIdentity,
    ManagedIdentity,
    AzureCli,
}

impl CredentialKind {
    pub(crate) fn label(self) -> &'static str {
        match self {
            CredentialKind::ClientSecret => "client secret (AZURE_CLIENT_SECRET)",
            CredentialKind::WorkloadIdentity => "workload identity (AZURE_FEDERATED_TOKEN_FILE)",
            CredentialKind::ManagedIdentity => "managed identity",
            CredentialKind::AzureCli => "Azure CLI",
        }
    }
}

/// The documented order: a complete service-principal triple wins, then a federated token
/// file, then a managed-identity host (`IDENTITY_ENDPOINT`, `MSI_ENDPOINT`, or
/// `FK_AZURE_USE_IMDS=1` to try IMDS), else `az login`.
pub(crate) fn choose_credential(env: &EnvSnapshot) -> CredentialKind {
    let has_app = env.has("AZURE_TENANT_ID") && env.has("AZURE_CLIENT_ID");
    if has_app && env.has("AZURE_CLIENT_SECRET") {
        CredentialKind::ClientSecret
    } else if has_app && env.has("AZURE_FEDERATED_TOKEN_FILE") {
        CredentialKind::WorkloadIdentity
    } else if env.has("IDENTITY_ENDPOINT")
        || env.has("MSI_ENDPOINT")
        || env.get("FK_AZURE_USE_IMDS") == Some("1")
    {
        CredentialKind::ManagedIdentity
    } else {
        CredentialKind::AzureCli
    }
}

/// Tokens from an `azure_identity` credential, cached until five minutes before expiry.
pub struct IdentityTokenSource {
    credential: Arc<dyn TokenCredential>,
    kind: CredentialKind,
    scope: String,
    cached: Mutex<Option<(BearerToken, time::OffsetDateTime)>>,
}

impl IdentityTokenSource {
    /// Builds the credential [`choose_credential`] picks for `env`, for `cloud`'s ARM.
    pub(crate) fn from_env(
        env: &EnvSnapshot,
        cloud: &CloudProfile,
    ) -> Result<IdentityTokenSource, AuthError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let kind = choose_credential(env);
        let client_options = ClientOptions {
            cloud: Some(Arc::new(cloud.sdk_cloud())),
            ..ClientOptions::default()
        };
        let fail = |error: azure_core::Error| AuthError {
            source_name: kind.label().to_string(),
            message: error.to_string(),
        };
        let var = |name: &str| env.get(name).unwrap_or_default().to_string();
        let credential: Arc<dyn TokenCredential> = match kind {
            CredentialKind::ClientSecret => ClientSecretCredential::new(
                &var("AZURE_TENANT_ID"),
                var("AZURE_CLIENT_ID"),
                Secret::new(var("AZURE_CLIENT_SECRET")),
                Some(ClientSecretCredentialOptions { client_options }),
            )
            .map_err(fail)?,
            CredentialKind::WorkloadIdentity => {
                WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
                    credential_options: ClientAssertionCredentialOptions { client_options },
                    client_id: Some(var("AZURE_CLIENT_ID")),
                    tenant_id: Some(var("AZURE_TENANT_ID")),
                    token_file_path: Some(var("AZURE_FEDERATED_TOKEN_FILE").into()),
                }))
                .map_err(fail)?
            }
            CredentialKind::ManagedIdentity => {
                ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                    user_assigned_id: env
                        .get("AZURE_CLIENT_ID")
                        .map(|id| UserAssignedId::ClientId(id.to_string())),
                    client_options,
                }))
                .map_err(fail)?
            }
            CredentialKind::AzureCli => AzureCliCredential::new(Some(AzureCliCredentialOptions {
                subscription: None,
                tenant_id: env.get("AZURE_TENANT_ID").map(str::to_string),
                ..Default::default()
            }))
            .map_err(fail)?,
        };
        Ok(IdentityTokenSource {
            credential,
            kind,
            scope: cloud.token_scope.clone(),
            cached: Mutex::new(None),
        })
    }

    /// A source over any credential (tests use a fake one).
    #[cfg(test)]
    pub(crate) fn with_credential(
        credential: Arc<dyn TokenCredential>,
        kind: CredentialKind,
        scope: &str,
    ) -> IdentityTokenSource {
        IdentityTokenSource {
            credential,
            kind,
            scope: scope.to_string(),
            cached: Mutex::new(None),
        }
    }

    #[cfg(test)]
    pub(crate) fn kind(&self) -> CredentialKind {
        self.kind
    }
}

#[async_trait]
impl TokenSource for IdentityTokenSource {
    async fn token(&self) -> Result<BearerToken, AuthError> {
        let mut cached = self.cached.lock().await;
        let refresh_after = time::OffsetDateTime::now_utc() + time::Duration::minutes(5);
        if let Some((token, expires_on)) = cached.as_ref()
            && *expires_on > refresh_after
        {
            return Ok(token.clone());
        }
        let access = self
            .credential
            .get_token(&[self.scope.as_str()], None)
            .await
            .map_err(|error| AuthError {
                source_name: self.kind.label().to_string(),
                message: error.to_string(),
            })?;
        let token = BearerToken::new(access.token.secret());
        *cached = Some((token.clone(), access.expires_on));
        Ok(token)
    }

    fn describe(&self) -> String {
        self.kind.label().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> EnvSnapshot {
        EnvSnapshot::new(
            pairs
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string())),
        )
    }

    #[test]
    fn chooses_credentials_in_documented_order() {
        let app = [("AZURE_TENANT_ID", "t"), ("AZURE_CLIENT_ID", "c")];
        let with = |extra: &[(&str, &str)]| {
            let mut pairs = app.to_vec();
            pairs.extend_from_slice(extra);
            choose_credential(&env(&pairs))
        };
        assert_eq!(
            with(&[
                ("AZURE_CLIENT_SECRET", "s"),
                ("AZURE_FEDERATED_TOKEN_FILE", "/f")
            ]),
            CredentialKind::ClientSecret
        );
        assert_eq!(
            with(&[
                ("AZURE_FEDERATED_TOKEN_FILE", "/f"),
                ("IDENTITY_ENDPOINT", "http://x")
            ]),
            CredentialKind::WorkloadIdentity
        );
        assert_eq!(
            with(&[("IDENTITY_ENDPOINT", "http://x")]),
            CredentialKind::ManagedIdentity
        );
        assert_eq!(
            with(&[("AZURE_CLIENT_SECRET", "")]),
            CredentialKind::AzureCli
        );
        assert_eq!(
            choose_credential(&env(&[("AZURE_CLIENT_SECRET", "s")])),
            CredentialKind::AzureCli,
            "a secret without tenant and client id is not a service principal"
        );
    }

    #[test]
    fn debug_never_shows_tokens_or_env_values() {
        let token = BearerToken::new("eyJ-secret-token");
        assert!(!format!("{token:?} {token}").contains("eyJ"));
        let snapshot = env(&[("AZURE_CLIENT_SECRET", "hunter2")]);
        let shown = format!("{snapshot:?}");
        assert!(shown.contains("AZURE_CLIENT_SECRET"));
        assert!(!shown.contains("hunter2"));
    }

    /// Counts calls; hands out tokens that expire `lifetime` from now.
    #[derive(Debug)]
    struct CountingCredential {
        calls: std::sync::atomic::AtomicU32,
        lifetime: time::Duration,
    }

    #[async_trait]
    impl TokenCredential for CountingCredential {
        async fn get_token(
            &self,
            scopes: &[&str],
            _options: Option<azure_core::credentials::TokenRequestOptions<'_>>,
        ) -> azure_core::Result<azure_core::credentials::AccessToken> {
            assert_eq!(scopes, ["https://management.azure.com/.default"]);
            let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(azure_core::credentials::AccessToken::new(
                format!("token-{n}"),
                time::OffsetDateTime::now_utc() + self.lifetime,
            ))
        }
    }

    #[tokio::test]
    async fn caches_tokens_until_five_minutes_before_expiry() {
        for (lifetime, expected) in [
            (time::Duration::hours(1), ["token-0", "token-0"]),
            (time::Duration::minutes(2), ["token-0", "token-1"]),
        ] {
            let credential = Arc::new(CountingCredential {
                calls: Default::default(),
                lifetime,
            });
            let scope = CloudProfile::public().token_scope;
            let source =
                IdentityTokenSource::with_credential(credential, CredentialKind::AzureCli, &scope);
            let first = source.token().await.map(|t| t.secret().to_string());
            let second = source.token().await.map(|t| t.secret().to_string());
            assert_eq!([first, second], expected.map(|t| Ok(t.to_string())));
        }
    }

    #[test]
    fn builds_client_secret_credential_without_network() {
        let snapshot = env(&[
            ("AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000000"),
            ("AZURE_CLIENT_ID", "app"),
            ("AZURE_CLIENT_SECRET", "hunter2"),
        ]);
        let source = IdentityTokenSource::from_env(&snapshot, &CloudProfile::public());
        let source = source.map_err(|error| error.to_string());
        assert_eq!(
            source.map(|source| source.kind()),
            Ok(CredentialKind::ClientSecret)
        );
    }
}
