//! Tests of parsing, errors with positions, `--set` and the built-in library.

use super::*;

/// A valid scenario; tests break one line of it.
const BASE: &str = r#"name = "bad"
title = "A test"
duration_ms = 30000

[cluster]
brokers = 3
config = { "min.insync.replicas" = 2 }

[[topics]]
name = "orders"
partitions = 1
replication_factor = 3
assignment = [[1, 2, 3]]

[[producers]]
name = "producer-1"
topic = "orders"
rate_per_s = 10
config = { acks = "all" }

[[consumers]]
name = "consumer-1"
topics = ["orders"]

[[faults]]
at_ms = 1000
action = "crash"
target = "broker-1"

[[faults]]
at_ms = 2000
action = "restart"
target = "broker-1"
"#;

const FILE: &str = "scenarios/bad.toml";

fn replace(old: &str, new: &str) -> String {
    assert!(BASE.contains(old), "{old}");
    BASE.replacen(old, new, 1)
}

fn error(source: &str) -> ScenarioError {
    parse(source, FILE).expect_err("the scenario should be rejected")
}

#[test]
fn base_parses_with_defaults() {
    let s = parse(BASE, FILE).unwrap();
    assert_eq!(s.seed, 1);
    assert_eq!(s.drain_ms, 30_000);
    assert_eq!(s.cluster.controllers, 1);
    assert_eq!(s.network.latency_ms, [1, 5]);
    assert_eq!(s.disk.tear_probability, 0.5);
    assert_eq!(
        s.protocol.switches(),
        broker_core::ProtocolSwitches::default()
    );
    assert!(s.expect.findings.is_empty());
    assert_eq!(
        s.nodes(),
        [
            "broker-1",
            "broker-2",
            "broker-3",
            "controller-1",
            "producer-1",
            "consumer-1"
        ]
    );
    assert_eq!(
        s.cluster_config()
            .unwrap()
            .topic_defaults
            .min_insync_replicas,
        2
    );
}

/// Asserts the error's kind, `line:col`, key, and that its message contains `needle`.
fn assert_error(e: &ScenarioError, kind: ErrorKind, at: (usize, usize), key: &str, needle: &str) {
    let text = e.to_string();
    assert_eq!(e.kind, kind, "{text}");
    let (line, column) = at;
    assert_eq!(e.position, Some(Position { line, column }), "{text}");
    assert_eq!(e.key.as_deref(), Some(key), "{text}");
    assert!(
        text.starts_with(&format!("{FILE}:{line}:{column}: key `{key}`: ")),
        "{text}"
    );
    assert!(text.contains(needle), "`{needle}` not in: {text}");
    assert!(!text.contains('\n'), "one line: {text}");
}

#[test]
fn unknown_top_level_key() {
    let e = error(&replace(
        "duration_ms = 30000\n",
        "duration_ms = 30000\ncolour = 1\n",
    ));
    assert_error(
        &e,
        ErrorKind::Schema,
        (4, 1),
        "colour",
        "unknown field `colour`, expected one of `name`",
    );
}

#[test]
fn unknown_key_in_a_fault() {
    let e = error(&replace(
        "target = \"broker-1\"\n\n",
        "targt = \"broker-1\"\n\n",
    ));
    assert_error(
        &e,
        ErrorKind::Schema,
        (28, 1),
        "faults[0].targt",
        "unknown field `targt`, expected one of `at_ms`, `action`, `target`",
    );
}

#[test]
fn unknown_node() {
    let e = error(&replace(
        "at_ms = 2000\naction = \"restart\"\ntarget = \"broker-1\"",
        "at_ms = 2000\naction = \"restart\"\ntarget = \"broker-7\"",
    ));
    assert_eq!(
        e.to_string(),
        "scenarios/bad.toml:33:1: key `faults[1].target`: unknown node \"broker-7\" \
         (nodes: broker-1, broker-2, broker-3, controller-1, producer-1, consumer-1)"
    );
    assert_eq!(e.kind, ErrorKind::Invalid);
    let e = error(&format!("{BASE}\n[[faults]]\nat_ms = 3000\naction = \"partition\"\nsides = [[\"broker-1\"],\n  [\"broker-2\", \"brokr-3\"]]\n"));
    assert_error(
        &e,
        ErrorKind::Invalid,
        (39, 16),
        "faults[2].sides[1][1]",
        "unknown node \"brokr-3\"",
    );
}

