//! Reading: `Fetch` (replicas and consumers) and `ListOffsets`.

use crate::error::ErrorCode;
use crate::record::RecordBatch;
use crate::types::{BrokerEpoch, BrokerId, CorrelationId, LeaderEpoch, Offset, TopicPartition};
use serde::{Deserialize, Serialize};

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

/// `FetchRequest`: a replica fetch (`replica_id` set) or a consumer fetch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchRequest {
    /// Echoed by the response.
    pub correlation_id: CorrelationId,
    /// The fetching follower, `None` for a consumer.
    pub replica_id: Option<BrokerId>,
    /// The follower's broker epoch (KIP-903).
    pub broker_epoch: Option<BrokerEpoch>,
    /// How long the leader may hold the fetch while there is nothing to read.
    pub max_wait_ms: u64,
    /// The partitions.
    pub partitions: Vec<FetchPartition>,
}

/// `FetchResponse`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchResponse {
    /// The request's.
    pub correlation_id: CorrelationId,
    /// One per requested partition.
    pub partitions: Vec<FetchPartitionResponse>,
}

/// Which offset `ListOffsets` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The high watermark (the latest offset a consumer may read from).
    Latest,
}

/// `ListOffsetsRequest` for one partition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListOffsetsRequest {
    /// Echoed by the response.
    pub correlation_id: CorrelationId,
    /// The partition.
    pub tp: TopicPartition,
    /// Which offset.
    pub spec: OffsetSpec,
    /// The leader epoch the client believes in (KIP-320).
    pub current_leader_epoch: Option<LeaderEpoch>,
}

/// `ListOffsetsResponse`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListOffsetsResponse {
    /// The request's.
    pub correlation_id: CorrelationId,
    /// The partition.
    pub tp: TopicPartition,
    /// `NONE` or why not.
    pub error: ErrorCode,
    /// The offset asked for.
    pub offset: Offset,
    /// The leader's epoch.
    pub leader_epoch: LeaderEpoch,
}

/// `DeleteRecordsRequest` (KIP-107) for one partition, sent to its leader.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteRecordsRequest {
    /// Echoed by the response.
    pub correlation_id: CorrelationId,
    /// The partition.
    pub tp: TopicPartition,
    /// Where its log start moves.
    pub to: crate::io::DeleteRecordsTo,
}

/// `DeleteRecordsResponse` for one partition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteRecordsResponse {
    /// The request's.
    pub correlation_id: CorrelationId,
    /// The partition.
    pub tp: TopicPartition,
    /// The leader's log start afterwards (`lowWatermark`).
    pub low_watermark: Offset,
    /// `NONE` or why not.
    pub error: ErrorCode,
}
