//! `docs/scenario-format.md` stays true of the code: every key of every table, every
//! configuration key, every fault action and every finding kind has a row in its section, and
//! every default the document gives in backticks is the code's default. The lists come from the
//! code itself (serde's "expected one of" and the config parsers' lists of valid keys), so a key
//! added to the format without a row in the document fails here.

use crate::format::Scenario;
use broker_core::{
    ClusterConfig, ConfigError, ConfigMap, ConfigValue, ConsumerConfig, ProducerConfig,
    ProtocolSwitches, TopicConfig,
};

const DOC: &str = include_str!("../../docs/scenario-format.md");

/// A document that parses: the least a scenario needs.
const MINIMAL: &str = "title = \"t\"\nduration_ms = 1000\n[cluster]\nbrokers = 1\n";

/// The text of the section whose heading contains `marker`, up to the next heading.
fn section(marker: &str) -> &'static str {
    let start = DOC
        .match_indices('#')
        .map(|(i, _)| i)
        .find(|&i| {
            (i == 0 || DOC.as_bytes()[i - 1] == b'\n')
                && DOC[i..].lines().next().is_some_and(|l| l.contains(marker))
        })
        .unwrap_or_else(|| panic!("docs/scenario-format.md has no section {marker}"));
    let body = &DOC[start..];
    let heading_end = body.find('\n').unwrap_or(body.len());
    let end = body[heading_end..]
        .find("\n#")
        .map_or(body.len(), |e| heading_end + e);
    &body[..end]
}

/// The first cell of every table row in a section: `| `key` | ...` gives `key`.
fn rows(section: &str) -> Vec<(&str, Vec<&str>)> {
    section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| {
            let (key, rest) = l.split_once("` |")?;
            Some((key, rest.split(" | ").map(str::trim).collect()))
        })
        .collect()
}

fn assert_rows(marker: &str, names: &[String]) {
    let rows = rows(section(marker));
    assert!(!names.is_empty(), "{marker}: nothing to check");
    for name in names {
        assert!(
            rows.iter().any(|(key, _)| key == name),
            "docs/scenario-format.md, section {marker}: no row for `{name}`"
        );
    }
}

/// The names serde lists after "expected one of" (or "expected") in an error message.
fn expected_names(message: &str) -> Vec<String> {
    let list = message
        .split_once("expected one of ")
        .or_else(|| message.split_once("expected "))
        .map(|(_, l)| l)
        .unwrap_or_else(|| panic!("no list in: {message}"));
    // "`a`", "`a` or `b`", "`a`, `b`, `c`"
    list.split(", ")
        .flat_map(|n| n.split(" or "))
        .map(|n| n.trim().trim_matches('`').to_owned())
        .collect()
}

/// The fields of the table `header` (empty for the top level), from the error on an unknown one.
fn fields(header: &str) -> Vec<String> {
    let source = match header {
        "" => format!("zzz_unknown = 1\n{MINIMAL}"),
        // MINIMAL ends in `[cluster]`: the unknown key goes into it.
        "[cluster]" => format!("{MINIMAL}zzz_unknown = 1\n"),
        _ => format!("{MINIMAL}{header}\nzzz_unknown = 1\n"),
    };
    let error = toml::from_str::<Scenario>(&source).expect_err("an unknown field");
    expected_names(error.message())
}

fn config_keys(result: Result<impl std::fmt::Debug, ConfigError>) -> Vec<String> {
    match result {
        Err(ConfigError::UnknownKey { valid, .. }) => {
            valid.split(", ").map(str::to_owned).collect()
        }
        other => panic!("expected an unknown key error, got {other:?}"),
    }
}

fn unknown() -> ConfigMap {
    ConfigMap::from([("zzz.unknown".to_owned(), ConfigValue::Int(1))])
}

#[test]
fn every_key_of_every_table_has_a_row() {
    assert_rows("Top level", &fields(""));
    assert_rows("`[cluster]`", &fields("[cluster]"));
    for table in ["protocol", "network", "disk", "expect"] {
        assert_rows(&format!("`[{table}]`"), &fields(&format!("[{table}]")));
    }
    for table in ["topics", "producers", "consumers", "faults", "captions"] {
        assert_rows(&format!("`[[{table}]]`"), &fields(&format!("[[{table}]]")));
    }
}

