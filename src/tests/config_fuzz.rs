//! Property tests: no input makes the front end panic. Arbitrary text and generated
//! module-shaped TOML go through parse, validate, evaluate, variable resolution and rendering.

use crate::schema_support;
use schema_support as support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use fk::addr::Address;
use fk::config::eval::{Scope, evaluate};
use fk::config::variables::{VarInput, VarOrigin, VarText, resolve};
use fk::config::{self, Module};
use fk::validate;
use fk::value::Value;
use proptest::prelude::*;

/// Answers every reference: declared variables are strings or unknown, resources are maps
/// with a few known, unknown and sensitive attributes.
struct FuzzScope;

impl Scope for FuzzScope {
    fn variable(&self, name: &str) -> Option<Value> {
        match name.len() % 3 {
            0 => Some(Value::str(name)),
            1 => Some(Value::Unknown),
            _ => Some(Value::List(vec![Value::str("a"), Value::Int(1)])),
        }
    }

    fn resource(&self, address: &Address) -> Option<Value> {
        Some(Value::Map(BTreeMap::from([
            ("name".to_string(), Value::str(address.name.clone())),
            ("ip".to_string(), Value::Unknown),
            ("key".to_string(), Value::str("secret").sensitive()),
            ("output".to_string(), Value::List(vec![Value::Int(1)])),
        ])))
    }
}

/// Runs every front-end phase on one set of files; only a panic fails.
fn run_front_end(files: Vec<(PathBuf, String)>) {
    let (module, mut diagnostics) = config::parse_sources("fuzz", Path::new("fuzz"), files);
    diagnostics.extend(validate::check(&module, &support::registry()));
    evaluate_everything(&module);
    let inputs: Vec<VarInput> = module
        .variables
        .keys()
        .map(|name| VarInput {
            name: name.clone(),
            value: VarText::Raw("[1, \"x\"]".to_string()),
            origin: VarOrigin::Cli,
        })
        .chain(std::iter::once(VarInput {
            name: "not_declared".into(),
            value: VarText::Raw("1".into()),
            origin: VarOrigin::Env,
        }))
        .collect();
    let (_, variable_diagnostics) = resolve(&module, &inputs);
    diagnostics.extend(variable_diagnostics);
    let _ = diagnostics.render(&module.sources);
}

fn evaluate_everything(module: &Module) {
    let exprs = module
        .resources
        .values()
        .flat_map(|resource| resource.attributes.values().map(|attr| &attr.value))
        .chain(module.outputs.values().map(|output| &output.value))
        .chain(
            module
                .providers
                .values()
                .flat_map(|provider| provider.attributes.values().map(|attr| &attr.value)),
        );
    for expr in exprs {
        if let Err(diagnostic) = evaluate(expr, &FuzzScope) {
            let _ = diagnostic.render(&module.sources);
        }
        let _ = config::references(expr);
    }
}

const FRAGMENTS: &[&str] = &[
    "${var.prefix}",
    "${var.missing}",
    "${data.a.output}",
    "${data.a.output[0]}",
    "${test_group.g.containers[0].image}",
    "${test_group.g.key}",
    "${test_group.g.nope}",
    "${upper(var.prefix)}",
    "${join(\\\",\\\", var.list)}",
    "${base64decode(\\\"%%\\\")}",
    "${file(\\\"nope.txt\\\")}",
    "${file(\\\"x.txt\\\")}",
    "${nofunc(1)}",
    "${",
    "${}",
    "${var.}",
    "${data.a}",
    "${1}",
    "${-}",
    "${\\\"unterminated}",
    "$${literal}",
    "${ var.prefix }",
    "${a[}",
    "${data.a.output[99999999999999999999999]}",
    "é${var.prefix}ü",
];

fn string_value() -> impl Strategy<Value = String> {
    (
        "[a-z ]{0,6}",
        proptest::sample::select(FRAGMENTS),
        "[a-z-]{0,4}",
    )
        .prop_map(|(before, fragment, after)| format!("\"{before}{fragment}{after}\""))
}

fn toml_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        string_value(),
        any::<i64>().prop_map(|number| number.to_string()),
        any::<bool>().prop_map(|flag| flag.to_string()),
        Just("1.5".to_string()),
        Just("'${var.prefix}'".to_string()),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|items| format!("[{}]", items.join(", "))),
            prop::collection::vec((key(), inner), 0..4).prop_map(|entries| {
                let mut seen = std::collections::BTreeSet::new();
                let body: Vec<String> = entries
                    .into_iter()
                    .filter(|(key, _)| seen.insert(key.clone()))
                    .map(|(key, value)| format!("{key} = {value}"))
                    .collect();
                format!("{{ {} }}", body.join(", "))
            }),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "input",
            "output",
            "name",
            "cpu",
            "containers",
            "tags",
            "image",
            "env",
            "ip",
            "default",
            "type",
            "value",
            "sensitive",
            "description",
            "depends_on",
            "lifecycle",
            "prevent_destroy",
            "ignore_changes",
            "create_before_destroy",
            "triggers_replace",
        ])
        .prop_map(str::to_string),
        "[a-z_]{1,8}",
    ]
}

fn section_header() -> impl Strategy<Value = String> {
    let names =
        proptest::sample::select(vec!["a", "g", "prefix", "list", "x", "\"bad name\"", "1st"]);
    prop_oneof![
        names.clone().prop_map(|name| format!("[variable.{name}]")),
        (
            proptest::sample::select(vec!["data", "test_group", "nope"]),
            names.clone()
        )
            .prop_map(|(ty, name)| format!("[resource.{ty}.{name}]")),
        (
            proptest::sample::select(vec!["data", "test_group"]),
            names.clone()
        )
            .prop_map(|(ty, name)| format!("[[resource.{ty}.{name}.containers]]")),
        names.clone().prop_map(|name| format!("[output.{name}]")),
        names.clone().prop_map(|name| format!("[provider.{name}]")),
        names.clone().prop_map(|name| format!("[backend.{name}]")),
        names.prop_map(|name| format!("[bogus.{name}]")),
    ]
}

fn module_document() -> impl Strategy<Value = String> {
    let section = (
        section_header(),
        prop::collection::vec((key(), toml_value()), 0..5),
    )
        .prop_map(|(header, entries)| {
            let mut seen = std::collections::BTreeSet::new();
            let mut text = format!("{header}\n");
            for (key, value) in entries {
                if seen.insert(key.clone()) {
                    text.push_str(&format!("{key} = {value}\n"));
                }
            }
            text
        });
    prop::collection::vec(section, 0..8).prop_map(|sections| sections.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        let mut sources = fk::diag::SourceMap::default();
        let (inputs, diagnostics) = config::parse_var_file(Path::new("vars.toml"), &text, &mut sources);
        let _ = diagnostics.render(&sources);
        let _ = inputs.len();
        run_front_end(vec![(PathBuf::from("fuzz/main.toml"), text)]);
    }

    #[test]
    fn toml_shaped_noise_never_panics(text in "[\\[\\]a-z.=\"'${}\n ,0-9_()\\\\-]{0,300}") {
        run_front_end(vec![(PathBuf::from("fuzz/main.toml"), text)]);
    }

    #[test]
    fn generated_modules_never_panic(
        first in module_document(),
        second in module_document(),
    ) {
        run_front_end(vec![
            (PathBuf::from("fuzz/a.toml"), first),
            (PathBuf::from("fuzz/b.toml"), second),
            (PathBuf::from("fuzz/x.txt"), "content".to_string()),
        ]);
    }
}
