//! `tls_cert`: a certificate signed by a CA (a `tls_self_signed_ca`).
//!
//! Attributes (every configured one replaces the certificate when it changes):
//! - `ca_cert_pem` (string, required): the CA certificate, `"${tls_self_signed_ca.x.cert_pem}"`.
//! - `ca_private_key_pem` (string, sensitive, required): the CA's key; it must belong to
//!   `ca_cert_pem`.
//! - `private_key_pem` (string, sensitive, required): the certificate's own key.
//! - `common_name` (string, required): `kube-apiserver`, `system:node:vk-0`, ...
//! - `organization` (list of strings): one `O=` each; Kubernetes reads them as groups
//!   (`system:masters`, `system:nodes`), in the order given.
//! - `organizational_unit` (list of strings): one `OU=` each, after the O values.
//! - `dns_names`, `ip_addresses` (lists of strings): subject alternative names; IPs are
//!   checked (IPv4 or IPv6).
//! - `usages` (list of strings, required): any of `digital_signature`, `key_encipherment`,
//!   `content_commitment`, `data_encipherment`, `key_agreement`, `cert_sign`, `crl_sign`
//!   (key usages) and `server_auth`, `client_auth`, `code_signing`, `email_protection`,
//!   `time_stamping`, `ocsp_signing` (extended key usages).
//! - `validity_hours` (integer, default 8760 = 1 year), `renew_before_hours` (integer,
//!   default 720 = 30 days).
//! - computed: `cert_pem`, `not_before`, `not_after` (RFC 3339), `renewal_due`.

use std::net::IpAddr;

use rcgen::{
    CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyUsagePurpose, SanType,
    string::Ia5String,
};

use super::TlsType;
use super::inputs::{
    TlsError, check_choice, check_common_name, check_validity, int, problem, text, texts,
    with_defaults,
};
use super::issuing::{
    check_key_matches, distinguished_name, random_serial, signed_attributes, signed_values,
    window_from_now,
};
use super::private_key;
use super::subject::{certificate_pem, subject_der, with_subject};
use crate::provider::{AttrProblem, Attribute, ResourceSchema, Type};
use crate::value::{PathSeg, Value};

pub(crate) const CERT_TYPE: &str = "tls_cert";

/// Every usage name, key usages first.
pub(crate) const USAGES: [&str; 13] = [
    "digital_signature",
    "key_encipherment",
    "content_commitment",
    "data_encipherment",
    "key_agreement",
    "cert_sign",
    "crl_sign",
    "server_auth",
    "client_auth",
    "code_signing",
    "email_protection",
    "time_stamping",
    "ocsp_signing",
];

pub(crate) fn schema() -> ResourceSchema {
    let reissue = |name: &str| format!("a new `{name}` needs a newly signed certificate");
    let mut attributes = vec![
        Attribute::required("ca_cert_pem", Type::String)
            .force_new(&reissue("ca_cert_pem"))
            .describe("the signing CA's certificate, PEM"),
        Attribute::required("ca_private_key_pem", Type::String)
            .sensitive()
            .force_new(&reissue("ca_private_key_pem"))
            .describe("the signing CA's private key, PEM"),
        Attribute::required("private_key_pem", Type::String)
            .sensitive()
            .force_new(&reissue("private_key_pem"))
            .describe("the certificate's own private key, PEM"),
        Attribute::required("common_name", Type::String)
            .force_new(&reissue("common_name"))
            .describe("the subject CN (a user name for client certificates)"),
        Attribute::optional("organization", Type::list(Type::String))
            .force_new(&reissue("organization"))
            .describe("subject O values (groups for client certificates)"),
        Attribute::optional("organizational_unit", Type::list(Type::String))
            .force_new(&reissue("organizational_unit"))
            .describe("subject OU values"),
        Attribute::optional("dns_names", Type::list(Type::String))
            .force_new(&reissue("dns_names"))
            .describe("DNS subject alternative names"),
        Attribute::optional("ip_addresses", Type::list(Type::String))
            .force_new(&reissue("ip_addresses"))
            .describe("IP subject alternative names"),
        Attribute::required("usages", Type::list(Type::String))
            .force_new(&reissue("usages"))
            .describe("key usages and extended key usages (`server_auth`, `client_auth`, ...)"),
        Attribute::optional("validity_hours", Type::Int)
            .force_new(&reissue("validity_hours"))
            .describe("hours the certificate is valid; default 8760 (1 year)"),
        Attribute::optional("renew_before_hours", Type::Int)
            .force_new(&reissue("renew_before_hours"))
            .describe("renewal window before expiry, in hours; default 720 (30 days)"),
    ];
    attributes.extend(signed_attributes());
    ResourceSchema {
        type_name: CERT_TYPE.into(),
        description: "a certificate signed by a CA".into(),
        attributes,
        remote: false,
    }
}

