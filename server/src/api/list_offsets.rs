//! ListOffsets: earliest (-2) and latest (-1) per partition, one internal message each. The
//! lab has no transactions, so read_committed's latest (the LSO) is the high watermark.
//! Lookups by timestamp are not implemented: `INVALID_REQUEST` for that partition.

use super::{by_topic, topic, Ctx, Reply, Start};
use crate::errors;
use broker_core::{CorrelationId, LeaderEpoch, Message, OffsetSpec, TopicPartition};
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};

/// `ListOffsetsRequest.EARLIEST_TIMESTAMP` and `LATEST_TIMESTAMP`.
const EARLIEST: i64 = -2;
const LATEST: i64 = -1;

/// One partition's answer, in request order.
struct Slot {
    tp: TopicPartition,
    waiting: Option<CorrelationId>,
    answer: ListOffsetsPartitionResponse,
}

/// Waiting for every partition's answer.
pub struct Pending {
    reply: Reply,
    slots: Vec<Slot>,
}

pub(super) fn start(request: ListOffsetsRequest, reply: Reply, ctx: &mut Ctx<'_>) -> Start {
    let mut messages = Vec::new();
    let mut slots = Vec::new();
    for t in &request.topics {
        for p in &t.partitions {
            let tp = TopicPartition::new(&topic(&t.name), p.partition_index.max(0) as u32);
            let answer = ListOffsetsPartitionResponse::default()
                .with_partition_index(p.partition_index)
                .with_timestamp(-1)
                .with_offset(-1);
            let spec = match p.timestamp {
                EARLIEST => OffsetSpec::Earliest,
                LATEST => OffsetSpec::Latest,
                _ => {
                    let answer = answer.with_error_code(crate::errors::code::invalid_request());
                    slots.push(Slot {
                        tp,
                        waiting: None,
                        answer,
                    });
                    continue;
                }
            };
            let correlation_id = ctx.correlation();
            messages.push(Message::ListOffsets(broker_core::ListOffsetsRequest {
                correlation_id,
                tp: tp.clone(),
                spec,
                current_leader_epoch: u32::try_from(p.current_leader_epoch).ok().map(LeaderEpoch),
            }));
            slots.push(Slot {
                tp,
                waiting: Some(correlation_id),
                answer,
            });
        }
    }
    let mut pending = Pending { reply, slots };
    if messages.is_empty() {
        return Start::Answer(pending.encode());
    }
    Start::Send(messages, super::Pending::ListOffsets(pending))
}

impl Pending {
    pub(super) fn on_message(&mut self, message: Message) -> Option<crate::request::Frame> {
        let Message::ListOffsetsResponse(broker_core::ListOffsetsResponse {
            correlation_id,
            error,
            offset,
            leader_epoch,
            ..
        }) = message
        else {
            return None;
        };
        let slot = self
            .slots
            .iter_mut()
            .find(|s| s.waiting == Some(correlation_id))?;
        slot.waiting = None;
        slot.answer.error_code = errors::wire(error);
        if error.is_ok() {
            slot.answer.offset = offset.0 as i64;
            // leaderEpoch is in the response from v4 on.
            if self.reply.version >= 4 {
                slot.answer.leader_epoch = leader_epoch.0 as i32;
            }
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
                ListOffsetsTopicResponse::default()
                    .with_name(name)
                    .with_partitions(partitions)
            })
            .collect();
        self.reply
            .encode(&ListOffsetsResponse::default().with_topics(topics))
    }
}
