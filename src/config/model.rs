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
    pub dir: PathBuf,
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
    pub default_span: Option<Span>,
    pub description: String,
    pub sensitive: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Lifecycle {
    pub prevent_destroy: bool,
    pub prevent_destroy_span: Option<Span>,
    /// Attribute paths whose differences are ignored after create.
    pub ignore_changes: Vec<(Path, Span)>,
    pub create_before_destroy: bool,
}

#[derive(Clone, Debug)]
pub struct Resource {
    pub address: Address,
    /// The whole `[resource.<type>.<name>]` header.
    pub span: Span,
    pub type_span: Span,
    pub name_span: Span,
    /// Attributes as written (meta keys `depends_on`, `lifecycle`, `provider` removed).
    pub attributes: BTreeMap<String, Attr>,
    pub depends_on: Vec<(Address, Span)>,
    pub lifecycle: Lifecycle,
}

/// One `key = value` in a resource, provider or map.
#[derive(Clone, Debug)]
pub struct Attr {
    pub key_span: Span,
    pub value: Expr,
}

#[derive(Clone, Debug)]
pub struct Output {
    pub name: String,
    pub span: Span,
    pub value: Expr,
    pub description: String,
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
    pub span: Span,
    pub attributes: BTreeMap<String, Attr>,
}

/// A value as written, before evaluation.
#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum ExprKind {
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
pub enum TemplatePart {
    Text(String),
    Interp(Expr),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RefTarget {
    Var(String),
    Resource(Address),
}

#[derive(Clone, Debug)]
pub struct Reference {
    pub target: RefTarget,
    /// The attribute path after the target (empty for `var.x`).
    pub path: Path,
}
