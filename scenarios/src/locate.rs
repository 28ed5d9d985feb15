//! Where each key of a (syntactically valid) TOML document is: a small scanner that records the
//! key path and byte span of every key, header and array element, so that errors found after
//! deserializing can point at a line. Paths are written `faults[1].target`,
//! `cluster.config.min.insync.replicas` (config keys keep their dots).

use std::collections::BTreeMap;
use std::ops::Range;

/// One segment of a key path.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn display(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// A key, header or array element and where it is.
#[derive(Clone, Debug)]
struct Entry {
    path: String,
    /// The key itself (or the element, or the header).
    key: Range<usize>,
    /// The key and its value (for a header, its whole table).
    whole: Range<usize>,
    /// A `[table]` or `[[array]]` header.
    header: bool,
}

/// The key paths of a document and their spans.
#[derive(Clone, Debug, Default)]
pub(crate) struct Index {
    entries: Vec<Entry>,
}

impl Index {
    /// Scans `source`, which toml has already accepted. Never panics; on text it does not
    /// understand it stops and keeps what it found.
    pub fn build(source: &str) -> Index {
        let mut scanner = Scanner {
            s: source.as_bytes(),
            src: source,
            pos: 0,
            entries: Vec::new(),
            arrays: BTreeMap::new(),
        };
        scanner.document();
        let mut entries = scanner.entries;
        // A header's value is its table: everything up to the next header.
        let headers: Vec<usize> = (0..entries.len()).filter(|&i| entries[i].header).collect();
        for (n, &i) in headers.iter().enumerate() {
            let end = headers
                .get(n + 1)
                .map_or(source.len(), |&next| entries[next].whole.start);
            entries[i].whole.end = end;
        }
        Index { entries }
    }

    /// The start of `path`, or of its nearest ancestor that is written in the file.
    pub fn locate(&self, path: &str) -> Option<usize> {
        let mut path = path;
        loop {
            if let Some(e) = self.entries.iter().find(|e| e.path == path) {
                return Some(e.key.start);
            }
            path = parent(path)?;
        }
    }

    /// The path of the innermost entry whose key or value covers `span`.
    pub fn path_at(&self, span: Range<usize>) -> Option<&str> {
        self.entries
            .iter()
            .filter(|e| {
                e.whole.start <= span.start && span.end <= e.whole.end.max(e.whole.start + 1)
            })
            .min_by_key(|e| e.whole.len())
            .map(|e| e.path.as_str())
    }
}

/// `a.b[2]` → `a.b`, `a.b` → `a`, `a` → none. A config key with dots loses one word at a time.
fn parent(path: &str) -> Option<&str> {
    let cut = path.rfind(['.', '['])?;
    Some(&path[..cut])
}

