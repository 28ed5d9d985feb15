//! Memory bounded by what the logs keep (issue 17): with retention, the batches a world holds
//! stop growing while records keep coming; and `bench`'s bounded trace changes neither the
//! fingerprint nor the history. Counts of what the world holds (`World::held`), never timings.

use broker_core::Time;
use scenarios::parse;
use sim::World;

/// 100 records/s into a topic that rolls a segment every 5 s and keeps 10 s, checked each
/// second: the logs hold about 15 s of records, whatever the run's length.
const RETENTION: &str = r#"
name = "retention-memory"
title = "A short retention keeps the logs small"
duration_ms = 240000
drain_ms = 2000

[cluster]
brokers = 3
config = { "log.retention.check.interval.ms" = 1000 }

[[topics]]
name = "events"
partitions = 2
replication_factor = 3
config = { "retention.ms" = 10000, "segment.ms" = 5000 }

[[producers]]
name = "producer-1"
topic = "events"
rate_per_s = 100
keys = 10
config = { acks = "all", "linger.ms" = 5 }

[[consumers]]
name = "consumer-1"
topics = ["events"]
group = "readers"
config = { "auto.offset.reset" = "earliest" }
"#;

#[test]
fn with_retention_the_batches_held_do_not_grow_with_simulated_time() {
    let s = parse(RETENTION, "retention-memory.toml").unwrap_or_else(|e| panic!("{e}"));
    let mut world = World::new(s.world_spec().expect("a valid spec"));
    world.run_until(Time(120_000));
    let early = world.held();
    world.run_until(Time(240_000));
    let late = world.held();
    // The history grows with the records written (it is not bounded yet): it shows that the
    // second half wrote as much as the first, so a flat log is retention's doing.
    assert!(
        late.history > early.history * 3 / 2,
        "records kept coming: history {} then {}",
        early.history,
        late.history
    );
    // Twice the simulated time: a log that kept everything would hold twice the batches.
    for (what, early, late) in [
        (
            "distinct batches",
            early.unique_batches,
            late.unique_batches,
        ),
        ("logs", early.logs, late.logs),
        ("disks", early.disks, late.disks),
    ] {
        assert!(
            late < early * 5 / 4,
            "{what} grew from {early} to {late} bytes between 2 and 4 simulated minutes"
        );
    }
}

#[test]
fn a_run_keeping_only_the_latest_trace_has_the_same_fingerprint_and_history() {
    let s = scenarios::standard_workload(3000, 1).expect("the standard workload");
    let spec = s.world_spec().expect("a valid spec");
    let mut full = World::new(spec.clone());
    full.run_to_end();
    let mut kept = World::new(spec);
    kept.run_to_end_keeping_trace(50);
    assert_eq!(full.fingerprint(), kept.fingerprint());
    assert!(full.history() == kept.history(), "the same history");
    let (all, latest) = (full.trace(), kept.trace());
    assert!(all.len() > 100, "the run traced more than it keeps");
    assert!(
        (50..100).contains(&latest.len()),
        "kept {} entries",
        latest.len()
    );
    assert_eq!(latest, &all[all.len() - latest.len()..]);
}