#[test]
fn wrong_type() {
    let e = error(&replace("brokers = 3", "brokers = \"three\""));
    assert_error(
        &e,
        ErrorKind::Schema,
        (6, 11),
        "cluster.brokers",
        "invalid type: string \"three\", expected u32",
    );
    let e = error(&replace("{ acks = \"all\" }", "{ acks = [1] }"));
    assert_error(
        &e,
        ErrorKind::Schema,
        (19, 19),
        "producers[0].config.acks",
        "expected a string, integer, float or boolean",
    );
}

#[test]
fn bad_enum_value_lists_the_choices() {
    let e = error(&replace("action = \"crash\"", "action = \"crsh\""));
    assert_error(&e, ErrorKind::Schema, (27, 10), "faults[0].action", "unknown variant `crsh`, expected one of `crash`, `power-fail`, `restart`, `shutdown`, `pause`, `resume`, `partition`, `isolate`, `cut`, `heal`, `clog`, `unclog`");
    let e = error(&format!("{BASE}\n[protocol]\ntruncation = \"epoch\"\n"));
    assert_error(
        &e,
        ErrorKind::Schema,
        (36, 14),
        "protocol.truncation",
        "expected `leader-epoch` or `high-watermark`",
    );
    let e = error(&format!(
        "{BASE}\n[expect]\nfindings = [\"lost-write\", \"lost\"]\n"
    ));
    assert_error(
        &e,
        ErrorKind::Schema,
        (36, 27),
        "expect.findings[1]",
        "unknown variant `lost`, expected one of `lost-write`",
    );
}

#[test]
fn bad_config_is_reported_by_broker_core() {
    let e = error(&replace(
        "{ acks = \"all\" }",
        "{ acks = \"all\", \"lingr.ms\" = 5 }",
    ));
    assert_error(
        &e,
        ErrorKind::Config,
        (19, 26),
        "producers[0].config.lingr.ms",
        "unknown config key (valid keys: acks, batch.size",
    );
    let e = error(&replace(
        "\"min.insync.replicas\" = 2",
        "\"min.insync.replica\" = 2",
    ));
    assert_error(
        &e,
        ErrorKind::Config,
        (7, 12),
        "cluster.config.min.insync.replica",
        "valid keys: ",
    );
    let e = error(&replace("{ acks = \"all\" }", "{ acks = \"2\" }"));
    assert_error(
        &e,
        ErrorKind::Config,
        (19, 12),
        "producers[0].config.acks",
        "\"2\" is not one of all, -1, 1, 0",
    );
    // A key that broker-core names but the file does not spell out points at the config table.
    let e = error(&replace(
        "{ acks = \"all\" }",
        "{ acks = 1, \"enable.idempotence\" = true }",
    ));
    assert_error(
        &e,
        ErrorKind::Config,
        (19, 12),
        "producers[0].config.acks",
        "must be all when enable.idempotence=true",
    );
    let e = error(&BASE.replace(
        "topics = [\"orders\"]\n",
        "topics = [\"orders\"]\nconfig = { \"session.timeout.ms\" = 1000, \"heartbeat.interval.ms\" = 3000 }\n",
    ));
    assert_error(
        &e,
        ErrorKind::Config,
        (24, 41),
        "consumers[0].config.heartbeat.interval.ms",
        "must be less than session.timeout.ms",
    );
}

#[test]
fn missing_keys_and_syntax_errors() {
    let e = error(&replace("rate_per_s = 10\n", ""));
    assert_error(
        &e,
        ErrorKind::Schema,
        (15, 1),
        "producers[0].rate_per_s",
        "missing field `rate_per_s`",
    );
    let e = error(&replace("duration_ms = 30000\n", ""));
    assert_error(
        &e,
        ErrorKind::Schema,
        (1, 1),
        "duration_ms",
        "missing field `duration_ms`",
    );
    let e = error(&replace("brokers = 3", "brokers = = 3"));
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert!(
        e.to_string()
            .starts_with("scenarios/bad.toml:6:11: invalid TOML: "),
        "{e}"
    );
    assert!(!e.to_string().contains('\n'), "{e}");
}

/// Replace this, with that: kind `Invalid` at (line, column), key, message excerpt.
type Case = (
    &'static str,
    &'static str,
    (usize, usize),
    &'static str,
    &'static str,
);

