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
pub const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";

/// Where the account key is read from.
pub const ACCOUNT_KEY_VARIABLE: &str = "FK_BLOB_ACCOUNT_KEY";
/// Where the SAS token is read from.
pub const SAS_VARIABLE: &str = "FK_BLOB_SAS";

#[derive(Clone)]
pub enum BlobAuth {
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
    pub fn kind(&self) -> &'static str {
        match self {
            BlobAuth::SharedKey { .. } => "shared_key",
            BlobAuth::Sas { .. } => "sas",
            BlobAuth::Entra { .. } => "entra",
        }
    }

    /// Builds the authorization named by `kind` from the environment.
    pub fn from_env(kind: &str, env: &BTreeMap<String, String>) -> Result<BlobAuth, String> {
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

/// A service principal when `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and `AZURE_CLIENT_SECRET`
/// are set; otherwise the developer tools (`az login`, then `azd`).
fn entra_credential(env: &BTreeMap<String, String>) -> Result<Arc<dyn TokenCredential>, String> {
    let get = |name: &str| env.get(name).filter(|value| !value.is_empty());
    if let (Some(tenant), Some(client), Some(secret)) = (
        get("AZURE_TENANT_ID"),
        get("AZURE_CLIENT_ID"),
        get("AZURE_CLIENT_SECRET"),
    ) {
        let credential = azure_identity::ClientSecretCredential::new(
            tenant,
            client.clone(),
            azure_core::credentials::Secret::new(secret.clone()),
            None,
        )
        .map_err(|error| format!("cannot use the service principal in `AZURE_*`: {error}"))?;
        return Ok(credential);
    }
    let credential = azure_identity::DeveloperToolsCredential::new(None)
        .map_err(|error| format!("cannot use the developer tools credential: {error}"))?;
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
    fn sas_token_loses_its_question_mark() {
        let auth = BlobAuth::from_env("sas", &env(&[(SAS_VARIABLE, "?sv=1&sig=x")])).unwrap();
        assert!(matches!(&auth, BlobAuth::Sas { query } if query == "sv=1&sig=x"));
    }
}
