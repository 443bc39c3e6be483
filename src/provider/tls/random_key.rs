//! `random_key`: random bytes fk generates and keeps in state, base64-encoded; the key of
//! the apiserver's `EncryptionConfiguration` (`aescbc` or `secretbox` take 32 bytes).
//!
//! Attributes:
//! - `bytes` (integer, default 32, 16 to 1024): a change generates a new key.
//! - `base64` (computed, sensitive): the key, standard base64.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rsa::rand_core::{OsRng, RngCore};

use super::inputs::{TlsError, int, problem, with_defaults};
use super::{TlsType, with_computed};
use crate::provider::{AttrProblem, Attribute, ResourceSchema, Type};
use crate::value::Value;

pub(crate) const RANDOM_KEY_TYPE: &str = "random_key";

const MIN_BYTES: i64 = 16;
const MAX_BYTES: i64 = 1024;

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema {
        type_name: RANDOM_KEY_TYPE.into(),
        description: "random bytes kept in state, base64-encoded (an encryption key)".into(),
        attributes: vec![
            Attribute::optional("bytes", Type::Int)
                .force_new("a new length needs a new key")
                .describe("how many random bytes; default 32"),
            Attribute::computed("base64", Type::String)
                .sensitive()
                .describe("the key, standard base64"),
        ],
        remote: false,
    }
}

pub(crate) fn defaults(config: &Value) -> Value {
    with_defaults(config, &[("bytes", Value::Int(32))])
}

pub(crate) fn validate(config: &Value) -> Vec<AttrProblem> {
    match config.get("bytes").and_then(Value::as_i64) {
        Some(count) if !(MIN_BYTES..=MAX_BYTES).contains(&count) => vec![problem(
            "bytes",
            "fk::tls::key_size",
            format!("`bytes` is {count}; a key here has {MIN_BYTES} to {MAX_BYTES} bytes"),
        )],
        _ => Vec::new(),
    }
}

/// `bytes` random bytes from the system's random source, base64-encoded.
pub(crate) fn generate(planned: &Value) -> Result<String, TlsError> {
    let count = usize::try_from(int(planned, "bytes")?)
        .ok()
        .filter(|count| (MIN_BYTES as usize..=MAX_BYTES as usize).contains(count))
        .ok_or_else(|| TlsError::Missing {
            attribute: "bytes".into(),
        })?;
    let mut key = vec![0u8; count];
    OsRng
        .try_fill_bytes(&mut key)
        .map_err(|_| TlsError::Random)?;
    Ok(STANDARD.encode(&key))
}

/// The random key type.
pub(super) static RANDOM_KEY: TlsType =
    TlsType::new(RANDOM_KEY_TYPE, schema, defaults, validate, make);

fn make(planned: &Value) -> Result<Value, TlsError> {
    Ok(with_computed(
        planned,
        vec![("base64", Value::str(generate(planned)?).sensitive())],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn default_key_is_32_random_bytes() {
        let planned = defaults(&Value::Map(BTreeMap::new()));
        let first = generate(&planned).unwrap();
        let second = generate(&planned).unwrap();
        assert_eq!(STANDARD.decode(&first).unwrap().len(), 32);
        assert_ne!(first, second, "two keys are not the same");
    }

    #[test]
    fn rejects_lengths_outside_the_range() {
        for count in [0, 15, 1025] {
            let config = Value::Map(BTreeMap::from([("bytes".to_string(), Value::Int(count))]));
            assert_eq!(validate(&config).len(), 1, "{count}");
        }
        let config = Value::Map(BTreeMap::from([("bytes".to_string(), Value::Int(24))]));
        assert!(validate(&config).is_empty());
    }
}
