//! Cluster metadata: the records of the controller's log (`__cluster_metadata` in KRaft) and the
//! image that controller and brokers build by applying them in order.

use crate::config::TopicConfig;
use crate::types::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Leader, ISR and epochs of one partition (`PartitionRecord` / `PartitionChangeRecord`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionState {
    /// The assigned replicas; the first is the preferred leader.
    pub replicas: Vec<BrokerId>,
    /// The in-sync replicas.
    pub isr: Vec<BrokerId>,
    /// The leader, or `None` when the partition is offline.
    pub leader: Option<BrokerId>,
    /// Bumped on every leader change.
    pub leader_epoch: LeaderEpoch,
    /// Bumped on every change.
    pub partition_epoch: PartitionEpoch,
    /// Eligible leader replicas (KIP-966): members that left the ISR while it was below
    /// `min.insync.replicas`. The HW cannot advance then, so they hold every committed record
    /// and may lead when the ISR is empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub elr: Vec<BrokerId>,
    /// The leader when the ISR last became empty (`lastKnownElr` in Kafka's balanced recovery):
    /// elected, uncleanly, when both the ISR and the ELR are empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_known_leader: Option<BrokerId>,
}

/// The `min.insync.replicas` that counts: the configured value capped by the replication factor
/// (KAFKA-15583: `Partition.effectiveMinIsr` on the broker, used by the append check, the
/// delayed-produce check and the HW; `ReplicationControlManager.getTopicEffectiveMinIsr` in the
/// controller, for ELR). Kafka accepts a `min.insync.replicas` above the replication factor;
/// without the cap an `acks=all` write to such a topic could never succeed.
pub fn effective_min_isr(min_insync_replicas: u32, replication_factor: usize) -> u32 {
    let replication_factor = u32::try_from(replication_factor).unwrap_or(u32::MAX);
    min_insync_replicas.min(replication_factor)
}

/// One record of the metadata log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum MetadataRecord {
    /// A broker registered; `broker_epoch` is this record's offset.
    RegisterBroker {
        broker_id: BrokerId,
        broker_epoch: BrokerEpoch,
        incarnation_id: u64,
    },
    /// The broker missed heartbeats for `broker.session.timeout.ms` or shut down.
    FenceBroker {
        broker_id: BrokerId,
        broker_epoch: BrokerEpoch,
    },
    /// The broker caught up with metadata and may lead and join ISRs.
    UnfenceBroker {
        broker_id: BrokerId,
        broker_epoch: BrokerEpoch,
    },
    /// The broker asked for a controlled shutdown.
    BrokerShuttingDown {
        broker_id: BrokerId,
        broker_epoch: BrokerEpoch,
    },
    /// A topic was created.
    Topic {
        topic: Topic,
        partitions: u32,
        config: TopicConfig,
    },
    /// A partition was created or changed.
    Partition {
        tp: TopicPartition,
        state: PartitionState,
    },
    /// A topic was deleted with all its partitions (`RemoveTopicRecord`).
    RemoveTopic { topic: Topic },
}

/// The registration state of a broker in the image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerRegistration {
    /// The epoch of the current registration.
    pub broker_epoch: BrokerEpoch,
    /// Fenced brokers may not lead or be in an ISR.
    pub fenced: bool,
    /// Set by a controlled shutdown until the broker registers again.
    pub shutting_down: bool,
    /// The incarnation (process) that registered.
    pub incarnation_id: u64,
}

/// The cluster state that the metadata log describes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataImage {
    /// The offset after the last applied record.
    pub offset: u64,
    /// Registered brokers.
    pub brokers: BTreeMap<BrokerId, BrokerRegistration>,
    /// Topics and their configuration.
    pub topics: BTreeMap<Topic, (u32, TopicConfig)>,
    /// Partitions.
    pub partitions: BTreeMap<TopicPartition, PartitionState>,
}

impl MetadataImage {
    /// Apply the record at `offset`; records must be applied in order.
    pub fn apply(&mut self, offset: u64, record: &MetadataRecord) {
        assert_eq!(offset, self.offset, "metadata records are applied in order");
        self.offset = offset + 1;
        match record {
            MetadataRecord::RegisterBroker {
                broker_id,
                broker_epoch,
                incarnation_id,
            } => {
                let registration = BrokerRegistration {
                    broker_epoch: *broker_epoch,
                    fenced: true,
                    shutting_down: false,
                    incarnation_id: *incarnation_id,
                };
                self.brokers.insert(*broker_id, registration);
            }
            MetadataRecord::FenceBroker { broker_id, .. } => {
                self.broker_mut(*broker_id).fenced = true
            }
            MetadataRecord::UnfenceBroker { broker_id, .. } => {
                self.broker_mut(*broker_id).fenced = false
            }
            MetadataRecord::BrokerShuttingDown { broker_id, .. } => {
                self.broker_mut(*broker_id).shutting_down = true
            }
            MetadataRecord::Topic {
                topic,
                partitions,
                config,
            } => {
                self.topics
                    .insert(topic.clone(), (*partitions, config.clone()));
            }
            MetadataRecord::Partition { tp, state } => {
                self.partitions.insert(tp.clone(), state.clone());
            }
            MetadataRecord::RemoveTopic { topic } => {
                self.topics.remove(topic);
                self.partitions.retain(|tp, _| tp.topic != *topic);
            }
        }
    }

    fn broker_mut(&mut self, id: BrokerId) -> &mut BrokerRegistration {
        self.brokers
            .get_mut(&id)
            .expect("a fenced or unfenced broker was registered first")
    }

    /// Whether the broker is registered, unfenced and not shutting down: it may lead and join ISRs.
    pub fn is_eligible(&self, id: BrokerId) -> bool {
        self.brokers
            .get(&id)
            .is_some_and(|b| !b.fenced && !b.shutting_down)
    }

    /// The configuration of a topic.
    pub fn topic_config(&self, topic: &Topic) -> Option<&TopicConfig> {
        self.topics.get(topic).map(|(_, config)| config)
    }
}

#[cfg(test)]
mod tests {
    use super::effective_min_isr;

    /// `ReplicationControlManagerTest`: min ISR 5 on a topic of replication factor 3 counts as 3.
    #[test]
    fn effective_min_isr_is_capped_by_the_replication_factor() {
        assert_eq!(effective_min_isr(5, 3), 3);
        assert_eq!(effective_min_isr(2, 3), 2);
        assert_eq!(effective_min_isr(2, 1), 1);
    }
}
