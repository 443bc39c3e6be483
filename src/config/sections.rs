//! The top-level sections of a module file (`variable`, `resource`, `output`, `provider`,
//! `backend`) lowered into the [`Module`], merging files and catching duplicates.

use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use crate::addr::{Address, is_identifier};
use crate::config::lowering::Lowering;
use crate::config::model::{
    BackendBlock, Lifecycle, Module, Output, ProviderBlock, Resource, VarType, Variable,
};
use crate::diag::{Diagnostic, Span, nearest};
use crate::value::path_from_string;

pub(crate) const SECTIONS: [&str; 5] = ["variable", "resource", "output", "provider", "backend"];
const VARIABLE_KEYS: [&str; 5] = ["default", "description", "minimum", "sensitive", "type"];
const OUTPUT_KEYS: [&str; 3] = ["value", "description", "sensitive"];
const LIFECYCLE_KEYS: [&str; 3] = ["prevent_destroy", "ignore_changes", "create_before_destroy"];

type Key<'i> = Spanned<DeString<'i>>;

/// Lowers one file's top-level table into `module`.
pub(crate) fn lower_document(cx: &mut Lowering<'_>, module: &mut Module, document: &DeTable<'_>) {
    for (key, value) in document.iter() {
        match key.get_ref().as_ref() {
            "variable" => each_named(cx, key, value, |cx, name, body| {
                lower_variable(cx, module, name, body);
            }),
            "resource" => each_named(cx, key, value, |cx, type_key, types| {
                each_named(cx, type_key, types, |cx, name, body| {
                    lower_resource(cx, module, type_key, name, body);
                });
            }),
            "output" => each_named(cx, key, value, |cx, name, body| {
                lower_output(cx, module, name, body);
            }),
            "provider" => each_named(cx, key, value, |cx, name, body| {
                lower_provider(cx, module, name, body);
            }),
            "backend" => each_named(cx, key, value, |cx, kind, body| {
                lower_backend(cx, module, kind, body);
            }),
            other => {
                let mut diagnostic = Diagnostic::error(
                    "fk::config::unknown_section",
                    format!("unknown section `{other}`"),
                )
                .at(cx.span(key.span()), "not a section of a module");
                if let Some(near) = nearest(other, SECTIONS) {
                    diagnostic = diagnostic.help(format!("did you mean `{near}`?"));
                }
                cx.error(diagnostic.help(format!("the sections are: {}", SECTIONS.join(", "))));
            }
        }
    }
}

/// Calls `lower` for every `name = { ... }` in the table under `section`, after checking
/// that the name is an identifier.
fn each_named<'i>(
    cx: &mut Lowering<'_>,
    section: &Key<'i>,
    value: &Spanned<DeValue<'i>>,
    mut lower: impl FnMut(&mut Lowering<'_>, &Key<'i>, &Spanned<DeValue<'i>>),
) {
    let Some(table) = cx.table(value, &format!("`{}`", section.get_ref())) else {
        return;
    };
    for (name, body) in table.iter() {
        if !is_identifier(name.get_ref()) {
            let span = cx.span(name.span());
            cx.error(
                Diagnostic::error(
                    "fk::config::invalid_name",
                    format!("`{}` is not a valid name", name.get_ref()),
                )
                .at(span, "invalid name")
                .help("names start with a letter or `_`, then letters, digits, `_` or `-`"),
            );
            continue;
        }
        lower(cx, name, body);
    }
}

fn duplicate(cx: &mut Lowering<'_>, what: &str, span: Span, first: Span) {
    cx.error(
        Diagnostic::error("fk::config::duplicate", format!("{what} is defined twice"))
            .at(span, "defined again here")
            .also(first, "first defined here"),
    );
}

fn unknown_key(
    cx: &mut Lowering<'_>,
    code: &'static str,
    key: &Key<'_>,
    within: &str,
    known: &[&str],
) {
    let mut diagnostic =
        Diagnostic::error(code, format!("unknown key `{}` in {within}", key.get_ref()))
            .at(cx.span(key.span()), "unknown key");
    if let Some(near) = nearest(key.get_ref(), known.iter().copied()) {
        diagnostic = diagnostic.help(format!("did you mean `{near}`?"));
    }
    cx.error(diagnostic.help(format!("the keys are: {}", known.join(", "))));
}

