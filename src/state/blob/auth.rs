//! How requests to the storage account are authorized: the account's shared key (signed
//! per request), a SAS token (appended to every URL), or an Entra ID bearer token for the
//! storage scope. Secrets come from the environment map the CLI passes in, never from the
//! module file, and no `Debug` or `Display` shows them.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The OAuth scope of Azure Storage.
pub(crate) const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";

/// Where the account key is read from.
pub(crate) const ACCOUNT_KEY_VARIABLE: &str = "FK_BLOB_ACCOUNT_KEY";
/// Where the SAS token is read from.
pub(crate) const SAS_VARIABLE: &str = "FK_BLOB_SAS";

#[derive(Clone)]
pub(crate) enum BlobAuth {
    SharedKey {
        key: Vec<u8>,
    },
    Sas {
        query: String,
    },
    Entra {
        credential: Arc<dyn TokenCredential>,
    },
}

impl fmt::Debug for BlobAuth {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.kind())
    }
}

impl BlobAuth {
    /// The `auth` attribute's value this is.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            BlobAuth::SharedKey { .. } => "shared_key",
            BlobAuth::Sas { .. } => "sas",
            BlobAuth::Entra { .. } => "entra",
        }
    }

    /// Builds the authorization named by `kind` from the environment.
    pub(crate) fn from_env(kind: &str, env: &BTreeMap<String, String>) -> Result<BlobAuth, String> {
        let variable = |name: &str| {
            env.get(name)
                .map(|value| value.trim())
                .filter(|v| !v.is_empty())
        };
        match kind {
            "shared_key" => {
                let text = variable(ACCOUNT_KEY_VARIABLE).ok_or_else(|| {
                    format!(
                        "`auth = \"shared_key\"` needs the account key in `{ACCOUNT_KEY_VARIABLE}`"
                    )
                })?;
                let key = STANDARD
                    .decode(text)
                    .map_err(|_| format!("`{ACCOUNT_KEY_VARIABLE}` is not a base64 account key"))?;
                Ok(BlobAuth::SharedKey { key })
            }
            "sas" => {
                let text = variable(SAS_VARIABLE).ok_or_else(|| {
                    format!("`auth = \"sas\"` needs the SAS token in `{SAS_VARIABLE}`")
                })?;
                Ok(BlobAuth::Sas {
                    query: text.trim_start_matches('?').to_string(),
                })
            }
            "entra" => Ok(BlobAuth::Entra {
                credential: entra_credential(env)?,
            }),
            other => Err(format!(
                "unknown `auth = \"{other}\"`: use \"shared_key\", \"sas\" or \"entra\""
            )),
        }
    }
}

