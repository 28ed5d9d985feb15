//! Protocol messages, named after the Kafka APIs they mirror: one struct per API, grouped by
//! module (produce, fetch, metadata, group, controller, admin), as the wire protocol has them.
//!
//! Each request carries a correlation id that its response echoes. Outcomes are `ErrorCode`
//! values, as on the wire.

use crate::metadata::MetadataRecord;
use serde::{Deserialize, Serialize};

mod admin;
mod controller;
mod fetch;
mod group;
mod metadata;
mod produce;
pub use admin::*;
pub use controller::*;
pub use fetch::*;
pub use group::*;
pub use metadata::*;
pub use produce::*;

/// The messages of the simulated cluster: one variant per request and response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// Produce one batch to one partition.
    Produce(ProduceRequest),
    /// The answer to `Produce` (never sent for acks=0).
    ProduceResponse(ProduceResponse),
    /// Replica fetch (`replica_id` set) or consumer fetch.
    Fetch(FetchRequest),
    /// The answer to `Fetch`.
    FetchResponse(FetchResponse),
    /// An offset of one partition.
    ListOffsets(ListOffsetsRequest),
    /// The answer to `ListOffsets`.
    ListOffsetsResponse(ListOffsetsResponse),
    /// Move a partition's log start (KIP-107), to its leader.
    DeleteRecords(DeleteRecordsRequest),
    /// The answer to `DeleteRecords`.
    DeleteRecordsResponse(DeleteRecordsResponse),
    /// The cluster's brokers and partitions.
    Metadata(MetadataRequest),
    /// An idempotent producer asks for its producer id and epoch (any broker answers).
    InitProducerId(InitProducerIdRequest),
    /// The answer to `InitProducerId`.
    InitProducerIdResponse(InitProducerIdResponse),
    /// The answer to `Metadata`.
    MetadataResponse(MetadataResponse),
    /// Which broker coordinates a group.
    FindCoordinator(FindCoordinatorRequest),
    /// The answer to `FindCoordinator`.
    FindCoordinatorResponse(FindCoordinatorResponse),
    /// Join (or rejoin) a group.
    JoinGroup(JoinGroupRequest),
    /// The answer to `JoinGroup`.
    JoinGroupResponse(JoinGroupResponse),
    /// The leader sends the assignment of every member; followers send none.
    SyncGroup(SyncGroupRequest),
    /// The answer to `SyncGroup`.
    SyncGroupResponse(SyncGroupResponse),
    /// A member is alive.
    Heartbeat(HeartbeatRequest),
    /// The answer to `Heartbeat`.
    HeartbeatResponse(HeartbeatResponse),
    /// A member leaves its group.
    LeaveGroup(LeaveGroupRequest),
    /// The answer to `LeaveGroup`.
    LeaveGroupResponse(LeaveGroupResponse),
    /// Commit consumed positions.
    OffsetCommit(OffsetCommitRequest),
    /// The answer to `OffsetCommit`.
    OffsetCommitResponse(OffsetCommitResponse),
    /// Read committed positions.
    OffsetFetch(OffsetFetchRequest),
    /// The answer to `OffsetFetch`.
    OffsetFetchResponse(OffsetFetchResponse),
    /// A broker (re)joins the cluster (KIP-631).
    BrokerRegistration(BrokerRegistrationRequest),
    /// The answer to `BrokerRegistration`.
    BrokerRegistrationResponse(BrokerRegistrationResponse),
    /// Liveness, metadata progress, and controlled shutdown.
    BrokerHeartbeat(BrokerHeartbeatRequest),
    /// The answer to `BrokerHeartbeat`.
    BrokerHeartbeatResponse(BrokerHeartbeatResponse),
    /// A leader proposes a new ISR (KIP-497).
    AlterPartition(AlterPartitionRequest),
    /// The answer to `AlterPartition`.
    AlterPartitionResponse(AlterPartitionResponse),
    /// Create topics (client → broker → active controller).
    CreateTopics(CreateTopicsRequest),
    /// The answer to `CreateTopics`.
    CreateTopicsResponse(CreateTopicsResponse),
    /// Delete topics (client → broker → active controller).
    DeleteTopics(DeleteTopicsRequest),
    /// The answer to `DeleteTopics`.
    DeleteTopicsResponse(DeleteTopicsResponse),
    /// A metadata client's unknown topics, to be created if the broker allows.
    AutoCreateTopics(AutoCreateTopicsRequest),
    /// The answer to `AutoCreateTopics`.
    AutoCreateTopicsResponse(AutoCreateTopicsResponse),
    /// A message of the controller quorum's Raft (KIP-595) on `__cluster_metadata`.
    Quorum(Box<crate::raft::RaftMessage<MetadataRecord>>),
}

impl Message {
    /// The Kafka API name, for traces and the message-flow view.
    pub fn api_name(&self) -> &'static str {
        match self {
            Message::Produce(_) => "Produce",
            Message::ProduceResponse(_) => "ProduceResponse",
            Message::Fetch(_) => "Fetch",
            Message::FetchResponse(_) => "FetchResponse",
            Message::ListOffsets(_) => "ListOffsets",
            Message::ListOffsetsResponse(_) => "ListOffsetsResponse",
            Message::DeleteRecords(_) => "DeleteRecords",
            Message::DeleteRecordsResponse(_) => "DeleteRecordsResponse",
            Message::Metadata(_) => "Metadata",
            Message::MetadataResponse(_) => "MetadataResponse",
            Message::InitProducerId(_) => "InitProducerId",
            Message::InitProducerIdResponse(_) => "InitProducerIdResponse",
            Message::BrokerRegistration(_) => "BrokerRegistration",
            Message::BrokerRegistrationResponse(_) => "BrokerRegistrationResponse",
            Message::BrokerHeartbeat(_) => "BrokerHeartbeat",
            Message::BrokerHeartbeatResponse(_) => "BrokerHeartbeatResponse",
            Message::AlterPartition(_) => "AlterPartition",
            Message::AlterPartitionResponse(_) => "AlterPartitionResponse",
            Message::FindCoordinator(_) => "FindCoordinator",
            Message::FindCoordinatorResponse(_) => "FindCoordinatorResponse",
            Message::JoinGroup(_) => "JoinGroup",
            Message::JoinGroupResponse(_) => "JoinGroupResponse",
            Message::SyncGroup(_) => "SyncGroup",
            Message::SyncGroupResponse(_) => "SyncGroupResponse",
            Message::Heartbeat(_) => "Heartbeat",
            Message::HeartbeatResponse(_) => "HeartbeatResponse",
            Message::LeaveGroup(_) => "LeaveGroup",
            Message::LeaveGroupResponse(_) => "LeaveGroupResponse",
            Message::OffsetCommit(_) => "OffsetCommit",
            Message::OffsetCommitResponse(_) => "OffsetCommitResponse",
            Message::OffsetFetch(_) => "OffsetFetch",
            Message::OffsetFetchResponse(_) => "OffsetFetchResponse",
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
