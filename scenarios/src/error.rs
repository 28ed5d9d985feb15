//! `ScenarioError`: one line that names the file, line, column and key.

use std::fmt;

/// What went wrong, for callers that react differently (the CLI maps all of them to exit status 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file could not be read.
    Io,
    /// Neither a built-in scenario nor a file of that name exists.
    NotFound,
    /// The text is not TOML.
    Syntax,
    /// TOML, but not a scenario: an unknown key, a wrong type, a bad enum value, a missing key.
    Schema,
    /// A scenario whose parts do not fit together: an unknown node or topic, a bad range, ...
    Invalid,
    /// A config map that broker-core rejects (unknown key or bad value).
    Config,
    /// A `--set key=value` that names no setting.
    Set,
}

/// A 1-based line and column in a scenario file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// The line, from 1.
    pub line: usize,
    /// The column in characters, from 1.
    pub column: usize,
}

impl Position {
    /// The position of byte `offset` of `source`.
    pub fn of_offset(source: &str, offset: usize) -> Position {
        let mut offset = offset.min(source.len());
        while !source.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &source[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = source[line_start..offset].chars().count() + 1;
        Position { line, column }
    }
}

/// A scenario that cannot be used. Its `Display` is one line:
/// `FILE:LINE:COL: key `KEY`: message` (position and key are left out when unknown).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    /// What kind of problem this is.
    pub kind: ErrorKind,
    /// Where the scenario came from: a file path, or `--set KEY=VALUE` for an override.
    pub origin: String,
    /// Where in the file, when known.
    pub position: Option<Position>,
    /// The key path of the offending setting (`faults[1].target`, `cluster.config.acks`).
    pub key: Option<String>,
    /// What is wrong, on one line.
    pub message: String,
}

impl ScenarioError {
    /// An error without position or key.
    pub fn new(kind: ErrorKind, origin: impl Into<String>, message: impl Into<String>) -> Self {
        ScenarioError {
            kind,
            origin: origin.into(),
            position: None,
            key: None,
            message: one_line(&message.into()),
        }
    }

    /// The same error naming `key`.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(cut(&key.into(), 2 * ECHO_CHARS_MAX));
        self
    }

    /// The same error at `position`.
    pub fn at(mut self, position: Option<Position>) -> Self {
        self.position = position;
        self
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)?;
        if let Some(Position { line, column }) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        f.write_str(": ")?;
        if let Some(key) = &self.key {
            write!(f, "key `{key}`: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Folds a message onto one line, cut to [`MESSAGE_CHARS_MAX`] (a message from toml or
/// broker-core may quote the input too).
pub(crate) fn one_line(message: &str) -> String {
    let line = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    cut(&echo_quoted(&line), MESSAGE_CHARS_MAX)
}

/// `message` with every "quoted" or `quoted` part passed through [`echo`]: messages from toml
/// and broker-core quote the input this way (`expected an integer, got "…"`), an unclosed
/// quote runs to the end.
fn echo_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(2 * MESSAGE_CHARS_MAX));
    let mut rest = message;
    while let Some(open) = rest.find(['"', '`']) {
        let quote = &rest[open..=open];
        out.push_str(&rest[..=open]);
        let inner = &rest[open + 1..];
        let (quoted, after) = match inner.find(quote) {
            Some(close) => (&inner[..close], &inner[close..]),
            None => (inner, ""),
        };
        // What `echo` already cut (at most ~90 characters) is left as it is.
        if quoted.chars().nth(ECHO_CHARS_MAX + 30).is_some() {
            out.push_str(&echo(quoted));
        } else {
            out.push_str(quoted);
        }
        match after.strip_prefix(quote) {
            Some(tail) => {
                out.push_str(quote);
                rest = tail;
            }
            None => rest = after,
        }
    }
    out.push_str(rest);
    out
}

/// How much of an input value an error quotes.
pub const ECHO_CHARS_MAX: usize = 60;
/// How long an error message (or a key) may get before it is cut.
const MESSAGE_CHARS_MAX: usize = 600;