pub(crate) fn defaults(config: &Value) -> Value {
    with_defaults(
        config,
        &[
            ("validity_hours", Value::Int(8_760)),
            ("renew_before_hours", Value::Int(720)),
        ],
    )
}

pub(crate) fn validate(config: &Value) -> Vec<AttrProblem> {
    let mut problems = Vec::new();
    check_common_name(config, &mut problems);
    check_validity(config, &mut problems);
    let items = |name: &str| -> Vec<(usize, String)> {
        config
            .get(name)
            .and_then(Value::as_list)
            .map(|items| {
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(idx, item)| item.as_str().map(|text| (idx, text.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    };
    let at = |name: &str, idx: usize| vec![PathSeg::Key(name.into()), PathSeg::Index(idx)];
    for (idx, address) in items("ip_addresses") {
        if address.parse::<IpAddr>().is_err() {
            let mut found = problem(
                "ip_addresses",
                "fk::tls::bad_ip_address",
                format!("`{address}` is not an IP address"),
            );
            found.path = at("ip_addresses", idx);
            found.help = Some("write an IPv4 or IPv6 address; put names in `dns_names`".into());
            problems.push(found);
        }
    }
    for (idx, name) in items("dns_names") {
        if !is_dns_name(&name) {
            let mut found = problem(
                "dns_names",
                "fk::tls::bad_dns_name",
                format!("`{name}` is not a DNS name"),
            );
            found.path = at("dns_names", idx);
            problems.push(found);
        }
    }
    for (idx, usage) in items("usages") {
        problems.extend(check_choice(
            "usages",
            at("usages", idx),
            &usage,
            &USAGES,
            "fk::tls::unknown_usage",
        ));
    }
    problems
}

/// Letters, digits, `-`, `.`, and `*` as a whole first label; no empty label.
fn is_dns_name(name: &str) -> bool {
    let name = name.strip_prefix("*.").unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// Signs the certificate `planned` describes; returns the planned value completed.
pub(crate) fn issue(planned: &Value) -> Result<Value, TlsError> {
    if let Some(problem) = validate(planned).into_iter().next() {
        return Err(problem.into());
    }
    let ca_key = private_key::load(planned, "ca_private_key_pem")?;
    let ca_cert_pem = text(planned, "ca_cert_pem")?;
    check_key_matches(ca_cert_pem, "ca_cert_pem", &ca_key)?;
    let issuer =
        Issuer::from_ca_cert_pem(ca_cert_pem, &ca_key).map_err(|_| TlsError::BadCertificate {
            attribute: "ca_cert_pem",
        })?;
    let key = private_key::load(planned, "private_key_pem")?;

    let window = window_from_now(int(planned, "validity_hours")?);
    let common_name = text(planned, "common_name")?;
    let organizations = texts(planned, "organization")?;
    let units = texts(planned, "organizational_unit")?;
    let mut params = CertificateParams::default();
    // rcgen keeps one O; the full subject goes in below (see `subject`).
    params.distinguished_name = distinguished_name(common_name, &[]);
    params.is_ca = IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(random_serial()?);
    params.not_before = window.not_before;
    params.not_after = window.not_after;
    for name in texts(planned, "dns_names")? {
        params
            .subject_alt_names
            .push(SanType::DnsName(Ia5String::try_from(name)?));
    }
    for address in texts(planned, "ip_addresses")? {
        let address = address.parse().map_err(|_| TlsError::Missing {
            attribute: "ip_addresses".into(),
        })?;
        params.subject_alt_names.push(SanType::IpAddress(address));
    }
    for usage in texts(planned, "usages")? {
        match key_usage(&usage) {
            Some(Usage::Key(purpose)) => params.key_usages.push(purpose),
            Some(Usage::Extended(purpose)) => params.extended_key_usages.push(purpose),
            None => {
                return Err(TlsError::Missing {
                    attribute: "usages".into(),
                });
            }
        }
    }
    let cert = params.signed_by(&key, &issuer)?;
    let der = with_subject(
        cert.der(),
        &subject_der(common_name, &organizations, &units),
        &ca_key,
    )?;
    let mut value = planned.clone();
    if let Some(map) = value.as_map_mut() {
        for (name, computed) in signed_values(certificate_pem(&der), window) {
            map.insert(name.into(), computed);
        }
    }
    Ok(value)
}

enum Usage {
    Key(KeyUsagePurpose),
    Extended(ExtendedKeyUsagePurpose),
}

/// The purpose a usage name stands for.
fn key_usage(name: &str) -> Option<Usage> {
    Some(match name {
        "digital_signature" => Usage::Key(KeyUsagePurpose::DigitalSignature),
        "key_encipherment" => Usage::Key(KeyUsagePurpose::KeyEncipherment),
        "content_commitment" => Usage::Key(KeyUsagePurpose::ContentCommitment),
        "data_encipherment" => Usage::Key(KeyUsagePurpose::DataEncipherment),
        "key_agreement" => Usage::Key(KeyUsagePurpose::KeyAgreement),
        "cert_sign" => Usage::Key(KeyUsagePurpose::KeyCertSign),
        "crl_sign" => Usage::Key(KeyUsagePurpose::CrlSign),
        "server_auth" => Usage::Extended(ExtendedKeyUsagePurpose::ServerAuth),
        "client_auth" => Usage::Extended(ExtendedKeyUsagePurpose::ClientAuth),
        "code_signing" => Usage::Extended(ExtendedKeyUsagePurpose::CodeSigning),
        "email_protection" => Usage::Extended(ExtendedKeyUsagePurpose::EmailProtection),
        "time_stamping" => Usage::Extended(ExtendedKeyUsagePurpose::TimeStamping),
        "ocsp_signing" => Usage::Extended(ExtendedKeyUsagePurpose::OcspSigning),
        _ => return None,
    })
}

/// The certificate type (signed by a CA).
pub(super) static CERT: TlsType =
    TlsType::new(CERT_TYPE, schema, defaults, validate, issue).certificate();

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::tls::self_signed_ca;
    use crate::provider::tls::testing::openssl;
    use std::collections::BTreeMap;

    fn new_key(algorithm: &str) -> String {
        let config = Value::Map(BTreeMap::from([(
            "algorithm".to_string(),
            Value::str(algorithm),
        )]));
        private_key::generate(&private_key::with_defaults(&config))
            .unwrap()
            .private_key_pem
    }

    fn strings(items: &[&str]) -> Value {
        Value::List(items.iter().map(|item| Value::str(*item)).collect())
    }

    /// A CA (key, certificate) and the config of a leaf signed by it.
    fn leaf_config(ca_algorithm: &str, leaf_algorithm: &str) -> (String, Value) {
        let ca_key = new_key(ca_algorithm);
        let ca = self_signed_ca::issue(&self_signed_ca::defaults(&Value::Map(BTreeMap::from([
            ("private_key_pem".to_string(), Value::str(&ca_key)),
            ("common_name".to_string(), Value::str("kubernetes-ca")),
        ]))))
        .unwrap();
        let ca_cert = ca
            .get("cert_pem")
            .and_then(Value::as_str)
            .unwrap()
            .to_string();
        let config = defaults(&Value::Map(BTreeMap::from([
            ("ca_cert_pem".to_string(), Value::str(&ca_cert)),
            (
                "ca_private_key_pem".to_string(),
                Value::str(ca_key).sensitive(),
            ),
            (
                "private_key_pem".to_string(),
                Value::str(new_key(leaf_algorithm)).sensitive(),
            ),
            ("common_name".to_string(), Value::str("kube-apiserver")),
            ("organization".to_string(), strings(&["system:masters"])),
            (
                "dns_names".to_string(),
                strings(&[
                    "apiserver.westeurope.azurecontainer.io",
                    "kubernetes.default",
                ]),
            ),
            ("ip_addresses".to_string(), strings(&["10.32.0.1", "::1"])),
            (
                "usages".to_string(),
                strings(&[
                    "digital_signature",
                    "key_encipherment",
                    "server_auth",
                    "client_auth",
                ]),
            ),
        ])));
        (ca_cert, config)
    }

    fn verify(ca_cert: &str, leaf_cert: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.crt");
        std::fs::write(&ca_file, ca_cert).unwrap();
        openssl(&["verify", "-CAfile", ca_file.to_str().unwrap()], leaf_cert)
    }

    #[test]
    fn leaf_verifies_against_its_ca_with_names_groups_and_usages() {
        let (ca_cert, config) = leaf_config("ECDSA_P256", "ECDSA_P384");
        let issued = issue(&config).unwrap();
        let cert_pem = issued.get("cert_pem").and_then(Value::as_str).unwrap();
        assert!(verify(&ca_cert, cert_pem).contains("OK"));
        let shown = openssl(&["x509", "-noout", "-text"], cert_pem);
        assert!(
            shown.contains("Subject: O = system:masters, CN = kube-apiserver"),
            "{shown}"
        );
        assert!(shown.contains("Issuer: CN = kubernetes-ca"), "{shown}");
        assert!(
            shown.contains("DNS:apiserver.westeurope.azurecontainer.io"),
            "{shown}"
        );
        assert!(shown.contains("DNS:kubernetes.default"), "{shown}");
        assert!(shown.contains("IP Address:10.32.0.1"), "{shown}");
        assert!(shown.contains("IP Address:0:0:0:0:0:0:0:1"), "{shown}");
        assert!(
            shown.contains("TLS Web Server Authentication, TLS Web Client Authentication"),
            "{shown}"
        );
        assert!(
            shown.contains("Digital Signature, Key Encipherment"),
            "{shown}"
        );
        assert!(shown.contains("CA:FALSE"), "{shown}");
    }

    /// rcgen 0.14 alone would keep only the last O (rustls/rcgen issue 81); Kubernetes needs
    /// every one as a group (k8s.io/apiserver v0.36.1
    /// `pkg/authentication/request/x509/x509.go`). openssl must list them all, in order.
    #[test]
    fn several_organizations_and_units_all_reach_the_subject_in_order() {
        for algorithm in ["ECDSA_P256", "RSA"] {
            let (ca_cert, mut config) = leaf_config(algorithm, "ECDSA_P256");
            let map = config.as_map_mut().unwrap();
            map.insert(
                "organization".into(),
                strings(&["system:nodes", "fk:virtual-kubelet", "third"]),
            );
            map.insert("organizational_unit".into(), strings(&["ou-a", "ou-b"]));
            let issued = issue(&config).unwrap();
            let cert_pem = issued.get("cert_pem").and_then(Value::as_str).unwrap();
            assert!(verify(&ca_cert, cert_pem).contains("OK"), "{algorithm}");
            let shown = openssl(
                &["x509", "-noout", "-subject", "-nameopt", "RFC2253"],
                cert_pem,
            );
            // RFC 2253 prints the last RDN first.
            assert_eq!(
                shown.trim(),
                "subject=CN=kube-apiserver,OU=ou-b,OU=ou-a,O=third,O=fk:virtual-kubelet,O=system:nodes",
                "{algorithm}"
            );
            let text = openssl(&["x509", "-noout", "-text"], cert_pem);
            assert!(text.contains("DNS:kubernetes.default"), "{text}");
            assert!(text.contains("TLS Web Client Authentication"), "{text}");
        }
    }

    #[test]
    fn rsa_ca_signs_an_rsa_leaf() {
        let (ca_cert, config) = leaf_config("RSA", "RSA");
        let issued = issue(&config).unwrap();
        let cert_pem = issued.get("cert_pem").and_then(Value::as_str).unwrap();
        assert!(verify(&ca_cert, cert_pem).contains("OK"));
        let shown = openssl(&["x509", "-noout", "-text"], cert_pem);
        assert!(shown.contains("sha256WithRSAEncryption"), "{shown}");
    }

    #[test]
    fn refuses_a_ca_key_that_is_not_the_ca_certificates() {
        let (_, mut config) = leaf_config("ECDSA_P256", "ECDSA_P256");
        let stranger = new_key("ECDSA_P256");
        config
            .as_map_mut()
            .unwrap()
            .insert("ca_private_key_pem".into(), Value::str(&stranger));
        let err = issue(&config).err().unwrap();
        assert_eq!(err.code(), "fk::tls::ca_key_mismatch");
        assert!(!err.to_string().contains("PRIVATE KEY"));
    }

    #[test]
    fn rejects_bad_ips_names_usages_and_empty_common_names() {
        let config = Value::Map(BTreeMap::from([
            ("common_name".to_string(), Value::str(" ")),
            (
                "ip_addresses".to_string(),
                strings(&["10.0.0.1", "10.0.0.300"]),
            ),
            (
                "dns_names".to_string(),
                strings(&["ok.example", "bad name"]),
            ),
            (
                "usages".to_string(),
                strings(&["server_auth", "cleint_auth"]),
            ),
        ]));
        let problems = validate(&config);
        let codes: Vec<&str> = problems.iter().map(|problem| problem.code).collect();
        assert_eq!(
            codes,
            [
                "fk::tls::empty_common_name",
                "fk::tls::bad_ip_address",
                "fk::tls::bad_dns_name",
                "fk::tls::unknown_usage"
            ]
        );
        assert_eq!(
            crate::value::path_to_string(&problems[1].path),
            "ip_addresses[1]"
        );
        assert!(problems[3].help.as_ref().unwrap().contains("`client_auth`"));
    }
}
