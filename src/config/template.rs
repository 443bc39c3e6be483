//! Strings with `${...}`: splits text from interpolations and parses the small expression
//! grammar inside them (references, function calls, string and integer literals).
//!
//! ```text
//! expr      = call | reference | string | integer
//! call      = IDENT "(" [ expr { "," expr } ] ")"
//! reference = "var" "." IDENT steps | IDENT "." IDENT "." IDENT steps
//! steps     = { "." IDENT | "[" INTEGER "]" }
//! ```

use std::ops::Range;

use crate::addr::Address;
use crate::config::functions;
use crate::config::lowering::Lowering;
use crate::config::model::{Expr, ExprKind, RefTarget, Reference, TemplatePart};
use crate::config::source_string::SourceString;
use crate::diag::{Diagnostic, nearest};
use crate::value::{PathSeg, Value};

/// The expression a string value stands for: a literal, a pure `${...}`, or a template.
pub(crate) fn parse_string(cx: &mut Lowering<'_>, source: &SourceString<'_>) -> Expr {
    let text = source.text;
    let literal = || Expr {
        kind: ExprKind::Literal(Value::str(text.replace("$${", "${"))),
        span: source.token,
    };
    if !text.contains("${") {
        return literal();
    }
    let mut parts = Vec::new();
    let mut buffer = String::new();
    let mut pos = 0;
    while pos < text.len() {
        let rest = &text[pos..];
        if rest.starts_with("$${") {
            buffer.push_str("${");
            pos += 3;
        } else if rest.starts_with("${") {
            let mut parser = ExprParser {
                cx: &mut *cx,
                source,
                pos: pos + 2,
                depth: 0,
            };
            match parser.parse_interpolation() {
                Ok(expr) => {
                    if !buffer.is_empty() {
                        parts.push(TemplatePart::Text(std::mem::take(&mut buffer)));
                    }
                    parts.push(TemplatePart::Interp(expr));
                    pos = parser.pos;
                }
                Err(error) => {
                    let span = source.span(pos..error.at.end.max(pos + 2));
                    cx.diagnostics.push(
                        Diagnostic::error(
                            "fk::config::bad_interpolation",
                            format!("bad interpolation: {}", error.message),
                        )
                        .at(span, error.label)
                        .help("write `$${` for a literal `${`"),
                    );
                    return literal();
                }
            }
        } else {
            let ch = rest.chars().next().unwrap_or_default();
            buffer.push(ch);
            pos += ch.len_utf8().max(1);
        }
    }
    if !buffer.is_empty() {
        parts.push(TemplatePart::Text(buffer));
    }
    let kind = match parts.as_slice() {
        [TemplatePart::Interp(_)] => match parts.pop() {
            // `"${42}"` or `"${file(...)}"`: a constant that keeps its type.
            Some(TemplatePart::Interp(Expr {
                kind: ExprKind::Literal(value),
                ..
            })) => ExprKind::Literal(value),
            Some(TemplatePart::Interp(inner)) => ExprKind::Interp(Box::new(inner)),
            _ => return literal(),
        },
        _ => match constant_text(&parts) {
            Some(text) => ExprKind::Literal(Value::String(text)),
            None => ExprKind::Template(parts),
        },
    };
    Expr {
        kind,
        span: source.token,
    }
}

/// The text of a template whose parts are all constants (`"$${x}"`, `"a${"b"}"`).
fn constant_text(parts: &[TemplatePart]) -> Option<String> {
    let mut text = String::new();
    for part in parts {
        match part {
            TemplatePart::Text(literal) => text.push_str(literal),
            TemplatePart::Interp(Expr {
                kind: ExprKind::Literal(value),
                ..
            }) => text.push_str(&value.to_interpolated()?),
            TemplatePart::Interp(_) => return None,
        }
    }
    Some(text)
}

struct ParseError {
    at: Range<usize>,
    message: String,
    label: &'static str,
}

struct ExprParser<'c, 'r, 's> {
    cx: &'c mut Lowering<'r>,
    source: &'c SourceString<'s>,
    pos: usize,
    /// Calls inside calls: bounded so hostile input cannot exhaust the stack.
    depth: usize,
}

const MAX_CALL_DEPTH: usize = 16;

