//! What the group coordinator writes to `__consumer_offsets`: one record per committed offset and
//! one per group generation (`GroupMetadataManager`'s offset-commit and group-metadata records).
//! The lab writes keys and values as JSON so the log is readable in traces and the UI.

use crate::protocol::{CommittedOffset, Subscription};
use crate::record::Record;
use crate::types::TopicPartition;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// The name of the internal topic.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// A record key of `__consumer_offsets`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OffsetsKey {
    /// The committed offset of one partition for one group.
    Offset {
        /// The group.
        group: String,
        /// The partition.
        tp: TopicPartition,
    },
    /// The metadata of one group: its generation and members.
    Group {
        /// The group.
        group: String,
    },
}

/// A member as stored in the group's record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMember {
    /// Its member id.
    pub member_id: String,
    /// The client's name.
    pub client: String,
    /// `group.instance.id` of a static member (KIP-345).
    #[serde(default)]
    pub group_instance_id: Option<String>,
    /// `session.timeout.ms` it joined with.
    pub session_timeout_ms: u64,
    /// `max.poll.interval.ms` it joined with (the rebalance timeout).
    pub rebalance_timeout_ms: u64,
    /// Its supported protocols with subscriptions.
    pub protocols: Vec<(String, Subscription)>,
    /// The partitions assigned to it in this generation.
    pub assignment: Vec<TopicPartition>,
}

/// The value of a group record (`GroupMetadataValue`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupValue {
    /// The generation.
    pub generation: i32,
    /// The chosen assignor, if any member is left.
    pub protocol: Option<String>,
    /// The leader's member id.
    pub leader: Option<String>,
    /// The members; empty for an `Empty` group.
    pub members: Vec<StoredMember>,
}

/// A record of `__consumer_offsets`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OffsetsRecord {
    /// A committed offset.
    Offset {
        /// The group.
        group: String,
        /// The partition.
        tp: TopicPartition,
        /// The next offset the group will read, with its leader epoch (KIP-320).
        offset: CommittedOffset,
    },
    /// A group's generation.
    Group {
        /// The group.
        group: String,
        /// Its state.
        value: GroupValue,
    },
    /// The committed offset of `tp` is gone (expired, or its group deleted): a tombstone of
    /// its key (`GroupCoordinatorRecordHelpers.newOffsetCommitTombstoneRecord`).
    OffsetTombstone {
        /// The group.
        group: String,
        /// The partition.
        tp: TopicPartition,
    },
    /// The group is gone: a tombstone of its key (`newGroupMetadataTombstoneRecord`).
    GroupTombstone {
        /// The group.
        group: String,
    },
}

impl OffsetsRecord {
    /// The record to append.
    pub fn encode(&self, timestamp_ms: u64) -> Record {
        let (key, value) = match self {
            OffsetsRecord::Offset { group, tp, offset } => {
                let key = OffsetsKey::Offset {
                    group: group.clone(),
                    tp: tp.clone(),
                };
                (key, Some(serde_json::to_vec(offset)))
            }
            OffsetsRecord::Group { group, value } => {
                let key = OffsetsKey::Group {
                    group: group.clone(),
                };
                (key, Some(serde_json::to_vec(value)))
            }
            OffsetsRecord::OffsetTombstone { group, tp } => {
                let key = OffsetsKey::Offset {
                    group: group.clone(),
                    tp: tp.clone(),
                };
                (key, None)
            }
            OffsetsRecord::GroupTombstone { group } => {
                let key = OffsetsKey::Group {
                    group: group.clone(),
                };
                (key, None)
            }
        };
        let key = Bytes::from(serde_json::to_vec(&key).expect("serializable"));
        Record {
            key: Some(key),
            value: value.map(|v| Bytes::from(v.expect("serializable"))),
            timestamp_ms,
            headers: Vec::new(),
        }
    }

    /// The record a log entry holds; `None` for one the coordinator did not write.
    pub fn decode(record: &Record) -> Option<OffsetsRecord> {
        let key: OffsetsKey = serde_json::from_slice(record.key.as_ref()?).ok()?;
        Some(match (key, &record.value) {
            (OffsetsKey::Offset { group, tp }, None) => {
                OffsetsRecord::OffsetTombstone { group, tp }
            }
            (OffsetsKey::Group { group }, None) => OffsetsRecord::GroupTombstone { group },
            (OffsetsKey::Offset { group, tp }, Some(value)) => OffsetsRecord::Offset {
                group,
                tp,
                offset: serde_json::from_slice(value).ok()?,
            },
            (OffsetsKey::Group { group }, Some(value)) => OffsetsRecord::Group {
                group,
                value: serde_json::from_slice(value).ok()?,
            },
        })
    }
}

/// `GroupCoordinatorService.topicPartitionFor`: `Utils.abs(groupId.hashCode()) % partitions`,
/// with Java's `String.hashCode` over UTF-16 code units, so groups land on the partition real
/// Kafka would pick.
pub fn partition_for(group: &str, partitions: u32) -> u32 {
    let hash = group
        .encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)));
    // `Utils.abs`: Integer.MIN_VALUE maps to 0 rather than overflowing.
    let abs = if hash == i32::MIN { 0 } else { hash.abs() };
    abs as u32 % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Offset, Topic};

    #[test]
    fn partition_for_matches_java_string_hash_code() {
        // "g1".hashCode() == 'g' * 31 + '1' == 3242 in Java.
        assert_eq!(partition_for("g1", 50), 3242 % 50);
        let manual = "my-group"
            .bytes()
            .fold(0i32, |h, b| h.wrapping_mul(31).wrapping_add(i32::from(b)));
        assert_eq!(partition_for("my-group", 50), manual.unsigned_abs() % 50);
        assert!(partition_for("any", 3) < 3);
    }

    #[test]
    fn records_round_trip() {
        let tp = TopicPartition::new(&Topic::new("orders"), 2);
        let offset = OffsetsRecord::Offset {
            group: "g1".into(),
            tp: tp.clone(),
            offset: CommittedOffset {
                offset: Offset(41),
                leader_epoch: Some(crate::types::LeaderEpoch(3)),
            },
        };
        assert_eq!(OffsetsRecord::decode(&offset.encode(7)), Some(offset));
        let group = OffsetsRecord::Group {
            group: "g1".into(),
            value: GroupValue {
                generation: 3,
                protocol: Some("range".into()),
                leader: Some("c-1".into()),
                members: vec![StoredMember {
                    member_id: "c-1".into(),
                    client: "consumer-1".into(),
                    group_instance_id: Some("instance-1".into()),
                    session_timeout_ms: 10_000,
                    rebalance_timeout_ms: 30_000,
                    protocols: vec![("range".into(), Subscription::default())],
                    assignment: vec![tp],
                }],
            },
        };
        assert_eq!(OffsetsRecord::decode(&group.encode(7)), Some(group));
        for tombstone in [
            OffsetsRecord::OffsetTombstone {
                group: "g1".into(),
                tp: TopicPartition::new(&Topic::new("orders"), 2),
            },
            OffsetsRecord::GroupTombstone { group: "g1".into() },
        ] {
            let record = tombstone.encode(7);
            assert!(record.is_tombstone(), "a null value deletes the key");
            assert_eq!(OffsetsRecord::decode(&record), Some(tombstone));
        }
    }
}
