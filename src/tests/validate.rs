//! Every folder under `testdata/validate/` is a module; parse + validate it and compare the
//! rendered diagnostics with the snapshot beside it. A folder named after a diagnostic code
//! (`unknown-attribute`) must also produce that code; `clean` must produce nothing.

mod schema_support;
use schema_support as support;

use std::path::{Path, PathBuf};

use fk::{config, validate};

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
    let (module, mut diagnostics) = config::parse(case_dir);
    diagnostics.extend(validate::check(&module, &support::registry()));
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
    let is_code_case = !matches!(case.as_str(), "clean" | "five-mistakes" | "provider-checks");
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
    let (module, mut diagnostics) = config::parse(case_dir);
    diagnostics.extend(validate::check(&module, &support::registry()));
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
