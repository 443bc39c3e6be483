//! Where each byte of a decoded TOML string sits in the source, so a diagnostic about a
//! `${...}` inside a string points at the exact characters.

use std::ops::Range;

use crate::diag::{FileId, Span};

/// A decoded string value and the map from its bytes back to the file.
pub(crate) struct SourceString<'a> {
    pub(crate) text: &'a str,
    /// The whole string token, quotes included.
    pub(crate) token: Span,
    /// `offsets[i]` is the file offset of decoded byte `i` (one extra entry for the end);
    /// `None` when the token could not be mapped, and spans fall back to the whole token.
    offsets: Option<Vec<usize>>,
}

impl<'a> SourceString<'a> {
    pub(crate) fn new(
        text: &'a str,
        file: FileId,
        token: Range<usize>,
        raw: &str,
    ) -> SourceString<'a> {
        let offsets = decoded_offsets(raw, text).map(|relative| {
            relative
                .into_iter()
                .map(|offset| offset + token.start)
                .collect()
        });
        SourceString {
            text,
            token: Span::new(file, token),
            offsets,
        }
    }

    /// The file span of a byte range of the decoded text.
    pub(crate) fn span(&self, range: Range<usize>) -> Span {
        let Some(offsets) = &self.offsets else {
            return self.token;
        };
        match (offsets.get(range.start), offsets.get(range.end)) {
            (Some(start), Some(end)) if start <= end => Span::new(self.token.file, *start..*end),
            _ => self.token,
        }
    }
}

/// Decodes a TOML string token while recording where each output byte came from; `None`
/// when the result does not match what the TOML parser decoded.
fn decoded_offsets(raw: &str, decoded: &str) -> Option<Vec<usize>> {
    let (quote, literal) = if raw.starts_with("'''") {
        ("'''", true)
    } else if raw.starts_with("\"\"\"") {
        ("\"\"\"", false)
    } else if raw.starts_with('\'') {
        ("'", true)
    } else if raw.starts_with('"') {
        ("\"", false)
    } else {
        return None;
    };
    if raw.len() < 2 * quote.len() {
        return None;
    }
    let mut body_start = quote.len();
    let body_end = raw.len() - quote.len();
    if quote.len() == 3 {
        if raw[body_start..].starts_with("\r\n") {
            body_start += 2;
        } else if raw[body_start..].starts_with('\n') {
            body_start += 1;
        }
    }
    let body = raw.get(body_start..body_end)?;
    let mut out = String::new();
    let mut offsets = Vec::new();
    let mut chars = body.char_indices().peekable();
    while let Some((idx, ch)) = chars.next() {
        let at = body_start + idx;
        if literal || ch != '\\' {
            push(&mut out, &mut offsets, ch, at);
            continue;
        }
        let (_, escape) = chars.next()?;
        let decoded_char = match escape {
            'b' => '\u{8}',
            't' => '\t',
            'n' => '\n',
            'f' => '\u{c}',
            'r' => '\r',
            'e' => '\u{1b}',
            '"' => '"',
            '\\' => '\\',
            'x' | 'u' | 'U' => {
                let n_digits = match escape {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let mut code = 0u32;
                for _ in 0..n_digits {
                    let (_, digit) = chars.next()?;
                    code = code * 16 + digit.to_digit(16)?;
                }
                char::from_u32(code)?
            }
            ' ' | '\t' | '\r' | '\n' => {
                while chars.next_if(|(_, next)| next.is_whitespace()).is_some() {}
                continue;
            }
            _ => return None,
        };
        push(&mut out, &mut offsets, decoded_char, at);
    }
    offsets.push(body_end);
    (out == decoded).then_some(offsets)
}

fn push(out: &mut String, offsets: &mut Vec<usize>, ch: char, at: usize) {
    out.push(ch);
    offsets.extend(std::iter::repeat_n(at, ch.len_utf8()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_escapes_back_to_the_source() {
        let raw = r#""a\"${b}""#;
        let offsets = decoded_offsets(raw, "a\"${b}").unwrap();
        assert_eq!(offsets[0], 1);
        assert_eq!(offsets[1], 2, "the escaped quote starts at the backslash");
        assert_eq!(offsets[2], 4, "`$` comes after the two-byte escape");
        assert_eq!(*offsets.last().unwrap(), raw.len() - 1);
    }

    #[test]
    fn maps_literal_and_multiline_strings() {
        assert_eq!(decoded_offsets("'a\\b'", "a\\b").unwrap()[2], 3);
        let offsets = decoded_offsets("'''\nxy'''", "xy").unwrap();
        assert_eq!(offsets[0], 4);
        assert!(decoded_offsets("\"x\"", "y").is_none());
    }
}
