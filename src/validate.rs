//! Semantic checks of a parsed module: every problem at once.
//!
//! Resource types and attributes against the registry's schemas, references against what
//! the module declares, meta keys (`depends_on`, `lifecycle`), then the providers' own
//! checks mapped back onto the attribute they name. Pure: no IO. Dependency cycles and
//! `prevent_destroy` are the graph's and the plan's.

mod references;
mod types;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::addr::Address;
use crate::config::eval::{Scope, evaluate};
use crate::config::model::{
    Expr, ExprKind, Module, Output, RefTarget, Resource, VarType, Variable,
};
use crate::config::references;
use crate::diag::{Diagnostic, Diagnostics, Span, nearest};
use crate::provider::{AttrProblem, Presence, Provider, Registry, ResourceSchema, Type};
use crate::value::{Path, PathSeg, Value, path_to_string};

/// Checks `module` against the resource types in `registry`.
pub fn check(module: &Module, registry: &Registry) -> Diagnostics {
    let mut checker = Checker {
        module,
        registry,
        diagnostics: Diagnostics::default(),
    };
    for variable in module.variables.values() {
        checker.check_variable_default(variable);
    }
    for resource in module.resources.values() {
        checker.check_resource(resource);
    }
    for output in module.outputs.values() {
        checker.check_references(&output.value, None);
        checker.check_output_secrecy(output);
    }
    for provider in module.providers.values() {
        for attr in provider.attributes.values() {
            checker.check_references(&attr.value, None);
        }
    }
    checker.run_provider_checks();
    checker.diagnostics
}

struct Checker<'m> {
    module: &'m Module,
    registry: &'m Registry,
    diagnostics: Diagnostics,
}

