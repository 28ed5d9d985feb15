//! Compaction end to end: after the cleaner ran, the final log of `compaction-latest-value`
//! holds exactly one record per key below its active segment, the last record of every live key
//! is the latest value acknowledged for it, and a key deleted by a tombstone has no record left
//! once `delete.retention.ms` passed.

use broker_core::{BrokerId, HistoryEntry, SendOutcome, TopicPartition};
use scenarios::{resolve, run, FindingKind};
use std::collections::BTreeMap;

#[test]
fn after_compaction_the_final_log_holds_the_latest_value_of_every_live_key_once() {
    for seed in 1..=2 {
        let mut s = resolve("compaction-latest-value").expect("built in");
        s.seed = seed;
        let outcome = run(&s, false).expect("runs");
        assert!(
            outcome.found.contains(&FindingKind::Compacted),
            "seed {seed}"
        );
        let world = &outcome.world;
        let tp = TopicPartition::new(&broker_core::Topic::new("profiles"), 0);
        // The latest acknowledged write of every key, by offset: a value, or a tombstone.
        let mut latest = BTreeMap::new();
        let mut tombstone_acked_at = None;
        for record in world.history() {
            if let HistoryEntry::SendCompleted {
                value,
                tp: t,
                outcome: SendOutcome::Ok(Some(offset)),
            } = &record.entry
            {
                let key = world.key_of(value).expect("the workload is keyed").to_vec();
                if world.is_tombstone(value) {
                    tombstone_acked_at = Some(record.time.0);
                }
                if t == &tp && latest.get(&key).is_none_or(|(o, _)| o < offset) {
                    latest.insert(key, (*offset, value.clone()));
                }
            }
        }
        let deleted: Vec<Vec<u8>> = latest
            .iter()
            .filter(|(_, (_, v))| world.is_tombstone(v))
            .map(|(k, _)| k.clone())
            .collect();
        assert_eq!(
            deleted,
            vec![b"gone-0".to_vec()],
            "seed {seed}: deleter's last write"
        );
        let acked = tombstone_acked_at.expect("the tombstone was acknowledged");
        let end = s.duration_ms + s.drain_ms;
        assert!(
            acked + 5_000 < end,
            "delete.retention.ms passed before the end"
        );
        latest.retain(|k, _| !deleted.contains(k));
        assert_eq!(latest.len(), 5, "seed {seed}: k0..k4 were all written");
        for broker in 1..=3 {
            let log = &world.broker(BrokerId(broker)).expect("up").replicas()[&tp].log;
            let active = log.segments().last().expect("a segment").base_offset;
            let mut cleaned: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
            let mut last = BTreeMap::new();
            for batch in log.batches() {
                for (offset, record) in batch.records_with_offsets() {
                    let key = record.key.as_ref().expect("keyed").to_vec();
                    if offset < active {
                        *cleaned.entry(key.clone()).or_default() += 1;
                    }
                    last.insert(key, (offset, record.identity()));
                }
            }
            assert!(
                cleaned.values().all(|n| *n == 1),
                "seed {seed} broker-{broker}: one record per key below the active segment: {cleaned:?}"
            );
            assert_eq!(
                last, latest,
                "seed {seed} broker-{broker}: each live key's last record is its latest acknowledged value, and the deleted key has none, not even its tombstone"
            );
        }
    }
}

/// `consumer-offsets-compacted`: the cleaner removed superseded commits from g1's offsets
/// partition before its coordinator crashed, and the broker that took over loaded g1 from that
/// compacted log; the run is clean (no loss, no redelivery past the latest commits).
#[test]
fn a_coordinator_loads_a_compacted_offsets_log_and_the_group_carries_on() {
    use broker_core::Event;
    use sim::trace::TraceKind;
    let mut s = resolve("consumer-offsets-compacted").expect("built in");
    s.seed = 1;
    let outcome = run(&s, false).expect("runs");
    let events: Vec<(u64, &Event)> = outcome
        .world
        .trace()
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::Event { event } => Some((e.time.0, event)),
            _ => None,
        })
        .collect();
    let first_clean = events.iter().find_map(|(t, e)| match e {
        Event::LogCleaned { tp, records, .. } if tp.to_string() == "__consumer_offsets-2" => {
            assert!(*records > 0);
            Some(*t)
        }
        _ => None,
    });
    let takeover = events.iter().find_map(|(t, e)| match e {
        Event::GroupsLoaded {
            broker,
            partition: 2,
            groups: 1,
        } if *broker != BrokerId(3) => Some(*t),
        _ => None,
    });
    let (cleaned, loaded) = (first_clean.expect("cleaned"), takeover.expect("taken over"));
    assert!(cleaned < 14_000 && loaded > 14_000, "{cleaned} {loaded}");
    assert!(outcome.findings.is_empty(), "{:#?}", outcome.findings);
}

