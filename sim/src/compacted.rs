//! `compacted` and `latest-value-lost`: acknowledged records missing from the final log of a
//! compacted topic (`cleanup.policy` with `compact`).
//!
//! The log cleaner removes a record when a newer record of its key is in the log
//! (`LogCleaner`): such a record is not a `lost-write` but an allowed `compacted`. Compaction's
//! promise is that the latest value of every key survives; an acknowledged record that is gone
//! while no newer record of its key is left breaks it: `latest-value-lost`, a violation of
//! durability.
//!
//! A tombstone (a null value) deletes its key: when a key's latest acknowledged write is a
//! tombstone, its older records and, a cleaning after `delete.retention.ms`, the tombstone itself
//! may go (`compacted`). The promise becomes: no value of a deleted key is left once its
//! tombstone is gone. The final log breaking it is `deleted-key-resurrected`. (Reads are not
//! judged for it: before the cleaner ran, a reader from the start rightly sees old values
//! followed by the tombstone.)

use crate::findings::Observer;
use crate::kind::FindingKind;
use crate::world::{Acked, World};
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

/// A compacted partition's final committed log: offset → write identity, and the last offset
/// per key.
struct FinalLog {
    start: Offset,
    values: BTreeMap<Offset, Bytes>,
    latest: BTreeMap<Bytes, Offset>,
}

impl FinalLog {
    /// The offset of the value that brings `key` back: the key's last record in the log, when
    /// it is older than the key's acknowledged tombstone at `tombstone` (which is then gone).
    fn resurrected(&self, key: &Bytes, tombstone: Offset) -> Option<&Offset> {
        self.latest.get(key).filter(|latest| **latest < tombstone)
    }
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
                log.values.insert(offset, record.identity());
                if let Some(key) = &record.key {
                    log.latest.insert(key.clone(), offset);
                }
            }
        }
        logs.insert(tp.clone(), log);
    }
    logs
}

/// Per compacted partition and key, the acknowledged writes `(offset, identity)` in offset order.
type AckedByKey<'w> = BTreeMap<(&'w TopicPartition, &'w Bytes), Vec<(Offset, &'w Bytes)>>;

fn acked_by_key<'w>(world: &'w World, logs: &BTreeMap<TopicPartition, FinalLog>) -> AckedByKey<'w> {
    let mut by_key: AckedByKey<'w> = BTreeMap::new();
    for record in world.history() {
        if let Some(Acked {
            tp,
            value,
            offset: Some(offset),
        }) = record.acked()
        {
            if let (Some(_), Some(key)) = (logs.get(tp), world.key_of(value)) {
                by_key.entry((tp, key)).or_default().push((offset, value));
            }
        }
    }
    for acked in by_key.values_mut() {
        acked.sort_unstable();
    }
    by_key
}

/// Acknowledged offsets below a compacted partition's final log start whose key was acknowledged
/// again at a higher offset: the cleaner may have removed them before retention deleted their
/// segment, so a reader that stepped over them then skipped nothing. (Which of the two removed
/// a record is `expired-unread`'s to say; this only spares the reads.)
fn superseded_below_start(
    by_key: &AckedByKey<'_>,
    logs: &BTreeMap<TopicPartition, FinalLog>,
) -> BTreeMap<TopicPartition, BTreeSet<Offset>> {
    let mut offsets: BTreeMap<TopicPartition, BTreeSet<Offset>> = BTreeMap::new();
    for ((tp, _), acked) in by_key {
        let start = logs[*tp].start;
        let superseded = acked.len().saturating_sub(1);
        let below = acked[..superseded]
            .iter()
            .map(|(o, _)| *o)
            .filter(|o| *o < start);
        offsets.entry((*tp).clone()).or_default().extend(below);
    }
    offsets
}

/// Per compacted partition, the keys whose latest acknowledged write is a tombstone, with its
/// offset: the deleted keys.
fn deleted_keys<'w>(
    world: &World,
    by_key: &AckedByKey<'w>,
) -> BTreeMap<(&'w TopicPartition, &'w Bytes), Offset> {
    by_key
        .iter()
        .filter_map(|(tp_key, acked)| {
            let (offset, value) = acked.last()?;
            world.is_tombstone(value).then_some((*tp_key, *offset))
        })
        .collect()
}