impl Checker<'_> {
    fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn check_variable_default(&mut self, variable: &crate::config::model::Variable) {
        let (Some(default), Some(default_span), Some(type_span)) =
            (&variable.default, variable.default_span, variable.type_span)
        else {
            return;
        };
        if !variable.var_type.accepts(default) {
            self.push(
                Diagnostic::error(
                    "fk::validate::type_mismatch",
                    format!(
                        "the default of variable `{}` is a {}, not a {}",
                        variable.name,
                        default.type_name(),
                        variable.var_type.name()
                    ),
                )
                .at(
                    default_span,
                    format!("expected a {}", variable.var_type.name()),
                )
                .also(type_span, "type declared here"),
            );
        }
    }

    /// An output that shows a secret must say so with `sensitive = true`.
    fn check_output_secrecy(&mut self, output: &Output) {
        if output.sensitive {
            return;
        }
        for (reference, span) in output.references() {
            let secret = match &reference.target {
                RefTarget::Var(name) => self
                    .module
                    .variables
                    .get(name)
                    .is_some_and(|variable| variable.sensitive),
                RefTarget::Resource(address) => self
                    .registry
                    .schema(&address.resource_type)
                    .is_some_and(|schema| {
                        types::path_is_sensitive(&schema.attributes, &reference.path)
                    }),
            };
            if secret {
                self.push(
                    Diagnostic::error(
                        "fk::validate::sensitive_output",
                        format!("output `{}` shows a sensitive value", output.name),
                    )
                    .at(span, "this value is sensitive")
                    .also(output.span, "in this output")
                    .help("add `sensitive = true` to the output"),
                );
            }
        }
    }

    fn check_resource(&mut self, resource: &Resource) {
        let type_name = &resource.address.resource_type;
        match self.registry.schema(type_name).cloned() {
            Some(schema) => self.check_attributes(resource, &schema),
            None => {
                let mut diagnostic = Diagnostic::error(
                    "fk::validate::unknown_resource_type",
                    format!("unknown resource type `{type_name}`"),
                )
                .at(resource.type_span, "no provider has this type");
                if let Some(near) = nearest(type_name, self.registry.type_names()) {
                    diagnostic = diagnostic.help(format!("did you mean `{near}`?"));
                }
                self.push(diagnostic);
            }
        }
        for attr in resource.attributes.values() {
            self.check_references(&attr.value, Some(&resource.address));
        }
        self.check_depends_on(resource);
        self.check_ignore_changes(resource);
    }

    fn check_attributes(&mut self, resource: &Resource, schema: &ResourceSchema) {
        let within = format!("`{}`", resource.address.resource_type);
        for (name, attr) in &resource.attributes {
            let Some(attribute) = schema.attribute(name) else {
                self.unknown_attribute(name, attr.key_span, &within, &schema.attributes);
                continue;
            };
            if attribute.presence == Presence::Computed {
                self.push(
                    Diagnostic::error(
                        "fk::validate::computed_attribute",
                        format!("`{name}` is computed by the provider and cannot be set"),
                    )
                    .at(attr.key_span, "set by the provider")
                    .help(format!(
                        "remove it; read it elsewhere as `${{{}.{name}}}`",
                        resource.address
                    )),
                );
                continue;
            }
            self.check_type(&attr.value, &attribute.ty, name);
        }
        for attribute in &schema.attributes {
            if attribute.presence == Presence::Required
                && !resource.attributes.contains_key(&attribute.name)
            {
                self.push(
                    Diagnostic::error(
                        "fk::validate::missing_attribute",
                        format!(
                            "resource `{}` is missing the required attribute `{}`",
                            resource.address, attribute.name
                        ),
                    )
                    .at(resource.span, format!("`{}` not set", attribute.name))
                    .help(format!(
                        "add `{} = ...` ({})",
                        attribute.name,
                        attribute.ty.describe()
                    )),
                );
            }
        }
    }

    fn unknown_attribute(
        &mut self,
        name: &str,
        span: Span,
        within: &str,
        attributes: &[crate::provider::Attribute],
    ) {
        let configurable = attributes
            .iter()
            .filter(|attribute| attribute.is_configurable())
            .map(|attribute| attribute.name.as_str());
        let mut diagnostic = Diagnostic::error(
            "fk::validate::unknown_attribute",
            format!("unknown attribute `{name}` in {within}"),
        )
        .at(span, format!("not an attribute of {within}"));
        if let Some(near) = nearest(name, configurable) {
            diagnostic = diagnostic.help(format!("did you mean `{near}`?"));
        }
        self.push(diagnostic);
    }

    fn check_depends_on(&mut self, resource: &Resource) {
        for (address, span) in &resource.depends_on {
            if *address == resource.address {
                self.push(
                    Diagnostic::error(
                        "fk::validate::self_reference",
                        format!("resource `{address}` depends on itself"),
                    )
                    .at(*span, "this is the resource itself")
                    .also(resource.span, "in this resource"),
                );
            } else if !self.module.resources.contains_key(address) {
                let mut diagnostic = Diagnostic::error(
                    "fk::validate::unknown_depends_on",
                    format!("`depends_on` names `{address}`, which is not declared"),
                )
                .at(*span, "no such resource");
                if let Some(near) = self.nearest_address(&address.to_string()) {
                    diagnostic = diagnostic.help(format!("did you mean `{near}`?"));
                }
                self.push(diagnostic);
            }
        }
    }

    fn nearest_address(&self, wanted: &str) -> Option<String> {
        let addresses: Vec<String> = self
            .module
            .resources
            .keys()
            .map(Address::to_string)
            .collect();
        nearest(wanted, addresses.iter().map(String::as_str)).map(str::to_string)
    }

    fn check_ignore_changes(&mut self, resource: &Resource) {
        let Some(schema) = self
            .registry
            .schema(&resource.address.resource_type)
            .cloned()
        else {
            return;
        };
        for (path, span) in &resource.lifecycle.ignore_changes {
            if let Err(problem) = types::walk_schema_path(&schema.attributes, path) {
                self.push(
                    Diagnostic::error(
                        "fk::validate::bad_ignore_changes",
                        format!(
                            "`ignore_changes` names `{}`: {}",
                            path_to_string(path),
                            problem.message
                        ),
                    )
                    .at(*span, "not an attribute path of this resource")
                    .help(problem.help.unwrap_or_else(|| {
                        "list attribute paths like `tags` or `containers[0].image`".into()
                    })),
                );
            }
        }
    }

    /// The providers' own checks, per resource and across the module.
    fn run_provider_checks(&mut self) {
        let mut by_provider: BTreeMap<String, ProviderResources> = BTreeMap::new();
        for resource in self.module.resources.values() {
            let type_name = &resource.address.resource_type;
            let Some(provider) = self.registry.provider(type_name).cloned() else {
                continue;
            };
            let config = configured_value(resource);
            let problems = provider.validate(type_name, &config);
            self.diagnostics
                .extend(provider_diagnostics(self.module, resource, problems, None));
            by_provider
                .entry(provider.name().to_string())
                .or_insert_with(|| (provider, Vec::new()))
                .1
                .push((resource.address.clone(), config));
        }
        for (provider, resources) in by_provider.into_values() {
            let mut per_resource: BTreeMap<Address, Vec<AttrProblem>> = BTreeMap::new();
            for (address, problem) in provider.validate_module(&resources) {
                per_resource.entry(address).or_default().push(problem);
            }
            for (address, problems) in per_resource {
                if let Some(resource) = self.module.resources.get(&address) {
                    self.diagnostics.extend(provider_diagnostics(
                        self.module,
                        resource,
                        problems,
                        None,
                    ));
                }
            }
        }
    }
}

