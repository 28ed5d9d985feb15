//! scenarios: the scenario file format (docs/scenario-format.md) and the built-in scenario library.
//!
//! A scenario is a TOML file naming a cluster, its workload, a fault schedule, narration and the
//! verdict a run must reach. [`parse`] and [`load`] read one and check it completely: unknown keys,
//! unknown node and topic names, ranges, and every config map through broker-core's own parsers.
//! Every error is a [`ScenarioError`] whose `Display` is one line,
//! `FILE:LINE:COL: key `KEY`: message`. [`Scenario::apply_set`] implements `--set key=value`;
//! [`builtins`] and [`resolve`] give the compiled-in library.
#![deny(missing_docs)]

mod build;
mod builtin;
mod error;
pub mod replication_test;
mod run;
pub mod swarm;
mod workload;

mod format;
pub mod limits;
mod locate;
mod script;
mod set;
mod target;
mod validate;

pub use build::offsets_topic;
pub use builtin::{
    builtin, builtins, resolve, Builtin, HistoricalPair, Module, DEFAULT, HISTORICAL_PAIRS,
};
pub use error::{echo, ErrorKind, Position, ScenarioError};
pub use format::{
    Caption, Cluster, ConsumerSpec, Disk, Expect, Fault, FaultAction, Network, Operands,
    ProducerSpec, Protocol, Scenario, TopicSpec, Truncation,
};
pub use run::{judge, run, run_with_events_max, Outcome, RunVerdict};
pub use script::{Departure, Narration};
pub use set::Override;
pub use sim::FindingKind;
pub use workload::standard_workload;

use error::Problem;
use locate::Index;
use std::path::Path;

/// Parses and checks a scenario. `file` names it in errors; when it ends in `.toml` the scenario
/// is named after its stem, whatever its `name` key says: a copy of `quickstart.toml` saved as
/// `mine.toml` is `mine`, without an edit.
pub fn parse(source: &str, file: &str) -> Result<Scenario, ScenarioError> {
    let mut scenario: Scenario =
        toml::from_str(source).map_err(|e| serde_error(source, file, &e))?;
    let path = Path::new(file);
    let stem = if path.extension().is_some_and(|e| e == "toml") {
        path.file_stem().and_then(|s| s.to_str())
    } else {
        None
    };
    if let Some(stem) = stem {
        scenario.name = stem.to_owned();
    }
    scenario
        .check(stem)
        .map_err(|problem| locate(problem, source, file))?;
    Ok(scenario)
}

/// Reads and parses a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| ScenarioError::new(ErrorKind::Io, &file, format!("cannot read: {e}")))?;
    let source = String::from_utf8(bytes).map_err(|e| {
        // Where the text stops being UTF-8: the line and column of the first bad byte.
        let valid = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(&e.as_bytes()[..valid]);
        ScenarioError::new(
            ErrorKind::Syntax,
            &file,
            format!("not UTF-8 text: byte 0x{:02x}", e.as_bytes()[valid]),
        )
        .at(Some(Position::of_offset(&text, valid)))
    })?;
    parse(&source, &file)
}

impl Scenario {
    /// Checks a scenario built or changed in code; errors name the key but no line.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        self.check(None).map_err(|p| {
            ScenarioError::new(p.kind, format!("scenario {}", self.name), p.message).with_key(p.key)
        })
    }
}

/// Gives a validation problem the file and the position of its key.
fn locate(problem: Problem, source: &str, file: &str) -> ScenarioError {
    let position = Index::build(source)
        .locate(problem.anchor.as_deref().unwrap_or(&problem.key))
        .map(|offset| Position::of_offset(source, offset));
    ScenarioError::new(problem.kind, file, problem.message)
        .with_key(problem.key)
        .at(position)
}

/// Turns a toml/serde error into a one-line error with position and key path.
fn serde_error(source: &str, file: &str, error: &toml::de::Error) -> ScenarioError {
    let span = error.span();
    let position = span.clone().map(|s| Position::of_offset(source, s.start));
    let message = error.message().trim();
    if toml::from_str::<toml::Table>(source).is_err() {
        return ScenarioError::new(ErrorKind::Syntax, file, format!("invalid TOML: {message}"))
            .at(position);
    }
    let index = Index::build(source);
    let mut key = span.and_then(|s| index.path_at(s)).map(str::to_owned);
    if let Some(field) = quoted_after(message, "missing field ") {
        key = Some(match key {
            Some(table) => format!("{table}.{field}"),
            None => field.to_owned(),
        });
    }
    let message = if message.contains("untagged enum ConfigValue") {
        "expected a string, integer, float or boolean".to_owned()
    } else {
        message.to_owned()
    };
    let error = ScenarioError::new(ErrorKind::Schema, file, message).at(position);
    match key {
        Some(key) => error.with_key(key),
        None => error,
    }
}

/// The text between backticks right after `prefix` in `message`.
fn quoted_after<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = message.strip_prefix(prefix)?.strip_prefix('`')?;
    rest.split('`').next()
}

#[cfg(test)]
mod doc_check;
#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
