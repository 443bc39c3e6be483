//! What the CA and the leaf certificate share: subjects, serial numbers, validity, and the
//! computed attributes a signed certificate gets.

use rcgen::{DistinguishedName, DnType, KeyPair, PublicKeyData, SerialNumber};
use rsa::rand_core::{OsRng, RngCore};
use time::OffsetDateTime;

use super::inputs::TlsError;
use super::renewal::{ValidityWindow, format_time};
use crate::provider::Attribute;
use crate::provider::Type;
use crate::value::Value;

/// A subject: `CN=<common_name>` and one `O=` per organization (Kubernetes reads O as groups).
pub(crate) fn distinguished_name(common_name: &str, organizations: &[String]) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    for organization in organizations {
        name.push(DnType::OrganizationName, organization.as_str());
    }
    name.push(DnType::CommonName, common_name);
    name
}

/// 16 random bytes, positive: every certificate gets its own serial number, even when it is
/// a renewal with the same key.
pub(crate) fn random_serial() -> Result<SerialNumber, TlsError> {
    let mut bytes = [0u8; 16];
    OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|_| TlsError::Random)?;
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    Ok(SerialNumber::from_slice(&bytes))
}

/// The window of a certificate made now.
pub(crate) fn window_from_now(validity_hours: i64) -> ValidityWindow {
    ValidityWindow::starting(OffsetDateTime::now_utc(), validity_hours)
}

/// The computed values of a signed certificate, to insert into its state.
pub(crate) fn signed_values(
    cert_pem: String,
    window: ValidityWindow,
) -> [(&'static str, Value); 4] {
    [
        ("cert_pem", Value::str(cert_pem)),
        ("not_before", Value::str(format_time(window.not_before))),
        ("not_after", Value::str(format_time(window.not_after))),
        ("renewal_due", Value::Null),
    ]
}

/// The computed attributes every certificate type declares.
pub(crate) fn signed_attributes() -> Vec<Attribute> {
    vec![
        Attribute::computed("cert_pem", Type::String).describe("the certificate, PEM"),
        Attribute::computed("not_before", Type::String)
            .describe("start of validity, RFC 3339 (five minutes before it was made)"),
        Attribute::computed("not_after", Type::String).describe("end of validity, RFC 3339"),
        Attribute::computed("renewal_due", Type::String).describe(
            "set by refresh inside the renewal window (\"expires in 12 days\"); the plan then \
             replaces the certificate",
        ),
    ]
}

/// Fails unless `key` is the key of the certificate `cert_pem` (given in `attribute`).
pub(crate) fn check_key_matches(
    cert_pem: &str,
    attribute: &'static str,
    key: &KeyPair,
) -> Result<(), TlsError> {
    let bad = || TlsError::BadCertificate { attribute };
    let (_, pem) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()).map_err(|_| bad())?;
    let cert = pem.parse_x509().map_err(|_| bad())?;
    if cert
        .tbs_certificate
        .subject_pki
        .subject_public_key
        .data
        .as_ref()
        == key.der_bytes()
    {
        Ok(())
    } else {
        Err(TlsError::CaKeyMismatch)
    }
}

impl From<rcgen::Error> for TlsError {
    fn from(err: rcgen::Error) -> TlsError {
        TlsError::Signing {
            reason: err.to_string(),
        }
    }
}
