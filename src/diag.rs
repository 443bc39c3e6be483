//! Diagnostics: problems in the user's input, with spans into the module's files.
//!
//! Every phase returns its diagnostics instead of stopping at the first one. Rendering is
//! `path:line:col`, the source line, a caret under the span, then `help:`; readable without
//! colour. Codes are stable and greppable: `fk::config::unknown_attribute`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub u32);

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub(crate) end: u32,
}

impl Span {
    pub(crate) fn new(file: FileId, range: std::ops::Range<usize>) -> Span {
        Span {
            file,
            start: range.start as u32,
            end: range.end as u32,
        }
    }
}

#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The path as the user should read it (relative where possible).
    pub path: PathBuf,
    pub(crate) text: String,
}

/// The files of a module, kept so diagnostics can quote them.
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub(crate) fn add(&mut self, path: impl Into<PathBuf>, text: impl Into<String>) -> FileId {
        self.files.push(SourceFile {
            path: path.into(),
            text: text.into(),
        });
        FileId(self.files.len() as u32 - 1)
    }

    pub fn get(&self, file: FileId) -> Option<&SourceFile> {
        self.files.get(file.0 as usize)
    }

    #[cfg(test)]
    pub(crate) fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(idx, file)| (FileId(idx as u32), file))
    }

    /// The text a span covers, or "" when the span is out of range.
    pub(crate) fn text(&self, span: Span) -> &str {
        self.get(span.file)
            .and_then(|file| file.text.get(span.start as usize..span.end as usize))
            .unwrap_or("")
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, file: FileId, offset: u32) -> (usize, usize) {
        let Some(source) = self.get(file) else {
            return (1, 1);
        };
        let offset = floor_char_boundary(&source.text, offset as usize);
        let before = &source.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |idx| idx + 1);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }
}

fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub(crate) message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub(crate) severity: Severity,
    /// Stable code, e.g. `fk::config::unknown_attribute`.
    pub code: &'static str,
    /// Lowercase, no final period.
    pub message: String,
    /// Where the problem is; `None` for problems with no place in a file (a CLI flag).
    pub primary: Option<Label>,
    /// Related places ("first defined here", the other edges of a cycle).
    pub(crate) secondary: Vec<Label>,
    /// `help:` lines: what was probably meant, how to fix it.
    pub(crate) help: Vec<String>,
}

impl Diagnostic {
    pub(crate) fn error(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            primary: None,
            secondary: Vec::new(),
            help: Vec::new(),
        }
    }

    pub(crate) fn warning(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    pub(crate) fn at(mut self, span: Span, label: impl Into<String>) -> Diagnostic {
        self.primary = Some(Label {
            span,
            message: label.into(),
        });
        self
    }

    pub(crate) fn also(mut self, span: Span, label: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label {
            span,
            message: label.into(),
        });
        self
    }

    pub(crate) fn help(mut self, text: impl Into<String>) -> Diagnostic {
        self.help.push(text.into());
        self
    }

    pub(crate) fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The diagnostic as text: header, `--> path:line:col`, quoted lines with carets, help.
    pub fn render(&self, sources: &SourceMap) -> String {
        let mut out = String::new();
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(out, "{severity}[{}]: {}", self.code, self.message);
        if let Some(primary) = &self.primary {
            render_label(&mut out, sources, primary, '^', true);
        }
        for label in &self.secondary {
            render_label(&mut out, sources, label, '-', self.primary.is_none());
        }
        for help in &self.help {
            let _ = writeln!(out, "  = help: {help}");
        }
        out
    }
}

fn render_label(out: &mut String, sources: &SourceMap, label: &Label, mark: char, header: bool) {
    let Some(file) = sources.get(label.span.file) else {
        return;
    };
    let (line, col) = sources.line_col(label.span.file, label.span.start);
    let location = format!("{}:{line}:{col}", display_path(&file.path));
    if header {
        let _ = writeln!(out, "  --> {location}");
    } else {
        let _ = writeln!(out, "  ::: {location}");
    }
    let source_line = file.text.lines().nth(line - 1).unwrap_or("");
    let gutter = line.to_string();
    let pad = " ".repeat(gutter.len());
    let _ = writeln!(out, "{pad} |");
    let _ = writeln!(out, "{gutter} | {source_line}");
    let span_text = sources.text(label.span);
    let first_line_of_span = span_text.lines().next().unwrap_or("");
    let width = first_line_of_span.chars().count().max(1);
    let width = width.min(source_line.chars().count().saturating_sub(col - 1).max(1));
    let _ = writeln!(
        out,
        "{pad} | {}{} {}",
        " ".repeat(col - 1),
        mark.to_string().repeat(width),
        label.message
    );
}

fn display_path(path: &Path) -> String {
    path.display().to_string()
}

/// Diagnostics of one phase, in the order found.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    pub fn extend(&mut self, other: impl IntoIterator<Item = Diagnostic>) {
        self.0.extend(other);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub(crate) fn n_errors(&self) -> usize {
        self.0.iter().filter(|diag| diag.is_error()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    /// All diagnostics rendered, sorted by place so output is stable.
    pub fn render(&self, sources: &SourceMap) -> String {
        let mut sorted: Vec<&Diagnostic> = self.0.iter().collect();
        sorted.sort_by_key(|diag| diag.primary.as_ref().map(|label| label.span));
        sorted
            .iter()
            .map(|diag| diag.render(sources))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// The closest candidate to `wanted` by edit distance, if it is close enough to be a typo.
pub(crate) fn nearest<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (wanted.chars().count() / 3).max(1) + 1;
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(wanted, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, candidate)| (*distance, candidate.len()))
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance over characters.
pub(crate) fn edit_distance(left: &str, right: &str) -> usize {
    let right_chars: Vec<char> = right.chars().collect();
    let mut previous: Vec<usize> = (0..=right_chars.len()).collect();
    let mut current = vec![0; right_chars.len() + 1];
    for (left_idx, left_char) in left.chars().enumerate() {
        current[0] = left_idx + 1;
        for (right_idx, right_char) in right_chars.iter().enumerate() {
            let cost = usize::from(left_char != *right_char);
            current[right_idx + 1] = (previous[right_idx] + cost)
                .min(previous[right_idx + 1] + 1)
                .min(current[right_idx] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[right_chars.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_path_line_col_and_caret() {
        let mut sources = SourceMap::default();
        let file = sources.add("mod/main.toml", "[a]\nimgae = \"x\"\n");
        let diag = Diagnostic::error("fk::config::unknown_attribute", "unknown attribute `imgae`")
            .at(Span::new(file, 4..9), "not an attribute of `a`")
            .help("did you mean `image`?");
        let text = diag.render(&sources);
        assert!(text.contains("--> mod/main.toml:2:1"), "{text}");
        assert!(text.contains("2 | imgae = \"x\""), "{text}");
        assert!(text.contains("  | ^^^^^ not an attribute"), "{text}");
        assert!(text.contains("help: did you mean `image`?"), "{text}");
    }

    #[test]
    fn nearest_finds_typos_and_rejects_strangers() {
        let names = ["image", "command", "environment"];
        assert_eq!(nearest("imgae", names), Some("image"));
        assert_eq!(nearest("comand", names), Some("command"));
        assert_eq!(nearest("zzzzzz", names), None);
    }

    #[test]
    fn line_col_survives_multibyte_and_out_of_range() {
        let mut sources = SourceMap::default();
        let file = sources.add("f.toml", "é = 1\nx");
        assert_eq!(sources.line_col(file, 1), (1, 1));
        assert_eq!(sources.line_col(file, 100), (2, 2));
    }
}
