//! Produce: the wire request becomes one internal `Produce` with every partition whose records
//! decode to one batch (CRC-32C checked, any codec), and the broker's one response becomes the
//! wire response. A partition whose records do not decode is refused alone
//! (`CORRUPT_MESSAGE`, `UNSUPPORTED_COMPRESSION_TYPE`), as `LogValidator` does, and so is one
//! with no batch or several (`INVALID_RECORD`: `LogValidator.getFirstBatchAndMaybeValidateNoMoreBatches`
//! allows one batch of record batch v2 per partition). acks=0 gets no response at all
//! (`KafkaApis.handleProduceRequest`).

use super::{by_topic, topic, Ctx, Reply, Start};
use crate::batch::{decode_batches, BatchError};
use crate::errors::{self, code};
use broker_core::{Acks, CorrelationId, ErrorCode, Message, PartitionProduceData, TopicPartition};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};

/// One partition's answer, in request order.
struct Slot {
    tp: TopicPartition,
    answer: PartitionProduceResponse,
}

/// Waiting for the broker's answer.
pub struct Pending {
    reply: Reply,
    correlation_id: CorrelationId,
    slots: Vec<Slot>,
}

/// `acks` as the wire writes it: 0, 1 or -1 (all). Anything else is `INVALID_REQUIRED_ACKS`.
fn acks(wire: i16) -> Option<Acks> {
    match wire {
        0 => Some(Acks::None),
        1 => Some(Acks::Leader),
        -1 => Some(Acks::All),
        _ => None,
    }
}

pub(super) fn start(request: ProduceRequest, reply: Reply, ctx: &mut Ctx<'_>) -> Start {
    let acks = acks(request.acks);
    let mut partitions: Vec<PartitionProduceData> = Vec::new();
    let mut slots = Vec::new();
    for t in &request.topic_data {
        for p in &t.partition_data {
            let tp = TopicPartition::new(&topic(&t.name), p.index.max(0) as u32);
            let mut answer = PartitionProduceResponse::default()
                .with_index(p.index)
                .with_base_offset(-1)
                .with_log_append_time_ms(-1)
                .with_log_start_offset(-1);
            let decoded = p.records.as_deref().map(decode_batches);
            let repeated = partitions.iter().any(|d| d.tp == tp);
            answer.error_code = match (acks, decoded) {
                (None, _) => kafka_protocol::error::ResponseError::InvalidRequiredAcks.code(),
                (_, None) => code::corrupt_message(),
                (_, Some(Err(e))) => batch_error(&e),
                // Kafka keeps the last of a repeated partition; the internal request holds each
                // partition once, so the lab refuses the repeat.
                _ if repeated => code::invalid_request(),
                (Some(_), Some(Ok(mut batches))) => match (batches.pop(), batches.is_empty()) {
                    (Some(batch), true) => {
                        partitions.push(PartitionProduceData {
                            tp: tp.clone(),
                            batch,
                        });
                        0
                    }
                    _ => errors::wire(ErrorCode::INVALID_RECORD),
                },
            };
            slots.push(Slot { tp, answer });
        }
    }
    let correlation_id = ctx.correlation();
    let mut pending = Pending {
        reply,
        correlation_id,
        slots,
    };
    let message = |acks| {
        vec![Message::Produce(broker_core::ProduceRequest {
            correlation_id,
            acks,
            timeout_ms: request.timeout_ms.max(0) as u64,
            partitions,
        })]
    };
    match acks {
        Some(Acks::None) if pending.waiting() => Start::SendNoAnswer(message(Acks::None)),
        Some(Acks::None) => Start::SendNoAnswer(Vec::new()),
        Some(acks) if pending.waiting() => {
            Start::Send(message(acks), super::Pending::Produce(pending))
        }
        _ => Start::Answer(pending.encode()),
    }
}

fn batch_error(error: &BatchError) -> i16 {
    match error {
        BatchError::Corrupt(_) => code::corrupt_message(),
        BatchError::UnsupportedCodec(_) => code::unsupported_compression(),
        BatchError::Transactional => code::invalid_request(),
    }
}

impl Pending {
    /// Whether a partition went to the broker.
    fn waiting(&self) -> bool {
        self.slots.iter().any(|s| s.answer.error_code == 0)
    }

    pub(super) fn on_message(&mut self, message: Message) -> Option<crate::request::Frame> {
        let Message::ProduceResponse(response) = message else {
            return None;
        };
        if response.correlation_id != self.correlation_id {
            return None;
        }
        for p in response.partitions {
            let Some(slot) = self
                .slots
                .iter_mut()
                .find(|s| s.tp == p.tp && s.answer.error_code == 0)
            else {
                continue;
            };
            match p.base_offset.filter(|_| p.error.is_ok()) {
                Some(offset) => slot.answer.base_offset = offset.0 as i64,
                None => slot.answer.error_code = errors::wire(p.error),
            }
        }
        Some(self.encode())
    }

    fn encode(&mut self) -> crate::request::Frame {
        let topics = by_topic(self.slots.iter().map(|s| (&s.tp, s.answer.clone())))
            .into_iter()
            .map(|(name, partitions)| {
                TopicProduceResponse::default()
                    .with_name(name)
                    .with_partition_responses(partitions)
            })
            .collect();
        self.reply
            .encode(&ProduceResponse::default().with_responses(topics))
    }
}
