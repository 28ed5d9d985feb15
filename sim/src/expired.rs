//! `expired-unread`: acknowledged records that retention deleted before any consumer read them.
//!
//! Retention deletes whole segments whether or not anyone consumed them (`UnifiedLog
//! .deleteOldSegments`); a record below its partition's final log start offset is therefore not
//! a `lost-write` but an allowed `expired-unread`, named with the configuration that allowed it.
//! One that some consumer read before it went is no finding at all.
//!
//! `topic-deleted`: acknowledged records of a topic deleted (`DeleteTopics`) after they were
//! written went with the topic; a topic created again under the same name is a new log, and
//! what was written to it after the deletion is judged as any record.

use crate::findings::Observer;
use crate::kind::FindingKind;
use crate::world::{Acked, World};
use broker_core::*;
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};

/// Per partition, the final leader's log start offset and the retention configs that could
/// have moved it.
fn final_log_starts(
    world: &World,
    deleted: &BTreeSet<TopicPartition>,
) -> BTreeMap<TopicPartition, (Offset, String)> {
    let Some(metadata) = world.metadata() else {
        return BTreeMap::new();
    };
    let mut starts = BTreeMap::new();
    for (tp, state) in &metadata.partitions {
        let leader = state.leader.and_then(|l| world.broker(l));
        let Some(replica) = leader.and_then(|b| b.replicas().get(tp)) else {
            continue;
        };
        let start = replica.log.log_start_offset();
        if start > Offset(0) {
            let by_hand = deleted.contains(tp)
                || world.spec().faults.iter().any(
                    |f| matches!(&f.action, crate::FaultAction::DeleteRecords { tp: t, .. } if t == tp),
                );
            starts.insert(
                tp.clone(),
                (start, allowed_by(replica.log.config(), by_hand)),
            );
        }
    }
    starts
}

/// What let records go below the log start: the retention configs, by Kafka's names and values,
/// and `DeleteRecords` when the scenario asked for it on the partition (`by_hand`).
pub(crate) fn allowed_by(config: &broker_core::log::LogConfig, by_hand: bool) -> String {
    let mut rules = Vec::new();
    if config.cleanup_policy.deletes() {
        if let Some(ms) = config.retention_ms {
            rules.push(format!("retention.ms={ms}"));
        }
        if let Some(bytes) = config.retention_bytes {
            rules.push(format!("retention.bytes={bytes}"));
        }
    }
    if by_hand || rules.is_empty() {
        rules.push("DeleteRecords".to_owned());
    }
    rules.join(", ")
}

/// Report acknowledged records below their partition's final log start that nobody read, as
/// allowed `expired-unread`. Returns every acknowledged value below the log start (read or
/// not), which the lost-write and history checks must leave alone.
pub(crate) fn check_expired(
    observer: &mut Observer,
    now: Time,
    world: &World,
) -> BTreeMap<TopicPartition, BTreeSet<Bytes>> {
    let starts = final_log_starts(world, &observer.records_deleted);
    let mut expired: BTreeMap<TopicPartition, BTreeSet<Bytes>> = BTreeMap::new();
    if starts.is_empty() {
        return expired;
    }
    let mut read: BTreeSet<(&TopicPartition, Offset)> = BTreeSet::new();
    for record in world.history() {
        if let HistoryEntry::Polled { tp, records, .. } = &record.entry {
            read.extend(records.iter().map(|(offset, _)| (tp, *offset)));
        }
    }
    let mut unread: BTreeMap<&TopicPartition, Vec<String>> = BTreeMap::new();
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
        if starts.get(tp).is_none_or(|(start, _)| offset >= start) {
            continue;
        }
        expired.entry(tp.clone()).or_default().insert(value.clone());
        if !read.contains(&(tp, *offset)) {
            unread.entry(tp).or_default().push(format!(
                "{} (acknowledged at {}, offset {offset})",
                String::from_utf8_lossy(value),
                record.time
            ));
        }
    }
    for (tp, records) in unread {
        let (start, rules) = &starts[tp];
        let explanation = format!(
            "{} acknowledged record(s) of {tp} were deleted by retention ({rules}) before any consumer read them; the log now starts at {start}",
            records.len()
        );
        observer.push(
            now,
            FindingKind::ExpiredUnread,
            explanation,
            Some(tp),
            records,
        );
    }
    expired
}

/// Report acknowledged records of topics deleted after their acknowledgement as allowed
/// `topic-deleted`, one finding per topic. Returns those values per partition, which the
/// lost-write and history checks must leave alone.
pub(crate) fn check_deleted_topics(
    observer: &mut Observer,
    now: Time,
    world: &World,
) -> BTreeMap<TopicPartition, BTreeSet<Bytes>> {
    let mut gone: BTreeMap<TopicPartition, BTreeSet<Bytes>> = BTreeMap::new();
    if observer.deleted_topics.is_empty() {
        return gone;
    }
    let mut per_topic: BTreeMap<&Topic, Vec<String>> = BTreeMap::new();
    for record in world.history() {
        let Some(Acked { tp, value, .. }) = record.acked() else {
            continue;
        };
        let Some((topic, _)) = observer
            .deleted_topics
            .get_key_value(&tp.topic)
            .filter(|(_, deleted_at)| record.time <= **deleted_at)
        else {
            continue;
        };
        gone.entry(tp.clone()).or_default().insert(value.clone());
        per_topic.entry(topic).or_default().push(format!(
            "{} ({tp}, acknowledged at {})",
            String::from_utf8_lossy(value),
            record.time
        ));
    }
    let findings: Vec<_> = per_topic
        .into_iter()
        .map(|(topic, records)| {
            let at = observer.deleted_topics[topic];
            let explanation = format!(
                "{} acknowledged record(s) of {topic} went with the topic, deleted at {at} (DeleteTopics)",
                records.len()
            );
            (explanation, records)
        })
        .collect();
    for (explanation, records) in findings {
        observer.push(now, FindingKind::TopicDeleted, explanation, None, records);
    }
    gone
}