/// The credential for `auth = "entra"`, chosen in the same documented order as the ARM
/// provider's: a service principal (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
/// `AZURE_CLIENT_SECRET`), then workload identity (`AZURE_FEDERATED_TOKEN_FILE`), then a
/// managed identity (`IDENTITY_ENDPOINT`, `MSI_ENDPOINT`, `FK_AZURE_USE_IMDS=1`), else
/// `az login`.
fn entra_credential(env: &BTreeMap<String, String>) -> Result<Arc<dyn TokenCredential>, String> {
    use azure_identity::{
        AzureCliCredential, AzureCliCredentialOptions, ClientAssertionCredentialOptions,
        ClientSecretCredential, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
        UserAssignedId, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
    };
    // The credentials build reqwest clients, which need a TLS crypto provider installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let get = |name: &str| env.get(name).filter(|value| !value.is_empty()).cloned();
    let fail = |what: &str, error: azure_core::Error| format!("cannot use {what}: {error}");
    let tenant = get("AZURE_TENANT_ID");
    let client = get("AZURE_CLIENT_ID");
    if let (Some(tenant), Some(client), Some(secret)) =
        (&tenant, &client, get("AZURE_CLIENT_SECRET"))
    {
        let credential = ClientSecretCredential::new(
            tenant,
            client.clone(),
            azure_core::credentials::Secret::new(secret),
            None,
        )
        .map_err(|error| fail("the service principal in `AZURE_*`", error))?;
        return Ok(credential);
    }
    if let (Some(_), Some(_), Some(token_file)) =
        (&tenant, &client, get("AZURE_FEDERATED_TOKEN_FILE"))
    {
        let credential = WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
            credential_options: ClientAssertionCredentialOptions::default(),
            client_id: client,
            tenant_id: tenant,
            token_file_path: Some(token_file.into()),
        }))
        .map_err(|error| fail("workload identity", error))?;
        return Ok(credential);
    }
    let managed = get("IDENTITY_ENDPOINT").is_some()
        || get("MSI_ENDPOINT").is_some()
        || get("FK_AZURE_USE_IMDS").as_deref() == Some("1");
    if managed {
        let credential = ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
            user_assigned_id: client.map(UserAssignedId::ClientId),
            ..ManagedIdentityCredentialOptions::default()
        }))
        .map_err(|error| fail("the managed identity", error))?;
        return Ok(credential);
    }
    let credential = AzureCliCredential::new(Some(AzureCliCredentialOptions {
        tenant_id: tenant,
        ..AzureCliCredentialOptions::default()
    }))
    .map_err(|error| fail("the Azure CLI login", error))?;
    Ok(credential)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn shared_key_comes_from_the_environment_and_is_never_shown() {
        let auth =
            BlobAuth::from_env("shared_key", &env(&[(ACCOUNT_KEY_VARIABLE, "c2VjcmV0")])).unwrap();
        assert!(matches!(&auth, BlobAuth::SharedKey { key } if key == b"secret"));
        assert_eq!(format!("{auth:?}"), "shared_key");
    }

    #[test]
    fn missing_or_bad_secrets_name_the_variable() {
        let missing = BlobAuth::from_env("shared_key", &env(&[])).unwrap_err();
        assert!(missing.contains(ACCOUNT_KEY_VARIABLE), "{missing}");
        let bad =
            BlobAuth::from_env("shared_key", &env(&[(ACCOUNT_KEY_VARIABLE, "%%")])).unwrap_err();
        assert!(bad.contains("not a base64"), "{bad}");
        let sas = BlobAuth::from_env("sas", &env(&[])).unwrap_err();
        assert!(sas.contains(SAS_VARIABLE), "{sas}");
        let unknown = BlobAuth::from_env("password", &env(&[])).unwrap_err();
        assert!(unknown.contains("\"shared_key\""), "{unknown}");
    }

    #[test]
    fn entra_builds_a_service_principal_credential_without_calling_out() {
        let auth = BlobAuth::from_env(
            "entra",
            &env(&[
                ("AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000000"),
                ("AZURE_CLIENT_ID", "11111111-1111-1111-1111-111111111111"),
                ("AZURE_CLIENT_SECRET", "hunter2"),
            ]),
        )
        .unwrap();
        assert_eq!(auth.kind(), "entra");
        assert!(!format!("{auth:?}").contains("hunter2"));
        let refused = BlobAuth::from_env(
            "entra",
            &env(&[
                ("AZURE_TENANT_ID", "not a tenant!"),
                ("AZURE_CLIENT_ID", "x"),
                ("AZURE_CLIENT_SECRET", "hunter2"),
            ]),
        )
        .unwrap_err();
        assert!(refused.contains("service principal"), "{refused}");
        assert!(!refused.contains("hunter2"), "{refused}");
    }

    #[test]
    fn sas_token_loses_its_question_mark() {
        let auth = BlobAuth::from_env("sas", &env(&[(SAS_VARIABLE, "?sv=1&sig=x")])).unwrap();
        assert!(matches!(&auth, BlobAuth::Sas { query } if query == "sv=1&sig=x"));
    }
}