fn expect_string(cx: &mut Lowering<'_>, key: &Key<'_>, value: &Spanned<DeValue<'_>>) -> String {
    match value.get_ref() {
        DeValue::String(text) => text.to_string(),
        other => {
            let span = cx.span(value.span());
            cx.error(
                Diagnostic::error(
                    "fk::config::invalid_value",
                    format!(
                        "`{}` must be a string, found {}",
                        key.get_ref(),
                        other.type_str()
                    ),
                )
                .at(span, "expected a string"),
            );
            String::new()
        }
    }
}

fn expect_bool(
    cx: &mut Lowering<'_>,
    code: &'static str,
    key: &Key<'_>,
    value: &Spanned<DeValue<'_>>,
) -> bool {
    match value.get_ref() {
        DeValue::Boolean(flag) => *flag,
        other => {
            let span = cx.span(value.span());
            cx.error(
                Diagnostic::error(
                    code,
                    format!(
                        "`{}` must be true or false, found {}",
                        key.get_ref(),
                        other.type_str()
                    ),
                )
                .at(span, "expected a bool"),
            );
            false
        }
    }
}

fn lower_variable(
    cx: &mut Lowering<'_>,
    module: &mut Module,
    name: &Key<'_>,
    body: &Spanned<DeValue<'_>>,
) {
    let span = cx.span(body.span());
    let mut variable = Variable {
        name: name.get_ref().to_string(),
        span,
        default: None,
        default_span: None,
        description: String::new(),
        sensitive: false,
        var_type: VarType::Any,
        type_span: None,
        minimum: None,
    };
    let Some(table) = cx.table(body, &format!("variable `{}`", variable.name)) else {
        return;
    };
    let mut declared_type = None;
    for (key, value) in table.iter() {
        match key.get_ref().as_ref() {
            "default" => {
                variable.default = Some(cx.literal(value));
                variable.default_span = Some(cx.span(value.span()));
            }
            "description" => variable.description = expect_string(cx, key, value),
            "minimum" => {
                let minimum_span = cx.span(value.span());
                match cx.literal(value).as_f64() {
                    Some(minimum) => variable.minimum = Some((minimum, minimum_span)),
                    None => cx.error(
                        Diagnostic::error(
                            "fk::config::invalid_value",
                            "`minimum` must be a number",
                        )
                        .at(minimum_span, "expected a number"),
                    ),
                }
            }
            "sensitive" => {
                variable.sensitive = expect_bool(cx, "fk::config::invalid_value", key, value)
            }
            "type" => {
                let type_name = expect_string(cx, key, value);
                let type_span = cx.span(value.span());
                variable.type_span = Some(type_span);
                match VarType::from_name(&type_name) {
                    Some(var_type) => declared_type = Some(var_type),
                    None => {
                        let mut diagnostic = Diagnostic::error(
                            "fk::config::invalid_value",
                            format!("unknown variable type `{type_name}`"),
                        )
                        .at(type_span, "not a type");
                        if let Some(near) = nearest(&type_name, VarType::NAMES) {
                            diagnostic = diagnostic.help(format!("did you mean `{near}`?"));
                        }
                        cx.error(
                            diagnostic
                                .help(format!("the types are: {}", VarType::NAMES.join(", "))),
                        );
                    }
                }
            }
            _ => unknown_key(
                cx,
                "fk::config::unknown_key",
                key,
                "a variable",
                &VARIABLE_KEYS,
            ),
        }
    }
    variable.var_type = declared_type
        .or_else(|| variable.default.as_ref().map(VarType::of))
        .unwrap_or(VarType::Any);
    if let Some((_, minimum_span)) = variable.minimum
        && variable.var_type != VarType::Number
    {
        cx.error(
            Diagnostic::error(
                "fk::config::invalid_value",
                format!(
                    "`minimum` applies to number variables; `{}` is a {}",
                    variable.name,
                    variable.var_type.name()
                ),
            )
            .at(minimum_span, "only for a number")
            .help("declare `type = \"number\"` or give a number `default`"),
        );
    }
    if let Some(first) = module.variables.get(&variable.name) {
        let what = format!("variable `{}`", variable.name);
        duplicate(cx, &what, span, first.span);
        return;
    }
    module.variables.insert(variable.name.clone(), variable);
}

