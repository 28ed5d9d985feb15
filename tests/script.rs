//! Captions are the scenario's script, `--set` is named and takes a run off it, and a copied
//! scenario file is named after itself: the binary as a teacher runs it.

use std::process::{Command, Output};

fn kafka_lab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kafka-lab"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn captions(name: &str) -> Vec<String> {
    let scenario = scenarios::resolve(name).expect("built-in");
    assert!(!scenario.captions.is_empty(), "{name} has captions");
    scenario.captions.into_iter().map(|c| c.text).collect()
}

#[test]
fn a_set_on_the_bug_scenario_is_named_and_does_not_narrate_the_bug() {
    const BUG: &str = "kip-101-hw-truncation";
    let output = kafka_lab(&["run", BUG, "--set", "protocol.truncation=leader-epoch"]);
    let text = stdout(&output);
    // Today's protocol loses nothing: no violation, so exit 0, but [expect] is not judged.
    assert_eq!(output.status.code(), Some(0), "{text}");
    let header: Vec<&str> = text.lines().take(3).collect();
    assert_eq!(
        header[2], "  --set protocol.truncation=leader-epoch",
        "{text}"
    );
    assert!(text.contains("off the scenario's script"), "{text}");
    assert!(
        text.contains("not judged: a --set changed what the scenario tests"),
        "{text}"
    );
    for caption in captions(BUG) {
        assert!(!text.contains(&caption), "narrates off script: {caption}");
    }
    // Without the --set, the same scenario tells its story and is judged.
    let output = kafka_lab(&["run", BUG]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    for caption in captions(BUG) {
        assert!(text.contains(&caption), "on script, missing: {caption}");
    }
    assert!(text.contains("]: met"), "{text}");
}

#[test]
fn the_json_report_says_expect_was_not_judged_and_lists_the_sets() {
    let output = kafka_lab(&[
        "run",
        "kip-101-hw-truncation",
        "--set",
        "protocol.truncation=leader-epoch",
        "--format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(
        value["sets"],
        serde_json::json!(["protocol.truncation=leader-epoch"])
    );
    assert_eq!(value["expect_judged"], false);
    assert_eq!(value["expect_met"], serde_json::Value::Null);
    assert_eq!(value["passed"], true);
}

#[test]
fn a_set_of_the_expectation_is_still_judged() {
    // `expect.*` changes what is expected, not what runs: judged, and quickstart finds nothing.
    let output = kafka_lab(&[
        "run",
        "quickstart",
        "--set",
        "expect.findings=[\"lost-write\"]",
    ]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("found []: NOT met"), "{text}");
    assert!(!text.contains("off the scenario's script"), "{text}");
}

#[test]
fn a_copied_scenario_file_runs_under_its_own_name_without_an_edit() {
    let dir = std::env::temp_dir().join(format!("kafka-lab-script-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mine = dir.join("mine.toml");
    let source = scenarios::builtin("quickstart").expect("built-in").source;
    std::fs::write(&mine, source).expect("write");
    let output = kafka_lab(&["run", mine.to_str().expect("utf-8"), "--format", "json"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(value["scenario"], "mine");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tui_takes_set_with_the_same_parser_as_run() {
    // Checked before any terminal is opened: a bad key is bad input, exit 2, named.
    let output = kafka_lab(&["tui", "quickstart", "--set", "producers.nope.x=1"]);
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("producers.nope.x"), "{err}");
}

#[test]
fn run_trace_shows_the_key_and_value_of_produced_and_fetched_records() {
    let dir = std::env::temp_dir().join(format!("kafka-lab-trace-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("trace.jsonl");
    let output = kafka_lab(&[
        "run",
        "anatomy-keys-and-partitions",
        "--trace",
        path.to_str().expect("utf-8"),
    ]);
    assert_eq!(output.status.code(), Some(0));
    let trace = std::fs::read_to_string(&path).expect("trace written");
    let _ = std::fs::remove_dir_all(&dir);
    let records = |api: &str| -> Vec<serde_json::Value> {
        trace
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON line"))
            .filter(|e| e["kind"]["api"] == api)
            .flat_map(|e| e["kind"]["records"].as_array().cloned().unwrap_or_default())
            .flat_map(|b| b["records"].as_array().cloned().unwrap_or_default())
            .collect()
    };
    let produced = records("Produce");
    let keyed = |r: &serde_json::Value| r["key"].as_str().is_some_and(|k| k.starts_with('k'));
    assert!(produced.iter().any(keyed), "a produced record with key k…");
    assert!(produced
        .iter()
        .all(|r| r["value"].is_string() && r["offset"].is_null()));
    let fetched = records("FetchResponse");
    assert!(fetched.iter().any(keyed), "a fetched record with key k…");
    assert!(
        fetched.iter().all(|r| r["offset"].is_u64()),
        "fetched records have offsets"
    );
}