/// A value from the input, as an error quotes it: whole when short, else its first
/// [`ECHO_CHARS_MAX`] characters and its length (`broker-aaaa…(5242880 bytes)`), so a 5 MB
/// name does not become a 5 MB message. Every error that echoes input goes through this.
pub fn echo(value: &str) -> String {
    cut(value, ECHO_CHARS_MAX)
}

fn cut(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}…({} bytes)", &text[..end], text.len()),
    }
}

/// A list of names from the input, each echoed, at most ten of them (`a, b, … and 54 more`).
pub(crate) fn echo_list<S: AsRef<str>>(names: &[S]) -> String {
    const SHOWN: usize = 10;
    if names.is_empty() {
        return "none".to_owned();
    }
    let mut out: Vec<String> = names.iter().take(SHOWN).map(|n| echo(n.as_ref())).collect();
    if names.len() > SHOWN {
        out.push(format!("… and {} more", names.len() - SHOWN));
    }
    out.join(", ")
}

/// A semantic problem found by validation, before it is given a file and position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Problem {
    pub kind: ErrorKind,
    pub key: String,
    pub message: String,
    /// The key to point at when it differs from `key` (a missing key points at what needs it).
    pub anchor: Option<String>,
}

impl Problem {
    pub fn invalid(key: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            kind: ErrorKind::Invalid,
            key: key.into(),
            message: message.into(),
            anchor: None,
        }
    }

    /// The same problem, pointing at `anchor` in the file.
    pub fn anchored(mut self, anchor: String) -> Problem {
        self.anchor = Some(anchor);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        let src = "a = 1\nbé = 2\n";
        assert_eq!(Position::of_offset(src, 0), Position { line: 1, column: 1 });
        assert_eq!(Position::of_offset(src, 6), Position { line: 2, column: 1 });
        assert_eq!(Position::of_offset(src, 9), Position { line: 2, column: 3 });
        assert_eq!(Position::of_offset(src, 999).line, 3);
    }

    #[test]
    fn echo_cuts_long_values_and_says_how_long_they_were() {
        assert_eq!(echo("broker-1"), "broker-1");
        let exact = "é".repeat(ECHO_CHARS_MAX);
        assert_eq!(echo(&exact), exact);
        let long = format!("broker-{}", "é".repeat(5_000_000));
        let echoed = echo(&long);
        assert!(echoed.starts_with("broker-éé"), "{echoed}");
        assert!(echoed.ends_with("…(10000007 bytes)"), "{echoed}");
        assert_eq!(
            echoed.chars().count(),
            ECHO_CHARS_MAX + "…(10000007 bytes)".chars().count()
        );
        let error = ScenarioError::new(ErrorKind::Invalid, "f", "x".repeat(10_000)).with_key(&long);
        assert!(error.to_string().len() < 1000, "{error}");
    }

    #[test]
    fn quoted_input_in_a_message_is_echoed_short() {
        let long = "x".repeat(5000);
        let message = one_line(&format!(
            "expected an integer, got \"{long}\" (see `{long}`)"
        ));
        assert_eq!(
            message,
            format!("expected an integer, got \"{}\" (see `{0}`)", echo(&long))
        );
        assert!(message.len() < 200, "{message}");
        assert_eq!(one_line("a \"short\" one"), "a \"short\" one");
        let echoed = format!("unknown node \"{}\"", echo(&long));
        assert_eq!(one_line(&echoed), echoed, "not cut twice");
        assert_eq!(
            one_line(&format!("open \"{long}")),
            format!("open \"{}", echo(&long))
        );
    }

    #[test]
    fn echo_list_shows_ten_names() {
        assert_eq!(echo_list::<&str>(&[]), "none");
        assert_eq!(echo_list(&["a", "b"]), "a, b");
        let names: Vec<String> = (1..=64).map(|i| format!("broker-{i}")).collect();
        let listed = echo_list(&names);
        assert!(listed.starts_with("broker-1, broker-2,"), "{listed}");
        assert!(listed.ends_with("broker-10, … and 54 more"), "{listed}");
    }
}
