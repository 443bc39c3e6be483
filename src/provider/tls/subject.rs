//! Subjects with several values of one attribute type (`O=system:nodes, O=fk:...`).
//!
//! rcgen 0.14's `DistinguishedName` keeps one value per attribute type (its map is keyed
//! by `DnType`, so a second `push` of `O` replaces the first; rustls/rcgen issue 81). A
//! Kubernetes client certificate needs one `O` per group (k8s.io/apiserver
//! `pkg/authentication/request/x509/x509.go` turns each O into a group). So fk lets rcgen
//! build and sign the certificate, then puts the full subject into the TBSCertificate
//! (RFC 5280 4.1: one single-valued RDN per value, in the order given) and signs the new
//! TBSCertificate with the issuer's key, under the same signature algorithm.

use base64::Engine;
use rcgen::{KeyPair, SigningKey};

use super::inputs::TlsError;

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const UTF8_STRING: u8 = 0x0c;
const BIT_STRING: u8 = 0x03;
const VERSION_TAG: u8 = 0xa0;

/// id-at-organizationName, id-at-organizationalUnitName, id-at-commonName (DER contents).
const OID_O: [u8; 3] = [0x55, 0x04, 0x0a];
const OID_OU: [u8; 3] = [0x55, 0x04, 0x0b];
const OID_CN: [u8; 3] = [0x55, 0x04, 0x03];

/// The DER `Name` of `O=..., OU=..., CN=...`: every value its own RDN, in this order.
pub(crate) fn subject_der(
    common_name: &str,
    organizations: &[String],
    units: &[String],
) -> Vec<u8> {
    let attribute = |oid: &[u8], value: &str| {
        let pair = [tlv(OID, oid), tlv(UTF8_STRING, value.as_bytes())].concat();
        tlv(SET, &tlv(SEQUENCE, &pair))
    };
    let mut rdns = Vec::new();
    for organization in organizations {
        rdns.extend(attribute(&OID_O, organization));
    }
    for unit in units {
        rdns.extend(attribute(&OID_OU, unit));
    }
    rdns.extend(attribute(&OID_CN, common_name));
    tlv(SEQUENCE, &rdns)
}

/// `cert_der` (signed by `signer`) with its subject replaced by `subject` and signed again.
pub(crate) fn with_subject(
    cert_der: &[u8],
    subject: &[u8],
    signer: &KeyPair,
) -> Result<Vec<u8>, TlsError> {
    let bad = || TlsError::Signing {
        reason: "the certificate rcgen made is not the DER fk expects".into(),
    };
    let (tag, certificate, rest) = read_tlv(cert_der).ok_or_else(bad)?;
    if tag != SEQUENCE || !rest.is_empty() {
        return Err(bad());
    }
    let (tag, tbs, after_tbs) = read_tlv(certificate).ok_or_else(bad)?;
    if tag != SEQUENCE {
        return Err(bad());
    }
    let (tag, algorithm, _) = read_tlv(after_tbs).ok_or_else(bad)?;
    if tag != SEQUENCE {
        return Err(bad());
    }
    // TBSCertificate: [0] version, serial, signature, issuer, validity, subject, ...
    let mut fields = Vec::new();
    let mut remaining = tbs;
    while !remaining.is_empty() {
        let (tag, _, rest) = read_tlv(remaining).ok_or_else(bad)?;
        fields.push((tag, &remaining[..remaining.len() - rest.len()]));
        remaining = rest;
    }
    let subject_index = if fields.first().map(|(tag, _)| *tag) == Some(VERSION_TAG) {
        5
    } else {
        4
    };
    match fields.get(subject_index) {
        Some((SEQUENCE, _)) => {}
        _ => return Err(bad()),
    }
    let new_tbs_content: Vec<u8> = fields
        .iter()
        .enumerate()
        .flat_map(|(index, (_, raw))| {
            if index == subject_index {
                subject.to_vec()
            } else {
                raw.to_vec()
            }
        })
        .collect();
    let new_tbs = tlv(SEQUENCE, &new_tbs_content);
    let signature = signer.sign(&new_tbs)?;
    let signature_bits = [&[0u8][..], &signature].concat();
    let algorithm_raw = tlv(SEQUENCE, algorithm);
    Ok(tlv(
        SEQUENCE,
        &[new_tbs, algorithm_raw, tlv(BIT_STRING, &signature_bits)].concat(),
    ))
}

/// `-----BEGIN CERTIFICATE-----` PEM of a DER certificate (64 characters a line).
pub(crate) fn certificate_pem(der: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in encoded.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|byte| *byte == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// One DER element at the start of `input`: its tag, its contents and what follows it.
fn read_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > std::mem::size_of::<usize>() || rest.len() < count {
            return None;
        }
        let (digits, rest) = rest.split_at(count);
        let len = digits
            .iter()
            .fold(0usize, |acc, digit| (acc << 8) | usize::from(*digit));
        (len, rest)
    };
    if rest.len() < len {
        return None;
    }
    let (content, after) = rest.split_at(len);
    Some((tag, content, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip_in_short_and_long_form() {
        for len in [0usize, 1, 127, 128, 255, 256, 70_000] {
            let content = vec![7u8; len];
            let encoded = tlv(SEQUENCE, &content);
            let (tag, read, rest) = read_tlv(&encoded).expect("reads back");
            assert_eq!((tag, read.len(), rest.len()), (SEQUENCE, len, 0));
        }
    }

    #[test]
    fn truncated_input_is_refused() {
        let encoded = tlv(SEQUENCE, &[1, 2, 3]);
        assert!(read_tlv(&encoded[..3]).is_none());
        assert!(read_tlv(&[0x30, 0x85, 1]).is_none());
    }
}
