//! DeleteRecords (21, KIP-107): one internal `DeleteRecordsRequest` per partition to the broker
//! this connection reached, which answers each as `ReplicaManager.deleteRecords` does:
//! `NOT_LEADER_OR_FOLLOWER` for a partition it does not lead (the admin client sends each
//! partition to its leader). The broker records `Event::RecordsDeleted`, so the checker counts
//! the records below the new log start as deleted on purpose (`expired-unread`), not lost.

use super::{by_topic, topic, Ctx, Reply, Start};
use crate::errors;
use broker_core::{CorrelationId, DeleteRecordsTo, Message, Offset, TopicPartition};
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};

/// `DeleteRecordsRequest.HIGH_WATERMARK`.
const HIGH_WATERMARK: i64 = -1;

/// One partition's answer, in request order.
struct Slot {
    tp: TopicPartition,
    waiting: Option<CorrelationId>,
    answer: DeleteRecordsPartitionResult,
}

/// Waiting for every partition's answer.
pub struct Pending {
    reply: Reply,
    slots: Vec<Slot>,
}

/// Where a wire offset moves the log start; `None` for a negative offset other than `-1`
/// (`OFFSET_OUT_OF_RANGE`, as `UnifiedLog.maybeIncrementLogStartOffset` answers it).
fn target(offset: i64) -> Option<DeleteRecordsTo> {
    match offset {
        HIGH_WATERMARK => Some(DeleteRecordsTo::HighWatermark),
        o => u64::try_from(o)
            .ok()
            .map(|o| DeleteRecordsTo::Offset(Offset(o))),
    }
}

pub(super) fn start(request: DeleteRecordsRequest, reply: Reply, ctx: &mut Ctx<'_>) -> Start {
    let mut messages = Vec::new();
    let mut slots = Vec::new();
    for t in &request.topics {
        for p in &t.partitions {
            let tp = TopicPartition::new(&topic(&t.name), p.partition_index.max(0) as u32);
            let mut answer = DeleteRecordsPartitionResult::default()
                .with_partition_index(p.partition_index)
                .with_low_watermark(-1);
            let waiting = match target(p.offset) {
                Some(to) => {
                    let correlation_id = ctx.correlation();
                    messages.push(Message::DeleteRecords(broker_core::DeleteRecordsRequest {
                        correlation_id,
                        tp: tp.clone(),
                        to,
                    }));
                    Some(correlation_id)
                }
                None => {
                    answer.error_code = errors::wire(broker_core::ErrorCode::OFFSET_OUT_OF_RANGE);
                    None
                }
            };
            slots.push(Slot {
                tp,
                waiting,
                answer,
            });
        }
    }
    let mut pending = Pending { reply, slots };
    if messages.is_empty() {
        return Start::Answer(pending.encode());
    }
    Start::Send(messages, super::Pending::DeleteRecords(pending))
}

impl Pending {
    pub(super) fn on_message(&mut self, message: Message) -> Option<crate::request::Frame> {
        let Message::DeleteRecordsResponse(r) = message else {
            return None;
        };
        let slot = self
            .slots
            .iter_mut()
            .find(|s| s.waiting == Some(r.correlation_id))?;
        slot.waiting = None;
        slot.answer.error_code = errors::wire(r.error);
        if r.error.is_ok() {
            slot.answer.low_watermark = r.low_watermark.0 as i64;
        }
        self.slots
            .iter()
            .all(|s| s.waiting.is_none())
            .then(|| self.encode())
    }

    fn encode(&mut self) -> crate::request::Frame {
        let topics = by_topic(self.slots.iter().map(|s| (&s.tp, s.answer.clone())))
            .into_iter()
            .map(|(name, partitions)| {
                DeleteRecordsTopicResult::default()
                    .with_name(name)
                    .with_partitions(partitions)
            })
            .collect();
        self.reply
            .encode(&DeleteRecordsResponse::default().with_topics(topics))
    }
}
