//! Reading a resource's values, shared checks, and the error type of the `tls` provider.
//!
//! Nothing here ever puts a key or a PEM into a message: errors name the attribute only.

use crate::diag::nearest;
use crate::provider::{AttrProblem, ProviderError};
use crate::value::{PathSeg, Value};

/// What can go wrong while generating keys, certificates and kubeconfigs.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TlsError {
    #[error("`{attribute}` is not a PEM private key fk can use (PKCS#8 RSA, ECDSA P-256 or P-384)")]
    BadPrivateKey { attribute: &'static str },
    #[error("`{attribute}` is not a PEM certificate")]
    BadCertificate { attribute: &'static str },
    #[error("`ca_private_key_pem` is not the key of the certificate in `ca_cert_pem`")]
    CaKeyMismatch,
    #[error("`{attribute}` is missing, of the wrong type or not known at apply time")]
    Missing { attribute: String },
    #[error("generating a {algorithm} key failed")]
    KeyGeneration { algorithm: String },
    #[error("signing the certificate failed: {reason}")]
    Signing { reason: String },
    #[error("the system's random source failed")]
    Random,
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
}

impl TlsError {
    pub(crate) fn code(&self) -> &'static str {
        match self {
            TlsError::BadPrivateKey { .. } => "fk::tls::bad_private_key",
            TlsError::BadCertificate { .. } => "fk::tls::bad_certificate",
            TlsError::CaKeyMismatch => "fk::tls::ca_key_mismatch",
            TlsError::Missing { .. } => "fk::tls::missing_value",
            TlsError::KeyGeneration { .. } => "fk::tls::key_generation",
            TlsError::Signing { .. } => "fk::tls::signing",
            TlsError::Random => "fk::tls::random",
            TlsError::Invalid { code, .. } => code,
        }
    }
}

impl From<TlsError> for ProviderError {
    fn from(err: TlsError) -> ProviderError {
        ProviderError::new(err.code(), err.to_string())
    }
}

impl From<AttrProblem> for TlsError {
    fn from(problem: AttrProblem) -> TlsError {
        TlsError::Invalid {
            code: problem.code,
            message: problem.message,
        }
    }
}

/// A known string attribute.
pub(crate) fn text<'a>(values: &'a Value, name: &str) -> Result<&'a str, TlsError> {
    values
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| TlsError::Missing {
            attribute: name.to_string(),
        })
}

/// A known integer attribute.
pub(crate) fn int(values: &Value, name: &str) -> Result<i64, TlsError> {
    values
        .get(name)
        .and_then(Value::as_i64)
        .ok_or_else(|| TlsError::Missing {
            attribute: name.to_string(),
        })
}

/// A known list of strings; absent or null is the empty list.
pub(crate) fn texts(values: &Value, name: &str) -> Result<Vec<String>, TlsError> {
    let Some(value) = values.get(name).filter(|value| !value.is_null()) else {
        return Ok(Vec::new());
    };
    let missing = || TlsError::Missing {
        attribute: name.to_string(),
    };
    value
        .as_list()
        .ok_or_else(missing)?
        .iter()
        .map(|item| item.as_str().map(String::from).ok_or_else(missing))
        .collect()
}

/// The configuration with `defaults` filled in where an attribute is absent or null.
pub(crate) fn with_defaults(config: &Value, defaults: &[(&str, Value)]) -> Value {
    let mut filled = config.clone();
    if let Some(map) = filled.as_map_mut() {
        for (name, default) in defaults {
            let absent = map.get(*name).is_none_or(Value::is_null);
            if absent {
                map.insert((*name).to_string(), default.clone());
            }
        }
    }
    filled
}

pub(crate) fn problem(attribute: &str, code: &'static str, message: String) -> AttrProblem {
    AttrProblem {
        path: vec![PathSeg::Key(attribute.to_string())],
        code,
        message,
        help: None,
    }
}

/// A known string at `attribute`, or `None` when it is unknown, absent or not a string.
pub(crate) fn known_text<'a>(config: &'a Value, attribute: &str) -> Option<&'a str> {
    config.get(attribute).and_then(Value::as_str)
}

