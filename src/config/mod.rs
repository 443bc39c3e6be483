//! Text → module model with spans. No IO beyond reading the module folder.
//!
//! [`parse`] reads a folder of `*.toml` files (sorted by name) and the files its `file()`
//! calls name; [`parse_sources`] does the same from text in memory. Both return every
//! problem found, never stopping at the first. [`eval`] evaluates expressions against a
//! [`eval::Scope`]; [`variables`] turns `-var`, `--var-file` and `FK_VAR_*` inputs into values.
//! The language itself is documented for users in `modules/README.md`.
//!
//! The pipeline inside: `sections` walks the top-level TOML tables into the [`Module`];
//! `lowering` turns TOML values into [`Expr`]s; `template` parses the `${...}` inside strings
//! (with `source_string` mapping each decoded byte back to the file, so spans point inside
//! strings); `functions` is the built-in function table; `references` and `display` read
//! expressions back. Invariant: evaluation is pure; every file a module uses is read here.

mod display;
pub mod eval;
pub mod functions;
mod lowering;
pub mod model;
mod references;
mod sections;
mod source_string;
mod template;
pub mod variables;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use toml::de::DeTable;

pub use model::*;
pub use references::references;
pub use variables::parse_var_file;

use crate::diag::{Diagnostic, Diagnostics, Span};
use lowering::Lowering;

/// Reads the module in `dir`: every `*.toml` file in it, in name order, merged.
pub fn parse(dir: &Path) -> (Module, Diagnostics) {
    let name = module_name(dir);
    let mut diagnostics = Diagnostics::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => {
            diagnostics.push(
                Diagnostic::error(
                    "fk::config::no_module",
                    format!("cannot read module folder `{}`: {err}", dir.display()),
                )
                .help("give the path of a folder holding `*.toml` files"),
            );
            return (empty_module(name, dir), diagnostics);
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml") && path.is_file())
        .collect();
    paths.sort();
    let mut files = Vec::new();
    for path in paths {
        match std::fs::read_to_string(&path) {
            Ok(text) => files.push((path, text)),
            Err(err) => diagnostics.push(Diagnostic::error(
                "fk::config::unreadable_file",
                format!("cannot read `{}`: {err}", path.display()),
            )),
        }
    }
    let dir_for_reads = dir.to_path_buf();
    let mut read_file = |relative: &str| {
        std::fs::read_to_string(dir_for_reads.join(relative)).map_err(|err| err.to_string())
    };
    let (module, more) = parse_with(name, dir, files, &mut read_file);
    diagnostics.extend(more);
    (module, diagnostics)
}

/// Parses a module from text in memory. `files` holds the module's `*.toml` files and any
/// other file its `file("...")` calls may read; paths are as they should be shown.
pub fn parse_sources(
    name: &str,
    dir: &Path,
    files: Vec<(PathBuf, String)>,
) -> (Module, Diagnostics) {
    let others: Vec<(PathBuf, String)> = files
        .iter()
        .filter(|(path, _)| !is_module_file(path))
        .cloned()
        .collect();
    let mut read_file = |relative: &str| {
        let wanted = dir.join(relative);
        others
            .iter()
            .find(|(path, _)| *path == wanted || path == Path::new(relative))
            .map(|(_, text)| text.clone())
            .ok_or_else(|| "no such file".to_string())
    };
    let module_files = files
        .into_iter()
        .filter(|(path, _)| is_module_file(path))
        .collect();
    parse_with(name.to_string(), dir, module_files, &mut read_file)
}

fn is_module_file(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "toml")
}

