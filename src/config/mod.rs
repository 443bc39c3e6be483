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
pub(crate) mod functions;
mod lowering;
pub(crate) mod model;
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

/// The largest `*.toml` file of a module fk reads.
pub(crate) const MAX_MODULE_FILE_BYTES: u64 = 8 << 20;
/// The largest file `file("...")` reads.
pub(crate) const MAX_FILE_FUNCTION_BYTES: u64 = 1 << 20;

/// Reads the module in `dir`: every `*.toml` file in it, in name order, merged. A `*.toml`
/// that cannot be read (a dangling link, a link loop, no permission, not a regular file, a
/// link leading out of the folder) is an error naming it, never skipped.
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
    let root = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) if is_module_file(&entry.path()) => paths.push(entry.path()),
            Ok(_) => {}
            Err(err) => diagnostics.push(Diagnostic::error(
                "fk::config::unreadable_file",
                format!("cannot list module folder `{}`: {err}", dir.display()),
            )),
        }
    }
    paths.sort();
    let mut files = Vec::new();
    for path in &paths {
        let read = read_inside(&root, path, MAX_MODULE_FILE_BYTES);
        match read {
            Ok(bytes) => files.push(ModuleFile::decode(path.clone(), bytes)),
            Err(reason) => diagnostics.push(
                Diagnostic::error(
                    "fk::config::unreadable_file",
                    format!("cannot read `{}`: {reason}", path.display()),
                )
                .help("every `*.toml` file in the module folder is part of the module: fix or remove it"),
            ),
        }
    }
    let mut read_file = |relative: &str| {
        let bytes = read_inside(&root, &root.join(relative), MAX_FILE_FUNCTION_BYTES)?;
        String::from_utf8(bytes).map_err(|err| {
            let (line, column) = line_col_of(err.as_bytes(), err.utf8_error().valid_up_to());
            format!("it is not UTF-8 text: the first bad byte is at line {line}, column {column}")
        })
    };
    let (module, more) = parse_with(name, dir, files, paths.len(), &mut read_file);
    diagnostics.extend(more);
    (module, diagnostics)
}