/// `common_name` must not be empty.
pub(crate) fn check_common_name(config: &Value, problems: &mut Vec<AttrProblem>) {
    if known_text(config, "common_name").is_some_and(|name| name.trim().is_empty()) {
        problems.push(problem(
            "common_name",
            "fk::tls::empty_common_name",
            "`common_name` is empty; a certificate needs a subject name".into(),
        ));
    }
}

/// `validity_hours` is positive and `renew_before_hours` lies in `0..validity_hours`.
pub(crate) fn check_validity(config: &Value, problems: &mut Vec<AttrProblem>) {
    let validity = config.get("validity_hours").and_then(Value::as_i64);
    let renew_before = config.get("renew_before_hours").and_then(Value::as_i64);
    if let Some(validity) = validity
        && validity <= 0
    {
        problems.push(problem(
            "validity_hours",
            "fk::tls::bad_validity",
            format!("`validity_hours` is {validity}; it must be at least 1"),
        ));
    }
    if let Some(renew_before) = renew_before
        && renew_before < 0
    {
        problems.push(problem(
            "renew_before_hours",
            "fk::tls::bad_renewal_window",
            format!("`renew_before_hours` is {renew_before}; it cannot be negative"),
        ));
    }
    if let (Some(validity), Some(renew_before)) = (validity, renew_before)
        && validity > 0
        && renew_before >= validity
    {
        let mut found = problem(
            "renew_before_hours",
            "fk::tls::bad_renewal_window",
            format!(
                "`renew_before_hours` ({renew_before}) is not shorter than `validity_hours` \
                 ({validity}): the certificate would be due for renewal as soon as it is made"
            ),
        );
        found.help =
            Some("make the renewal window a fraction of the validity, such as a tenth".into());
        problems.push(found);
    }
}

/// A value that must be one of `allowed`, with the nearest one as a hint.
pub(crate) fn check_choice(
    attribute: &str,
    path: Vec<PathSeg>,
    given: &str,
    allowed: &[&str],
    code: &'static str,
) -> Option<AttrProblem> {
    if allowed.contains(&given) {
        return None;
    }
    let help = match nearest(given, allowed.iter().copied()) {
        Some(near) => format!("did you mean `{near}`?"),
        None => format!("allowed: {}", allowed.join(", ")),
    };
    Some(AttrProblem {
        path,
        code,
        message: format!("`{attribute}` has the unknown value `{given}`"),
        help: Some(help),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn config(pairs: &[(&str, Value)]) -> Value {
        Value::Map(
            pairs
                .iter()
                .map(|(key, value)| (key.to_string(), value.clone()))
                .collect::<BTreeMap<_, _>>(),
        )
    }

    #[test]
    fn renewal_window_must_be_shorter_than_validity() {
        let mut problems = Vec::new();
        check_validity(
            &config(&[
                ("validity_hours", Value::Int(24)),
                ("renew_before_hours", Value::Int(24)),
            ]),
            &mut problems,
        );
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].code, "fk::tls::bad_renewal_window");
        assert!(problems[0].message.contains("`renew_before_hours` (24)"));
    }

    #[test]
    fn unknown_values_are_not_judged() {
        let mut problems = Vec::new();
        let unknown = config(&[
            ("validity_hours", Value::Unknown),
            ("renew_before_hours", Value::Int(100_000)),
            ("common_name", Value::Unknown),
        ]);
        check_validity(&unknown, &mut problems);
        check_common_name(&unknown, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn defaults_fill_absent_and_null_but_keep_given_values() {
        let filled = with_defaults(
            &config(&[("a", Value::Null), ("b", Value::Int(7))]),
            &[
                ("a", Value::Int(1)),
                ("b", Value::Int(2)),
                ("c", Value::Int(3)),
            ],
        );
        assert_eq!(filled.get("a"), Some(&Value::Int(1)));
        assert_eq!(filled.get("b"), Some(&Value::Int(7)));
        assert_eq!(filled.get("c"), Some(&Value::Int(3)));
    }

    #[test]
    fn choice_suggests_the_nearest_allowed_value() {
        let found = check_choice(
            "usages",
            Vec::new(),
            "server_aut",
            &["server_auth", "client_auth"],
            "fk::tls::unknown_usage",
        )
        .unwrap();
        assert!(found.help.unwrap().contains("did you mean `server_auth`?"));
    }
}
