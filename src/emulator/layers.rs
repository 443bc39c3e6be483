//! The layer rule of this crate, checked over its own source: a module names only modules of
//! lower layers (and the leaves), never one above it or beside it. The compiler keeps the
//! crate apart from fk; this test keeps the layers inside it.

/// A source file: its path in the crate and its text.
macro_rules! source {
    ($path:literal) => {
        ($path, include_str!($path))
    };
}

/// Every source file of the crate but `lib.rs` and this one.
const FILES: &[(&str, &str)] = &[
    source!("server.rs"),
    source!("server/admin.rs"),
    source!("router.rs"),
    source!("resources/container_groups/mod.rs"),
    source!("resources/container_groups/rules.rs"),
    source!("resources/container_groups/view.rs"),
    source!("resources/file_data.rs"),
    source!("resources/file_shares.rs"),
    source!("resources/identities.rs"),
    source!("resources/providers.rs"),
    source!("resources/resource_groups.rs"),
    source!("resources/role_assignments.rs"),
    source!("resources/storage_accounts.rs"),
    source!("resources/mod.rs"),
    source!("operations.rs"),
    source!("world.rs"),
    source!("arm_response.rs"),
    source!("clock.rs"),
    source!("config.rs"),
    source!("context.rs"),
    source!("error.rs"),
    source!("faults.rs"),
    source!("names.rs"),
    source!("schema.rs"),
    source!("schema/described.rs"),
];

/// The module a file belongs to: its path as a module path, or the module it is a private
/// part of when that path has no layer of its own (`server/admin.rs` is part of `server`).
fn module_of(path: &str) -> String {
    let module = path
        .trim_end_matches(".rs")
        .trim_end_matches("/mod")
        .replace('/', "::");
    match module.rsplit_once("::") {
        Some((parent, _)) if layer(&module).is_none() => parent.to_owned(),
        _ => module,
    }
}

/// The layer of a module: higher layers may use lower ones. Resource modules are ordered
/// among themselves by what they live in (an account in a group, a share in an account, a
/// group mounting shares); the leaves (0) may be used by all and use only each other.
fn layer(module: &str) -> Option<u32> {
    Some(match module {
        "server" => 60,
        "router" => 50,
        "resources" => 45,
        "resources::container_groups" => 43,
        "resources::file_data" | "resources::file_shares" | "resources::role_assignments" => 42,
        "resources::storage_accounts" => 41,
        "resources::resource_groups" | "resources::identities" | "resources::providers" => 40,
        "operations" => 20,
        "world" => 10,
        "arm_response" | "clock" | "config" | "context" | "error" | "faults" | "names"
        | "schema" => 0,
        _ => return None,
    })
}

/// The crate modules `source` names through `crate::` (and, in a resource file, its
/// `super::` siblings), as module paths.
fn named_modules(module: &str, source: &str) -> Vec<String> {
    let mut named = Vec::new();
    for (at, _) in source.match_indices("crate::") {
        for first in names_after(&source[at + "crate::".len()..]) {
            if first == "resources" {
                let rest = &source[at + "crate::resources".len()..];
                let inner = rest.strip_prefix("::").unwrap_or_default();
                named.extend(
                    names_after(inner)
                        .into_iter()
                        .map(|name| format!("resources::{name}")),
                );
            } else if first.starts_with(|c: char| c.is_ascii_lowercase()) {
                named.push(first);
            }
        }
    }
    let is_resource_file =
        module.starts_with("resources::") && module != "resources::container_groups";
    if is_resource_file {
        for (at, _) in source.match_indices("super::") {
            for sibling in names_after(&source[at + "super::".len()..]) {
                if layer(&format!("resources::{sibling}")).is_some() {
                    named.push(format!("resources::{sibling}"));
                }
            }
        }
    }
    named
}

/// The first path segment of each path `text` starts with: one name, or each name of a
/// `{a, b::c, d}` group.
fn names_after(text: &str) -> Vec<String> {
    let ident = |text: &str| -> String {
        text.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    match text.strip_prefix('{') {
        Some(group) => group
            .split('}')
            .next()
            .unwrap_or_default()
            .split(',')
            .map(ident)
            .filter(|name| !name.is_empty())
            .collect(),
        None => vec![ident(text)],
    }
}

#[test]
fn every_module_names_only_lower_layers() {
    let mut problems = Vec::new();
    for (path, source) in FILES {
        let module = module_of(path);
        let Some(own) = layer(&module) else {
            problems.push(format!("`{path}` belongs to no layer"));
            continue;
        };
        for named in named_modules(&module, source) {
            let allowed = match layer(&named) {
                Some(0) => true,
                Some(other) => other < own || named == module,
                None => false,
            };
            if !allowed {
                problems.push(format!("`{module}` names `{named}`"));
            }
        }
    }
    assert_eq!(problems, Vec::<String>::new());
}

#[test]
fn every_source_file_is_checked() {
    fn rust_files(folder: &std::path::Path, prefix: &str, found: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(folder) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if path.is_dir() {
                rust_files(&path, &format!("{prefix}{name}/"), found);
            } else if name.ends_with(".rs") {
                found.push(format!("{prefix}{name}"));
            }
        }
    }
    let mut found = Vec::new();
    rust_files(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
        "",
        &mut found,
    );
    found.retain(|path| path != "lib.rs" && path != "layers.rs");
    found.sort();
    let mut checked: Vec<String> = FILES.iter().map(|(path, _)| path.to_string()).collect();
    checked.sort();
    assert_eq!(found, checked);
}

#[test]
fn the_check_sees_a_call_back_up() {
    let source = "use crate::router::settle;\nuse crate::resources::{file_data, names};\n\
                  use crate::{world::World, server};\nuse super::container_groups;\n";
    let named = named_modules("resources::storage_accounts", source);
    assert_eq!(
        named,
        vec![
            "router",
            "resources::file_data",
            "resources::names",
            "world",
            "server",
            "resources::container_groups"
        ]
    );
    assert!(layer("router") > layer("resources::storage_accounts"));
    assert!(layer("resources::container_groups") > layer("resources::storage_accounts"));
}

#[test]
fn a_file_belongs_to_its_own_module_or_the_one_it_is_part_of() {
    assert_eq!(module_of("resources/mod.rs"), "resources");
    assert_eq!(
        module_of("resources/file_shares.rs"),
        "resources::file_shares"
    );
    assert_eq!(
        module_of("resources/container_groups/rules.rs"),
        "resources::container_groups"
    );
    assert_eq!(module_of("server/admin.rs"), "server");
    assert_eq!(module_of("unlisted.rs"), "unlisted");
    assert_eq!(layer(&module_of("unlisted.rs")), None);
}
