//! Produce: each partition's records decode to the lab's batches (CRC-32C checked, any codec)
//! and go to the broker as one internal `Produce` per batch; the response gathers them in
//! request order. A batch that does not decode is refused for its partition alone
//! (`CORRUPT_MESSAGE`, `UNSUPPORTED_COMPRESSION_TYPE`), as `LogValidator` does. acks=0 gets no
//! response at all (`KafkaApis.handleProduceRequest`).

use super::{by_topic, topic, Ctx, Reply, Start};
use crate::batch::{decode_batches, BatchError};
use crate::errors::{self, code};
use broker_core::{Acks, CorrelationId, ErrorCode, Message, TopicPartition};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};

/// One partition's answer, in request order; `waiting` lists its batches not yet answered.
struct Slot {
    tp: TopicPartition,
    waiting: Vec<CorrelationId>,
    answer: PartitionProduceResponse,
}

/// Waiting for every batch's answer.
pub struct Pending {
    reply: Reply,
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
    let timeout_ms = request.timeout_ms.max(0) as u64;
    let mut messages = Vec::new();
    let mut slots = Vec::new();
    for t in &request.topic_data {
        for p in &t.partition_data {
            let tp = TopicPartition::new(&topic(&t.name), p.index.max(0) as u32);
            let mut slot = Slot {
                tp: tp.clone(),
                waiting: Vec::new(),
                answer: PartitionProduceResponse::default()
                    .with_index(p.index)
                    .with_base_offset(-1)
                    .with_log_append_time_ms(-1)
                    .with_log_start_offset(-1),
            };
            let decoded = p.records.as_deref().map(decode_batches);
            match (acks, decoded) {
                (None, _) => {
                    slot.answer.error_code =
                        kafka_protocol::error::ResponseError::InvalidRequiredAcks.code()
                }
                (_, None) => slot.answer.error_code = code::corrupt_message(),
                (_, Some(Err(e))) => slot.answer.error_code = batch_error(&e),
                (Some(acks), Some(Ok(batches))) => {
                    for batch in batches {
                        let correlation_id = ctx.correlation();
                        slot.waiting.push(correlation_id);
                        messages.push(Message::Produce(broker_core::ProduceRequest {
                            correlation_id,
                            tp: tp.clone(),
                            acks,
                            timeout_ms,
                            batch,
                        }));
                    }
                }
            }
            slots.push(slot);
        }
    }
    let mut pending = Pending { reply, slots };
    if acks == Some(Acks::None) {
        return Start::SendNoAnswer(messages);
    }
    if messages.is_empty() {
        return Start::Answer(pending.encode());
    }
    Start::Send(messages, super::Pending::Produce(pending))
}

fn batch_error(error: &BatchError) -> i16 {
    match error {
        BatchError::Corrupt(_) => code::corrupt_message(),
        BatchError::UnsupportedCodec(_) => code::unsupported_compression(),
        BatchError::Transactional => code::invalid_request(),
    }
}

impl Pending {
    pub(super) fn on_message(&mut self, message: Message) -> Option<crate::request::Frame> {
        let Message::ProduceResponse(broker_core::ProduceResponse {
            correlation_id,
            error,
            base_offset,
            ..
        }) = message
        else {
            return None;
        };
        let slot = self
            .slots
            .iter_mut()
            .find(|s| s.waiting.contains(&correlation_id))?;
        let first = slot.waiting.first() == Some(&correlation_id);
        slot.waiting.retain(|c| *c != correlation_id);
        // The partition's answer is its first batch's offset and its first error.
        if first {
            if let Some(offset) = base_offset.filter(|_| error.is_ok()) {
                slot.answer.base_offset = offset.0 as i64;
            }
        }
        if slot.answer.error_code == 0 && error != ErrorCode::NONE {
            slot.answer.error_code = errors::wire(error);
            slot.answer.base_offset = -1;
        }
        self.slots
            .iter()
            .all(|s| s.waiting.is_empty())
            .then(|| self.encode())
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