/// A provider's problems with one resource as diagnostics, each at the attribute its path
/// names. Problems with one code and one message are one diagnostic with a label per path
/// (a value missing from either of two places). With `variables` (their values, as a plan
/// knows them), a value written as a reference to variables points first at those
/// variables, since that is where it is fixed; the attribute is a second label.
pub(crate) fn provider_diagnostics(
    module: &Module,
    resource: &Resource,
    problems: Vec<AttrProblem>,
    variables: Option<&BTreeMap<String, Value>>,
) -> Vec<Diagnostic> {
    let mut grouped: Vec<(AttrProblem, Vec<Path>)> = Vec::new();
    for problem in problems {
        match grouped
            .iter_mut()
            .find(|(first, _)| first.code == problem.code && first.message == problem.message)
        {
            Some((_, paths)) => paths.push(problem.path),
            None => {
                let path = problem.path.clone();
                grouped.push((problem, vec![path]));
            }
        }
    }
    grouped
        .into_iter()
        .map(|(problem, paths)| problem_diagnostic(module, resource, problem, &paths, variables))
        .collect()
}

fn problem_diagnostic(
    module: &Module,
    resource: &Resource,
    problem: AttrProblem,
    paths: &[Path],
    variables: Option<&BTreeMap<String, Value>>,
) -> Diagnostic {
    let attribute_label = |path: &Path| {
        if path.is_empty() {
            "in this resource".to_string()
        } else {
            format!("`{}`", path_to_string(path))
        }
    };
    // The variables each value came from, in the order of the paths, each once: only for a
    // path written down to its end as one value (not a map or list around it, whose other
    // entries' variables have nothing to do with the problem).
    let mut sources: Vec<(&Variable, &Path)> = Vec::new();
    if let Some(values) = variables {
        for path in paths {
            let Some(expr) = expr_at_path(resource, path)
                .filter(|(_, whole)| *whole)
                .map(|(expr, _)| expr)
                .filter(|expr| !matches!(expr.kind, ExprKind::Map(_) | ExprKind::List(_)))
            else {
                continue;
            };
            for (reference, _) in references(expr) {
                let RefTarget::Var(name) = &reference.target else {
                    continue;
                };
                let Some(variable) = module.variables.get(name) else {
                    continue;
                };
                if values.contains_key(name)
                    && !sources.iter().any(|(seen, _)| seen.name == variable.name)
                {
                    sources.push((variable, path));
                }
            }
        }
    }
    let mut diagnostic = Diagnostic::error(problem.code, problem.message);
    let mut places: Vec<(Span, String)> = Vec::new();
    for (variable, path) in &sources {
        let from_default = match (
            variables.and_then(|values| values.get(&variable.name)),
            &variable.default,
        ) {
            (Some(value), Some(default)) => value.unmarked().same_data(default.unmarked()),
            _ => false,
        };
        let reaches = format!(
            "reaches `{}` of `{}`",
            path_to_string(path),
            resource.address
        );
        places.push(match variable.default_span {
            Some(span) if from_default => (
                span,
                format!("this default of `{}` {reaches}", variable.name),
            ),
            _ => (
                variable.span,
                format!("`{}`, given outside the module, {reaches}", variable.name),
            ),
        });
    }
    for path in paths {
        places.push((span_of_path(resource, path), attribute_label(path)));
    }
    let mut places = places.into_iter();
    if let Some((span, label)) = places.next() {
        diagnostic = diagnostic.at(span, label);
    }
    for (span, label) in places {
        diagnostic = diagnostic.also(span, label);
    }
    if let Some(help) = problem.help {
        diagnostic = diagnostic.help(help);
    }
    if !sources.is_empty() {
        let names: Vec<String> = sources
            .iter()
            .map(|(variable, _)| format!("`{}`", variable.name))
            .collect();
        let example = &sources[0].0.name;
        diagnostic = diagnostic.help(format!(
            "the value comes from {} {}: give a value with `-var {example}=...`, a var file or \
             `FK_VAR_{example}`, or change the default",
            if names.len() == 1 {
                "variable"
            } else {
                "variables"
            },
            names.join(", ")
        ));
    }
    diagnostic
}

