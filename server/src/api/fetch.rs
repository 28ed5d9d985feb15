//! Fetch (consumer fetches; a `replica_id` from a client is ignored): one internal `Fetch`
//! with every partition, answered with the batches uncompressed and re-encoded. No fetch
//! sessions (KIP-227): `session_id` 0 tells the client to keep sending full requests. Without
//! transactions the last stable offset is the high watermark and no transaction is aborted.

use super::{topic, topic_name, Ctx, Reply, Start};
use crate::batch::encode_batch;
use crate::errors;
use broker_core::{
    CorrelationId, FetchPartition, FetchPartitionResponse, LeaderEpoch, Message, Offset,
    TopicPartition,
};
use bytes::Bytes;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse};

/// Waiting for the broker's answer.
pub struct Pending {
    reply: Reply,
    correlation_id: CorrelationId,
}

pub(super) fn start(request: FetchRequest, reply: Reply, ctx: &mut Ctx<'_>) -> Start {
    let partitions = request
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| FetchPartition {
                tp: TopicPartition::new(&topic(&t.topic), p.partition.max(0) as u32),
                fetch_offset: Offset(p.fetch_offset.max(0) as u64),
                last_fetched_epoch: None,
                current_leader_epoch: u32::try_from(p.current_leader_epoch).ok().map(LeaderEpoch),
            })
        })
        .collect::<Vec<_>>();
    let correlation_id = ctx.correlation();
    Start::Send(
        vec![Message::Fetch(broker_core::FetchRequest {
            correlation_id,
            replica_id: None,
            broker_epoch: None,
            max_wait_ms: request.max_wait_ms.max(0) as u64,
            partitions,
        })],
        super::Pending::Fetch(Pending {
            reply,
            correlation_id,
        }),
    )
}

impl Pending {
    pub(super) fn on_message(&mut self, message: Message) -> Option<crate::request::Frame> {
        let Message::FetchResponse(broker_core::FetchResponse {
            correlation_id,
            partitions,
        }) = message
        else {
            return None;
        };
        if correlation_id != self.correlation_id {
            return None;
        }
        let mut topics: Vec<FetchableTopicResponse> = Vec::new();
        for p in &partitions {
            let data = partition_data(p, self.reply.version);
            let name = topic_name(&p.tp.topic);
            match topics.iter_mut().find(|t| t.topic == name) {
                Some(t) => t.partitions.push(data),
                None => topics.push(
                    FetchableTopicResponse::default()
                        .with_topic(name)
                        .with_partitions(vec![data]),
                ),
            }
        }
        let response = FetchResponse::default().with_responses(topics);
        Some(self.reply.encode(&response))
    }
}

fn partition_data(p: &FetchPartitionResponse, version: i16) -> PartitionData {
    let mut records = Vec::new();
    for batch in &p.batches {
        encode_batch(batch, &mut records);
    }
    PartitionData::default()
        .with_partition_index(p.tp.partition as i32)
        .with_error_code(errors::wire(p.error))
        .with_high_watermark(p.high_watermark.0 as i64)
        .with_last_stable_offset(p.high_watermark.0 as i64)
        // logStartOffset is in the response from v5 on.
        .with_log_start_offset(if version >= 5 {
            p.log_start_offset.0 as i64
        } else {
            -1
        })
        .with_aborted_transactions(Some(Vec::new()))
        .with_preferred_read_replica(BrokerId(-1))
        .with_records(Some(Bytes::from(records)))
}