fn lower_resource(
    cx: &mut Lowering<'_>,
    module: &mut Module,
    type_key: &Key<'_>,
    name: &Key<'_>,
    body: &Spanned<DeValue<'_>>,
) {
    let address = Address::new(type_key.get_ref().as_ref(), name.get_ref().as_ref());
    let Some(table) = cx.table(body, &format!("resource `{address}`")) else {
        return;
    };
    let mut resource = Resource {
        address: address.clone(),
        span: cx.span(body.span()),
        type_span: cx.span(type_key.span()),
        name_span: cx.span(name.span()),
        attributes: Default::default(),
        depends_on: Vec::new(),
        lifecycle: Lifecycle::default(),
    };
    for (key, value) in table.iter() {
        match key.get_ref().as_ref() {
            "depends_on" => resource.depends_on = lower_depends_on(cx, value),
            "lifecycle" => resource.lifecycle = lower_lifecycle(cx, value),
            attribute => {
                let attr = crate::config::model::Attr {
                    key_span: cx.span(key.span()),
                    value: cx.expr(value),
                };
                resource.attributes.insert(attribute.to_string(), attr);
            }
        }
    }
    if let Some(first) = module.resources.get(&address) {
        duplicate(
            cx,
            &format!("resource `{address}`"),
            resource.span,
            first.span,
        );
        return;
    }
    module.resources.insert(address, resource);
}

fn bad_meta(cx: &mut Lowering<'_>, span: Span, message: String, label: &str, help: &str) {
    cx.error(
        Diagnostic::error("fk::config::bad_meta", message)
            .at(span, label)
            .help(help),
    );
}

fn lower_depends_on(cx: &mut Lowering<'_>, value: &Spanned<DeValue<'_>>) -> Vec<(Address, Span)> {
    const HELP: &str = "write `depends_on = [\"<type>.<name>\", ...]`";
    let DeValue::Array(items) = value.get_ref() else {
        let span = cx.span(value.span());
        bad_meta(
            cx,
            span,
            "`depends_on` must be a list of resource addresses".into(),
            "expected a list",
            HELP,
        );
        return Vec::new();
    };
    let mut addresses = Vec::new();
    for item in items.iter() {
        let span = cx.span(item.span());
        match item.get_ref().as_str().and_then(Address::parse) {
            Some(address) => addresses.push((address, span)),
            None => bad_meta(
                cx,
                span,
                "`depends_on` entries must be resource addresses".into(),
                "not `<type>.<name>`",
                HELP,
            ),
        }
    }
    addresses
}

fn lower_lifecycle(cx: &mut Lowering<'_>, value: &Spanned<DeValue<'_>>) -> Lifecycle {
    let mut lifecycle = Lifecycle::default();
    let DeValue::Table(table) = value.get_ref() else {
        let span = cx.span(value.span());
        bad_meta(
            cx,
            span,
            "`lifecycle` must be a table".into(),
            "expected a table",
            "write `lifecycle = { prevent_destroy = true }`",
        );
        return lifecycle;
    };
    for (key, item) in table.iter() {
        match key.get_ref().as_ref() {
            "prevent_destroy" => {
                lifecycle.prevent_destroy = expect_bool(cx, "fk::config::bad_meta", key, item);
                lifecycle.prevent_destroy_span = Some(cx.span(item.span()));
            }
            "create_before_destroy" => {
                lifecycle.create_before_destroy =
                    expect_bool(cx, "fk::config::bad_meta", key, item);
            }
            "ignore_changes" => lifecycle.ignore_changes = lower_ignore_changes(cx, item),
            _ => unknown_key(
                cx,
                "fk::config::bad_meta",
                key,
                "`lifecycle`",
                &LIFECYCLE_KEYS,
            ),
        }
    }
    lifecycle
}