fn parse_with(
    name: String,
    dir: &Path,
    mut files: Vec<(PathBuf, String)>,
    read_file: &mut dyn FnMut(&str) -> Result<String, String>,
) -> (Module, Diagnostics) {
    files.sort_by(|left, right| left.0.cmp(&right.0));
    let mut module = empty_module(name, dir);
    let mut diagnostics = Diagnostics::default();
    if files.is_empty() {
        diagnostics.push(
            Diagnostic::error(
                "fk::config::no_module",
                format!("no `*.toml` files in `{}`", dir.display()),
            )
            .help("a module is a folder of `*.toml` files"),
        );
    }
    let mut digest = Sha256::new();
    let mut files_read: BTreeMap<String, String> = BTreeMap::new();
    let mut recording_reader = |relative: &str| {
        let text = read_file(relative)?;
        files_read.insert(relative.to_string(), text.clone());
        Ok(text)
    };
    for (path, text) in files {
        let file_name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned());
        digest_entry(&mut digest, file_name.as_deref().unwrap_or(""), &text);
        let file = module.sources.add(path, text.clone());
        let (document, errors) = DeTable::parse_recoverable(&text);
        let has_syntax_errors = !errors.is_empty();
        for error in &errors {
            diagnostics.push(syntax_error(file, error));
        }
        let n_before = diagnostics.0.len();
        let mut cx = Lowering::new(file, &text, &mut diagnostics, &mut recording_reader);
        sections::lower_document(&mut cx, &mut module, document.get_ref());
        if has_syntax_errors {
            // What the parser recovered after a syntax error often lands at the top level;
            // calling it an unknown section would only add noise.
            let mut diagnostic_idx = 0;
            diagnostics.0.retain(|diagnostic| {
                diagnostic_idx += 1;
                diagnostic_idx <= n_before || diagnostic.code != "fk::config::unknown_section"
            });
        }
    }
    for (relative, text) in &files_read {
        digest_entry(&mut digest, relative, text);
    }
    module.digest = functions::hex(&digest.finalize());
    (module, diagnostics)
}

/// A TOML syntax error: `invalid basic string, expected `"`` becomes the message and the label.
pub(crate) fn syntax_error(file: crate::diag::FileId, error: &toml::de::Error) -> Diagnostic {
    let message = error.message().trim();
    let (what, label) = match message.split_once(", expected") {
        Some((what, expected)) => (what.to_string(), format!("expected{expected}")),
        None => (message.to_string(), "here".to_string()),
    };
    Diagnostic::error("fk::config::syntax", format!("invalid TOML: {what}"))
        .at(Span::new(file, error.span().unwrap_or(0..0)), label)
}

fn digest_entry(digest: &mut Sha256, name: &str, text: &str) {
    digest.update((name.len() as u64).to_le_bytes());
    digest.update(name.as_bytes());
    digest.update((text.len() as u64).to_le_bytes());
    digest.update(text.as_bytes());
}

fn empty_module(name: String, dir: &Path) -> Module {
    Module {
        dir: dir.to_path_buf(),
        name,
        ..Module::default()
    }
}