#[test]
fn semantic_errors_point_at_their_key() {
    let cases: &[Case] = &[
        (
            "replication_factor = 3",
            "replication_factor = 4",
            (12, 1),
            "topics[0].replication_factor",
            "4 is out of range 1..=3",
        ),
        (
            "[[1, 2, 3]]",
            "[[1, 2, 4]]",
            (13, 22),
            "topics[0].assignment[0][2]",
            "no broker 4 (brokers are 1..=3)",
        ),
        (
            "[[1, 2, 3]]",
            "[[1, 2, 2]]",
            (13, 22),
            "topics[0].assignment[0][2]",
            "broker 2 is listed twice",
        ),
        (
            "[[1, 2, 3]]",
            "[[1, 2]]",
            (13, 15),
            "topics[0].assignment[0]",
            "has 2 replicas but replication_factor is 3",
        ),
        (
            "topic = \"orders\"",
            "topic = \"order\"",
            (17, 1),
            "producers[0].topic",
            "unknown topic \"order\" (topics: orders)",
        ),
        (
            "topics = [\"orders\"]",
            "topics = [\"orders\", \"x\"]",
            (23, 21),
            "consumers[0].topics[1]",
            "unknown topic \"x\"",
        ),
        (
            "name = \"consumer-1\"",
            "name = \"producer-1\"",
            (22, 1),
            "consumers[0].name",
            "node name \"producer-1\" is already taken",
        ),
        (
            "name = \"producer-1\"",
            "name = \"broker-2\"",
            (16, 1),
            "producers[0].name",
            "\"broker-2\": names starting with \"broker-\" are reserved for the cluster's nodes",
        ),
        (
            "rate_per_s = 10",
            "rate_per_s = 0",
            (18, 1),
            "producers[0].rate_per_s",
            "greater than 0",
        ),
        (
            "at_ms = 2000",
            "at_ms = 40000",
            (31, 1),
            "faults[1].at_ms",
            "40000 is after duration_ms (30000)",
        ),
        (
            "action = \"crash\"",
            "action = \"cut\"",
            (27, 1),
            "faults[0].from",
            "action \"cut\" needs `from`",
        ),
        (
            "action = \"crash\"",
            "action = \"heal\"",
            (28, 1),
            "faults[0].target",
            "action \"heal\" takes nothing, not `target`",
        ),
        (
            "brokers = 3\n",
            "brokers = 3\ncontrollers = 0\n",
            (7, 1),
            "cluster.controllers",
            "0: a KRaft quorum has 1 to 5 controllers (its voters)",
        ),
    ];
    for (old, new, at, key, needle) in cases {
        let e = error(&replace(old, new));
        assert_error(&e, ErrorKind::Invalid, *at, key, needle);
    }
    let e = error(&format!(
        "{BASE}\n[network]\nlatency_ms = [5, 1]\ndrop_rate = 1.5\n"
    ));
    assert_error(
        &e,
        ErrorKind::Invalid,
        (36, 1),
        "network.latency_ms",
        "[5, 1]: min must not exceed max",
    );
    let e = error(&format!("{BASE}\n[network]\ndrop_rate = 1.5\n"));
    assert_error(
        &e,
        ErrorKind::Invalid,
        (36, 1),
        "network.drop_rate",
        "1.5 is not a probability in [0, 1]",
    );
    let e = error(&format!(
        "{BASE}\n[[faults]]\nat_ms = 3000\naction = \"partition\"\nsides = [[\"broker-1\"]]\n"
    ));
    assert_error(
        &e,
        ErrorKind::Invalid,
        (38, 1),
        "faults[2].sides",
        "at least two sides",
    );
}

#[test]
fn a_toml_file_is_named_after_its_stem() {
    // A copy of a scenario saved under another name needs no edit: the file names it.
    let s = parse(
        &BASE.replace("name = \"bad\"", "name = \"quickstart\""),
        "dir/mine.toml",
    )
    .unwrap();
    assert_eq!(s.name, "mine");
    let s = parse(&BASE.replace("name = \"bad\"\n", ""), "mine.toml").unwrap();
    assert_eq!(s.name, "mine", "no name key at all");
    // Not from a `.toml` file: the key names it, and is required.
    let s = parse(BASE, "<stdin>").unwrap();
    assert_eq!(s.name, "bad");
    let e = parse(&BASE.replace("name = \"bad\"\n", ""), "<stdin>").unwrap_err();
    assert_eq!(e.key.as_deref(), Some("name"), "{e}");
    let e = parse(
        &BASE.replace("name = \"bad\"", "name = \"Bad_One\""),
        "<stdin>",
    )
    .unwrap_err();
    assert!(e.to_string().contains("not kebab-case"), "{e}");
    // A file whose stem is not a name says to rename the file.
    let e = parse(BASE, "My Scenario.toml").unwrap_err();
    assert!(e.to_string().contains("rename the file"), "{e}");
}