fn lower_ignore_changes(
    cx: &mut Lowering<'_>,
    value: &Spanned<DeValue<'_>>,
) -> Vec<(crate::value::Path, Span)> {
    const HELP: &str = "write `ignore_changes = [\"tags\", \"containers[0].image\"]`";
    let DeValue::Array(items) = value.get_ref() else {
        let span = cx.span(value.span());
        bad_meta(
            cx,
            span,
            "`ignore_changes` must be a list of attribute paths".into(),
            "expected a list",
            HELP,
        );
        return Vec::new();
    };
    let mut paths = Vec::new();
    for item in items.iter() {
        let span = cx.span(item.span());
        let path = item
            .get_ref()
            .as_str()
            .map(path_from_string)
            .unwrap_or_default();
        if path.is_empty() {
            bad_meta(
                cx,
                span,
                "`ignore_changes` entries must be attribute paths".into(),
                "not an attribute path",
                HELP,
            );
            continue;
        }
        paths.push((path, span));
    }
    paths
}

fn lower_output(
    cx: &mut Lowering<'_>,
    module: &mut Module,
    name: &Key<'_>,
    body: &Spanned<DeValue<'_>>,
) {
    let output_name = name.get_ref().to_string();
    let span = cx.span(body.span());
    let Some(table) = cx.table(body, &format!("output `{output_name}`")) else {
        return;
    };
    let mut value = None;
    let mut sensitive = false;
    for (key, item) in table.iter() {
        match key.get_ref().as_ref() {
            "value" => value = Some(cx.expr(item)),
            // documentation for the reader of the module: checked, not kept
            "description" => {
                expect_string(cx, key, item);
            }
            "sensitive" => sensitive = expect_bool(cx, "fk::config::invalid_value", key, item),
            _ => unknown_key(
                cx,
                "fk::config::unknown_key",
                key,
                "an output",
                &OUTPUT_KEYS,
            ),
        }
    }
    let Some(value) = value else {
        cx.error(
            Diagnostic::error(
                "fk::config::missing_key",
                format!("output `{output_name}` has no `value`"),
            )
            .at(span, "this output")
            .help("add `value = \"${<type>.<name>.<attribute>}\"`"),
        );
        return;
    };
    if let Some(first) = module.outputs.get(&output_name) {
        duplicate(cx, &format!("output `{output_name}`"), span, first.span);
        return;
    }
    let output = Output {
        name: output_name.clone(),
        span,
        value,
        sensitive,
    };
    module.outputs.insert(output_name, output);
}

fn lower_provider(
    cx: &mut Lowering<'_>,
    module: &mut Module,
    name: &Key<'_>,
    body: &Spanned<DeValue<'_>>,
) {
    let provider_name = name.get_ref().to_string();
    let span = cx.span(body.span());
    let Some(table) = cx.table(body, &format!("provider `{provider_name}`")) else {
        return;
    };
    let attributes = cx.attributes(table);
    if let Some(first) = module.providers.get(&provider_name) {
        duplicate(cx, &format!("provider `{provider_name}`"), span, first.span);
        return;
    }
    let block = ProviderBlock {
        name: provider_name.clone(),
        span,
        attributes,
    };
    module.providers.insert(provider_name, block);
}

fn lower_backend(
    cx: &mut Lowering<'_>,
    module: &mut Module,
    kind: &Key<'_>,
    body: &Spanned<DeValue<'_>>,
) {
    let span = cx.span(body.span());
    let Some(table) = cx.table(body, &format!("backend `{}`", kind.get_ref())) else {
        return;
    };
    let attributes = cx.attributes(table);
    if let Some(first) = &module.backend {
        duplicate(cx, "a backend", span, first.span);
        return;
    }
    module.backend = Some(BackendBlock {
        kind: kind.get_ref().to_string(),
        span,
        attributes,
    });
}