#[test]
fn every_configuration_key_has_a_row() {
    let today = ProtocolSwitches::default();
    let cluster = config_keys(ClusterConfig::parse(&unknown(), today));
    assert_rows("`[cluster.config]`", &cluster);
    let defaults = ClusterConfig::parse(&ConfigMap::new(), today).expect("defaults");
    let topic = config_keys(TopicConfig::parse(&unknown(), &defaults.topic_defaults));
    assert_rows("`[topics.config]`", &topic);
    assert_rows(
        "`[producers.config]`",
        &config_keys(ProducerConfig::parse(&unknown())),
    );
    assert_rows(
        "`[consumers.config]`",
        &config_keys(ConsumerConfig::parse(&unknown())),
    );
}

#[test]
fn every_fault_action_and_finding_kind_has_a_row() {
    let source = format!("{MINIMAL}[[faults]]\nat_ms = 0\naction = \"zzz\"\n");
    let error = toml::from_str::<Scenario>(&source).expect_err("an unknown action");
    let actions = expected_names(error.message());
    assert!(actions.contains(&"power-fail".to_owned()), "{actions:?}");
    assert_rows("`[[faults]]`", &actions);
    let kinds: Vec<String> = sim::FindingKind::ALL
        .iter()
        .map(|k| k.as_str().to_owned())
        .collect();
    assert_rows("Finding kinds", &kinds);
}

/// A default in backticks, as a config value: `5`, `true`, `all`.
fn value(default: &str) -> Option<ConfigValue> {
    let inner = default.strip_prefix('`')?.strip_suffix('`')?;
    if inner == "\"\"" {
        return None; // an empty name is "no name", not a value
    }
    let table: toml::Table = toml::from_str(&format!("v = {inner}"))
        .unwrap_or_else(|_| toml::Table::from_iter([("v".to_owned(), inner.into())]));
    table.get("v")?.clone().try_into().ok()
}

/// Setting a key to its documented default changes nothing: the default is the code's.
fn assert_config_defaults<C: PartialEq + std::fmt::Debug>(
    marker: &str,
    parse: impl Fn(&ConfigMap) -> Result<C, ConfigError>,
) {
    let empty = parse(&ConfigMap::new()).expect("defaults parse");
    let mut checked = 0;
    for (key, cells) in rows(section(marker)) {
        let Some(default) = cells.first().and_then(|d| value(d)) else {
            continue; // "none", "the cluster's", `""`: not a value to set
        };
        let map = ConfigMap::from([(key.to_owned(), default.clone())]);
        let set = parse(&map).unwrap_or_else(|e| panic!("{marker} `{key}` = {default}: {e}"));
        assert_eq!(
            set, empty,
            "{marker}: `{key}`'s documented default {default} is not the code's"
        );
        checked += 1;
    }
    assert!(checked >= 2, "{marker}: checked {checked} defaults");
}

#[test]
fn documented_configuration_defaults_are_the_codes() {
    let today = ProtocolSwitches::default();
    assert_config_defaults("`[cluster.config]`", |m| ClusterConfig::parse(m, today));
    assert_config_defaults("`[producers.config]`", ProducerConfig::parse);
    assert_config_defaults("`[consumers.config]`", ConsumerConfig::parse);
}

#[test]
fn documented_format_defaults_are_the_codes() {
    let minimal: Scenario = toml::from_str(MINIMAL).expect("minimal parses");
    // Top-level keys go before the first table.
    let mut checked = 0;
    for (key, cells) in rows(section("Top level")) {
        let Some(default) = cells.get(1).filter(|d| d.starts_with('`')) else {
            continue;
        };
        let source = format!("{key} = {}\n{MINIMAL}", default.trim_matches('`'));
        let set: Scenario = toml::from_str(&source).unwrap_or_else(|e| panic!("{key}: {e}"));
        assert_eq!(
            set, minimal,
            "top level: `{key}`'s documented default {default}"
        );
        checked += 1;
    }
    for table in ["cluster", "protocol", "network", "disk"] {
        let marker = format!("`[{table}]`");
        let column = if table == "protocol" { 0 } else { 1 };
        for (key, cells) in rows(section(&marker)) {
            let Some(default) = cells.get(column).filter(|d| d.starts_with('`')) else {
                continue;
            };
            if key == "config" {
                continue;
            }
            let line = format!("{key} = {}", default.trim_matches('`'));
            // MINIMAL ends in `[cluster]`: a cluster key goes into it.
            let source = match table {
                "cluster" => format!("{MINIMAL}{line}\n"),
                _ => format!("{MINIMAL}[{table}]\n{line}\n"),
            };
            let set: Scenario =
                toml::from_str(&source).unwrap_or_else(|e| panic!("{marker} {key}: {e}"));
            assert_eq!(
                set, minimal,
                "{marker}: `{key}`'s documented default {default}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 12, "checked {checked} defaults");
}
