//! Every link in the repo's documents resolves in the repo: a clone has nothing else (no
//! `../shared`). Relative links name a file or directory that exists, `#anchors` a heading of
//! their file, and the README's backquoted paths into the repo's directories
//! (`scenarios/src/limits.rs`) exist.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn documents() -> Vec<PathBuf> {
    let mut docs = vec![root().join("README.md"), root().join("ARCHITECTURE.md")];
    let dir = std::fs::read_dir(root().join("docs")).expect("docs/ exists");
    docs.extend(
        dir.map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "md")),
    );
    docs
}

/// The targets of `[text](target)` links.
fn links(text: &str) -> Vec<&str> {
    text.match_indices("](")
        .filter_map(|(i, _)| {
            let rest = &text[i + 2..];
            rest.find(')').map(|end| &rest[..end])
        })
        .collect()
}

/// GitHub's anchor of a heading: lower case, spaces to `-`, punctuation but `-` and `_` dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| slug(l.trim_start_matches('#')))
        .collect()
}

fn check_link(doc: &Path, text: &str, target: &str) -> Result<(), String> {
    if target.starts_with("http://") || target.starts_with("https://") {
        return Ok(());
    }
    let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
    let file = if path.is_empty() {
        doc.to_path_buf()
    } else {
        doc.parent().expect("a directory").join(path)
    };
    if !file.exists() {
        return Err(format!("{}: `{target}` does not exist", doc.display()));
    }
    if !anchor.is_empty() {
        let linked = if path.is_empty() {
            text.to_owned()
        } else {
            std::fs::read_to_string(&file).unwrap_or_default()
        };
        if !anchors(&linked).iter().any(|a| a == anchor) {
            return Err(format!("{}: no heading for `{target}`", doc.display()));
        }
    }
    Ok(())
}

#[test]
fn every_relative_link_resolves() {
    let mut broken = Vec::new();
    let mut count = 0;
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).expect("readable");
        for target in links(&text) {
            count += 1;
            if let Err(e) = check_link(&doc, &text, target) {
                broken.push(e);
            }
        }
    }
    assert!(count >= 5, "found only {count} links: is the parser right?");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_readmes_paths_exist_and_nothing_points_outside_the_repo() {
    let text = std::fs::read_to_string(root().join("README.md")).expect("README");
    let mut missing = Vec::new();
    for quoted in text.split('`').skip(1).step_by(2) {
        let is_path = quoted.contains('/')
            && !quoted.contains(' ')
            && [".rs", ".md", ".toml"].iter().any(|e| quoted.ends_with(e))
            && !quoted.contains('*')
            // Paths under the repo's own directories, not outputs such as `out/check/...`.
            && quoted
                .split('/')
                .next()
                .is_some_and(|top| root().join(top).is_dir());
        if is_path && !root().join(quoted).exists() {
            missing.push(quoted.to_owned());
        }
    }
    assert!(
        missing.is_empty(),
        "README names missing files: {missing:?}"
    );
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).expect("readable");
        assert!(
            !text.contains("../shared") && !text.contains("DESIGN.md"),
            "{} points outside the repo",
            doc.display()
        );
    }
}

#[test]
fn slugs_are_githubs() {
    assert_eq!(slug(" The JSON report"), "the-json-report");
    assert_eq!(slug(" `--explain`"), "--explain");
    assert_eq!(slug(" `[[faults]]`"), "faults");
}