#[test]
fn io_errors_name_the_file() {
    let e = load(Path::new("/nonexistent/dir/x.toml")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Io);
    assert!(
        e.to_string()
            .starts_with("/nonexistent/dir/x.toml: cannot read: "),
        "{e}"
    );
    let e = resolve("no-such-scenario").unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(e.to_string().contains("built-ins: quickstart, "), "{e}");
}

#[test]
fn set_happy_path() {
    let mut s = parse(BASE, FILE).unwrap();
    s.apply_set("seed", "7").unwrap();
    s.apply_set("duration_ms", "20000").unwrap();
    s.apply_set("cluster.config.min.insync.replicas", "1")
        .unwrap();
    s.apply_set("producers.acks", "1").unwrap();
    s.apply_set("producers[0].config.linger.ms", "10").unwrap();
    s.apply_set("producers.rate_per_s", "2.5").unwrap();
    s.apply_set("consumers.auto.offset.reset", "earliest")
        .unwrap();
    s.apply_set("consumers[0].group", "g1").unwrap();
    s.apply_set("topics.config.unclean.leader.election.enable", "true")
        .unwrap();
    s.apply_set("protocol.truncation", "high-watermark")
        .unwrap();
    s.apply_set("network.drop_rate", "0.1").unwrap();
    s.apply_set("network.latency_ms", "[5, 20]").unwrap();
    s.apply_set("expect.findings", "[\"lost-write\"]").unwrap();
    use broker_core::ConfigValue;
    assert_eq!(s.seed, 7);
    assert_eq!(s.duration_ms, 20_000);
    assert_eq!(s.cluster.config["min.insync.replicas"], ConfigValue::Int(1));
    assert_eq!(s.producers[0].config["acks"], ConfigValue::Int(1));
    assert_eq!(s.producers[0].config["linger.ms"], ConfigValue::Int(10));
    assert_eq!(s.producers[0].rate_per_s, 2.5);
    assert_eq!(
        s.consumers[0].config["auto.offset.reset"],
        ConfigValue::Str("earliest".into())
    );
    assert_eq!(s.consumers[0].group.as_deref(), Some("g1"));
    assert_eq!(
        s.topics[0].config["unclean.leader.election.enable"],
        ConfigValue::Bool(true)
    );
    assert_eq!(s.protocol.truncation, Truncation::HighWatermark);
    assert_eq!(s.network.drop_rate, 0.1);
    assert_eq!(s.network.latency_ms, [5, 20]);
    assert!(s.expect.findings.contains(&FindingKind::LostWrite));
    assert!(!s.producers[0].config.contains_key("rate_per_s"));
}

#[test]
fn set_errors_name_the_key_and_change_nothing() {
    let original = parse(BASE, FILE).unwrap();
    let mut s = original.clone();
    let cases: &[(&str, &str, &str)] = &[
        ("producers.lingr.ms", "5", "--set producers.lingr.ms=5: key `producers[0].config.lingr.ms`: unknown config key (valid keys: "),
        ("network.dropp_rate", "0.1", "--set network.dropp_rate=0.1: key `network.dropp_rate`: unknown field `dropp_rate`, expected one of `latency_ms`, `drop_rate`, `duplicate_rate`"),
        ("colour", "1", "--set colour=1: key `colour`: unknown field `colour`"),
        ("producers[3].acks", "1", "--set producers[3].acks=1: key `producers[3].acks`: no producers[3]: the scenario has 1 producers"),
        ("seed", "abc", "--set seed=abc: key `seed`: invalid type: string \"abc\", expected u64"),
        ("protocol.truncation", "sideways", "--set protocol.truncation=sideways: key `protocol.truncation`: unknown variant `sideways`, expected `leader-epoch` or `high-watermark`"),
        ("cluster.config.min.insync.replicas", "0", "--set cluster.config.min.insync.replicas=0: key `cluster.config.min.insync.replicas`: 0 is out of range 1..=2147483647"),
        ("topics.replication_factor", "5", "--set topics.replication_factor=5: key `topics[0].replication_factor`: 5 is out of range 1..=3"),
        ("faults.at_ms", "5", "--set faults.at_ms=5: key `faults.at_ms`: [[faults]] cannot be changed with --set"),
        ("seed.x", "1", "--set seed.x=1: key `seed.x`: does not name a setting"),
    ];
    for (key, value, expected) in cases {
        let e = s.apply_set(key, value).unwrap_err();
        assert!(
            e.to_string().starts_with(expected),
            "{e}\nexpected: {expected}"
        );
        assert!(e.position.is_none());
        assert_eq!(s, original, "unchanged after a failed --set {key}");
    }
}