/// A keyless producer on a compacted topic: every record is refused with `INVALID_RECORD`
/// (`LogValidator`), which the producer does not retry; the checker counts failed writes, not
/// losses, so the run has no violation.
#[test]
fn keyless_records_on_a_compacted_topic_fail_and_are_not_lost() {
    use broker_core::ErrorCode;
    let mut s = resolve("compaction-latest-value").expect("built in");
    s.seed = 1;
    s.producers[0].keys = 0;
    let outcome = run(&s, false).expect("runs");
    let failed = outcome
        .world
        .history()
        .iter()
        .filter(|r| {
            matches!(
                &r.entry,
                HistoryEntry::SendCompleted {
                    value,
                    outcome: SendOutcome::Fail(ErrorCode::INVALID_RECORD),
                    ..
                } if value.starts_with(b"producer-1:")
            )
        })
        .count();
    let sent = outcome
        .world
        .history()
        .iter()
        .filter(|r| {
            matches!(&r.entry, HistoryEntry::SendInvoked { value, .. } if value.starts_with(b"producer-1:"))
        })
        .count();
    assert!(sent > 100, "{sent}");
    assert_eq!(
        failed, sent,
        "every keyless send fails, none is retried into success"
    );
    assert!(
        outcome
            .findings
            .iter()
            .all(|f| f.verdict != sim::findings::Verdict::Violation),
        "{:#?}",
        outcome.findings
    );
}

/// `consumer-offsets-expire`, looked at when its main phase ends (the drain would start
/// backfill-1 again, which commits anew): backfill emptied at 5 s, its offsets expired a
/// minute later (`offsets.retention.minutes` = 1) and got tombstones, then its group; the
/// cleaner of `__consumer_offsets-2` removed them after `delete.retention.ms`. Every replica's
/// log has no record of backfill, one record per key below its cleaner's position, and g1's
/// latest commits.
#[test]
fn an_expired_groups_keys_leave_the_compacted_offsets_log_and_the_live_group_stays() {
    use broker_core::group::{GroupState, OffsetsRecord};
    use broker_core::Event;
    use sim::trace::TraceKind;
    let mut s = resolve("consumer-offsets-expire").expect("built in");
    s.seed = 1;
    s.drain_ms = 0;
    let outcome = run(&s, false).expect("runs");
    let world = &outcome.world;
    let dead: Vec<(u64, &str)> = world
        .trace()
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::Event {
                event:
                    Event::GroupStateChanged {
                        group,
                        state: GroupState::Dead,
                        ..
                    },
            } => Some((e.time.0, group.as_str())),
            _ => None,
        })
        .collect();
    assert!(
        matches!(&dead[..], [(t, "backfill")] if (65_000..75_000).contains(t)),
        "backfill, and only it, dies a minute after it emptied: {dead:?}"
    );
    let tp = TopicPartition::new(&broker_core::Topic::new("__consumer_offsets"), 2);
    let coordinator = (1..=3)
        .map(|b| world.broker(BrokerId(b)).expect("up"))
        .find(|b| b.group_coordinator().is_coordinator("g1"))
        .expect("g1 has a coordinator");
    let g1 = &coordinator.group_coordinator().groups()["g1"];
    assert!(!coordinator
        .group_coordinator()
        .groups()
        .contains_key("backfill"));
    for broker in 1..=3 {
        let log = &world.broker(BrokerId(broker)).expect("up").replicas()[&tp].log;
        // The cleaned part: below the cleaner's position (min.cleanable.dirty.ratio leaves
        // the rest dirty until enough of it is).
        let cleaned = log.cleaner_checkpoint().expect("the cleaner ran");
        let mut below: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
        let mut last = BTreeMap::new();
        for batch in log.batches() {
            for (offset, record) in batch.records_with_offsets() {
                let key = record.key.as_ref().expect("keyed").to_vec();
                if offset < cleaned {
                    *below.entry(key.clone()).or_default() += 1;
                }
                let decoded = OffsetsRecord::decode(record).expect("the coordinator's");
                let group = match &decoded {
                    OffsetsRecord::Offset { group, .. }
                    | OffsetsRecord::Group { group, .. }
                    | OffsetsRecord::OffsetTombstone { group, .. }
                    | OffsetsRecord::GroupTombstone { group } => group.clone(),
                };
                assert_eq!(group, "g1", "broker-{broker}: backfill left no record");
                last.insert(key, decoded);
            }
        }
        assert!(
            below.values().all(|n| *n == 1),
            "broker-{broker}: one record per key in the cleaned part: {below:?}"
        );
        for (p, offset) in &g1.committed {
            let latest = last.values().any(|r| {
                matches!(r, OffsetsRecord::Offset { tp, offset: o, .. }
                    if tp == p && o.offset == *offset)
            });
            assert!(latest, "broker-{broker}: g1's commit of {p} survives");
        }
        assert_eq!(g1.committed.len(), 3, "g1 committed all of orders");
    }
}
