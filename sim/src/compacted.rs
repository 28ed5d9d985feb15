//! `compacted` and `latest-value-lost`: acknowledged records missing from the final log of a
//! compacted topic (`cleanup.policy` with `compact`).
//!
//! The log cleaner removes a record when a newer record of its key is in the log
//! (`LogCleaner`): such a record is not a `lost-write` but an allowed `compacted`. Compaction's
//! promise is that the latest value of every key survives; an acknowledged record that is gone
//! while no newer record of its key is left breaks it: `latest-value-lost`, a violation of
//! durability.

use crate::findings::Observer;
use crate::kind::FindingKind;
use crate::world::World;
use broker_core::*;
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};

/// What the compaction check judged: values and offsets the other checks must leave alone.
#[derive(Clone, Debug, Default)]
pub(crate) struct Judged {
    /// Per partition, the acknowledged values reported here.
    pub values: BTreeMap<TopicPartition, BTreeSet<Bytes>>,
    /// Per partition, the offsets the cleaner removed (a reader may skip them).
    pub offsets: BTreeMap<TopicPartition, BTreeSet<Offset>>,
}

/// A compacted partition's final committed log: offset → value, and the last offset per key.
struct FinalLog {
    start: Offset,
    values: BTreeMap<Offset, Bytes>,
    latest: BTreeMap<Bytes, Offset>,
}

/// The final leader's committed log of every compacted partition.
fn final_compacted_logs(world: &World) -> BTreeMap<TopicPartition, FinalLog> {
    let mut logs = BTreeMap::new();
    let Some(metadata) = world.metadata() else {
        return logs;
    };
    for (tp, state) in &metadata.partitions {
        let leader = state.leader.and_then(|l| world.broker(l));
        let Some(replica) = leader.and_then(|b| b.replicas().get(tp)) else {
            continue;
        };
        if !replica.log.config().cleanup_policy.compacts() {
            continue;
        }
        let hw = replica.log.high_watermark();
        let mut log = FinalLog {
            start: replica.log.log_start_offset(),
            values: BTreeMap::new(),
            latest: BTreeMap::new(),
        };
        for batch in replica.log.batches().take_while(|b| b.base_offset < hw) {
            for (offset, record) in batch.records_with_offsets().filter(|(o, _)| *o < hw) {
                log.values.insert(offset, record.value.clone());
                if let Some(key) = &record.key {
                    log.latest.insert(key.clone(), offset);
                }
            }
        }
        logs.insert(tp.clone(), log);
    }
    logs
}

/// Acknowledged offsets below a compacted partition's final log start whose key was acknowledged
/// again at a higher offset: the cleaner may have removed them before retention deleted their
/// segment, so a reader that stepped over them then skipped nothing. (Which of the two removed
/// a record is `expired-unread`'s to say; this only spares the reads.)
fn superseded_below_start(
    world: &World,
    logs: &BTreeMap<TopicPartition, FinalLog>,
) -> BTreeMap<TopicPartition, BTreeSet<Offset>> {
    let mut by_key: BTreeMap<(&TopicPartition, &Bytes), Vec<Offset>> = BTreeMap::new();
    for record in world.history() {
        if let HistoryEntry::SendCompleted {
            value,
            tp,
            outcome: SendOutcome::Ok(Some(offset)),
        } = &record.entry
        {
            if let (Some(_), Some(key)) = (logs.get(tp), world.key_of(value)) {
                by_key.entry((tp, key)).or_default().push(*offset);
            }
        }
    }
    let mut offsets: BTreeMap<TopicPartition, BTreeSet<Offset>> = BTreeMap::new();
    for ((tp, _), mut acked) in by_key {
        acked.sort_unstable();
        let start = logs[tp].start;
        let superseded = acked.len().saturating_sub(1);
        let below = acked[..superseded].iter().filter(|o| **o < start);
        offsets.entry(tp.clone()).or_default().extend(below);
    }
    offsets
}

/// Judge every acknowledged record missing from a compacted partition's final log. Records
/// below the log start are retention's (`expired-unread`), not judged here.
pub(crate) fn check_compacted(observer: &mut Observer, now: Time, world: &World) -> Judged {
    let logs = final_compacted_logs(world);
    let mut judged = Judged::default();
    if logs.is_empty() {
        return judged;
    }
    let mut compacted: BTreeMap<&TopicPartition, Vec<String>> = BTreeMap::new();
    let mut lost: BTreeMap<&TopicPartition, Vec<String>> = BTreeMap::new();
    judged.offsets = superseded_below_start(world, &logs);
    for record in world.history() {
        let HistoryEntry::SendCompleted {
            value,
            tp,
            outcome: SendOutcome::Ok(Some(offset)),
        } = &record.entry
        else {
            continue;
        };
        let Some(log) = logs.get(tp) else { continue };
        if log.values.get(offset) == Some(value) || *offset < log.start {
            continue;
        }
        let key = world.key_of(value);
        let newer = key
            .and_then(|k| log.latest.get(k))
            .is_some_and(|latest| latest > offset);
        let line = format!(
            "{} (key {}, acknowledged at {}, offset {offset})",
            String::from_utf8_lossy(value),
            key.map_or("null".into(), |k| String::from_utf8_lossy(k).into_owned()),
            record.time
        );
        if newer {
            compacted.entry(tp).or_default().push(line);
            judged
                .offsets
                .entry(tp.clone())
                .or_default()
                .insert(*offset);
        } else {
            lost.entry(tp).or_default().push(line);
        }
        judged
            .values
            .entry(tp.clone())
            .or_default()
            .insert(value.clone());
    }
    for (tp, records) in compacted {
        let explanation = format!(
            "{} acknowledged record(s) of {tp} were removed by compaction: a newer record of each one's key is in the log",
            records.len()
        );
        observer.push(now, FindingKind::Compacted, explanation, Some(tp), records);
    }
    for (tp, records) in lost {
        let explanation = format!(
            "{} acknowledged record(s) of compacted {tp} are gone and no newer record of their key survives: the latest value of a key was lost",
            records.len()
        );
        observer.push(
            now,
            FindingKind::LatestValueLost,
            explanation,
            Some(tp),
            records,
        );
    }
    judged
}
