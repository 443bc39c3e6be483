//! Shell scripts the module runs under busybox ash with only the applets its `tools` init
//! containers link: finding busybox, reading the linked list, and a static check of the
//! commands a script calls.
//!
//! Debian's static busybox runs any applet from the shell whether it is linked or not
//! (FEATURE_SH_STANDALONE), which would hide a missing link; the official busybox image the
//! module copies does not. So every command a script calls is also checked statically
//! against its group's list.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The applets the `tools` init container of `group` (in the module's `file`) links
/// (`for applet in ...; do`).
pub(crate) fn linked_applets(file: &str, group: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("modules/frankenetes")
        .join(file);
    let table: toml::Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let init = table["resource"]["azure_container_group"][group]["init_containers"]
        .as_array()
        .unwrap();
    let tools = init
        .iter()
        .find(|container| container["name"].as_str() == Some("tools"))
        .unwrap_or_else(|| panic!("{file}: {group} has a tools init container"));
    let command = tools["command"].as_array().unwrap();
    let script = command.last().and_then(|part| part.as_str()).unwrap();
    let list = script
        .split_once("for applet in ")
        .and_then(|(_, rest)| rest.split_once(';'))
        .map(|(list, _)| list)
        .expect("the tools command links applets with `for applet in ...;`");
    list.split_whitespace().map(str::to_owned).collect()
}

/// busybox: `FK_BUSYBOX`, else `busybox` on `PATH` (`.ci/test-deps.sh` installs Debian's
/// busybox-static).
pub(crate) fn busybox() -> PathBuf {
    if let Some(path) = std::env::var_os("FK_BUSYBOX") {
        return PathBuf::from(path);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("busybox"))
        .find(|candidate| candidate.is_file())
        .expect("busybox is needed: `apt-get install busybox-static` (.ci/test-deps.sh does)")
}

/// ash's builtins (busybox ash with its default options: echo, printf, test and kill built
/// in): commands that need no link.
const ASH_BUILTINS: &[&str] = &[
    ".", ":", "[", "[[", "alias", "bg", "break", "cd", "command", "continue", "echo", "eval",
    "exec", "exit", "export", "false", "fg", "getopts", "hash", "jobs", "kill", "local", "printf",
    "pwd", "read", "readonly", "return", "set", "shift", "test", "times", "trap", "true", "type",
    "ulimit", "umask", "unalias", "unset", "wait",
];
/// Words after which the next word is a command.
const OPENING_KEYWORDS: &[&str] = &["if", "then", "else", "elif", "do", "while", "until", "!"];
/// Words after which the next word is not a command.
const OTHER_KEYWORDS: &[&str] = &["fi", "done", "esac", "case", "for", "in"];

