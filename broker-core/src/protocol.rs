//! Protocol messages, named after the Kafka APIs they mirror.
//!
//! Each request carries a correlation id that its response echoes. Outcomes are `ErrorCode`
//! values, as on the wire.

use crate::error::ErrorCode;
use crate::metadata::{MetadataRecord, PartitionState};
use crate::record::RecordBatch;
use crate::types::*;
use serde::{Deserialize, Serialize};

mod admin;
pub use admin::*;

/// The `acks` a producer asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Acks {
    /// acks=0: no response at all.
    None,
    /// acks=1: the leader answers after its own append.
    Leader,
    /// acks=all (-1): the leader answers when the high watermark passes the batch.
    All,
}

impl std::fmt::Display for Acks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Acks::None => "0",
            Acks::Leader => "1",
            Acks::All => "all",
        })
    }
}

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

/// The end of a leader epoch in a log: `(epoch, end offset)` as in `OffsetsForLeaderEpoch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochEndOffset {
    /// The largest epoch ≤ the requested one that the leader knows.
    pub epoch: LeaderEpoch,
    /// The start offset of the next epoch after it, or the LEO.
    pub end_offset: Offset,
}

/// One partition of a `Fetch` request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchPartition {
    /// The partition.
    pub tp: TopicPartition,
    /// The first offset wanted.
    pub fetch_offset: Offset,
    /// The epoch of the last batch the fetcher holds (KAFKA-10554); `None` when it has none or in
    /// the pre-KIP-101 protocol.
    pub last_fetched_epoch: Option<LeaderEpoch>,
    /// The leader epoch the fetcher believes in (KIP-320).
    pub current_leader_epoch: Option<LeaderEpoch>,
}

/// One partition of a `Fetch` response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchPartitionResponse {
    /// The partition.
    pub tp: TopicPartition,
    /// `NONE`, or why nothing was read.
    pub error: ErrorCode,
    /// The leader's high watermark.
    pub high_watermark: Offset,
    /// The leader's log start offset.
    pub log_start_offset: Offset,
    /// The leader's log end offset.
    pub log_end_offset: Offset,
    /// Set when the fetcher's log diverged from the leader's: truncate, then fetch again.
    pub diverging_epoch: Option<EpochEndOffset>,
    /// The batches read.
    pub batches: Vec<RecordBatch>,
}

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

/// Which offset `ListOffsets` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The high watermark (the latest offset a consumer may read from).
    Latest,
}

/// What a member of a consumer group reads, as in `ConsumerProtocolSubscription` (the
/// subscription is opaque to the coordinator; only the assignors read it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// The topics subscribed to.
    pub topics: Vec<Topic>,
    /// The partitions the member owns now (KIP-429: the cooperative protocol keeps them across a
    /// rebalance).
    pub owned: Vec<TopicPartition>,
}

/// A committed position (`OffsetAndMetadata`): the next offset to read and, KIP-320, the leader
/// epoch of the last record read before it, so whoever resumes from it can validate it against
/// the leader's log (`committedLeaderEpoch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CommittedOffset {
    /// The next offset to read.
    pub offset: Offset,
    /// The leader epoch of the record before it, if the committer read one.
    pub leader_epoch: Option<LeaderEpoch>,
}

/// A member as the group leader sees it in `JoinGroupResponse`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinedMember {
    /// Its member id.
    pub member_id: String,
    /// Its subscription for the chosen protocol.
    pub subscription: Subscription,
}