#[test]
fn builtins_parse_and_are_named_after_their_files() {
    let all = builtins();
    assert_eq!(all[0].name, DEFAULT);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "toml")
                && !p.ends_with("Cargo.toml")
                && !p.ends_with("clippy.toml")
        })
        .map(|p| p.file_stem().unwrap().to_str().unwrap().to_owned())
        .collect();
    on_disk.sort();
    let mut names: Vec<String> = all.iter().map(|b| b.name.to_owned()).collect();
    names.sort();
    assert_eq!(names, on_disk, "every scenarios/*.toml is a built-in");
    for b in &all {
        let s = b.load().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.name, b.name);
        assert!(
            !s.summary.is_empty() && !s.captions.is_empty(),
            "{} is narrated",
            b.name
        );
        assert_eq!(resolve(b.name).unwrap(), s);
        let from_file = load(&dir.join(format!("{}.toml", b.name))).unwrap();
        assert_eq!(from_file, s);
        let again =
            parse(&s.to_toml(), &b.file()).unwrap_or_else(|e| panic!("{e}\n{}", s.to_toml()));
        assert_eq!(again, s, "{} round-trips through to_toml", b.name);
        s.validate().unwrap();
    }
    let lost = builtin("acks-1-lost-write").unwrap().load().unwrap();
    assert!(lost.expect.findings.contains(&FindingKind::LostWrite));
    let path = dir.join("quickstart.toml");
    assert_eq!(resolve(path.to_str().unwrap()).unwrap().name, "quickstart");
}

// Issue 14: inputs that used to crash or misroute are errors naming their key.

/// The error for BASE with `old` replaced by `new`: its key and message, and it fits a line.
fn key_and_message(source: &str) -> (String, String) {
    let e = error(source);
    let text = e.to_string();
    assert!(text.len() < 700 && !text.contains('\n'), "short: {text}");
    assert!(text.starts_with(FILE), "{text}");
    (e.key.expect("names a key"), e.message)
}

#[test]
fn leave_takes_a_consumer_of_a_group() {
    let leave = "target = \"broker-1\"\n\n[[faults]]\nat_ms = 3000\naction = \"leave\"\ntarget = \"consumer-1\"\n\n";
    let source = replace("target = \"broker-1\"\n\n", leave);
    let e = error(&source);
    assert_error(
        &e,
        ErrorKind::Invalid,
        (33, 1),
        "faults[1].target",
        "`leave` takes a consumer of a group, and \"consumer-1\" has none",
    );
    let grouped = source.replace(
        "topics = [\"orders\"]",
        "topics = [\"orders\"]\ngroup = \"g\"",
    );
    parse(&grouped, FILE).expect("a group member may leave");
    let by_config = source.replace(
        "topics = [\"orders\"]",
        "topics = [\"orders\"]\nconfig = { \"group.id\" = \"g\" }",
    );
    parse(&by_config, FILE).expect("group.id in the config is a group too");
}

#[test]
fn node_names_are_reserved_and_resolved_exactly() {
    for name in [
        "broker-01",
        "broker-2",
        "broker-9",
        "controller-1",
        "controller-3",
        "broker-x",
    ] {
        let (key, message) = key_and_message(&replace(
            "name = \"producer-1\"",
            &format!("name = \"{name}\""),
        ));
        assert_eq!(key, "producers[0].name", "{name}");
        assert!(
            message.contains("are reserved for the cluster's nodes"),
            "{message}"
        );
    }
    for target in [
        "broker-01",
        "broker-4",
        "broker-+1",
        "controller-2",
        "controller-01",
    ] {
        let (key, message) = key_and_message(&replace(
            "target = \"broker-1\"",
            &format!("target = \"{target}\""),
        ));
        assert_eq!(key, "faults[0].target", "{target}");
        assert!(
            message.starts_with(&format!("unknown node \"{target}\"")),
            "{message}"
        );
    }
    let mut s = parse(BASE, FILE).unwrap();
    let e = s.apply_set("producers.name", "broker-01").unwrap_err();
    assert_eq!(e.key.as_deref(), Some("producers[0].name"), "{e}");
    assert!(e.message.contains("reserved"), "{e}");
}