/// The commands a POSIX sh script calls: words in command position, outside quotes, comments,
/// parameter expansions and arithmetic, but inside `$(...)` (also within double quotes).
/// Assignments, keywords and case patterns are not commands; names of the script's own
/// functions are returned separately.
pub(crate) fn called_commands(script: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let chars: Vec<char> = script.chars().collect();
    let mut commands = BTreeSet::new();
    let mut functions = BTreeSet::new();
    // Each entry: true = inside double quotes at this nesting level.
    let mut quoted = vec![false];
    let mut command_position = true;
    let mut index = 0;
    while index < chars.len() {
        let c = chars[index];
        let in_quotes = *quoted.last().unwrap_or(&false);
        let next = chars.get(index + 1).copied();
        if c == '\\' {
            index += 2;
            continue;
        }
        if c == '$' && next == Some('(') && chars.get(index + 2) == Some(&'(') {
            // Arithmetic: skip to the matching `))`.
            index = past_matching(&chars, index + 1, '(', ')');
            command_position = false;
            continue;
        }
        if c == '$' && next == Some('(') {
            quoted.push(false);
            command_position = true;
            index += 2;
            continue;
        }
        if c == '$' && next == Some('{') {
            index = past_matching(&chars, index, '{', '}');
            continue;
        }
        if in_quotes {
            if c == '"' {
                quoted.pop();
            }
            index += 1;
            continue;
        }
        match c {
            '"' => {
                quoted.push(true);
                command_position = false;
                index += 1;
            }
            '\'' => {
                index += 1;
                while index < chars.len() && chars[index] != '\'' {
                    index += 1;
                }
                index += 1;
                command_position = false;
            }
            '#' if index == 0 || chars[index - 1].is_whitespace() => {
                while index < chars.len() && chars[index] != '\n' {
                    index += 1;
                }
            }
            ')' if quoted.len() > 1 => {
                quoted.pop();
                command_position = false;
                index += 1;
            }
            ';' | '|' | '&' | '(' | ')' | '{' | '}' | '\n' | '`' => {
                command_position = true;
                index += 1;
            }
            c if c.is_whitespace() => index += 1,
            '<' | '>' => {
                // A redirection's target is not a command.
                index += 1;
                while index < chars.len() && matches!(chars[index], '<' | '>' | '&' | ' ') {
                    index += 1;
                }
                while index < chars.len()
                    && !chars[index].is_whitespace()
                    && !matches!(chars[index], ';' | '|' | '&' | ')')
                {
                    index += if chars[index] == '"' {
                        skip_quoted(&chars, index)
                    } else {
                        1
                    };
                }
            }
            _ => {
                let start = index;
                while index < chars.len()
                    && !chars[index].is_whitespace()
                    && !matches!(chars[index], ';' | '|' | '&' | '(' | ')' | '<' | '>' | '"')
                {
                    // `$((...))` and `${...}` belong to the word; `$(` ends it (its command
                    // is looked at by the main loop).
                    let next = chars.get(index + 1).copied();
                    let after = chars.get(index + 2).copied();
                    if chars[index] == '$' && next == Some('(') && after != Some('(') {
                        break;
                    }
                    if chars[index] == '\'' {
                        index += 1;
                        while index < chars.len() && chars[index] != '\'' {
                            index += 1;
                        }
                        index += 1;
                        continue;
                    }
                    if chars[index] == '$' && matches!(next, Some('(' | '{')) {
                        index += skip_balanced(&chars, index + 1);
                        continue;
                    }
                    index += 1;
                }
                let word: String = chars[start..index].iter().collect();
                if !command_position {
                    continue;
                }
                if chars.get(index) == Some(&'(') && chars.get(index + 1) == Some(&')') {
                    functions.insert(word);
                    command_position = false;
                } else if OPENING_KEYWORDS.contains(&word.as_str()) {
                    command_position = true;
                } else if OTHER_KEYWORDS.contains(&word.as_str())
                    || is_assignment(&word)
                    || !word.starts_with(|c: char| {
                        c.is_ascii_alphabetic() || c == '.' || c == ':' || c == '['
                    })
                {
                    command_position = is_assignment(&word);
                } else {
                    commands.insert(word);
                    command_position = false;
                }
            }
        }
    }
    (commands, functions)
}

/// The length from `start - 1` (a `$`) past the bracket that closes the one at `start`.
fn skip_balanced(chars: &[char], start: usize) -> usize {
    let (open, close) = if chars[start] == '{' {
        ('{', '}')
    } else {
        ('(', ')')
    };
    past_matching(chars, start, open, close) + 1 - start
}

fn skip_quoted(chars: &[char], start: usize) -> usize {
    let mut index = start + 1;
    while index < chars.len() && chars[index] != '"' {
        index += 1;
    }
    index + 1 - start
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// What a script calls that the group cannot run: neither a builtin, nor one of the script's
/// functions, nor a linked applet, nor one of the image's own `tools`, nor the program the
/// script is given as `$0`.
pub(crate) fn unlinked_commands(script: &str, applets: &[String], tools: &[&str]) -> Vec<String> {
    let (commands, functions) = called_commands(script);
    commands
        .into_iter()
        .filter(|command| {
            !ASH_BUILTINS.contains(&command.as_str())
                && !functions.contains(command)
                && !applets.contains(command)
                && !tools.contains(&command.as_str())
                && command != "\"$0\""
        })
        .collect()
}

/// The index just past the `close` that balances the first `open` at or after `from` (the
/// end of `chars` plus one when it is never balanced).
fn past_matching(chars: &[char], from: usize, open: char, close: char) -> usize {
    let mut depth = 0;
    let mut index = from;
    while index < chars.len() {
        if chars[index] == open {
            depth += 1;
        } else if chars[index] == close {
            depth -= 1;
            if depth == 0 {
                break;
            }
        }
        index += 1;
    }
    index + 1
}
