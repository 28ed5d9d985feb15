//! Fuzzing the front door: arbitrary scenario documents (the built-ins, mutated: keys deleted,
//! values of the wrong type, zero, negative, huge, long strings, node-like names, garbage bytes)
//! and arbitrary `--set KEY=VALUE` pairs go through parse → validate → run with a small event
//! budget. Nothing may panic, and every rejection names a key (or, for TOML syntax, a line).
//!
//! Bounded: a fixed seed and 256 cases (`PROPTEST_CASES` raises it for a sweep by hand).

use crate::{builtins, parse, ErrorKind, Scenario, ScenarioError};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use toml::Value;

/// Events a fuzzed run may take: enough to start the cluster and the clients.
const EVENTS: u64 = 3_000;

/// One change to a document.
#[derive(Clone, Debug)]
enum Mutation {
    /// Delete the entry at this index of the document's entries.
    Delete(usize),
    /// Replace it with this value.
    Replace(usize, Value),
    /// Set the integer at this index of the document's integers (the type kept).
    Number(usize, i64),
    /// Insert these bytes at this fraction (per mille) of the text.
    Garbage(u32, String),
}

fn values() -> impl Strategy<Value = Value> {
    let long = "x".repeat(10_000);
    prop_oneof![
        Just(Value::Integer(0)),
        Just(Value::Integer(-1)),
        Just(Value::Integer(i64::MAX)),
        Just(Value::Integer(i64::MIN)),
        Just(Value::Integer(u32::MAX.into())),
        Just(Value::Integer(i64::from(u32::MAX) + 1)),
        Just(Value::Integer(65)),
        Just(Value::Float(0.0004)),
        Just(Value::Float(-0.5)),
        Just(Value::Float(1e300)),
        Just(Value::Float(f64::NAN)),
        Just(Value::Boolean(true)),
        Just(Value::String(String::new())),
        Just(Value::String(long)),
        Just(Value::String("broker-01".into())),
        Just(Value::String("broker-2".into())),
        Just(Value::String("controller-3".into())),
        Just(Value::String("leave".into())),
        Just(Value::Array(Vec::new())),
        Just(Value::Table(toml::Table::new())),
        any::<i64>().prop_map(Value::Integer),
        "[a-z0-9-]{0,12}".prop_map(Value::String),
    ]
}

/// Numbers of the right type, from nothing to a lot.
const NUMBERS: [i64; 9] = [0, 1, 2, 3, 7, 64, 1000, 60_000, 1_000_000];

fn mutation() -> impl Strategy<Value = Mutation> {
    // Weighted so that a good share of the documents still pass validation and run.
    prop_oneof![
        2 => any::<usize>().prop_map(Mutation::Delete),
        4 => (any::<usize>(), values()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        6 => (any::<usize>(), prop::sample::select(NUMBERS.to_vec()))
            .prop_map(|(i, n)| Mutation::Number(i, n)),
        1 => (
            0..1000u32,
            prop_oneof![
                Just("\0".to_owned()),
                Just("[[".to_owned()),
                Just("= =".to_owned()),
                Just("\"".to_owned()),
                ".{1,8}"
            ]
        )
            .prop_map(|(at, g)| Mutation::Garbage(at, g)),
    ]
}

/// The paths of every entry of a TOML tree, in document order (deterministic: toml's tables
/// are ordered maps).
/// `pick` says which entries count.
fn paths(
    value: &Value,
    pick: fn(&Value) -> bool,
    prefix: &mut Vec<Step>,
    out: &mut Vec<Vec<Step>>,
) {
    let children: Vec<(Step, &Value)> = match value {
        Value::Table(t) => t.iter().map(|(k, v)| (Step::Key(k.clone()), v)).collect(),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, v)| (Step::Index(i), v))
            .collect(),
        _ => return,
    };
    for (step, child) in children {
        prefix.push(step);
        if pick(child) {
            out.push(prefix.clone());
        }
        paths(child, pick, prefix, out);
        prefix.pop();
    }
}

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

/// The entry at `path`'s parent, and `path`'s last step.
fn edit(tree: &mut Value, path: &[Step], replacement: Option<Value>) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = tree;
    for step in parents {
        node = match (step, node) {
            (Step::Key(k), Value::Table(t)) => t.get_mut(k).expect("a path of this tree"),
            (Step::Index(i), Value::Array(a)) => &mut a[*i],
            _ => unreachable!("a path of this tree"),
        };
    }
    match (last, node, replacement) {
        (Step::Key(k), Value::Table(t), Some(v)) => {
            t.insert(k.clone(), v);
        }
        (Step::Key(k), Value::Table(t), None) => {
            t.remove(k);
        }
        (Step::Index(i), Value::Array(a), Some(v)) => a[*i] = v,
        (Step::Index(i), Value::Array(a), None) => {
            a.remove(*i);
        }
        _ => unreachable!("a path of this tree"),
    }
}

