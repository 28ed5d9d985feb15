//! `Metadata`: the brokers and partition leaders a client sees.

use crate::types::{BrokerId, CorrelationId, LeaderEpoch, TopicPartition};
use serde::{Deserialize, Serialize};

/// A partition as a client sees it in `Metadata`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionMetadata {
    /// The partition.
    pub tp: TopicPartition,
    /// The leader, if any.
    pub leader: Option<BrokerId>,
    /// The leader epoch.
    pub leader_epoch: LeaderEpoch,
    /// The replicas.
    pub replicas: Vec<BrokerId>,
    /// The in-sync replicas.
    pub isr: Vec<BrokerId>,
}

/// `MetadataRequest` (every topic).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataRequest {
    /// Echoed by the response.
    pub correlation_id: CorrelationId,
}

/// `MetadataResponse`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataResponse {
    /// The request's.
    pub correlation_id: CorrelationId,
    /// The live brokers.
    pub brokers: Vec<BrokerId>,
    /// Every partition.
    pub partitions: Vec<PartitionMetadata>,
}