fn module_name(dir: &Path) -> String {
    dir.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .or_else(|| {
            dir.canonicalize().ok().and_then(|full| {
                full.file_name()
                    .map(|name| name.to_string_lossy().into_owned())
            })
        })
        .unwrap_or_else(|| "module".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::Address;
    use crate::value::{PathSeg, Value};

    fn parse_text(text: &str) -> (Module, Diagnostics) {
        let files = vec![(PathBuf::from("m/main.toml"), text.to_string())];
        parse_sources("m", Path::new("m"), files)
    }

    #[test]
    fn reads_a_folder_in_name_order_with_name_and_digest() {
        let dir = tempfile::tempdir().unwrap();
        let module_dir = dir.path().join("cluster");
        std::fs::create_dir(&module_dir).unwrap();
        std::fs::write(module_dir.join("b.toml"), "[resource.data.b]\ninput = 2\n").unwrap();
        std::fs::write(
            module_dir.join("a.toml"),
            "[resource.data.a]\ninput = '${file(\"x.txt\")}'\n",
        )
        .unwrap();
        std::fs::write(module_dir.join("x.txt"), "one").unwrap();
        std::fs::write(module_dir.join("notes.md"), "not read").unwrap();
        let (module, diagnostics) = parse(&module_dir);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert_eq!(module.name, "cluster");
        let names: Vec<String> = module
            .sources
            .files()
            .map(|(_, file)| {
                file.path
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["a.toml", "b.toml"]);
        assert_eq!(module.digest.len(), 64);
        let before = module.digest.clone();
        std::fs::write(module_dir.join("x.txt"), "two").unwrap();
        let (module, _) = parse(&module_dir);
        assert_ne!(
            module.digest, before,
            "a file read by file() is part of the digest"
        );
        let input = &module.resources[&Address::new("data", "a")].attributes["input"];
        assert!(
            matches!(&input.value.kind, ExprKind::Literal(Value::String(text)) if text == "two")
        );
    }

    #[test]
    fn a_missing_folder_or_an_empty_one_is_a_diagnostic() {
        let dir = tempfile::tempdir().unwrap();
        let (_, diagnostics) = parse(&dir.path().join("absent"));
        assert_eq!(diagnostics.0[0].code, "fk::config::no_module");
        let (module, diagnostics) = parse(dir.path());
        assert_eq!(diagnostics.0[0].code, "fk::config::no_module");
        assert!(module.resources.is_empty());
    }

    #[test]
    fn lifecycle_and_depends_on_are_meta_not_attributes() {
        let (module, diagnostics) = parse_text(
            "[resource.data.a]\ninput = 1\n\n[resource.data.b]\ndepends_on = [\"data.a\"]\n\
             [resource.data.b.lifecycle]\nprevent_destroy = true\n\
             ignore_changes = [\"input.x[0]\"]\ncreate_before_destroy = true\n",
        );
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let resource = &module.resources[&Address::new("data", "b")];
        assert!(resource.attributes.is_empty());
        assert_eq!(resource.depends_on[0].0, Address::new("data", "a"));
        assert!(resource.lifecycle.prevent_destroy);
        assert!(resource.lifecycle.create_before_destroy);
        assert_eq!(
            resource.lifecycle.ignore_changes[0].0,
            vec![
                PathSeg::Key("input".into()),
                PathSeg::Key("x".into()),
                PathSeg::Index(0)
            ]
        );
        assert_eq!(module.sources.text(resource.span), "[resource.data.b]");
    }

    #[test]
    fn pure_interpolation_template_and_escape_have_their_kinds() {
        let (module, diagnostics) = parse_text(
            "[output.a]\nvalue = \"${var.x}\"\n[output.b]\nvalue = \"v${var.x}\"\n\
             [output.c]\nvalue = \"$${var.x}\"\n[variable.x]\ndefault = 1\n",
        );
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert!(matches!(
            module.outputs["a"].value.kind,
            ExprKind::Interp(_)
        ));
        assert!(matches!(
            module.outputs["b"].value.kind,
            ExprKind::Template(_)
        ));
        assert!(matches!(
            &module.outputs["c"].value.kind,
            ExprKind::Literal(Value::String(text)) if text == "${var.x}"
        ));
    }

    #[test]
    fn reference_spans_point_inside_strings_even_after_escapes() {
        let (module, diagnostics) = parse_text(
            "[output.a]\nvalue = \"\\\"q\\\" ${join(\\\",\\\", data.x.list[1])} ${var.y}\"\n",
        );
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let found = references(&module.outputs["a"].value);
        let texts: Vec<&str> = found
            .iter()
            .map(|(_, span)| module.sources.text(*span))
            .collect();
        assert_eq!(texts, ["data.x.list[1]", "var.y"]);
        assert_eq!(
            found[0].0.path,
            vec![PathSeg::Key("list".into()), PathSeg::Index(1)]
        );
    }

    #[test]
    fn nested_tables_and_arrays_keep_interpolations() {
        let (module, diagnostics) = parse_text(
            "[resource.data.a]\ninput = { list = [\"${var.x}\", { deep = \"a${var.y}\" }] }\n",
        );
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let resource = &module.resources[&Address::new("data", "a")];
        let names: Vec<String> = resource
            .references()
            .into_iter()
            .map(|(reference, _)| format!("{:?}", reference.target))
            .collect();
        assert_eq!(names, ["Var(\"x\")", "Var(\"y\")"]);
    }

    #[test]
    fn hostile_nesting_is_refused_with_a_diagnostic() {
        let nested = |depth: usize| {
            format!(
                "[resource.data.a]\ninput = {}{}\n",
                "[".repeat(depth),
                "]".repeat(depth)
            )
        };
        let deep_calls = format!(
            "[output.x]\nvalue = '${{{}\"x\"{}}}'\n",
            "upper(".repeat(5000),
            ")".repeat(5000)
        );
        let cases = [
            (nested(40), "fk::config::invalid_value"),
            (nested(5000), "fk::config::syntax"),
            (deep_calls, "fk::config::bad_interpolation"),
        ];
        for (text, code) in cases {
            let (_, diagnostics) = parse_text(&text);
            let codes: Vec<&str> = diagnostics.iter().map(|diag| diag.code).collect();
            assert!(codes.contains(&code), "{codes:?}");
        }
    }
}
