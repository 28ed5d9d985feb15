//! `delete-records` end to end (KIP-107): the leader moves its log start to the asked offset,
//! the followers learn it from their fetches, retention deletes the segments below on every
//! replica, a reader that had not reached it jumps (`OFFSET_OUT_OF_RANGE`, then
//! `auto.offset.reset`), and the checker reports the unread records as `expired-unread` caused by
//! DeleteRecords, never as lost.

use broker_core::{BrokerId, Offset, TopicPartition};
use scenarios::{parse, run, FindingKind};
use sim::Verdict;

const SCENARIO: &str = r#"
name = "delete-records"
title = "DeleteRecords moves the log start by hand"
duration_ms = 12000

[cluster]
brokers = 3
config = { "min.insync.replicas" = 2, "log.retention.check.interval.ms" = 1000 }

[[topics]]
name = "events"
partitions = 1
replication_factor = 3
config = { "segment.bytes" = 2000 }

[[producers]]
name = "producer-1"
topic = "events"
rate_per_s = 50
records = 300
config = { acks = "all" }

[[consumers]]
name = "late-reader"
topics = ["events"]
start_ms = 9000
config = { "auto.offset.reset" = "earliest" }

[[faults]]
at_ms = 5000
action = "delete-records"
partition = "events-0"
offset = 120
"#;

#[test]
fn delete_records_moves_every_replicas_log_start_and_the_records_below_are_expired_not_lost() {
    let s = parse(SCENARIO, "delete-records.toml").unwrap_or_else(|e| panic!("{e}"));
    let outcome = run(&s, false).expect("runs");
    let tp = TopicPartition::new(&broker_core::Topic::new("events"), 0);
    for broker in 1..=3 {
        let log = &outcome
            .world
            .broker(BrokerId(broker))
            .expect("up")
            .replicas()[&tp]
            .log;
        assert_eq!(
            log.log_start_offset(),
            Offset(120),
            "broker-{broker}: the leader's move, learned by the followers"
        );
        let first = log.batches().next().expect("records above 120");
        assert!(
            first.next_offset() > Offset(120),
            "broker-{broker}: the segments wholly below were deleted"
        );
    }
    let expired = outcome
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::ExpiredUnread)
        .expect("the records below 120 nobody read");
    assert!(
        expired.explanation.contains("DeleteRecords"),
        "{}",
        expired.explanation
    );
    assert_eq!(expired.records.len(), 120, "{:?}", expired.records.first());
    assert!(
        outcome
            .findings
            .iter()
            .all(|f| f.verdict != Verdict::Violation),
        "{:#?}",
        outcome.findings
    );
}

#[test]
fn delete_records_is_checked_when_the_scenario_is_read() {
    for (bad, key) in [
        ("partition = \"events-0\"\noffset = -2", "faults[0].offset"),
        (
            "partition = \"events-3\"\noffset = 5",
            "faults[0].partition",
        ),
        ("partition = \"events-0\"", "faults[0].offset"),
    ] {
        let source = SCENARIO.replace("partition = \"events-0\"\noffset = 120", bad);
        let e = parse(&source, "delete-records.toml").expect_err(bad);
        assert_eq!(e.key.as_deref(), Some(key), "{e}");
    }
}

/// `World::held` (what `kafka-lab bench` reports) sees what DeleteRecords freed: the logs hold
/// less than the same run without it, and the trace and history are counted apart.
#[test]
fn the_logs_hold_less_after_delete_records() {
    let held = |source: &str| {
        let s = parse(source, "delete-records.toml").unwrap_or_else(|e| panic!("{e}"));
        run(&s, false).expect("runs").world.held()
    };
    let without = SCENARIO.replace("action = \"delete-records\"", "action = \"heal\"");
    let without = without.replace("partition = \"events-0\"\noffset = 120\n", "");
    let (deleted, kept) = (held(SCENARIO), held(&without));
    assert!(deleted.logs > 0 && deleted.disks > 0, "{deleted:?}");
    assert!(
        deleted.logs < kept.logs && deleted.disks < kept.disks,
        "{deleted:?} vs {kept:?}"
    );
    assert!(kept.history > 0, "{kept:?}");
    assert!(deleted.unique_batches <= deleted.logs + deleted.disks + deleted.trace);
}