/// The messages of the simulated cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum Message {
    /// Produce one batch to one partition.
    Produce {
        correlation_id: CorrelationId,
        tp: TopicPartition,
        acks: Acks,
        timeout_ms: u64,
        batch: RecordBatch,
    },
    /// The answer to `Produce` (never sent for acks=0).
    ProduceResponse {
        correlation_id: CorrelationId,
        tp: TopicPartition,
        error: ErrorCode,
        base_offset: Option<Offset>,
    },
    /// Replica fetch (`replica_id` set) or consumer fetch.
    Fetch {
        correlation_id: CorrelationId,
        replica_id: Option<BrokerId>,
        broker_epoch: Option<BrokerEpoch>,
        max_wait_ms: u64,
        partitions: Vec<FetchPartition>,
    },
    FetchResponse {
        correlation_id: CorrelationId,
        partitions: Vec<FetchPartitionResponse>,
    },
    ListOffsets {
        correlation_id: CorrelationId,
        tp: TopicPartition,
        spec: OffsetSpec,
        current_leader_epoch: Option<LeaderEpoch>,
    },
    ListOffsetsResponse {
        correlation_id: CorrelationId,
        tp: TopicPartition,
        error: ErrorCode,
        offset: Offset,
        leader_epoch: LeaderEpoch,
    },
    Metadata {
        correlation_id: CorrelationId,
    },
    /// An idempotent producer asks for its producer id and epoch (any broker answers).
    InitProducerId {
        correlation_id: CorrelationId,
    },
    InitProducerIdResponse {
        correlation_id: CorrelationId,
        error: ErrorCode,
        producer_id: ProducerId,
        producer_epoch: u16,
    },
    MetadataResponse {
        correlation_id: CorrelationId,
        brokers: Vec<BrokerId>,
        partitions: Vec<PartitionMetadata>,
    },
    /// Which broker coordinates `group` (any broker answers from its metadata).
    FindCoordinator {
        correlation_id: CorrelationId,
        group: String,
    },
    FindCoordinatorResponse {
        correlation_id: CorrelationId,
        error: ErrorCode,
        coordinator: Option<BrokerId>,
    },
    /// Join (or rejoin) a group; an empty `member_id` asks for a new one (a dynamic member
    /// gets `MEMBER_ID_REQUIRED` with it and joins again, KIP-394). `protocols` are the
    /// assignors the member supports, in order of preference, each with its subscription.
    JoinGroup {
        correlation_id: CorrelationId,
        group: String,
        client: String,
        member_id: String,
        /// `group.instance.id` of a static member (KIP-345).
        group_instance_id: Option<String>,
        session_timeout_ms: u64,
        rebalance_timeout_ms: u64,
        protocols: Vec<(String, Subscription)>,
    },
    /// `members` is filled for the leader only, which computes the assignment.
    JoinGroupResponse {
        correlation_id: CorrelationId,
        error: ErrorCode,
        generation: i32,
        protocol: Option<String>,
        leader: String,
        member_id: String,
        members: Vec<JoinedMember>,
    },
    /// The leader sends the assignment of every member; followers send none.
    SyncGroup {
        correlation_id: CorrelationId,
        group: String,
        generation: i32,
        member_id: String,
        assignments: Vec<(String, Vec<TopicPartition>)>,
    },
    SyncGroupResponse {
        correlation_id: CorrelationId,
        error: ErrorCode,
        assignment: Vec<TopicPartition>,
    },
    Heartbeat {
        correlation_id: CorrelationId,
        group: String,
        generation: i32,
        member_id: String,
    },
    HeartbeatResponse {
        correlation_id: CorrelationId,
        error: ErrorCode,
    },
    LeaveGroup {
        correlation_id: CorrelationId,
        group: String,
        member_id: String,
    },
    LeaveGroupResponse {
        correlation_id: CorrelationId,
        error: ErrorCode,
    },
    /// Commit consumed positions; `generation` -1 and an empty member id for a consumer
    /// outside the group protocol.
    OffsetCommit {
        correlation_id: CorrelationId,
        group: String,
        generation: i32,
        member_id: String,
        offsets: Vec<(TopicPartition, CommittedOffset)>,
    },
    OffsetCommitResponse {
        correlation_id: CorrelationId,
        error: ErrorCode,
        offsets: Vec<(TopicPartition, CommittedOffset)>,
    },
    OffsetFetch {
        correlation_id: CorrelationId,
        group: String,
        partitions: Vec<TopicPartition>,
    },
    /// `None` for a partition without a committed offset.
    OffsetFetchResponse {
        correlation_id: CorrelationId,
        error: ErrorCode,
        offsets: Vec<(TopicPartition, Option<CommittedOffset>)>,
    },
    /// A broker (re)joins the cluster (KIP-631).
    BrokerRegistration {
        broker_id: BrokerId,
        incarnation_id: u64,
        /// The epoch found in the clean-shutdown file, `None` after a crash (KIP-966).
        previous_broker_epoch: Option<BrokerEpoch>,
    },
    BrokerRegistrationResponse {
        error: ErrorCode,
        broker_epoch: BrokerEpoch,
    },
    /// Liveness, metadata progress, and controlled shutdown (`want_shut_down`).
    BrokerHeartbeat {
        broker_id: BrokerId,
        broker_epoch: BrokerEpoch,
        /// The offset after the last committed metadata record the broker applied (the number
        /// of records in its image). Kafka sends `currentMetadataOffset`, the offset OF that
        /// last record (-1 for none), so this is Kafka's value + 1; the controller compares
        /// accordingly (`Controller::heartbeat`).
        metadata_offset: u64,
        want_shut_down: bool,
    },
    BrokerHeartbeatResponse {
        error: ErrorCode,
        is_fenced: bool,
        should_shut_down: bool,
    },
    /// A leader proposes a new ISR (KIP-497).
    AlterPartition {
        broker_id: BrokerId,
        broker_epoch: BrokerEpoch,
        tp: TopicPartition,
        leader_epoch: LeaderEpoch,
        partition_epoch: PartitionEpoch,
        new_isr: Vec<IsrMember>,
    },
    AlterPartitionResponse {
        tp: TopicPartition,
        error: ErrorCode,
        state: Option<PartitionState>,
    },
    /// Create topics (client → broker → active controller).
    CreateTopics(CreateTopicsRequest),
    CreateTopicsResponse(CreateTopicsResponse),
    /// Delete topics (client → broker → active controller).
    DeleteTopics(DeleteTopicsRequest),
    DeleteTopicsResponse(DeleteTopicsResponse),
    /// A metadata client's unknown topics, to be created if the broker allows.
    AutoCreateTopics(AutoCreateTopicsRequest),
    AutoCreateTopicsResponse(AutoCreateTopicsResponse),
    /// A message of the controller quorum's Raft (KIP-595) on `__cluster_metadata`.
    Quorum(Box<crate::raft::RaftMessage<MetadataRecord>>),
}

