//! Compaction end to end: after the cleaner ran, the final log of `compaction-latest-value`
//! holds exactly one record per key below its active segment, and the last record of every key
//! is the latest value acknowledged for it.

use broker_core::{BrokerId, HistoryEntry, Offset, SendOutcome, TopicPartition};
use scenarios::{resolve, run, FindingKind};
use std::collections::BTreeMap;

#[test]
fn after_compaction_the_final_log_holds_the_latest_value_of_every_key_once() {
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
        // The latest acknowledged value of every key, by offset.
        let mut latest: BTreeMap<Vec<u8>, (Offset, Vec<u8>)> = BTreeMap::new();
        for record in world.history() {
            if let HistoryEntry::SendCompleted {
                value,
                tp: t,
                outcome: SendOutcome::Ok(Some(offset)),
            } = &record.entry
            {
                let key = world.key_of(value).expect("the workload is keyed").to_vec();
                if t == &tp && latest.get(&key).is_none_or(|(o, _)| o < offset) {
                    latest.insert(key, (*offset, value.to_vec()));
                }
            }
        }
        assert_eq!(latest.len(), 5, "seed {seed}: k0..k4 were all written");
        for broker in 1..=3 {
            let log = &world.broker(BrokerId(broker)).expect("up").replicas()[&tp].log;
            let active = log.segments().last().expect("a segment").base_offset;
            let mut cleaned: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
            let mut last: BTreeMap<Vec<u8>, (Offset, Vec<u8>)> = BTreeMap::new();
            for batch in log.batches() {
                for (offset, record) in batch.records_with_offsets() {
                    let key = record.key.as_ref().expect("keyed").to_vec();
                    if offset < active {
                        *cleaned.entry(key.clone()).or_default() += 1;
                    }
                    last.insert(key, (offset, record.value.to_vec()));
                }
            }
            assert!(
                cleaned.values().all(|n| *n == 1),
                "seed {seed} broker-{broker}: one record per key below the active segment: {cleaned:?}"
            );
            assert_eq!(
                last, latest,
                "seed {seed} broker-{broker}: each key's last record is its latest acknowledged value"
            );
        }
    }
}
