//! Every folder under `testdata/validate/` is a module; check it as `fk validate` does
//! (parse, variables, then `plan::check`) and compare the rendered diagnostics with the
//! snapshot beside it. A folder named after a diagnostic code
//! (`unknown-attribute`) must also produce that code; `clean` must produce nothing.

use crate::schema_support;
use schema_support as support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fk::config::Module;
use fk::diag::Diagnostics;
use fk::provider::azure::{AzureConfig, AzureProvider, StaticToken};
use fk::{config, plan};

/// What `fk validate` finds in `case_dir`, with no variables given.
fn check_module(case_dir: &Path) -> (Module, Diagnostics) {
    let (module, mut diagnostics) = config::parse(case_dir);
    let (variables, more) = config::variables::resolve(&module, &[]);
    diagnostics.extend(more);
    let mut registry = support::registry();
    let uses_azure = module
        .resources
        .keys()
        .any(|address| address.resource_type.starts_with("azure_"));
    if uses_azure {
        // Checks only: the provider is never asked to reach its endpoint.
        let config =
            AzureConfig::local("http://127.0.0.1:9", "00000000-0000-0000-0000-000000000000");
        let azure = AzureProvider::new(config, Arc::new(StaticToken::new("t"))).expect("provider");
        registry.register(Arc::new(azure));
    }
    let more = plan::check(&module, &variables, &registry, &diagnostics, true);
    diagnostics.extend(more);
    (module, diagnostics)
}

fn case_dirs() -> Vec<PathBuf> {
    let root = Path::new("testdata/validate");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .expect("testdata/validate exists")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[track_caller]
fn check_case(case_dir: &Path) {
    let case = case_dir
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (module, diagnostics) = check_module(case_dir);
    let rendered = diagnostics.render(&module.sources);
    if case == "clean" {
        assert!(
            diagnostics.is_empty(),
            "clean module has diagnostics:\n{rendered}"
        );
    }
    let wanted_code = format!("::{}", case.replace('-', "_"));
    let codes: Vec<&str> = diagnostics.iter().map(|diag| diag.code).collect();
    let names_a_code = codes.iter().any(|code| code.ends_with(&wanted_code));
    let is_code_case = !matches!(
        case.as_str(),
        "clean" | "five-mistakes" | "eight-mistakes" | "provider-checks"
    );
    assert!(
        !is_code_case || names_a_code,
        "case `{case}` does not report `{wanted_code}`:\n{rendered}"
    );
    let snapshot_dir = std::fs::canonicalize(case_dir).expect("case folder exists");
    insta::with_settings!({
        snapshot_path => snapshot_dir,
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(case.as_str(), rendered);
    });
}

#[test]
fn every_validate_case_matches_its_snapshot() {
    let dirs = case_dirs();
    assert!(
        dirs.len() >= 20,
        "expected the validate cases, found {}",
        dirs.len()
    );
    for case_dir in dirs {
        check_case(&case_dir);
    }
}

#[test]
fn five_mistakes_are_all_reported_on_their_lines() {
    let case_dir = Path::new("testdata/validate/five-mistakes");
    let (module, diagnostics) = check_module(case_dir);
    let mut codes: Vec<&str> = diagnostics.iter().map(|diag| diag.code).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), 5, "{codes:?}");
    let mut lines: Vec<usize> = diagnostics
        .iter()
        .filter_map(|diag| diag.primary.as_ref())
        .map(|label| module.sources.line_col(label.span.file, label.span.start).0)
        .collect();
    lines.sort();
    lines.dedup();
    assert_eq!(lines.len(), 5, "each mistake on its own line: {lines:?}");
}

/// A config-phase error (a variable without a value, a NaN, a call with too many arguments)
/// stops nothing: the schema, reference, index and secrecy checks of the other files run
/// too, and each of the eight mistakes is reported once, at its own place.
#[test]
fn eight_mistakes_in_three_files_are_all_reported_at_their_positions() {
    let (module, diagnostics) = check_module(Path::new("testdata/validate/eight-mistakes"));
    let mut found: Vec<(String, usize, usize, &str)> = diagnostics
        .iter()
        .map(|diag| {
            let label = diag.primary.as_ref().expect("every mistake has a place");
            let (line, column) = module.sources.line_col(label.span.file, label.span.start);
            let path = &module.sources.get(label.span.file).expect("file").path;
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            (file, line, column, diag.code)
        })
        .collect();
    found.sort();
    let expected = [
        ("main.toml", 2, 11, "fk::validate::unknown_reference"),
        ("main.toml", 3, 7, "fk::validate::type_mismatch"),
        ("main.toml", 4, 1, "fk::validate::unknown_attribute"),
        ("main.toml", 7, 12, "fk::config::bad_call"),
        ("main.toml", 10, 12, "fk::eval::invalid_index"),
        ("outputs.toml", 2, 12, "fk::validate::sensitive_output"),
        ("variables.toml", 3, 1, "fk::config::missing_variable"),
        ("variables.toml", 10, 11, "fk::config::invalid_value"),
    ];
    let expected: Vec<(String, usize, usize, &str)> = expected
        .iter()
        .map(|(file, line, column, code)| (file.to_string(), *line, *column, *code))
        .collect();
    assert_eq!(found, expected);
}
