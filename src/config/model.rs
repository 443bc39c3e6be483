//! The module model: what a folder of `*.toml` files declares, with spans into them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::addr::Address;
use crate::diag::{SourceMap, Span};
use crate::value::{Path, Value};

/// A parsed module. Everything the later phases need, nothing read from the environment.
#[derive(Clone, Debug, Default)]
pub struct Module {
    /// The folder the module was read from.
    pub(crate) dir: PathBuf,
    /// The module's name (its folder's name): the default state file is `state/<name>.json`.
    pub name: String,
    pub sources: SourceMap,
    /// sha256 over the files' names and contents, hex: a saved plan is refused when it moved.
    pub digest: String,
    pub variables: BTreeMap<String, Variable>,
    pub resources: BTreeMap<Address, Resource>,
    pub outputs: BTreeMap<String, Output>,
    /// `[provider.<name>]` blocks (endpoint, subscription, ...).
    pub providers: BTreeMap<String, ProviderBlock>,
    /// `[backend.<kind>]`: where state lives when not in `state/<name>.json`.
    pub backend: Option<BackendBlock>,
}

#[derive(Clone, Debug)]
pub struct Variable {
    pub name: String,
    /// The `[variable.<name>]` header.
    pub span: Span,
    pub default: Option<Value>,
    pub(crate) default_span: Option<Span>,
    pub(crate) description: String,
    pub sensitive: bool,
    /// The declared `type`, or the one inferred from `default` (`Any` when neither).
    pub var_type: VarType,
    /// The `type = "..."` value, when declared.
    pub(crate) type_span: Option<Span>,
    /// `minimum = N` (number variables): a smaller value is refused before anything is
    /// planned. With the span of `N`.
    pub(crate) minimum: Option<(f64, Span)>,
}

/// The type a variable declares with `type = "..."`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VarType {
    String,
    Number,
    Bool,
    List,
    Table,
    #[default]
    Any,
}

impl VarType {
    pub(crate) const NAMES: [&'static str; 6] =
        ["string", "number", "bool", "list", "table", "any"];

    pub(crate) fn from_name(name: &str) -> Option<VarType> {
        Some(match name {
            "string" => VarType::String,
            "number" => VarType::Number,
            "bool" => VarType::Bool,
            "list" => VarType::List,
            "table" => VarType::Table,
            "any" => VarType::Any,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            VarType::String => "string",
            VarType::Number => "number",
            VarType::Bool => "bool",
            VarType::List => "list",
            VarType::Table => "table",
            VarType::Any => "any",
        }
    }

    /// The type of a value, for inferring a variable's type from its default.
    pub(crate) fn of(value: &Value) -> VarType {
        match value.unmarked() {
            Value::String(_) => VarType::String,
            Value::Int(_) | Value::Float(_) => VarType::Number,
            Value::Bool(_) => VarType::Bool,
            Value::List(_) => VarType::List,
            Value::Map(_) => VarType::Table,
            _ => VarType::Any,
        }
    }

    /// True when `value` (marks ignored) fits this type; unknown fits everything.
    pub(crate) fn accepts(self, value: &Value) -> bool {
        self == VarType::Any || value.is_unknown() || VarType::of(value) == self
    }
}

#[derive(Clone, Debug, Default)]
pub struct Lifecycle {
    pub prevent_destroy: bool,
    pub(crate) prevent_destroy_span: Option<Span>,
    /// Attribute paths whose differences are ignored after create.
    pub ignore_changes: Vec<(Path, Span)>,
    pub create_before_destroy: bool,
}

#[derive(Clone, Debug)]
pub struct Resource {
    pub address: Address,
    /// The whole `[resource.<type>.<name>]` header.
    pub span: Span,
    pub(crate) type_span: Span,
    pub name_span: Span,
    /// Attributes as written (the meta keys `depends_on` and `lifecycle` removed).
    pub attributes: BTreeMap<String, Attr>,
    pub depends_on: Vec<(Address, Span)>,
    pub lifecycle: Lifecycle,
}

/// One `key = value` in a resource, provider or map.
#[derive(Clone, Debug)]
pub struct Attr {
    pub(crate) key_span: Span,
    pub value: Expr,
}

#[derive(Clone, Debug)]
pub struct Output {
    pub name: String,
    pub(crate) span: Span,
    pub value: Expr,
    pub sensitive: bool,
}

#[derive(Clone, Debug)]
pub struct ProviderBlock {
    pub name: String,
    pub span: Span,
    pub attributes: BTreeMap<String, Attr>,
}

#[derive(Clone, Debug)]
pub struct BackendBlock {
    pub kind: String,
    pub(crate) span: Span,
    pub(crate) attributes: BTreeMap<String, Attr>,
}

/// A value as written, before evaluation.
#[derive(Clone, Debug)]
pub struct Expr {
    pub(crate) kind: ExprKind,
    pub(crate) span: Span,
}

#[derive(Clone, Debug)]
pub(crate) enum ExprKind {
    /// A value with no interpolation (strings without `${`, numbers, bools).
    Literal(Value),
    /// A string that is only `${...}`: keeps the referenced value's type.
    Interp(Box<Expr>),
    /// A string mixing text and `${...}` parts: always a string.
    Template(Vec<TemplatePart>),
    /// `type.name.attr[0].x` or `var.name` inside `${...}`.
    Ref(Reference),
    /// `name(arg, ...)` inside `${...}`.
    Call {
        function: String,
        args: Vec<Expr>,
    },
    List(Vec<Expr>),
    Map(BTreeMap<String, Attr>),
}

#[derive(Clone, Debug)]
pub(crate) enum TemplatePart {
    Text(String),
    Interp(Expr),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum RefTarget {
    Var(String),
    Resource(Address),
}

#[derive(Clone, Debug)]
pub struct Reference {
    pub(crate) target: RefTarget,
    /// The attribute path after the target (empty for `var.x`).
    pub(crate) path: Path,
}