impl Message {
    /// The Kafka API name, for traces and the message-flow view.
    pub fn api_name(&self) -> &'static str {
        match self {
            Message::Produce { .. } => "Produce",
            Message::ProduceResponse { .. } => "ProduceResponse",
            Message::Fetch { .. } => "Fetch",
            Message::FetchResponse { .. } => "FetchResponse",
            Message::ListOffsets { .. } => "ListOffsets",
            Message::ListOffsetsResponse { .. } => "ListOffsetsResponse",
            Message::Metadata { .. } => "Metadata",
            Message::MetadataResponse { .. } => "MetadataResponse",
            Message::InitProducerId { .. } => "InitProducerId",
            Message::InitProducerIdResponse { .. } => "InitProducerIdResponse",
            Message::BrokerRegistration { .. } => "BrokerRegistration",
            Message::BrokerRegistrationResponse { .. } => "BrokerRegistrationResponse",
            Message::BrokerHeartbeat { .. } => "BrokerHeartbeat",
            Message::BrokerHeartbeatResponse { .. } => "BrokerHeartbeatResponse",
            Message::AlterPartition { .. } => "AlterPartition",
            Message::AlterPartitionResponse { .. } => "AlterPartitionResponse",
            Message::FindCoordinator { .. } => "FindCoordinator",
            Message::FindCoordinatorResponse { .. } => "FindCoordinatorResponse",
            Message::JoinGroup { .. } => "JoinGroup",
            Message::JoinGroupResponse { .. } => "JoinGroupResponse",
            Message::SyncGroup { .. } => "SyncGroup",
            Message::SyncGroupResponse { .. } => "SyncGroupResponse",
            Message::Heartbeat { .. } => "Heartbeat",
            Message::HeartbeatResponse { .. } => "HeartbeatResponse",
            Message::LeaveGroup { .. } => "LeaveGroup",
            Message::LeaveGroupResponse { .. } => "LeaveGroupResponse",
            Message::OffsetCommit { .. } => "OffsetCommit",
            Message::OffsetCommitResponse { .. } => "OffsetCommitResponse",
            Message::OffsetFetch { .. } => "OffsetFetch",
            Message::OffsetFetchResponse { .. } => "OffsetFetchResponse",
            Message::CreateTopics(_) => "CreateTopics",
            Message::CreateTopicsResponse(_) => "CreateTopicsResponse",
            Message::DeleteTopics(_) => "DeleteTopics",
            Message::DeleteTopicsResponse(_) => "DeleteTopicsResponse",
            Message::AutoCreateTopics(_) => "AutoCreateTopics",
            Message::AutoCreateTopicsResponse(_) => "AutoCreateTopicsResponse",
            Message::Quorum(message) => message.api_name(),
        }
    }
}