/// The bytes of `path`, which after every symbolic link must be a regular file inside
/// `root` (canonical) of at most `limit` bytes. The reason it cannot be read otherwise;
/// the reason never names where a link outside the folder leads.
fn read_inside(root: &Path, path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let resolved = path.canonicalize().map_err(|err| {
        let is_link = path.symlink_metadata().is_ok_and(|meta| meta.is_symlink());
        if err.raw_os_error() == Some(libc::ELOOP) {
            "it is a loop of symbolic links".to_string()
        } else if is_link && err.kind() == std::io::ErrorKind::NotFound {
            "it is a symbolic link to a file that does not exist".to_string()
        } else {
            err.to_string()
        }
    })?;
    if !resolved.starts_with(root) {
        return Err("it is a symbolic link leading outside the module folder".to_string());
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // Opening a FIFO for reading would wait for a writer; non-blocking, it opens at once
    // and the check below refuses it.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(&resolved).map_err(|err| err.to_string())?;
    let metadata = file.metadata().map_err(|err| err.to_string())?;
    if !metadata.is_file() {
        let kind = if metadata.is_dir() {
            "a folder"
        } else {
            "not a regular file (a FIFO, a device or a socket)"
        };
        return Err(format!("it is {kind}"));
    }
    let too_big = |size: u64| format!("it is {size} bytes, more than the {limit} fk reads");
    if metadata.len() > limit {
        return Err(too_big(metadata.len()));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| err.to_string())?;
    if bytes.len() as u64 > limit {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

/// 1-based line and column (in characters) of byte `offset` of `bytes`, which are valid
/// UTF-8 up to there.
fn line_col_of(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = String::from_utf8_lossy(&bytes[..offset.min(bytes.len())]);
    let line_start = before.rfind('\n').map_or(0, |idx| idx + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

/// A module file's text; `bad_utf8_at` is the offset of its first byte that is not UTF-8
/// (the text then holds U+FFFD in its place, so the rest is still checked).
struct ModuleFile {
    path: PathBuf,
    text: String,
    bad_utf8_at: Option<usize>,
}

impl ModuleFile {
    fn decode(path: PathBuf, bytes: Vec<u8>) -> ModuleFile {
        match String::from_utf8(bytes) {
            Ok(text) => ModuleFile {
                path,
                text,
                bad_utf8_at: None,
            },
            Err(err) => ModuleFile {
                path,
                bad_utf8_at: Some(err.utf8_error().valid_up_to()),
                text: String::from_utf8_lossy(err.as_bytes()).into_owned(),
            },
        }
    }
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
    let module_files: Vec<ModuleFile> = files
        .into_iter()
        .filter(|(path, _)| is_module_file(path))
        .map(|(path, text)| ModuleFile {
            path,
            text,
            bad_utf8_at: None,
        })
        .collect();
    let n_found = module_files.len();
    parse_with(name.to_string(), dir, module_files, n_found, &mut read_file)
}

fn is_module_file(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "toml")
}

/// `n_found` counts the `*.toml` files found, read or not: a folder whose files could not
/// be read is not called empty.
fn parse_with(
    name: String,
    dir: &Path,
    mut files: Vec<ModuleFile>,
    n_found: usize,
    read_file: &mut dyn FnMut(&str) -> Result<String, String>,
) -> (Module, Diagnostics) {
    files.sort_by(|left, right| left.path.cmp(&right.path));
    let mut module = empty_module(name, dir);
    let mut diagnostics = Diagnostics::default();
    if n_found == 0 {
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
    for ModuleFile {
        path,
        text,
        bad_utf8_at,
    } in files
    {
        let file_name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned());
        digest_entry(&mut digest, file_name.as_deref().unwrap_or(""), &text);
        let file = module.sources.add(path, text.clone());
        if let Some(offset) = bad_utf8_at {
            let width = '\u{FFFD}'.len_utf8();
            diagnostics.push(
                Diagnostic::error(
                    "fk::config::invalid_utf8",
                    "the file is not UTF-8 text: this byte is not UTF-8",
                )
                .at(Span::new(file, offset..offset + width), "not UTF-8")
                .help("save the file as UTF-8"),
            );
        }
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

    fn codes_and_text(dir: &Path) -> (Vec<&'static str>, String) {
        let (module, diagnostics) = parse(dir);
        let codes = diagnostics.iter().map(|diag| diag.code).collect();
        (codes, diagnostics.render(&module.sources))
    }

    #[test]
    fn a_toml_file_that_cannot_be_read_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let module_dir = dir.path().join("m");
        std::fs::create_dir(&module_dir).unwrap();
        std::fs::write(
            module_dir.join("main.toml"),
            "[resource.data.a]\ninput = 1\n",
        )
        .unwrap();
        std::os::unix::fs::symlink("nowhere.toml", module_dir.join("gone.toml")).unwrap();
        std::os::unix::fs::symlink("loop-b.toml", module_dir.join("loop-a.toml")).unwrap();
        std::os::unix::fs::symlink("loop-a.toml", module_dir.join("loop-b.toml")).unwrap();
        std::fs::create_dir(module_dir.join("folder.toml")).unwrap();
        let (codes, text) = codes_and_text(&module_dir);
        assert_eq!(codes, ["fk::config::unreadable_file"; 4], "{text}");
        for (name, reason) in [
            ("gone.toml", "symbolic link to a file that does not exist"),
            ("loop-a.toml", "loop of symbolic links"),
            ("loop-b.toml", "loop of symbolic links"),
            ("folder.toml", "it is a folder"),
        ] {
            let wanted = format!("cannot read `{}`: ", module_dir.join(name).display());
            assert!(text.contains(&wanted), "{name} not named:\n{text}");
            assert!(text.contains(reason), "{reason}:\n{text}");
        }
    }

    #[test]
    fn a_toml_link_leading_out_of_the_folder_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let module_dir = dir.path().join("m");
        std::fs::create_dir(&module_dir).unwrap();
        std::fs::write(dir.path().join("outside.toml"), "SECRET-OUTSIDE = [\n").unwrap();
        std::os::unix::fs::symlink("../outside.toml", module_dir.join("main.toml")).unwrap();
        let (codes, text) = codes_and_text(&module_dir);
        assert_eq!(codes, ["fk::config::unreadable_file"], "{text}");
        assert!(text.contains("leading outside the module folder"), "{text}");
        assert!(!text.contains("SECRET-OUTSIDE"), "{text}");
        assert!(!text.contains("no `*.toml` files"), "{text}");
    }

    #[test]
    fn invalid_utf8_is_reported_at_its_line_and_column_and_the_rest_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let module_dir = dir.path().join("m");
        std::fs::create_dir(&module_dir).unwrap();
        let mut bytes = b"[resource.data.a]\ninput = \"ok\"\nname = \"caf".to_vec();
        bytes.extend([0xC3, 0x28]);
        bytes.extend(b"\"\n[bogus]\n");
        std::fs::write(module_dir.join("main.toml"), bytes).unwrap();
        let (module, diagnostics) = parse(&module_dir);
        let codes: Vec<&str> = diagnostics.iter().map(|diag| diag.code).collect();
        assert_eq!(
            codes,
            ["fk::config::invalid_utf8", "fk::config::unknown_section"]
        );
        let text = diagnostics.render(&module.sources);
        assert!(text.contains("main.toml:3:12"), "{text}");
    }

    #[test]
    fn file_refuses_links_out_of_the_folder_special_files_and_big_files() {
        let dir = tempfile::tempdir().unwrap();
        let module_dir = dir.path().join("m");
        std::fs::create_dir(&module_dir).unwrap();
        std::fs::write(dir.path().join("secret.txt"), "SECRET-OUTSIDE").unwrap();
        std::os::unix::fs::symlink("../secret.txt", module_dir.join("passwd")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", module_dir.join("zero")).unwrap();
        let fifo = std::process::Command::new("mkfifo")
            .arg(module_dir.join("fifo"))
            .status()
            .unwrap();
        assert!(fifo.success());
        let limit = usize::try_from(MAX_FILE_FUNCTION_BYTES).unwrap();
        std::fs::write(module_dir.join("big"), vec![b'a'; limit + 1]).unwrap();
        std::fs::write(module_dir.join("bad-utf8"), [b'a', b'\n', 0xFF]).unwrap();
        std::fs::write(module_dir.join("inside.txt"), "fine").unwrap();
        std::os::unix::fs::symlink("inside.txt", module_dir.join("link")).unwrap();
        let calls = ["passwd", "zero", "fifo", "big", "bad-utf8", "link"];
        let toml: String = calls
            .iter()
            .enumerate()
            .map(|(idx, name)| format!("[resource.data.r{idx}]\ninput = '${{file(\"{name}\")}}'\n"))
            .collect();
        std::fs::write(module_dir.join("main.toml"), toml).unwrap();
        let (module, diagnostics) = parse(&module_dir);
        let text = diagnostics.render(&module.sources);
        let codes: Vec<&str> = diagnostics.iter().map(|diag| diag.code).collect();
        assert_eq!(codes, ["fk::config::file_unreadable"; 5], "{text}");
        for (line, reason) in [
            (2, "leading outside the module folder"),
            (4, "leading outside the module folder"),
            (6, "it is not a regular file (a FIFO"),
            (8, "more than the 1048576 fk reads"),
            (
                10,
                "not UTF-8 text: the first bad byte is at line 2, column 1",
            ),
        ] {
            assert!(
                text.contains(&format!("main.toml:{line}:17")),
                "{line}:\n{text}"
            );
            assert!(text.contains(reason), "{reason}:\n{text}");
        }
        assert!(!text.contains("SECRET-OUTSIDE"), "{text}");
        assert!(!text.contains("secret.txt"), "{text}");
        let input = &module.resources[&Address::new("data", "r5")].attributes["input"];
        assert!(
            matches!(&input.value.kind, ExprKind::Literal(Value::String(text)) if text == "fine")
        );
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
