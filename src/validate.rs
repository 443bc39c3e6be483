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
use crate::config::model::{Expr, ExprKind, Module, Output, RefTarget, Resource, VarType};
use crate::diag::{Diagnostic, Diagnostics, Span, nearest};
use crate::provider::{AttrProblem, Presence, Provider, Registry, ResourceSchema, Type};
use crate::value::{PathSeg, Value, path_to_string};

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
            for problem in provider.validate(type_name, &config) {
                self.provider_problem(resource, problem);
            }
            by_provider
                .entry(provider.name().to_string())
                .or_insert_with(|| (provider, Vec::new()))
                .1
                .push((resource.address.clone(), config));
        }
        for (provider, resources) in by_provider.into_values() {
            for (address, problem) in provider.validate_module(&resources) {
                if let Some(resource) = self.module.resources.get(&address) {
                    self.provider_problem(resource, problem);
                }
            }
        }
    }

    fn provider_problem(&mut self, resource: &Resource, problem: AttrProblem) {
        let span = span_of_path(resource, &problem.path);
        let label = if problem.path.is_empty() {
            "in this resource".to_string()
        } else {
            format!("`{}`", path_to_string(&problem.path))
        };
        let mut diagnostic = Diagnostic::error(problem.code, problem.message).at(span, label);
        if let Some(help) = problem.help {
            diagnostic = diagnostic.help(help);
        }
        self.push(diagnostic);
    }
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
    let Some((PathSeg::Key(first), rest)) = path.split_first() else {
        return resource.span;
    };
    let Some(attr) = resource.attributes.get(first) else {
        return resource.span;
    };
    let mut expr: &Expr = &attr.value;
    for step in rest {
        let next = match (&expr.kind, step) {
            (ExprKind::Map(entries), PathSeg::Key(key)) => entries.get(key).map(|attr| &attr.value),
            (ExprKind::List(items), PathSeg::Index(idx)) => items.get(*idx),
            _ => None,
        };
        match next {
            Some(inner) => expr = inner,
            None => break,
        }
    }
    expr.span
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
