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
    pub file: FileId,
    pub text: &'r str,
    pub diagnostics: &'r mut Diagnostics,
    /// Reads a file named by `file("...")`, relative to the module folder.
    pub read_file: &'r mut dyn FnMut(&str) -> Result<String, String>,
}

impl Lowering<'_> {
    pub fn span(&self, range: Range<usize>) -> Span {
        Span::new(self.file, range)
    }

    pub fn error(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// A value as an expression: strings may interpolate, arrays and tables nest.
    pub fn expr(&mut self, value: &Spanned<DeValue<'_>>) -> Expr {
        let span = self.span(value.span());
        let kind = match value.get_ref() {
            DeValue::String(text) => {
                let raw = self.text.get(value.span()).unwrap_or("");
                let source = SourceString::new(text, self.file, value.span(), raw);
                return template::parse_string(self, &source);
            }
            DeValue::Array(items) => {
                ExprKind::List(items.iter().map(|item| self.expr(item)).collect())
            }
            DeValue::Table(table) => ExprKind::Map(self.attributes(table)),
            _ => ExprKind::Literal(self.scalar(value)),
        };
        Expr { kind, span }
    }

    /// Every `key = value` of a table as attributes.
    pub fn attributes(&mut self, table: &DeTable<'_>) -> BTreeMap<String, Attr> {
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
    pub fn literal(&mut self, value: &Spanned<DeValue<'_>>) -> Value {
        match value.get_ref() {
            DeValue::String(text) => Value::String(text.to_string()),
            DeValue::Array(items) => {
                Value::List(items.iter().map(|item| self.literal(item)).collect())
            }
            DeValue::Table(table) => Value::Map(
                table
                    .iter()
                    .map(|(key, item)| (key.get_ref().to_string(), self.literal(item)))
                    .collect(),
            ),
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
                Value::Float(digits.parse().unwrap_or(f64::NAN))
            }
            DeValue::Datetime(datetime) => Value::String(datetime.to_string()),
            DeValue::String(text) => Value::String(text.to_string()),
            DeValue::Array(_) | DeValue::Table(_) => Value::Null,
        }
    }

    /// The table inside `value`, or a diagnostic saying what was expected.
    pub fn table<'v, 'i>(
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
