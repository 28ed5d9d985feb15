//! Broker ↔ controller: `BrokerRegistration`, `BrokerHeartbeat`, the controller's metadata push
//! and `AlterPartition` (KIP-631, KIP-497).

use crate::error::ErrorCode;
use crate::metadata::PartitionState;
use crate::types::{BrokerEpoch, BrokerId, LeaderEpoch, PartitionEpoch, TopicPartition};
use serde::{Deserialize, Serialize};

/// One member of a proposed ISR with the broker epoch the leader saw in its fetches
/// (`AlterPartitionRequest`'s `BrokerState`, KIP-903): the controller refuses a member whose
/// registration has moved on. `None` is Kafka's -1, "not known, skip the check" (an existing ISR
/// member that has not fetched since this broker became leader).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsrMember {
    /// The replica.
    pub broker_id: BrokerId,
    /// Its broker epoch, if the leader knows it.
    pub broker_epoch: Option<BrokerEpoch>,
}

/// The broker ids of a proposed ISR.
pub fn isr_ids(members: &[IsrMember]) -> Vec<BrokerId> {
    members.iter().map(|m| m.broker_id).collect()
}

/// `BrokerRegistrationRequest`: a broker (re)joins the cluster (KIP-631).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerRegistrationRequest {
    /// The broker.
    pub broker_id: BrokerId,
    /// This incarnation of it.
    pub incarnation_id: u64,
    /// The epoch found in the clean-shutdown file, `None` after a crash (KIP-966).
    pub previous_broker_epoch: Option<BrokerEpoch>,
}

/// `BrokerRegistrationResponse`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerRegistrationResponse {
    /// `NONE` or why not.
    pub error: ErrorCode,
    /// The broker epoch granted.
    pub broker_epoch: BrokerEpoch,
}

/// `BrokerHeartbeatRequest`: liveness, metadata progress, and controlled shutdown
/// (`want_shut_down`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerHeartbeatRequest {
    /// The broker.
    pub broker_id: BrokerId,
    /// Its epoch.
    pub broker_epoch: BrokerEpoch,
    /// The offset after the last committed metadata record the broker applied (the number
    /// of records in its image). Kafka sends `currentMetadataOffset`, the offset OF that
    /// last record (-1 for none), so this is Kafka's value + 1; the controller compares
    /// accordingly (`Controller::heartbeat`).
    pub metadata_offset: u64,
    /// It asks for a controlled shutdown.
    pub want_shut_down: bool,
}

/// `BrokerHeartbeatResponse`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerHeartbeatResponse {
    /// `NONE` or why not.
    pub error: ErrorCode,
    /// The broker is fenced.
    pub is_fenced: bool,
    /// The controlled shutdown may finish.
    pub should_shut_down: bool,
}

/// `AlterPartitionRequest`: a leader proposes a new ISR (KIP-497).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlterPartitionRequest {
    /// The leader.
    pub broker_id: BrokerId,
    /// Its epoch.
    pub broker_epoch: BrokerEpoch,
    /// The partition.
    pub tp: TopicPartition,
    /// The leader epoch.
    pub leader_epoch: LeaderEpoch,
    /// The partition epoch the proposal is based on.
    pub partition_epoch: PartitionEpoch,
    /// The proposed ISR.
    pub new_isr: Vec<IsrMember>,
}

/// `AlterPartitionResponse`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlterPartitionResponse {
    /// The partition.
    pub tp: TopicPartition,
    /// `NONE` or why not.
    pub error: ErrorCode,
    /// The partition's state after the change.
    pub state: Option<PartitionState>,
}