#[test]
fn seeds_are_the_ones_a_file_can_hold() {
    let mut s = parse(BASE, FILE).unwrap();
    s.seed = limits::SEED_MAX;
    s.validate().expect("i64::MAX is a seed");
    let again = parse(&s.to_toml(), FILE).expect("written back and read again");
    assert_eq!(again.seed, limits::SEED_MAX);
    s.seed = limits::SEED_MAX + 1;
    let e = s.validate().unwrap_err();
    assert_eq!(e.key.as_deref(), Some("seed"), "{e}");
    assert!(
        e.message
            .contains("9223372036854775808 is above the lab's limit"),
        "{e}"
    );
    assert!(s.world_spec().is_err(), "a world is never built from it");
    let mut s = parse(BASE, FILE).unwrap();
    let e = s.apply_set("seed", "9223372036854775808").unwrap_err();
    assert_eq!(e.key.as_deref(), Some("seed"), "{e}");
}

#[test]
fn counts_beyond_the_lab_s_limits_are_rejected_before_allocating() {
    let huge = u32::MAX;
    let cases: Vec<(String, &str, &str)> = vec![
        (
            replace("brokers = 3", &format!("brokers = {huge}")),
            "cluster.brokers",
            "above the lab's limit of 64",
        ),
        (
            replace("brokers = 3", "brokers = 65"),
            "cluster.brokers",
            "65 is above the lab's limit of 64",
        ),
        (
            replace(
                "brokers = 3\n",
                &format!("brokers = 3\ncontrollers = {huge}\n"),
            ),
            "cluster.controllers",
            "a KRaft quorum has 1 to 5 controllers",
        ),
        (
            replace("partitions = 1", &format!("partitions = {huge}")),
            "topics[0].partitions",
            "above the lab's limit of 1000",
        ),
        (
            replace("duration_ms = 30000", "duration_ms = 14400001"),
            "duration_ms",
            "above the lab's limit of 14400000",
        ),
        (
            replace(
                "duration_ms = 30000",
                "duration_ms = 30000\ndrain_ms = 3600001",
            ),
            "drain_ms",
            "above the lab's limit",
        ),
        (
            replace("rate_per_s = 10", "rate_per_s = 10001"),
            "producers[0].rate_per_s",
            "at most 10000",
        ),
        (
            replace("rate_per_s = 10", "rate_per_s = 10000")
                .replace("duration_ms = 30000", "duration_ms = 1100000"),
            "producers[0].rate_per_s",
            "about 11000001 records",
        ),
        (
            format!("{BASE}\n[network]\nlatency_ms = [1, 60001]\n"),
            "network.latency_ms",
            "above the lab's limit of 60000",
        ),
        (
            format!("{BASE}\n[disk]\nflush_interval_ms = 0\n"),
            "disk.flush_interval_ms",
            "at least 1",
        ),
    ];
    for (source, key, needle) in cases {
        let (k, message) = key_and_message(&source);
        assert_eq!(k, key, "{message}");
        assert!(message.contains(needle), "`{needle}` not in {message}");
    }
    // 3 topics of 1000 partitions RF 4 on 5 brokers are 12000 replicas; a fourth is too many.
    let topics = |count: usize, rf: u32| {
        let extra: String = (0..count)
            .map(|i| {
                format!(
                    "[[topics]]\nname = \"t{i}\"\npartitions = 1000\nreplication_factor = {rf}\n"
                )
            })
            .collect();
        replace("brokers = 3", "brokers = 5")
            .replace("[[producers]]", &format!("{extra}[[producers]]"))
    };
    // 1 + 4000 partitions.
    let (key, message) = key_and_message(&topics(4, 1));
    assert_eq!(key, "topics[4].partitions");
    assert!(
        message.contains("makes 4001 partitions in all topics: the lab's limit is 4000"),
        "{message}"
    );
    // 3 + 3 × 4000 replicas, then 3 + 4 × 4000.
    let (key, message) = key_and_message(&topics(4, 4));
    assert_eq!(key, "topics[3].partitions");
    assert!(
        message.contains("makes 12003 replicas in all topics"),
        "{message}"
    );
    parse(&topics(3, 1), FILE).expect("3001 partitions are within the limit");
}

