//! Producing: `Produce` and `InitProducerId` (Kafka's `ProduceRequest`, `InitProducerIdRequest`
//! and their responses).

use crate::error::ErrorCode;
use crate::record::RecordBatch;
use crate::types::{CorrelationId, Offset, ProducerId, TopicPartition};
use serde::{Deserialize, Serialize};

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

/// One partition's records in a `ProduceRequest` (`PartitionProduceData`): one batch, as
/// Kafka's `LogValidator.getFirstBatchAndMaybeValidateNoMoreBatches` requires of record batch v2.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionProduceData {
    /// The partition.
    pub tp: TopicPartition,
    /// The records.
    pub batch: RecordBatch,
}

/// `ProduceRequest`: batches for several partitions of one leader (Kafka's topics → partitions
/// → records, flattened to partitions as `FetchRequest` has them). Each partition is appended
/// and answered on its own; the response goes when every partition is done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProduceRequest {
    /// Echoed by the response.
    pub correlation_id: CorrelationId,
    /// When the leader answers.
    pub acks: Acks,
    /// How long an acks=all request may wait for the ISR.
    pub timeout_ms: u64,
    /// The partitions, each at most once.
    pub partitions: Vec<PartitionProduceData>,
}

/// One partition of a `ProduceResponse` (`PartitionProduceResponse`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionProduceResponse {
    /// The partition.
    pub tp: TopicPartition,
    /// `NONE` or why not (this partition alone).
    pub error: ErrorCode,
    /// The offset of the batch's first record, when appended.
    pub base_offset: Option<Offset>,
}

/// `ProduceResponse` (never sent for acks=0).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProduceResponse {
    /// The request's.
    pub correlation_id: CorrelationId,
    /// One per requested partition, in request order.
    pub partitions: Vec<PartitionProduceResponse>,
}

/// `InitProducerIdRequest`: an idempotent producer asks for its producer id and epoch (any
/// broker answers).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitProducerIdRequest {
    /// Echoed by the response.
    pub correlation_id: CorrelationId,
}

/// `InitProducerIdResponse`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitProducerIdResponse {
    /// The request's.
    pub correlation_id: CorrelationId,
    /// `NONE` or why not.
    pub error: ErrorCode,
    /// The producer id.
    pub producer_id: ProducerId,
    /// Its epoch.
    pub producer_epoch: u16,
}