/// A built-in's text with `mutations` applied.
fn document(builtin: usize, mutations: &[Mutation]) -> String {
    let all = builtins();
    let source = all[builtin % all.len()].source;
    let mut tree: Value = toml::from_str(source).expect("a built-in is TOML");
    let mut garbage = Vec::new();
    for m in mutations {
        let mut found = Vec::new();
        let pick: fn(&Value) -> bool = match m {
            // What a replacement mostly hits: a plain value.
            Mutation::Replace(..) => |v| !matches!(v, Value::Table(_) | Value::Array(_)),
            Mutation::Number(..) => |v| matches!(v, Value::Integer(_)),
            _ => |_| true,
        };
        paths(&tree, pick, &mut Vec::new(), &mut found);
        if found.is_empty() {
            continue;
        }
        match m {
            Mutation::Delete(i) => edit(&mut tree, &found[i % found.len()], None),
            Mutation::Replace(i, v) => edit(&mut tree, &found[i % found.len()], Some(v.clone())),
            Mutation::Number(i, n) => {
                edit(&mut tree, &found[i % found.len()], Some(Value::Integer(*n)))
            }
            Mutation::Garbage(at, bytes) => garbage.push((*at, bytes.clone())),
        }
    }
    // An array of mixed types (a table among integers) cannot be written: keep the tree as is.
    let mut text = toml::to_string(&tree).unwrap_or_else(|_| source.to_owned());
    for (at, bytes) in garbage {
        let mut offset = text.len() * at as usize / 1000;
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        text.insert_str(offset, &bytes);
    }
    text
}

/// Every rejection names a key, or the line of a TOML syntax error; it is one short line.
fn assert_good_error(e: &ScenarioError) {
    let text = e.to_string();
    assert!(
        !text.contains('\n') && text.len() < 1000,
        "one short line: {text}"
    );
    match e.kind {
        ErrorKind::Syntax => assert!(e.position.is_some(), "a line: {text}"),
        _ => assert!(e.key.is_some(), "a key: {text}"),
    }
}

/// Runs a scenario that passed validation for a few thousand events, and judges it.
fn run_briefly(scenario: &Scenario) {
    let mut spec = scenario.world_spec().expect("a valid scenario builds");
    spec.events_max = EVENTS;
    let mut world = sim::World::new(spec);
    world.run_to_end();
    let _ = crate::judge(scenario, world);
}

fn set_keys() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "seed",
            "duration_ms",
            "drain_ms",
            "cluster.brokers",
            "cluster.controllers",
            "cluster.config.min.insync.replicas",
            "cluster.config.offsets.topic.num.partitions",
            "topics.partitions",
            "topics.replication_factor",
            "topics[0].name",
            "producers.rate_per_s",
            "producers.name",
            "producers.records",
            "producers.acks",
            "producers.config.linger.ms",
            "consumers.group",
            "consumers.name",
            "consumers[0].processing_ms_per_record",
            "network.latency_ms",
            "network.drop_rate",
            "disk.flush_interval_ms",
            "protocol.truncation",
            "expect.findings",
            "faults.at_ms",
        ])
        .prop_map(str::to_owned),
        "[a-z_.\\[\\]0-9]{0,24}",
    ]
}

fn set_values() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "0",
            "-1",
            "1",
            "3",
            "65",
            "4294967295",
            "9223372036854775807",
            "9223372036854775808",
            "0.0004",
            "nan",
            "inf",
            "true",
            "\"\"",
            "[]",
            "[1, 2]",
            "{}",
            "broker-01",
            "controller-2",
            "high-watermark",
            "all",
        ])
        .prop_map(str::to_owned),
        ".{0,16}",
    ]
}

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(14),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzzed_documents_are_run_or_rejected_with_a_key(
        builtin in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..3),
    ) {
        let text = document(builtin, &mutations);
        match parse(&text, "fuzzed") {
            Ok(scenario) => run_briefly(&scenario),
            Err(e) => assert_good_error(&e),
        }
    }

    #[test]
    fn fuzzed_sets_are_applied_or_rejected_with_a_key(
        builtin in any::<usize>(),
        sets in prop::collection::vec((set_keys(), set_values()), 1..4),
    ) {
        let all = builtins();
        let mut scenario = all[builtin % all.len()].load().expect("a built-in is valid");
        for (key, value) in &sets {
            let before = scenario.clone();
            match scenario.apply_set(key, value) {
                Ok(()) => {}
                Err(e) => {
                    assert_good_error(&e);
                    prop_assert_eq!(&scenario, &before, "unchanged by a failed --set");
                }
            }
        }
        run_briefly(&scenario);
    }
}