/// `deleted-key-resurrected`: a deleted key whose tombstone is gone from the final log while an
/// older record of it is still there (and nothing newer is).
fn check_resurrected(
    observer: &mut Observer,
    now: Time,
    logs: &BTreeMap<TopicPartition, FinalLog>,
    deleted: &BTreeMap<(&TopicPartition, &Bytes), Offset>,
) {
    let mut resurrected: BTreeMap<&TopicPartition, Vec<String>> = BTreeMap::new();
    for ((tp, key), tombstone) in deleted {
        let log = &logs[*tp];
        if let Some(latest) = log.resurrected(key, *tombstone) {
            resurrected.entry(tp).or_default().push(format!(
                "key {} (tombstone at offset {tombstone} gone, {} still at offset {latest})",
                String::from_utf8_lossy(key),
                String::from_utf8_lossy(&log.values[latest]),
            ));
        }
    }
    for (tp, keys) in resurrected {
        let explanation = format!(
            "{} key(s) of compacted {tp} were deleted by a tombstone, yet the tombstone is gone and an older value is still in the log: the deleted key came back",
            keys.len()
        );
        observer.push(
            now,
            FindingKind::DeletedKeyResurrected,
            explanation,
            Some(tp),
            keys,
        );
    }
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
    let by_key = acked_by_key(world, &logs);
    judged.offsets = superseded_below_start(&by_key, &logs);
    let deleted = deleted_keys(world, &by_key);
    check_resurrected(observer, now, &logs, &deleted);
    for record in world.history() {
        let Some(Acked {
            tp,
            value,
            offset: Some(offset),
        }) = record.acked()
        else {
            continue;
        };
        let offset = &offset;
        let Some(log) = logs.get(tp) else { continue };
        if log.values.get(offset) == Some(value) || *offset < log.start {
            continue;
        }
        let key = world.key_of(value);
        let newer = key
            .and_then(|k| log.latest.get(k))
            .is_some_and(|latest| latest > offset);
        // The key was deleted at or after this write and nothing of it is left: the cleaner
        // removed the older records, then the tombstone after delete.retention.ms.
        let deleted = key.is_some_and(|k| {
            !log.latest.contains_key(k)
                && deleted
                    .get(&(tp, k))
                    .is_some_and(|tombstone| tombstone >= offset)
        });
        let line = format!(
            "{} (key {}, acknowledged at {}, offset {offset})",
            String::from_utf8_lossy(value),
            key.map_or("null".into(), |k| String::from_utf8_lossy(k).into_owned()),
            record.time
        );
        if newer || deleted {
            let line = if deleted {
                format!("{line}, its key deleted by a tombstone")
            } else {
                line
            };
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
            "{} acknowledged record(s) of {tp} were removed by compaction: a newer record of each one's key is in the log, or its key was deleted by a tombstone",
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

#[cfg(test)]
mod tests {
    use super::*;

    fn log(records: &[(u64, &'static str, &'static str)]) -> FinalLog {
        let mut log = FinalLog {
            start: Offset(0),
            values: BTreeMap::new(),
            latest: BTreeMap::new(),
        };
        for (offset, key, value) in records {
            log.values
                .insert(Offset(*offset), Bytes::from_static(value.as_bytes()));
            log.latest
                .insert(Bytes::from_static(key.as_bytes()), Offset(*offset));
        }
        log
    }

    #[test]
    fn a_deleted_key_is_resurrected_only_by_an_older_value_left_without_its_tombstone() {
        let key = Bytes::from_static(b"a");
        let tombstone = Offset(5);
        // The cleaner removed the old values and then the tombstone: nothing of `a` is left.
        assert_eq!(log(&[(6, "b", "b1")]).resurrected(&key, tombstone), None);
        // Not cleaned yet: the old value is followed by its tombstone.
        let uncleaned = log(&[(2, "a", "a1"), (5, "a", "p:5")]);
        assert_eq!(uncleaned.resurrected(&key, tombstone), None);
        // Written again after the delete: the key is live again, not resurrected.
        assert_eq!(
            log(&[(2, "a", "a1"), (7, "a", "a2")]).resurrected(&key, tombstone),
            None
        );
        // The tombstone went first: a reader from the start sees `a1` and never the delete.
        let broken = log(&[(2, "a", "a1"), (6, "b", "b1")]);
        assert_eq!(broken.resurrected(&key, tombstone), Some(&Offset(2)));
    }
}