/// A provider and the configured values of its resources in the module.
type ProviderResources = (Arc<dyn Provider>, Vec<(Address, Value)>);

/// Validation sees every variable and resource as not yet known.
struct UnknownScope;

impl Scope for UnknownScope {
    fn variable(&self, _name: &str) -> Option<Value> {
        Some(Value::Unknown)
    }

    fn resource(&self, _address: &Address) -> Option<Value> {
        Some(Value::Unknown)
    }
}

/// The resource's configuration as far as it is known before any value is (unknowns in
/// place of references; an attribute that cannot be evaluated is unknown).
fn configured_value(resource: &Resource) -> Value {
    Value::Map(
        resource
            .attributes
            .iter()
            .map(|(name, attr)| {
                let value = evaluate(&attr.value, &UnknownScope).unwrap_or(Value::Unknown);
                (name.clone(), value)
            })
            .collect(),
    )
}

/// The span of the value at `path` in a resource, as deep as the written value goes.
fn span_of_path(resource: &Resource, path: &[PathSeg]) -> Span {
    expr_at_path(resource, path).map_or(resource.span, |(expr, _)| expr.span)
}

/// The written expression at `path` in a resource, as deep as it goes, and whether it goes
/// the whole way; `None` when the path names no attribute written in the resource.
fn expr_at_path<'r>(resource: &'r Resource, path: &[PathSeg]) -> Option<(&'r Expr, bool)> {
    let Some((PathSeg::Key(first), rest)) = path.split_first() else {
        return None;
    };
    let mut expr: &Expr = &resource.attributes.get(first)?.value;
    for step in rest {
        let next = match (&expr.kind, step) {
            (ExprKind::Map(entries), PathSeg::Key(key)) => entries.get(key).map(|attr| &attr.value),
            (ExprKind::List(items), PathSeg::Index(idx)) => items.get(*idx),
            _ => None,
        };
        match next {
            Some(inner) => expr = inner,
            None => return Some((expr, false)),
        }
    }
    Some((expr, true))
}

/// True when a variable of `var_type` can stand where `ty` is expected.
fn var_type_fits(var_type: VarType, ty: &Type) -> bool {
    matches!(
        (var_type, ty),
        (VarType::Any, _)
            | (_, Type::Any)
            | (VarType::String, Type::String)
            | (VarType::Number, Type::Int | Type::Number)
            | (VarType::Bool, Type::Bool)
            | (VarType::List, Type::List(_))
            | (VarType::Table, Type::Map(_) | Type::Object(_))
    )
}
