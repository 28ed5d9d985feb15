//! `--set key=value`: change one setting of a parsed scenario, then check it again.

use crate::error::{echo, ErrorKind, ScenarioError};
use crate::format::Scenario;
use toml::Value;

/// One `--set KEY=VALUE` applied to a scenario, as given (key and value trimmed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override {
    /// The key, like `protocol.truncation`.
    pub key: String,
    /// The value as written.
    pub value: String,
}

impl Override {
    /// Whether it changes what the scenario runs, and so takes the run off the scenario's
    /// script: its captions no longer describe the run and its `[expect]` is not judged.
    /// `seed` (like `--seed`: a scenario's `[expect]` holds over seeds) and `expect.*` (what is
    /// expected, not what runs) do not; every other key does, even one that happens to leave
    /// the run as it was: the simplest rule that never judges a changed scenario.
    pub fn changes_the_run(&self) -> bool {
        !(self.key == "seed" || self.key == "expect" || self.key.starts_with("expect."))
    }
}

impl std::fmt::Display for Override {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "--set {}={}", echo(&self.key), echo(&self.value))
    }
}

/// One step of a path into the scenario's TOML tree.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

const TOPIC_FIELDS: &[&str] = &["name", "partitions", "replication_factor", "assignment"];
const PRODUCER_FIELDS: &[&str] = &[
    "name",
    "topic",
    "rate_per_s",
    "records",
    "keys",
    "start_ms",
    "stop_ms",
];
const CONSUMER_FIELDS: &[&str] = &[
    "name",
    "topics",
    "group",
    "start_ms",
    "processing_ms_per_record",
];

impl Scenario {
    /// Applies `--set key=value`. `value` is read like a TOML value (integer, float, boolean,
    /// array, quoted string), else taken as a bare string. Keys:
    ///
    /// - top-level and table fields: `seed`, `duration_ms`, `network.drop_rate`,
    ///   `protocol.truncation`, `disk.flush_interval_ms`, `expect.findings`, ...;
    /// - broker config: `cluster.config.min.insync.replicas`;
    /// - every topic, producer or consumer: `topics.partitions`, `producers.acks` (a name that is
    ///   not a field of the table is a config key), `producers.config.acks`;
    /// - one of them: `producers[0].config.acks`, `consumers[1].group`.
    ///
    /// The scenario is checked again; on error it is left unchanged.
    pub fn apply_set(&mut self, key: &str, value: &str) -> Result<(), ScenarioError> {
        let origin = format!("--set {}={}", echo(key), echo(value));
        let fail = |kind: ErrorKind, message: String| {
            ScenarioError::new(kind, &origin, message).with_key(key)
        };
        let paths = self
            .set_paths(key)
            .map_err(|message| fail(ErrorKind::Set, message))?;
        let mut tree = Value::try_from(&*self).map_err(|e| {
            fail(
                ErrorKind::Set,
                format!("cannot serialize the scenario: {e}"),
            )
        })?;
        let value_text = value;
        let value = parse_value(value);
        for path in &paths {
            set_in(&mut tree, path, value.clone()).map_err(|m| fail(ErrorKind::Set, m))?;
        }
        let mut updated: Scenario = tree
            .try_into()
            .map_err(|e: toml::de::Error| fail(ErrorKind::Schema, e.message().to_owned()))?;
        updated
            .check(None)
            .map_err(|p| ScenarioError::new(p.kind, &origin, p.message).with_key(p.key))?;
        updated.overrides = self.overrides.clone();
        updated.overrides.push(Override {
            key: key.to_owned(),
            value: value_text.to_owned(),
        });
        *self = updated;
        Ok(())
    }

    /// The paths in the TOML tree that `key` names.
    fn set_paths(&self, key: &str) -> Result<Vec<Vec<Step>>, String> {
        if key.is_empty() {
            return Err("empty key".to_owned());
        }
        if let Some(config_key) = key.strip_prefix("cluster.config.") {
            return Ok(vec![steps(&["cluster", "config", config_key])]);
        }
        let (head, rest) = key.split_once('.').unwrap_or((key, ""));
        let (section, index) = match head.split_once('[') {
            Some((section, tail)) => {
                let index = tail
                    .strip_suffix(']')
                    .and_then(|i| i.parse::<usize>().ok())
                    .ok_or_else(|| format!("bad index in `{}`", echo(head)))?;
                (section, Some(index))
            }
            None => (head, None),
        };
        let (len, fields) = match section {
            "topics" => (self.topics.len(), TOPIC_FIELDS),
            "producers" => (self.producers.len(), PRODUCER_FIELDS),
            "consumers" => (self.consumers.len(), CONSUMER_FIELDS),
            "faults" | "captions" => {
                return Err(format!("[[{section}]] cannot be changed with --set"))
            }
            _ if index.is_some() => return Err(format!("`{}` is not a list", echo(section))),
            _ => {
                return Ok(vec![key
                    .split('.')
                    .map(|k| Step::Key(k.to_owned()))
                    .collect()])
            }
        };
        if rest.is_empty() {
            return Err(format!(
                "names the whole of `{section}`; name a field or config key, like `{section}.config.KEY`"
            ));
        }
        let tail: Vec<&str> = match rest.strip_prefix("config.") {
            Some(config_key) => vec!["config", config_key],
            None if fields.contains(&rest) => vec![rest],
            None => vec!["config", rest],
        };
        let indices: Vec<usize> = match index {
            Some(i) if i < len => vec![i],
            Some(i) => {
                return Err(format!(
                    "no {section}[{i}]: the scenario has {len} {section}"
                ))
            }
            None if len == 0 => return Err(format!("the scenario has no {section}")),
            None => (0..len).collect(),
        };
        Ok(indices
            .into_iter()
            .map(|i| {
                let mut path = vec![Step::Key(section.to_owned()), Step::Index(i)];
                path.extend(steps(&tail));
                path
            })
            .collect())
    }
}

fn steps(keys: &[&str]) -> Vec<Step> {
    keys.iter().map(|k| Step::Key((*k).to_owned())).collect()
}

/// A TOML value if `text` is one, else the text as a string (`all`, `high-watermark`).
fn parse_value(text: &str) -> Value {
    toml::from_str::<toml::Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(text.to_owned()))
}

/// Sets `value` at `path`, creating missing tables on the way.
fn set_in(tree: &mut Value, path: &[Step], value: Value) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        return Err("empty key".to_owned());
    };
    let mut node = tree;
    for step in parents {
        node = match (step, node) {
            (Step::Key(k), Value::Table(t)) => t
                .entry(k.clone())
                .or_insert_with(|| Value::Table(toml::Table::new())),
            (Step::Index(i), Value::Array(a)) => a
                .get_mut(*i)
                .ok_or_else(|| format!("index {i} is out of range"))?,
            (Step::Key(k), _) => {
                return Err(format!(
                    "`{}` is inside a value that is not a table",
                    echo(k)
                ))
            }
            (Step::Index(i), _) => {
                return Err(format!("[{i}] is inside a value that is not a list"))
            }
        };
    }
    match (last, node) {
        (Step::Key(k), Value::Table(t)) => {
            t.insert(k.clone(), value);
            Ok(())
        }
        _ => Err("does not name a setting".to_owned()),
    }
}
