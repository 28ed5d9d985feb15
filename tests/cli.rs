//! The binary as a user runs it: exit codes, one-line errors, JSON and trace output.

use std::path::PathBuf;
use std::process::{Command, Output};

fn kafka_lab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kafka-lab"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn temp_file(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kafka-lab-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    // A scenario is named after its file stem (the `name` key is replaced by it).
    let stem = name.trim_end_matches(".toml");
    std::fs::write(
        &path,
        contents.replace("name = \"tiny\"", &format!("name = \"{stem}\"")),
    )
    .expect("write temp file");
    path
}

const VALID: &str = r#"name = "tiny"
title = "tiny"
duration_ms = 2000
drain_ms = 2000

[cluster]
brokers = 3

[[topics]]
name = "t"
partitions = 1
replication_factor = 3

[[producers]]
name = "producer-1"
topic = "t"
rate_per_s = 10
"#;

fn assert_bad_input(output: &Output, needles: &[&str]) {
    let err = stderr(output);
    assert_eq!(
        output.status.code(),
        Some(2),
        "exit status 2 on bad input: {err}"
    );
    assert!(!err.contains("panicked"), "no Rust panic: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} in {err}");
    }
}

#[test]
fn a_valid_file_runs_and_meets_its_expect() {
    let path = temp_file("tiny.toml", VALID);
    let output = kafka_lab(&["run", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Partitions at the end"), "{stdout}");
    assert!(stdout.contains("met"), "{stdout}");
}

#[test]
fn unknown_key_names_file_line_and_key() {
    let path = temp_file(
        "typo.toml",
        &VALID.replace("rate_per_s = 10", "rate_per_s = 10\nrate_per_sec = 5"),
    );
    let output = kafka_lab(&["run", path.to_str().unwrap()]);
    assert_bad_input(&output, &["typo.toml:18:", "rate_per_sec"]);
}

#[test]
fn unknown_broker_name_is_named() {
    let faults = "\n[[faults]]\nat_ms = 1000\naction = \"crash\"\ntarget = \"broker-7\"\n";
    let path = temp_file("unknown-node.toml", &format!("{VALID}{faults}"));
    let output = kafka_lab(&["run", path.to_str().unwrap()]);
    assert_bad_input(
        &output,
        &["unknown-node.toml:22:", "faults[0].target", "broker-7"],
    );
}

#[test]
fn wrong_type_is_named() {
    let path = temp_file(
        "wrong-type.toml",
        &VALID.replace("brokers = 3", "brokers = \"three\""),
    );
    let output = kafka_lab(&["run", path.to_str().unwrap()]);
    assert_bad_input(&output, &["wrong-type.toml:7:", "brokers"]);
}

#[test]
fn bad_config_key_is_named() {
    let path = temp_file(
        "bad-config.toml",
        &VALID.replace(
            "brokers = 3",
            "brokers = 3\nconfig = { \"min.insync.replica\" = 2 }",
        ),
    );
    let output = kafka_lab(&["run", path.to_str().unwrap()]);
    assert_bad_input(&output, &["bad-config.toml:8:", "min.insync.replica"]);
}

#[test]
fn bad_set_and_unknown_scenario_exit_2() {
    assert_bad_input(
        &kafka_lab(&["run", "quickstart", "--set", "producers.ackz=1"]),
        &["ackz"],
    );
    assert_bad_input(
        &kafka_lab(&["run", "no-such-scenario"]),
        &["no-such-scenario"],
    );
    let flag = kafka_lab(&["run", "quickstart", "--seed", "x"]);
    assert_eq!(
        flag.status.code(),
        Some(2),
        "a bad flag exits 2: {}",
        stderr(&flag)
    );
}

#[test]
fn unmet_expect_exits_1() {
    // `expect.*` changes what is expected, not what runs: judged, and acks=1 loses writes.
    let output = kafka_lab(&["run", "acks-1-lost-write", "--set", "expect.findings=[]"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    // A --set that changes what runs is not judged against [expect]: acks=all loses nothing,
    // no violation, exit 0 (it used to exit 1 for not finding the bug's lost-write).
    let output = kafka_lab(&["run", "acks-1-lost-write", "--set", "producers.acks=all"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("not judged"), "{text}");
}

#[test]
fn json_output_has_the_verdict() {
    let output = kafka_lab(&[
        "run",
        "acks-1-lost-write",
        "--format",
        "json",
        "--seed",
        "4",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(value["scenario"], "acks-1-lost-write");
    assert_eq!(value["seed"], 4);
    assert_eq!(value["expect_met"], true);
    assert_eq!(value["fingerprint"].as_str().map(str::len), Some(16));
    let findings = value["findings"].as_array().expect("findings");
    assert!(
        findings
            .iter()
            .any(|f| f["kind"] == "lost-write" && f["verdict"] == "allowed"),
        "{findings:?}"
    );
}

#[test]
fn trace_is_json_lines_and_runs_repeat() {
    let path = temp_file("trace.jsonl", "");
    let first = kafka_lab(&[
        "run",
        "leader-failover",
        "--trace",
        path.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let trace = std::fs::read_to_string(&path).expect("trace written");
    let lines: Vec<serde_json::Value> = trace
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert!(
        lines.iter().any(|l| l["kind"]["type"] == "sent"),
        "messages are traced"
    );
    assert!(
        lines.iter().any(|l| l["kind"]["type"] == "fault"),
        "faults are traced"
    );
    let second = kafka_lab(&["run", "leader-failover", "--format", "json"]);
    let fingerprint = |o: &Output| {
        serde_json::from_slice::<serde_json::Value>(&o.stdout).expect("JSON")["fingerprint"].clone()
    };
    assert_eq!(fingerprint(&first), fingerprint(&second));
}

#[test]
fn list_shows_the_builtins() {
    let output = kafka_lab(&["list"]);
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    for name in [
        "quickstart",
        "leader-failover",
        "acks-all-min-isr",
        "acks-1-lost-write",
    ] {
        assert!(stdout.contains(name), "{name} in {stdout}");
    }
}

#[test]
fn list_groups_the_builtins_into_modules_in_course_order() {
    let output = kafka_lab(&["list"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let at = |heading: &str| {
        stdout
            .lines()
            .position(|l| l == heading)
            .unwrap_or_else(|| panic!("{heading} in {stdout}"))
    };
    let order = [
        "Anatomy",
        "Producers",
        "Replication",
        "Controller",
        "Consumer groups",
        "Failures from history",
    ]
    .map(at);
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{stdout}");
    let groups = at("Consumer groups");
    let scaling = stdout
        .lines()
        .position(|l| l.trim_start().starts_with("consumer-group-scaling"))
        .expect("listed");
    assert!(scaling > groups && scaling < at("Failures from history"));
    for builtin in scenarios::builtins() {
        assert!(stdout.contains(builtin.name), "{} listed", builtin.name);
    }
}

#[test]
fn compare_prints_both_runs_findings_side_by_side() {
    let output = kafka_lab(&["run", "acks-1-lost-write", "--compare", "leader-failover"]);
    assert_eq!(output.status.code(), Some(0), "both meet their expect");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let row = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("lost-write"))
        .unwrap_or_else(|| panic!("a lost-write row: {stdout}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells, ["lost-write", "allowed", "-"], "{stdout}");
    let json = kafka_lab(&[
        "run",
        "quickstart",
        "--compare",
        "leader-failover",
        "--seed",
        "3",
        "--format",
        "json",
    ]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("one JSON object");
    assert_eq!(value["seed"], 3);
    assert_eq!(value["runs"][1]["scenario"], "leader-failover");
    let missing = kafka_lab(&["run", "quickstart", "--compare", "no-such-scenario"]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn compare_cuts_both_runs_short_at_events_max_and_says_so() {
    let json = kafka_lab(&[
        "run",
        "quickstart",
        "--compare",
        "leader-failover",
        "--events-max",
        "2000",
        "--format",
        "json",
    ]);
    assert_eq!(json.status.code(), Some(1), "a run cut short is no pass");
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("one JSON object");
    for run in value["runs"].as_array().expect("runs") {
        assert_eq!(run["truncated"], true, "{run}");
        assert_eq!(run["expect_met"], false, "{run}");
        assert!(run["simulated_ms"].as_u64() < Some(60_000), "{run}");
    }
    let whole = kafka_lab(&[
        "run",
        "quickstart",
        "--compare",
        "leader-failover",
        "--format",
        "json",
    ]);
    let value: serde_json::Value = serde_json::from_slice(&whole.stdout).expect("one JSON object");
    assert_eq!(value["runs"][0]["truncated"], false);
}

#[test]
fn no_arguments_runs_the_default_scenario() {
    let output = kafka_lab(&[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("kafka-lab run quickstart"));
}

#[test]
fn bench_reports_its_figures_as_json() {
    let output = kafka_lab(&[
        "bench",
        "--duration-ms",
        "3000",
        "--check-seeds",
        "2",
        "--jobs",
        "1",
        "--format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert!(value["events"].as_u64().unwrap() > 1_000, "{value}");
    // 2 producers × 500 records/s × 3 s, all acknowledged by a healthy cluster.
    assert_eq!(value["records"].as_u64(), Some(3_000), "{value}");
    assert!(value["bytes_allocated_per_record"].as_f64().unwrap() > 0.0);
    assert!(value["check_seeds_per_s"].as_f64().unwrap() > 0.0);
}

#[test]
fn explain_tells_the_cause_of_each_finding() {
    let output = kafka_lab(&["run", "acks-1-lost-write", "--explain"]);
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let why = stdout
        .split_once("\nWhy\n")
        .unwrap_or_else(|| panic!("a Why section: {stdout}"))
        .1;
    // An account starts at a line indented by two spaces; its details are indented by four.
    let mut accounts: Vec<String> = Vec::new();
    for line in why.lines() {
        match accounts.last_mut() {
            Some(account) if line.starts_with("    ") => account.push_str(&format!("\n{line}")),
            _ => accounts.push(line.to_owned()),
        }
    }
    let lost = accounts
        .iter()
        .find(|account| account.starts_with("  lost-write on orders-0"))
        .unwrap_or_else(|| panic!("a lost-write account: {why}"));
    let first = lost
        .lines()
        .find(|l| l.trim_start().starts_with("first:"))
        .unwrap_or_else(|| panic!("the first lost record: {lost}"));
    assert!(
        first.contains("(acks=1)") && first.contains("by broker-1, leader of orders-0 in epoch 0"),
        "who acknowledged it: {first}"
    );
    for told in [
        "✖ crash broker-1",
        "broker-2 elected in epoch 1",
        "broker-1 truncated from",
        "rule: acks=1",
    ] {
        assert!(lost.contains(told), "{told:?} in {lost}");
    }
    let quiet = kafka_lab(&["run", "quickstart", "--explain"]);
    let quiet = String::from_utf8_lossy(&quiet.stdout);
    assert!(quiet.contains("Why\n  nothing to explain"), "{quiet}");
    let plain = kafka_lab(&["run", "acks-1-lost-write"]);
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("\nWhy\n"));
}

#[test]
fn explain_names_the_last_replica_standing_rule_and_the_fix_has_nothing_to_explain() {
    let bug = kafka_lab(&["run", "last-replica-standing", "--explain"]);
    let bug = String::from_utf8_lossy(&bug.stdout);
    let why = bug.split_once("\nWhy\n").map_or("", |(_, w)| w);
    for told in [
        "lost-write on orders-0",
        "⚡ power failure of broker-1",
        "broker-1 elected in epoch 2, ISR [1]",
        "rule: pre-KIP-966 election",
    ] {
        assert!(why.contains(told), "{told:?} in {why}");
    }
    let fix = kafka_lab(&["run", "last-replica-standing-fixed", "--explain"]);
    let fix = String::from_utf8_lossy(&fix.stdout);
    assert!(fix.contains("ISR [], ELR [1,3]"), "{fix}");
    assert!(fix.contains("Why\n  nothing to explain"), "{fix}");
}

fn run_json(scenario: &str) -> serde_json::Value {
    let output = kafka_lab(&["run", scenario, "--format", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).expect("JSON")
}

#[test]
fn json_report_has_the_final_partitions_and_clients_as_the_core_has_them() {
    let value = run_json("leader-failover");
    let partitions = value["partitions"].as_array().expect("partitions");
    assert!(!partitions.is_empty());
    // broker-1 crashed and came back: its partitions moved to a new leader in a new epoch.
    let moved = partitions
        .iter()
        .filter(|p| p["leader_epoch"].as_u64() >= Some(1))
        .count();
    assert!(moved >= 1, "{partitions:?}");
    // The same run in-process: every replica's numbers are the core's.
    let outcome = scenarios::run(
        &scenarios::resolve("leader-failover").expect("built-in"),
        false,
    )
    .expect("runs");
    let world = &outcome.world;
    for p in partitions {
        let tp = broker_core::TopicPartition::new(
            &broker_core::Topic::new(p["topic"].as_str().expect("topic")),
            p["partition"].as_u64().expect("partition") as u32,
        );
        let state = &world.metadata().expect("controller").partitions[&tp];
        assert_eq!(p["leader"].as_u64(), state.leader.map(|l| u64::from(l.0)));
        assert_eq!(
            p["leader_epoch"].as_u64(),
            Some(u64::from(state.leader_epoch.0))
        );
        let isr: Vec<u64> = state.isr.iter().map(|b| u64::from(b.0)).collect();
        assert_eq!(p["isr"], serde_json::json!(isr));
        let elr: Vec<u64> = state.elr.iter().map(|b| u64::from(b.0)).collect();
        assert_eq!(p["elr"], serde_json::json!(elr));
        for r in p["replicas"].as_array().expect("replicas") {
            let broker = broker_core::BrokerId(r["broker"].as_u64().expect("broker") as u32);
            let log = &world.broker(broker).expect("running").replicas()[&tp].log;
            assert_eq!(
                r["leo"].as_u64(),
                Some(log.log_end_offset().0),
                "{tp} {broker}"
            );
            assert_eq!(
                r["hw"].as_u64(),
                Some(log.high_watermark().0),
                "{tp} {broker}"
            );
            assert_eq!(r["log_start"].as_u64(), Some(log.log_start_offset().0));
            assert_eq!(r["batches"].as_u64(), Some(log.batches().count() as u64));
            assert!(r["records"].as_u64() >= r["batches"].as_u64(), "{r}");
            assert_eq!(r["segments"].as_u64(), Some(log.segments().len() as u64));
            assert_eq!(r["bytes"].as_u64(), Some(log.size_in_bytes()));
        }
    }
    let clients = value["clients"].as_array().expect("clients");
    let producer = &clients[0];
    assert_eq!(producer["name"], "producer-1");
    assert_eq!(producer["kind"], "producer");
    let sent = producer["sent"].as_u64().expect("sent");
    let ended = ["acknowledged", "failed", "unknown"]
        .iter()
        .map(|k| producer[k].as_u64().expect("count"))
        .sum::<u64>();
    assert!(sent > 0 && ended <= sent, "{producer}");
    let consumer = clients
        .iter()
        .find(|c| c["kind"] == "consumer")
        .expect("a consumer");
    assert!(consumer["read"].as_u64() > Some(0), "{consumer}");
    assert_eq!(consumer["sent"], 0);
    assert_eq!(value["groups"], serde_json::json!([]), "no consumer group");
}

#[test]
fn json_report_has_each_group_with_its_members_and_committed_offsets() {
    let value = run_json("consumer-group-scaling");
    let groups = value["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 1, "{groups:?}");
    let g1 = &groups[0];
    assert_eq!(g1["group"], "g1");
    assert_eq!(g1["state"], "Stable");
    assert_eq!(g1["generation"], 4, "one generation per join");
    assert!(g1["coordinator"].as_u64().is_some());
    let members = g1["members"].as_array().expect("members");
    let clients: Vec<&str> = members
        .iter()
        .filter_map(|m| m["client"].as_str())
        .collect();
    assert_eq!(
        clients,
        ["consumer-1", "consumer-2", "consumer-3", "consumer-4"]
    );
    let owned: Vec<usize> = members
        .iter()
        .map(|m| m["partitions"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(owned.iter().filter(|n| **n == 1).count(), 3, "{owned:?}");
    assert_eq!(
        owned.iter().filter(|n| **n == 0).count(),
        1,
        "one idle member"
    );
    // A committed offset is never past the partition's HW, as its leader has it.
    let hw = |partition: &str| {
        value["partitions"]
            .as_array()
            .expect("partitions")
            .iter()
            .find(|p| format!("{}-{}", p["topic"].as_str().unwrap(), p["partition"]) == partition)
            .and_then(|p| {
                let leader = p["leader"].as_u64()?;
                let replicas = p["replicas"].as_array()?;
                replicas
                    .iter()
                    .find(|r| r["broker"].as_u64() == Some(leader))?["hw"]
                    .as_u64()
            })
    };
    let committed = g1["committed"].as_array().expect("committed");
    assert_eq!(committed.len(), 3, "{committed:?}");
    for c in committed {
        let partition = c["partition"].as_str().expect("partition");
        let offset = c["offset"].as_u64().expect("offset");
        assert!(offset > 0 && Some(offset) <= hw(partition), "{c}");
    }
}

#[test]
fn a_run_cut_short_exits_1_with_livelock_and_truncated_in_json() {
    let output = kafka_lab(&[
        "run",
        "quickstart",
        "--events-max",
        "1000",
        "--format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(value["truncated"], true);
    assert_eq!(value["expect_met"], false);
    assert!(value["simulated_ms"].as_u64().is_some_and(|ms| ms < 30_000));
    let findings = value["findings"].as_array().expect("findings");
    assert!(
        findings
            .iter()
            .any(|f| f["kind"] == "livelock" && f["verdict"] == "violation"),
        "{findings:?}"
    );
    let text = kafka_lab(&["run", "quickstart", "--events-max", "1000"]);
    assert_eq!(text.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("cut short"), "{stdout}");
    assert!(stdout.contains("NOT met"), "{stdout}");
}

#[test]
fn metadata_max_age_0_runs_to_its_end_and_passes() {
    let output = kafka_lab(&[
        "run",
        "quickstart",
        "--set",
        "producers.metadata.max.age.ms=0",
        "--format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(value["truncated"], false);
    assert!(value["simulated_ms"]
        .as_u64()
        .is_some_and(|ms| ms >= 30_000));
}

#[test]
fn zero_where_kafka_requires_at_least_one_is_named_with_its_range() {
    let output = kafka_lab(&[
        "run",
        "consumer-group-scaling",
        "--set",
        "consumers.max.poll.interval.ms=0",
    ]);
    assert_bad_input(&output, &["max.poll.interval.ms", "out of range 1..="]);
    let output = kafka_lab(&[
        "run",
        "quickstart",
        "--set",
        "cluster.config.broker.heartbeat.interval.ms=9000",
    ]);
    assert_bad_input(
        &output,
        &["broker.heartbeat.interval.ms", "broker.session.timeout.ms"],
    );
    // A message that arrives in the millisecond it was sent would let two nodes answer each
    // other for ever at one simulated time (a broker heartbeat interval of 0 did).
    let output = kafka_lab(&["run", "quickstart", "--set", "network.latency_ms=[0, 5]"]);
    assert_bad_input(&output, &["network.latency_ms", "at least 1 ms"]);
}

// Issue 14: inputs that used to panic, abort or misroute exit 2 with one line naming the key.

/// `kafka-lab run` on VALID with `old` replaced by `new`, in a file called `name`.
fn run_edited(name: &str, old: &str, new: &str) -> Output {
    assert!(VALID.contains(old), "{old}");
    let path = temp_file(name, &VALID.replacen(old, new, 1));
    kafka_lab(&["run", path.to_str().unwrap()])
}

#[test]
fn leave_on_a_consumer_without_a_group_is_bad_input() {
    let consumer = "[[consumers]]\nname = \"consumer-1\"\ntopics = [\"t\"]\n";
    let leave = "[[faults]]\nat_ms = 500\naction = \"leave\"\ntarget = \"consumer-1\"\n";
    let path = temp_file("leave.toml", &format!("{VALID}{consumer}{leave}"));
    let output = kafka_lab(&["run", path.to_str().unwrap()]);
    assert_bad_input(
        &output,
        &["leave.toml:24:", "key `faults[0].target`", "has none"],
    );
    let grouped = format!("{VALID}{consumer}group = \"g\"\n{leave}");
    let path = temp_file("leave-group.toml", &grouped);
    let output = kafka_lab(&["run", path.to_str().unwrap()]);
    // It runs to a verdict (whether `[expect]` holds is the checker's business here).
    assert!(
        matches!(output.status.code(), Some(0 | 1)) && !stderr(&output).contains("panicked"),
        "a group member leaves: {}",
        stderr(&output)
    );
}

#[test]
fn clients_cannot_take_node_names() {
    for (i, name) in ["broker-01", "broker-2", "controller-3"].iter().enumerate() {
        let output = run_edited(
            &format!("node-name-{i}.toml"),
            "name = \"producer-1\"",
            &format!("name = \"{name}\""),
        );
        assert_bad_input(
            &output,
            &[
                ":15:",
                "key `producers[0].name`",
                "reserved for the cluster's nodes",
            ],
        );
    }
    let crash = "\n[[faults]]\nat_ms = 100\naction = \"crash\"\ntarget = \"broker-01\"\n";
    let path = temp_file("broker-01.toml", &format!("{VALID}{crash}"));
    let output = kafka_lab(&["run", path.to_str().unwrap()]);
    assert_bad_input(
        &output,
        &["key `faults[0].target`", "unknown node \"broker-01\""],
    );
}

#[test]
fn controllers_outside_one_to_five_are_bad_input() {
    let output = run_edited(
        "controllers.toml",
        "brokers = 3",
        "brokers = 3\ncontrollers = 6",
    );
    assert_bad_input(
        &output,
        &[":8:", "key `cluster.controllers`", "1 to 5 controllers"],
    );
}

#[test]
fn counts_beyond_the_limits_are_rejected_at_once() {
    let huge = "4294967295";
    for (old, new, key) in [
        (
            "brokers = 3",
            format!("brokers = {huge}"),
            "cluster.brokers",
        ),
        (
            "partitions = 1",
            format!("partitions = {huge}"),
            "topics[0].partitions",
        ),
        (
            "brokers = 3",
            format!("brokers = 3\ncontrollers = {huge}"),
            "cluster.controllers",
        ),
    ] {
        let output = run_edited("huge.toml", old, &new);
        assert_bad_input(&output, &["huge.toml:", &format!("key `{key}`")]);
    }
}

#[test]
fn a_rate_that_rounds_to_nothing_is_bad_input() {
    let output = run_edited("slow.toml", "rate_per_s = 10", "rate_per_s = 0.0004");
    assert_bad_input(
        &output,
        &[
            "slow.toml:17:",
            "key `producers[0].rate_per_s`",
            "rounds to no record",
        ],
    );
}

#[test]
fn a_huge_name_is_echoed_short() {
    let name = format!("broker-{}", "x".repeat(5 << 20));
    let crash = format!("\n[[faults]]\nat_ms = 100\naction = \"crash\"\ntarget = \"{name}\"\n");
    let path = temp_file("huge-name.toml", &format!("{VALID}{crash}"));
    let output = kafka_lab(&["run", path.to_str().unwrap()]);
    assert_bad_input(&output, &["key `faults[0].target`", "…(5242887 bytes)"]);
    assert!(
        stderr(&output).len() < 1000,
        "{} bytes",
        stderr(&output).len()
    );
}

#[test]
fn seeds_are_those_a_scenario_file_can_hold() {
    let flag_error = |args: &[&str], needle: &str| {
        let output = kafka_lab(args);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            !err.contains("panicked") && err.contains(needle),
            "{args:?}: {err}"
        );
    };
    let over = "9223372036854775808";
    flag_error(
        &["check", "--start", over, "--write-cases"],
        "0..=9223372036854775807",
    );
    flag_error(
        &["run", "quickstart", "--seed", over],
        "0..=9223372036854775807",
    );
    flag_error(
        &["tui", "quickstart", "--seed", over],
        "0..=9223372036854775807",
    );
    flag_error(
        &[
            "check",
            "--start",
            "9223372036854775807",
            "--seeds",
            "2",
            "--write-cases",
        ],
        "the largest seed a scenario file can hold",
    );
    let dir = std::env::temp_dir().join(format!("kafka-lab-seed-max-{}", std::process::id()));
    let max = "9223372036854775807";
    let out = dir.to_str().unwrap();
    let output = kafka_lab(&[
        "check",
        "--start",
        max,
        "--seeds",
        "1",
        "--write-cases",
        "--out",
        out,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let written = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let scenario = scenarios::load(std::path::Path::new(&written)).expect("reads back");
    assert_eq!(scenario.seed.to_string(), max);
    let output = kafka_lab(&[
        "run",
        "quickstart",
        "--seed",
        max,
        "--set",
        "duration_ms=1000",
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "--set with the largest seed: {}",
        stderr(&output)
    );
    for args in [["run", "--help"], ["tui", "--help"], ["check", "--help"]] {
        let help = String::from_utf8_lossy(&kafka_lab(&args).stdout).into_owned();
        assert!(
            help.contains("9223372036854775807 (i64::MAX)"),
            "{args:?}: {help}"
        );
    }
}

#[test]
fn check_help_lists_every_profile() {
    let help = String::from_utf8_lossy(&kafka_lab(&["check", "--help"]).stdout).into_owned();
    for profile in scenarios::swarm::Profile::ALL {
        assert!(
            help.contains(&format!("- {profile}:")),
            "{profile} in check --help: {help}"
        );
    }
    let short = String::from_utf8_lossy(&kafka_lab(&["check", "-h"]).stdout).into_owned();
    assert!(short.contains("quorum-lost]"), "{short}");
}

/// Issue 15: `tui` without a terminal (piped, as in CI) says it needs one and exits 2, instead
/// of crossterm's "No such device or address".
#[test]
fn tui_without_a_terminal_says_it_needs_one() {
    let output = kafka_lab(&["tui", "quickstart"]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("tui needs a terminal"), "{err}");
    assert!(!err.contains("No such device"), "{err}");
}