struct Scanner<'a> {
    s: &'a [u8],
    src: &'a str,
    pos: usize,
    entries: Vec<Entry>,
    /// Arrays of tables seen so far (`faults`) and how many elements they have.
    arrays: BTreeMap<String, usize>,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn starts_with(&self, text: &str) -> bool {
        self.s[self.pos.min(self.s.len())..].starts_with(text.as_bytes())
    }

    fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// Skips blanks, newlines and comments.
    fn skip_blank(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r' | b'\n') => self.pos += 1,
                Some(b'#') => {
                    while !matches!(self.peek(), None | Some(b'\n')) {
                        self.pos += 1;
                    }
                }
                _ => return,
            }
        }
    }

    fn document(&mut self) {
        let mut prefix: Vec<Seg> = Vec::new();
        loop {
            self.skip_blank();
            let start = self.pos;
            match self.peek() {
                None => return,
                Some(b'[') => match self.header() {
                    Some(path) => {
                        self.entries.push(Entry {
                            path: display(&path),
                            key: start..self.pos,
                            whole: start..self.pos,
                            header: true,
                        });
                        prefix = path;
                    }
                    None => return,
                },
                Some(_) => {
                    if !self.keyval(&prefix) || self.pos == start {
                        return;
                    }
                }
            }
        }
    }

    /// `[a.b]` or `[[a]]`; returns the resolved path of the table.
    fn header(&mut self) -> Option<Vec<Seg>> {
        let array = self.starts_with("[[");
        self.pos += if array { 2 } else { 1 };
        let keys = self.dotted_key();
        self.skip_spaces();
        let close = if array { "]]" } else { "]" };
        if keys.is_empty() || !self.starts_with(close) {
            return None;
        }
        self.pos += close.len();
        let mut path = Vec::new();
        let last = keys.len() - 1;
        for (i, key) in keys.into_iter().enumerate() {
            path.push(Seg::Key(key));
            let name = display(&path);
            if i == last && array {
                let count = self.arrays.entry(name).or_insert(0);
                path.push(Seg::Index(*count));
                *count += 1;
            } else if let Some(count) = self.arrays.get(&name) {
                path.push(Seg::Index(count.saturating_sub(1)));
            }
        }
        Some(path)
    }

    /// `key = value`; records the entry. False when the text is not understood.
    fn keyval(&mut self, prefix: &[Seg]) -> bool {
        let start = self.pos;
        let keys = self.dotted_key();
        let key_end = self.pos;
        self.skip_spaces();
        if keys.is_empty() || self.peek() != Some(b'=') {
            return false;
        }
        self.pos += 1;
        self.skip_spaces();
        let mut path = prefix.to_vec();
        path.extend(keys.into_iter().map(Seg::Key));
        if !self.value(&path) {
            return false;
        }
        self.entries.push(Entry {
            path: display(&path),
            key: start..key_end,
            whole: start..self.pos,
            header: false,
        });
        true
    }

    fn value(&mut self, path: &[Seg]) -> bool {
        match self.peek() {
            Some(b'"' | b'\'') => self.string().is_some(),
            Some(b'{') => self.inline_table(path),
            Some(b'[') => self.array(path),
            Some(_) => {
                let start = self.pos;
                while !matches!(
                    self.peek(),
                    None | Some(b',' | b']' | b'}' | b'#' | b'\n' | b'\r')
                ) {
                    self.pos += 1;
                }
                while self.pos > start && matches!(self.s[self.pos - 1], b' ' | b'\t') {
                    self.pos -= 1;
                }
                self.pos > start
            }
            None => false,
        }
    }

    fn inline_table(&mut self, path: &[Seg]) -> bool {
        self.pos += 1;
        loop {
            self.skip_blank();
            match self.peek() {
                Some(b'}') => {
                    self.pos += 1;
                    return true;
                }
                Some(b',') => self.pos += 1,
                None => return false,
                Some(_) => {
                    if !self.keyval(path) {
                        return false;
                    }
                }
            }
        }
    }

    fn array(&mut self, path: &[Seg]) -> bool {
        self.pos += 1;
        let mut index = 0;
        loop {
            self.skip_blank();
            match self.peek() {
                Some(b']') => {
                    self.pos += 1;
                    return true;
                }
                Some(b',') => self.pos += 1,
                None => return false,
                Some(_) => {
                    let start = self.pos;
                    let mut element = path.to_vec();
                    element.push(Seg::Index(index));
                    if !self.value(&element) || self.pos == start {
                        return false;
                    }
                    self.entries.push(Entry {
                        path: display(&element),
                        key: start..self.pos,
                        whole: start..self.pos,
                        header: false,
                    });
                    index += 1;
                }
            }
        }
    }

    /// A bare, quoted or dotted key, as its parts.
    fn dotted_key(&mut self) -> Vec<String> {
        let mut keys = Vec::new();
        loop {
            self.skip_spaces();
            let key = match self.peek() {
                Some(b'"' | b'\'') => match self.string() {
                    Some(k) => k,
                    None => return Vec::new(),
                },
                _ => {
                    let start = self.pos;
                    while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
                    {
                        self.pos += 1;
                    }
                    if self.pos == start {
                        return keys;
                    }
                    self.src[start..self.pos].to_owned()
                }
            };
            keys.push(key);
            self.skip_spaces();
            if self.peek() == Some(b'.') {
                self.pos += 1;
            } else {
                return keys;
            }
        }
    }

    /// Any of TOML's four string forms; returns its text (escapes kept as written, except `\"`
    /// and `\\`).
    fn string(&mut self) -> Option<String> {
        let quote = self.peek()?;
        let basic = quote == b'"';
        let triple = if basic { "\"\"\"" } else { "'''" };
        let multi = self.starts_with(triple);
        self.pos += if multi { 3 } else { 1 };
        let start = self.pos;
        let mut text = String::new();
        loop {
            let c = self.peek()?;
            if basic && c == b'\\' {
                let escaped = *self.s.get(self.pos + 1)?;
                if escaped == b'"' || escaped == b'\\' {
                    text.push(escaped as char);
                } else {
                    text.push_str(&self.src[self.pos..self.pos + 2]);
                }
                self.pos += 2;
                continue;
            }
            if multi && self.starts_with(triple) {
                self.pos += 3;
                // Up to two more quotes belong to the string.
                let mut extra = 0;
                while extra < 2 && self.peek() == Some(quote) {
                    self.pos += 1;
                    extra += 1;
                }
                return Some(self.src.get(start..self.pos - 3)?.to_owned());
            }
            if !multi && (c == quote || c == b'\n') {
                self.pos += 1;
                return Some(text);
            }
            let ch = self.src[self.pos..].chars().next()?;
            text.push(ch);
            self.pos += ch.len_utf8();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"name = "x" # comment with = and [
[cluster]
brokers = 3
config = { "min.insync.replicas" = 2, acks = 'all' }

[[faults]]
at_ms = 1
text = """multi
line = [ "not a key" ]"""

[[faults]]
sides = [["broker-1"],
  ["broker-2", "broker-3"]]   # trailing
[cluster.extra]
a.b = 1
"#;

    fn line_of(index: &Index, path: &str) -> Option<usize> {
        index
            .locate(path)
            .map(|o| crate::error::Position::of_offset(DOC, o).line)
    }

    #[test]
    fn finds_keys_headers_and_elements() {
        toml::from_str::<toml::Table>(DOC).unwrap();
        let index = Index::build(DOC);
        assert_eq!(line_of(&index, "name"), Some(1));
        assert_eq!(line_of(&index, "cluster.brokers"), Some(3));
        assert_eq!(
            line_of(&index, "cluster.config.min.insync.replicas"),
            Some(4)
        );
        assert_eq!(line_of(&index, "cluster.config.acks"), Some(4));
        assert_eq!(line_of(&index, "cluster.config.nope"), Some(4));
        assert_eq!(line_of(&index, "faults[0].at_ms"), Some(7));
        assert_eq!(line_of(&index, "faults[1]"), Some(11));
        assert_eq!(line_of(&index, "faults[1].target"), Some(11));
        assert_eq!(line_of(&index, "faults[1].sides[1][0]"), Some(13));
        assert_eq!(line_of(&index, "cluster.extra.a.b"), Some(15));
        assert_eq!(line_of(&index, "nothing"), None);
        let offset = DOC.find("broker-3").unwrap();
        assert_eq!(
            index.path_at(offset..offset + 9),
            Some("faults[1].sides[1][1]")
        );
        let table = DOC.find("[[faults]]\nsides").unwrap();
        let next = DOC.find("[cluster.extra]").unwrap();
        assert_eq!(index.path_at(table..next), Some("faults[1]"));
        assert_eq!(index.path_at(0..DOC.len()), None);
    }
}