#[test]
fn lists_beyond_the_lab_s_limits_are_rejected() {
    let mut s = parse(BASE, FILE).unwrap();
    let fault = s.faults[0].clone();
    s.faults = vec![fault; limits::FAULTS_MAX + 1];
    let e = s.validate().unwrap_err();
    assert_eq!(e.key.as_deref(), Some("faults[10000]"), "{e}");
    let mut s = parse(BASE, FILE).unwrap();
    let producer = s.producers[0].clone();
    s.producers = (0..=limits::CLIENTS_MAX)
        .map(|i| ProducerSpec {
            name: format!("p-{i}"),
            ..producer.clone()
        })
        .collect();
    let e = s.validate().unwrap_err();
    assert_eq!(e.key.as_deref(), Some("producers"), "{e}");
    assert!(e.message.contains("202 producers and consumers"), "{e}");
}

#[test]
fn rates_that_round_to_nothing_are_rejected() {
    let (key, message) = key_and_message(&replace("rate_per_s = 10", "rate_per_s = 0.0004"));
    assert_eq!(key, "producers[0].rate_per_s");
    assert!(
        message.contains("0.0004 rounds to no record at all: the lowest rate is 0.001"),
        "{message}"
    );
    let s = parse(&replace("rate_per_s = 10", "rate_per_s = 0.0005"), FILE).expect("rounds to 1");
    assert_eq!(s.world_spec().unwrap().producers[0].rate_per_s_milli, 1);
}

#[test]
fn errors_echo_long_input_short() {
    let long = "a".repeat(5 << 20);
    for (old, new, key) in [
        (
            "target = \"broker-1\"",
            format!("target = \"broker-{long}\""),
            "faults[0].target",
        ),
        (
            "name = \"producer-1\"",
            format!("name = \"P{long}\""),
            "producers[0].name",
        ),
        (
            "topic = \"orders\"",
            format!("topic = \"{long}\""),
            "producers[0].topic",
        ),
        (
            "acks = \"all\"",
            format!("acks = \"{long}\""),
            "producers[0].config.acks",
        ),
        (
            "action = \"crash\"",
            format!("action = \"{long}\""),
            "faults[0].action",
        ),
    ] {
        let e = error(&replace(old, &new));
        let text = e.to_string();
        assert_eq!(
            e.key.as_deref(),
            Some(key),
            "{}",
            &text[..200.min(text.len())]
        );
        assert!(text.len() < 700, "{} bytes: {}", text.len(), &text[..700]);
        assert!(text.contains("bytes)"), "says how long: {text}");
    }
    let mut s = parse(BASE, FILE).unwrap();
    let e = s.apply_set("producers.acks", &long).unwrap_err();
    assert!(e.to_string().len() < 700, "{}", &e.to_string()[..700]);
}

