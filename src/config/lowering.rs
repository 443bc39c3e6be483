//! TOML values → expressions and plain values, with spans.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::config::model::{Attr, Expr, ExprKind};
use crate::config::source_string::SourceString;
use crate::config::template;
use crate::diag::{Diagnostic, Diagnostics, FileId, Span};
use crate::value::Value;

/// What lowering one file needs: where it is, its text, and where problems go.
pub(crate) struct Lowering<'r> {
    pub(crate) file: FileId,
    pub(crate) text: &'r str,
    pub(crate) diagnostics: &'r mut Diagnostics,
    /// Reads a file named by `file("...")`, relative to the module folder.
    pub(crate) read_file: &'r mut dyn FnMut(&str) -> Result<String, String>,
    /// How many arrays and tables deep the value being lowered is.
    depth: usize,
}

/// Deeper values are refused, so that lowering, validation and evaluation (all recursive)
/// stay far from the stack's limit on hostile input.
const MAX_DEPTH: usize = 32;

impl<'r> Lowering<'r> {
    pub(crate) fn new(
        file: FileId,
        text: &'r str,
        diagnostics: &'r mut Diagnostics,
        read_file: &'r mut dyn FnMut(&str) -> Result<String, String>,
    ) -> Lowering<'r> {
        Lowering {
            file,
            text,
            diagnostics,
            read_file,
            depth: 0,
        }
    }

    /// Runs `lower` one level deeper, or reports a value nested too deeply.
    fn nested<T>(
        &mut self,
        span: Range<usize>,
        fallback: T,
        lower: impl FnOnce(&mut Self) -> T,
    ) -> T {
        if self.depth >= MAX_DEPTH {
            let span = self.span(span);
            self.error(
                Diagnostic::error(
                    "fk::config::invalid_value",
                    format!("value nested more than {MAX_DEPTH} levels deep"),
                )
                .at(span, "nested too deeply"),
            );
            return fallback;
        }
        self.depth += 1;
        let lowered = lower(self);
        self.depth -= 1;
        lowered
    }

    pub(crate) fn span(&self, range: Range<usize>) -> Span {
        Span::new(self.file, range)
    }

    pub(crate) fn error(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// A value as an expression: strings may interpolate, arrays and tables nest.
    pub(crate) fn expr(&mut self, value: &Spanned<DeValue<'_>>) -> Expr {
        let span = self.span(value.span());
        let kind = match value.get_ref() {
            DeValue::String(text) => {
                let raw = self.text.get(value.span()).unwrap_or("");
                let source = SourceString::new(text, self.file, value.span(), raw);
                return template::parse_string(self, &source);
            }
            DeValue::Array(items) => self.nested(value.span(), ExprKind::List(Vec::new()), |cx| {
                ExprKind::List(items.iter().map(|item| cx.expr(item)).collect())
            }),
            DeValue::Table(table) => {
                self.nested(value.span(), ExprKind::Map(BTreeMap::new()), |cx| {
                    ExprKind::Map(cx.attributes(table))
                })
            }
            _ => ExprKind::Literal(self.scalar(value)),
        };
        Expr { kind, span }
    }

    /// Every `key = value` of a table as attributes.
    pub(crate) fn attributes(&mut self, table: &DeTable<'_>) -> BTreeMap<String, Attr> {
        table
            .iter()
            .map(|(key, value)| {
                let attr = Attr {
                    key_span: self.span(key.span()),
                    value: self.expr(value),
                };
                (key.get_ref().to_string(), attr)
            })
            .collect()
    }

    /// A value taken literally, with no interpolation (variable defaults, var files).
    pub(crate) fn literal(&mut self, value: &Spanned<DeValue<'_>>) -> Value {
        match value.get_ref() {
            DeValue::String(text) => Value::String(text.to_string()),
            DeValue::Array(items) => self.nested(value.span(), Value::Null, |cx| {
                Value::List(items.iter().map(|item| cx.literal(item)).collect())
            }),
            DeValue::Table(table) => self.nested(value.span(), Value::Null, |cx| {
                Value::Map(
                    table
                        .iter()
                        .map(|(key, item)| (key.get_ref().to_string(), cx.literal(item)))
                        .collect(),
                )
            }),
            _ => self.scalar(value),
        }
    }

    fn scalar(&mut self, value: &Spanned<DeValue<'_>>) -> Value {
        match value.get_ref() {
            DeValue::Boolean(flag) => Value::Bool(*flag),
            DeValue::Integer(integer) => {
                let digits = integer.as_str().replace('_', "");
                match i64::from_str_radix(&digits, integer.radix()) {
                    Ok(number) => Value::Int(number),
                    Err(_) => {
                        let span = self.span(value.span());
                        self.error(
                            Diagnostic::error(
                                "fk::config::invalid_value",
                                format!("integer `{integer}` does not fit in 64 bits"),
                            )
                            .at(span, "out of range"),
                        );
                        Value::Null
                    }
                }
            }
            DeValue::Float(float) => {
                let digits = float.as_str().replace('_', "");
                match digits.parse::<f64>() {
                    Ok(number) if number.is_finite() => Value::Float(number),
                    _ => {
                        let span = self.span(value.span());
                        self.error(
                            Diagnostic::error(
                                "fk::config::invalid_value",
                                format!("`{float}` is not a finite number"),
                            )
                            .at(span, "NaN and infinities are refused")
                            .help("write a number such as `1.5`"),
                        );
                        // Unknown, so no later check repeats the complaint.
                        Value::Unknown
                    }
                }
            }
            DeValue::Datetime(datetime) => Value::String(datetime.to_string()),
            DeValue::String(text) => Value::String(text.to_string()),
            DeValue::Array(_) | DeValue::Table(_) => Value::Null,
        }
    }

    /// The table inside `value`, or a diagnostic saying what was expected.
    pub(crate) fn table<'v, 'i>(
        &mut self,
        value: &'v Spanned<DeValue<'i>>,
        what: &str,
    ) -> Option<&'v DeTable<'i>> {
        match value.get_ref() {
            DeValue::Table(table) => Some(table),
            other => {
                let span = self.span(value.span());
                self.error(
                    Diagnostic::error(
                        "fk::config::invalid_value",
                        format!("{what} must be a table, found {}", other.type_str()),
                    )
                    .at(span, "expected a table"),
                );
                None
            }
        }
    }
}