impl ExprParser<'_, '_, '_> {
    fn text(&self) -> &str {
        self.source.text
    }

    fn rest(&self) -> &str {
        self.source.text.get(self.pos..).unwrap_or("")
    }

    fn fail<T>(&self, message: impl Into<String>, label: &'static str) -> Result<T, ParseError> {
        let next_len = self.rest().chars().next().map_or(0, char::len_utf8);
        Err(ParseError {
            at: self.pos..self.pos + next_len,
            message: message.into(),
            label,
        })
    }

    fn skip_whitespace(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.text().len() - trimmed.len();
    }

    fn eat(&mut self, token: char) -> bool {
        if self.rest().starts_with(token) {
            self.pos += token.len_utf8();
            true
        } else {
            false
        }
    }

    /// `expr }` after a `${`.
    fn parse_interpolation(&mut self) -> Result<Expr, ParseError> {
        let expr = self.parse_expr()?;
        self.skip_whitespace();
        if self.eat('}') {
            return Ok(expr);
        }
        if self.rest().is_empty() {
            self.fail("`${` is not closed", "unterminated interpolation")
        } else {
            let found = self.rest().chars().next().unwrap_or_default();
            self.fail(
                format!("expected `}}`, found `{found}`"),
                "expected `}` here",
            )
        }
    }

    fn parse_expr(&mut self) -> Result<Expr, ParseError> {
        self.skip_whitespace();
        let start = self.pos;
        match self.rest().chars().next() {
            Some('"') => self.parse_string_literal(),
            Some(ch) if ch.is_ascii_digit() || ch == '-' => self.parse_integer(),
            Some(ch) if ch.is_ascii_alphabetic() || ch == '_' => {
                let name = self.identifier();
                self.skip_whitespace();
                if self.rest().starts_with('(') {
                    self.parse_call(name, start)
                } else {
                    self.pos = start + name.len();
                    self.parse_reference(name, start)
                }
            }
            None => self.fail("`${` is not closed", "unterminated interpolation"),
            Some(_) => self.fail(
                "expected a reference, a function call, a string or an integer",
                "expected an expression",
            ),
        }
    }

    fn identifier(&mut self) -> String {
        let length = self
            .rest()
            .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_' || ch == '-'))
            .unwrap_or(self.rest().len());
        let name = self.rest()[..length].to_string();
        self.pos += length;
        name
    }

    fn expect_identifier(&mut self, what: &str) -> Result<String, ParseError> {
        let starts_well = self
            .rest()
            .chars()
            .next()
            .is_some_and(|ch| ch.is_ascii_alphabetic() || ch == '_');
        if !starts_well {
            return self.fail(format!("expected {what}"), "expected a name here");
        }
        Ok(self.identifier())
    }

    fn parse_string_literal(&mut self) -> Result<Expr, ParseError> {
        let start = self.pos;
        self.pos += 1;
        let mut value = String::new();
        loop {
            let Some(ch) = self.rest().chars().next() else {
                self.pos = start;
                return self.fail("string is not closed", "unterminated string");
            };
            self.pos += ch.len_utf8();
            match ch {
                '"' => break,
                '\\' => {
                    let Some(escaped) = self.rest().chars().next() else {
                        continue;
                    };
                    self.pos += escaped.len_utf8();
                    value.push(match escaped {
                        'n' => '\n',
                        't' => '\t',
                        other => other,
                    });
                }
                other => value.push(other),
            }
        }
        Ok(self.expr(ExprKind::Literal(Value::String(value)), start))
    }

    fn parse_integer(&mut self) -> Result<Expr, ParseError> {
        let start = self.pos;
        self.eat('-');
        let n_digits = self
            .rest()
            .find(|ch: char| !ch.is_ascii_digit())
            .unwrap_or(self.rest().len());
        self.pos += n_digits;
        match self.text()[start..self.pos].parse::<i64>() {
            Ok(number) => Ok(self.expr(ExprKind::Literal(Value::Int(number)), start)),
            Err(_) => {
                self.pos = start;
                self.fail("not an integer", "expected an integer")
            }
        }
    }

    fn parse_call(&mut self, function: String, start: usize) -> Result<Expr, ParseError> {
        let name_span = self.source.span(start..start + function.len());
        self.eat('(');
        if self.depth >= MAX_CALL_DEPTH {
            return self.fail(
                format!("calls nested more than {MAX_CALL_DEPTH} deep"),
                "nested too deeply",
            );
        }
        self.depth += 1;
        let mut args = Vec::new();
        self.skip_whitespace();
        if !self.eat(')') {
            loop {
                args.push(self.parse_expr()?);
                self.skip_whitespace();
                if self.eat(')') {
                    break;
                }
                if !self.eat(',') {
                    return self.fail(
                        "expected `,` or `)` in the argument list",
                        "expected `,` or `)`",
                    );
                }
            }
        }
        self.depth -= 1;
        let call = self.expr(
            ExprKind::Call {
                function: function.clone(),
                args,
            },
            start,
        );
        let Some(spec) = functions::spec(&function) else {
            let mut diagnostic = Diagnostic::error(
                "fk::config::unknown_function",
                format!("unknown function `{function}`"),
            )
            .at(name_span, "no such function");
            if let Some(near) = nearest(&function, functions::names()) {
                diagnostic = diagnostic.help(format!("did you mean `{near}`?"));
            }
            self.cx.diagnostics.push(diagnostic.help(format!(
                "the functions are: {}",
                functions::names().collect::<Vec<_>>().join(", ")
            )));
            return Ok(call);
        };
        let ExprKind::Call { args, .. } = &call.kind else {
            return Ok(call);
        };
        if args.len() != spec.params.len() {
            self.cx.diagnostics.push(
                Diagnostic::error(
                    "fk::config::bad_call",
                    format!(
                        "`{function}` takes {} argument(s), got {}",
                        spec.params.len(),
                        args.len()
                    ),
                )
                .at(call.span, "wrong number of arguments")
                .help(format!("usage: {function}({})", spec.params.join(", "))),
            );
            return Ok(call);
        }
        if function == "file" {
            return Ok(self.read_file(&args[0], call.span));
        }
        Ok(call)
    }

    /// `file("path")`: read now, so evaluation stays free of IO.
    fn read_file(&mut self, arg: &Expr, call_span: crate::diag::Span) -> Expr {
        let literal = |text: String| Expr {
            kind: ExprKind::Literal(Value::String(text)),
            span: call_span,
        };
        let ExprKind::Literal(Value::String(path)) = &arg.kind else {
            self.cx.diagnostics.push(
                Diagnostic::error("fk::config::bad_call", "`file` needs a literal path")
                    .at(arg.span, "not a string literal")
                    .help("write the path as a string: file(\"certs/ca.pem\")"),
            );
            return literal(String::new());
        };
        let escapes = std::path::Path::new(path).components().any(|part| {
            !matches!(
                part,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        });
        if path.is_empty() || escapes {
            self.cx.diagnostics.push(
                Diagnostic::error(
                    "fk::config::bad_call",
                    format!("`file` path `{path}` leaves the module folder"),
                )
                .at(arg.span, "not a path inside the module folder")
                .help("paths are relative to the module folder, without `..`"),
            );
            return literal(String::new());
        }
        match (self.cx.read_file)(path) {
            Ok(text) => literal(text),
            Err(reason) => {
                self.cx.diagnostics.push(
                    Diagnostic::error(
                        "fk::config::file_unreadable",
                        format!("cannot read `{path}`: {reason}"),
                    )
                    .at(arg.span, "this file")
                    .help(format!(
                        "`file` reads a regular file inside the module folder (path relative \
                         to it), UTF-8 text of at most {} bytes",
                        crate::config::MAX_FILE_FUNCTION_BYTES
                    )),
                );
                literal(String::new())
            }
        }
    }

    fn parse_reference(&mut self, first: String, start: usize) -> Result<Expr, ParseError> {
        let target = if first == "var" {
            if !self.eat('.') {
                return self.fail("expected `.` after `var`", "expected `var.<name>`");
            }
            RefTarget::Var(self.expect_identifier("a variable name after `var.`")?)
        } else {
            if !self.eat('.') {
                return self.fail(
                    format!("`{first}` alone is not a reference"),
                    "expected `var.<name>` or `<type>.<name>.<attribute>`",
                );
            }
            let name = self.expect_identifier("a resource name")?;
            if !self.rest().starts_with('.') {
                return self.fail(
                    format!(
                        "a resource reference needs an attribute: `{first}.{name}.<attribute>`"
                    ),
                    "expected `.<attribute>`",
                );
            }
            RefTarget::Resource(Address::new(first, name))
        };
        let mut path = Vec::new();
        loop {
            if self.eat('.') {
                path.push(PathSeg::Key(self.expect_identifier("an attribute name")?));
            } else if self.eat('[') {
                self.skip_whitespace();
                let n_digits = self
                    .rest()
                    .find(|ch: char| !ch.is_ascii_digit())
                    .unwrap_or(self.rest().len());
                let Ok(idx) = self.rest()[..n_digits].parse::<usize>() else {
                    return self.fail("expected an index: `[0]`", "expected an index");
                };
                self.pos += n_digits;
                self.skip_whitespace();
                if !self.eat(']') {
                    return self.fail("expected `]`", "expected `]`");
                }
                path.push(PathSeg::Index(idx));
            } else {
                break;
            }
        }
        Ok(self.expr(ExprKind::Ref(Reference { target, path }), start))
    }

    fn expr(&self, kind: ExprKind, start: usize) -> Expr {
        Expr {
            kind,
            span: self.source.span(start..self.pos),
        }
    }
}
