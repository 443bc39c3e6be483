//! TEMPORARY stand-in for the config branch (replaced at merge).
use std::collections::BTreeMap;
use std::path::Path;

use crate::config::model::Module;
use crate::diag::{Diagnostics, SourceMap, Span};
use crate::value::Value;

pub fn parse(dir: &Path) -> (Module, Diagnostics) {
    let module = Module {
        dir: dir.to_path_buf(),
        name: dir
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default(),
        ..Module::default()
    };
    (module, Diagnostics::default())
}

pub fn parse_var_file(
    _path: &Path,
    _text: &str,
    _sources: &mut SourceMap,
) -> (Vec<variables::VarInput>, Diagnostics) {
    (Vec::new(), Diagnostics::default())
}

pub mod variables {
    use super::*;
    pub enum VarText {
        Raw(String),
        Value(Value, Option<Span>),
    }
    pub enum VarOrigin {
        Env,
        File,
        Cli,
    }
    pub struct VarInput {
        pub name: String,
        pub value: VarText,
        pub origin: VarOrigin,
    }
    pub fn resolve(
        module: &Module,
        _inputs: &[VarInput],
    ) -> (BTreeMap<String, Value>, Diagnostics) {
        let values = module
            .variables
            .iter()
            .filter_map(|(name, var)| var.default.clone().map(|value| (name.clone(), value)))
            .collect();
        (values, Diagnostics::default())
    }
}
