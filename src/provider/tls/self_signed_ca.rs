//! `tls_self_signed_ca`: a certificate authority, self-signed with a `tls_private_key`.
//!
//! Attributes (every configured one replaces the CA when it changes):
//! - `private_key_pem` (string, sensitive, required): the CA's key, usually
//!   `"${tls_private_key.ca.private_key_pem}"`.
//! - `common_name` (string, required): `kubernetes-ca`, `etcd-ca`, ...
//! - `organization` (string, optional).
//! - `validity_hours` (integer, default 87600 = 10 years).
//! - `renew_before_hours` (integer, default 720 = 30 days): inside this window before
//!   `not_after`, refresh marks the CA due and the plan replaces it.
//! - computed: `cert_pem`, `not_before`, `not_after` (RFC 3339), `renewal_due`.
//!
//! The certificate has `CA:TRUE` basic constraints and the key usages `keyCertSign`,
//! `cRLSign` and `digitalSignature`.

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyUsagePurpose};

use super::TlsType;
use super::inputs::{TlsError, check_common_name, check_validity, int, text, with_defaults};
use super::issuing::{
    distinguished_name, random_serial, signed_attributes, signed_values, window_from_now,
};
use super::private_key;
use crate::provider::{AttrProblem, Attribute, ResourceSchema, Type};
use crate::value::Value;

pub(crate) const SELF_SIGNED_CA_TYPE: &str = "tls_self_signed_ca";

pub(crate) fn schema() -> ResourceSchema {
    let reissue = |name: &str| format!("a new `{name}` needs a new CA certificate");
    let mut attributes = vec![
        Attribute::required("private_key_pem", Type::String)
            .sensitive()
            .force_new(&reissue("private_key_pem"))
            .describe("the CA's private key, PEM"),
        Attribute::required("common_name", Type::String)
            .force_new(&reissue("common_name"))
            .describe("the CA's CN"),
        Attribute::optional("organization", Type::String)
            .force_new(&reissue("organization"))
            .describe("the CA's O"),
        Attribute::optional("validity_hours", Type::Int)
            .force_new(&reissue("validity_hours"))
            .describe("hours the CA is valid; default 87600 (10 years)"),
        Attribute::optional("renew_before_hours", Type::Int)
            .force_new(&reissue("renew_before_hours"))
            .describe("renewal window before expiry, in hours; default 720 (30 days)"),
    ];
    attributes.extend(signed_attributes());
    ResourceSchema {
        type_name: SELF_SIGNED_CA_TYPE.into(),
        description: "a self-signed certificate authority".into(),
        attributes,
        remote: false,
    }
}

pub(crate) fn defaults(config: &Value) -> Value {
    with_defaults(
        config,
        &[
            ("validity_hours", Value::Int(87_600)),
            ("renew_before_hours", Value::Int(720)),
        ],
    )
}

pub(crate) fn validate(config: &Value) -> Vec<AttrProblem> {
    let mut problems = Vec::new();
    check_common_name(config, &mut problems);
    check_validity(config, &mut problems);
    problems
}

/// Signs the CA certificate `planned` describes; returns the planned value completed.
pub(crate) fn issue(planned: &Value) -> Result<Value, TlsError> {
    let key = private_key::load(planned, "private_key_pem")?;
    let organizations: Vec<String> = planned
        .get("organization")
        .and_then(Value::as_str)
        .map(String::from)
        .into_iter()
        .collect();
    let window = window_from_now(int(planned, "validity_hours")?);
    let mut params = CertificateParams::default();
    params.distinguished_name = distinguished_name(text(planned, "common_name")?, &organizations);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.serial_number = Some(random_serial()?);
    params.not_before = window.not_before;
    params.not_after = window.not_after;
    let cert = params.self_signed(&key)?;
    let mut value = planned.clone();
    if let Some(map) = value.as_map_mut() {
        for (name, computed) in signed_values(cert.pem(), window) {
            map.insert(name.into(), computed);
        }
    }
    Ok(value)
}

/// The self-signed CA type.
pub(super) static SELF_SIGNED_CA: TlsType =
    TlsType::new(SELF_SIGNED_CA_TYPE, schema, defaults, validate, issue).certificate();

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::tls::testing::openssl;
    use std::collections::BTreeMap;

    pub(crate) fn ca_config(key_pem: &str) -> Value {
        defaults(&Value::Map(BTreeMap::from([
            (
                "private_key_pem".to_string(),
                Value::str(key_pem).sensitive(),
            ),
            ("common_name".to_string(), Value::str("kubernetes-ca")),
            ("organization".to_string(), Value::str("fk")),
        ])))
    }

    fn new_key() -> String {
        let config = private_key::with_defaults(&Value::Map(BTreeMap::new()));
        private_key::generate(&config).unwrap().private_key_pem
    }

    #[test]
    fn ca_is_self_signed_with_ca_constraints_and_cert_sign() {
        let issued = issue(&ca_config(&new_key())).unwrap();
        let cert_pem = issued.get("cert_pem").and_then(Value::as_str).unwrap();
        let shown = openssl(&["x509", "-noout", "-text"], cert_pem);
        assert!(shown.contains("CA:TRUE"), "{shown}");
        assert!(shown.contains("Certificate Sign"), "{shown}");
        assert!(
            shown.contains("Issuer: O = fk, CN = kubernetes-ca"),
            "{shown}"
        );
        assert!(
            shown.contains("Subject: O = fk, CN = kubernetes-ca"),
            "{shown}"
        );
        // Self-signed: it verifies against itself as the only trust anchor.
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.crt");
        std::fs::write(&ca_file, cert_pem).unwrap();
        let verified = openssl(&["verify", "-CAfile", ca_file.to_str().unwrap()], cert_pem);
        assert!(verified.contains("OK"), "{verified}");
    }

    #[test]
    fn ca_validity_is_ten_years_by_default() {
        let issued = issue(&ca_config(&new_key())).unwrap();
        let parse = |name: &str| {
            time::OffsetDateTime::parse(
                issued.get(name).and_then(Value::as_str).unwrap(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
        };
        let span = parse("not_after") - parse("not_before");
        assert_eq!(span.whole_minutes(), 87_600 * 60 + 5);
        assert_eq!(issued.get("renewal_due"), Some(&Value::Null));
    }
}
