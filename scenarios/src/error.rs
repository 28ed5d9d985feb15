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
        self.key = Some(key.into());
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

/// Folds a message onto one line.
pub(crate) fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
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
}
