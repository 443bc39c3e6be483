//! Every folder under `testdata/config/` is a module; parse it and compare a dump of the
//! model (variables, resources with their references and meta keys, outputs, providers,
//! backend, diagnostics) with the snapshot beside it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use fk::config::{self, Module};
use fk::diag::Span;

fn at(module: &Module, span: Span) -> String {
    let (line, col) = module.sources.line_col(span.file, span.start);
    let file = module
        .sources
        .get(span.file)
        .and_then(|file| file.path.file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{file}:{line}:{col}")
}

fn dump(module: &Module) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "module {} (digest {} chars)",
        module.name,
        module.digest.len()
    );
    for variable in module.variables.values() {
        let default = variable
            .default
            .as_ref()
            .map_or("none".to_string(), ToString::to_string);
        let _ = writeln!(
            out,
            "variable {} @{}: type {}, default {default}, sensitive {}",
            variable.name,
            at(module, variable.span),
            variable.var_type.name(),
            variable.sensitive
        );
    }
    for resource in module.resources.values() {
        let _ = writeln!(
            out,
            "resource {} @{}",
            resource.address,
            at(module, resource.span)
        );
        for (name, attr) in &resource.attributes {
            let _ = writeln!(out, "  {name} = {}", attr.value);
        }
        for (reference, span) in resource.references() {
            let _ = writeln!(out, "  ref {reference} @{}", at(module, span));
        }
        for (address, span) in &resource.depends_on {
            let _ = writeln!(out, "  depends_on {address} @{}", at(module, *span));
        }
        let lifecycle = &resource.lifecycle;
        let ignored: Vec<String> = lifecycle
            .ignore_changes
            .iter()
            .map(|(path, _)| fk::value::path_to_string(path))
            .collect();
        let _ = writeln!(
            out,
            "  lifecycle prevent_destroy={} create_before_destroy={} ignore_changes={ignored:?}",
            lifecycle.prevent_destroy, lifecycle.create_before_destroy
        );
    }
    for output in module.outputs.values() {
        let _ = writeln!(
            out,
            "output {} = {} (sensitive {})",
            output.name, output.value, output.sensitive
        );
    }
    for provider in module.providers.values() {
        let _ = writeln!(out, "provider {}", provider.name);
        for (name, attr) in &provider.attributes {
            let _ = writeln!(out, "  {name} = {}", attr.value);
        }
    }
    if let Some(backend) = &module.backend {
        let _ = writeln!(out, "backend {}", backend.kind);
    }
    out
}

#[test]
fn every_config_case_matches_its_snapshot() {
    let root = Path::new("testdata/config");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .expect("testdata/config exists")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty());
    for case_dir in dirs {
        let case = case_dir
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (module, diagnostics) = config::parse(&case_dir);
        let rendered = format!("{}\n{}", dump(&module), diagnostics.render(&module.sources));
        let snapshot_dir = std::fs::canonicalize(&case_dir).expect("case folder exists");
        insta::with_settings!({
            snapshot_path => snapshot_dir,
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(case.as_str(), rendered);
        });
    }
}