#[test]
fn a_file_that_is_not_utf8_is_a_syntax_error_at_its_line() {
    let dir = std::env::temp_dir().join(format!("scenarios-utf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    let mut bytes = BASE.as_bytes().to_vec();
    let at = BASE.find("rate_per_s").unwrap();
    bytes.insert(at + 3, 0xff);
    std::fs::write(&path, bytes).unwrap();
    let e = load(&path).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Syntax, "{e}");
    assert_eq!(
        e.position,
        Some(Position {
            line: 18,
            column: 4
        }),
        "{e}"
    );
    assert!(
        e.to_string()
            .ends_with("bad.toml:18:4: not UTF-8 text: byte 0xff"),
        "{e}"
    );
}

/// A scenario changed in code is checked again before a world is built from it: the huge
/// count is an error, not an allocation of hundreds of gigabytes.
#[test]
fn world_spec_checks_a_scenario_changed_in_code() {
    let mut s = parse(BASE, FILE).unwrap();
    s.cluster.brokers = u32::MAX;
    let e = s.world_spec().unwrap_err();
    assert_eq!(e.key.as_deref(), Some("cluster.brokers"), "{e}");
    let mut s = parse(BASE, FILE).unwrap();
    s.topics[0].partitions = u32::MAX;
    s.topics[0].assignment = None;
    let e = s.world_spec().unwrap_err();
    assert_eq!(e.key.as_deref(), Some("topics[0].partitions"), "{e}");
}

#[test]
fn names_longer_than_the_lab_s_limit_are_rejected() {
    let at_limit = format!("p{}", "-x".repeat((crate::limits::NAME_LEN_MAX - 1) / 2));
    assert!(at_limit.len() <= crate::limits::NAME_LEN_MAX);
    parse(
        &replace("name = \"producer-1\"", &format!("name = \"{at_limit}\"")),
        FILE,
    )
    .expect("a name at the limit is accepted");
    // Kebab-case, so only its length is wrong: it used to be accepted and made every history
    // entry and finding of the run carry it (a 5 MB name took 3 GB).
    let long = format!("p{}", "-x".repeat(crate::limits::NAME_LEN_MAX));
    for (old, new, key) in [
        (
            "name = \"producer-1\"",
            format!("name = \"{long}\""),
            "producers[0].name",
        ),
        (
            "name = \"consumer-1\"",
            format!("name = \"{long}\""),
            "consumers[0].name",
        ),
        (
            "topics = [\"orders\"]",
            format!("topics = [\"orders\"]\ngroup = \"{long}\""),
            "consumers[0].group",
        ),
    ] {
        let e = error(&replace(old, &new));
        assert_eq!(e.key.as_deref(), Some(key), "{e}");
        assert!(e.to_string().contains("lab's limit of 64 bytes"), "{e}");
    }
}

// ---- Dynamic fault targets (`active-controller`, `leader:TOPIC-P`) ----

/// The base with its crash and restart aimed at `target`.
fn with_target(target: &str) -> String {
    BASE.replace("target = \"broker-1\"", &format!("target = \"{target}\""))
}

#[test]
fn dynamic_targets_build_to_faults_on_roles() {
    let orders_0 = sim::Role::Leader {
        tp: broker_core::TopicPartition::new(&broker_core::Topic::new("orders"), 0),
    };
    for (target, role) in [
        ("leader:orders-0", orders_0),
        ("active-controller", sim::Role::ActiveController),
    ] {
        let spec = parse(&with_target(target), FILE)
            .unwrap()
            .world_spec()
            .unwrap();
        let actions: Vec<_> = spec.faults.iter().map(|f| f.action.clone()).collect();
        let on = |fault| sim::FaultAction::OnRole {
            fault,
            role: role.clone(),
        };
        assert_eq!(
            actions,
            [on(sim::RoleFault::Crash), on(sim::RoleFault::Restart)],
            "{target}"
        );
    }
}

#[test]
fn a_dynamic_target_must_name_a_partition_of_the_scenario() {
    let cases = [
        (
            "leader:payments-0",
            "unknown topic \"payments\" (topics: orders)",
        ),
        (
            "leader:orders-1",
            "topic \"orders\" has no partition 1 (it has 1: 0..=0)",
        ),
        ("leader:orders-01", "is not TOPIC-PARTITION"),
        ("leader:orders", "is not TOPIC-PARTITION"),
    ];
    for (target, needle) in cases {
        let e = error(&with_target(target));
        assert_error(&e, ErrorKind::Invalid, (28, 1), "faults[0].target", needle);
    }
}

#[test]
fn only_process_and_link_faults_take_a_dynamic_target() {
    let e = error(&format!(
        "{BASE}\n[[faults]]\nat_ms = 3000\naction = \"produce\"\ntarget = \"leader:orders-0\"\n"
    ));
    assert_eq!(e.key.as_deref(), Some("faults[2].target"), "{e}");
    assert!(e.message.contains("`produce` takes a node"), "{e}");
    let clash = with_target("active-controller")
        .replace("name = \"consumer-1\"", "name = \"active-controller\"");
    let e = error(&clash);
    assert!(
        e.to_string().contains("both a client and a dynamic target"),
        "{e}"
    );
}

#[test]
fn tombstones_need_keys_and_a_period_of_at_least_one() {
    let (key, message) = key_and_message(&replace(
        "rate_per_s = 10",
        "rate_per_s = 10\ntombstone_every = 3",
    ));
    assert_eq!(key, "producers[0].tombstone_every");
    assert!(message.contains("set `keys`"), "{message}");
    let (key, _) = key_and_message(&replace(
        "rate_per_s = 10",
        "rate_per_s = 10\nkeys = 4\ntombstone_every = 0",
    ));
    assert_eq!(key, "producers[0].tombstone_every");
    assert!(parse(
        &replace(
            "rate_per_s = 10",
            "rate_per_s = 10\nkeys = 4\ntombstone_every = 3"
        ),
        FILE
    )
    .is_ok());
}

#[test]
fn a_key_prefix_is_short_and_has_no_spaces() {
    let long = "x".repeat(limits::KEY_PREFIX_CHARS_MAX + 1);
    for bad in [String::new(), "a b".to_owned(), long] {
        let source = replace(
            "rate_per_s = 10",
            &format!("rate_per_s = 10\nkey_prefix = \"{bad}\""),
        );
        let (key, _) = key_and_message(&source);
        assert_eq!(key, "producers[0].key_prefix");
    }
}
