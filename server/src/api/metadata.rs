//! Metadata: the broker's image as the client sees it, with each broker advertised at
//! `base_port + N - 1` (`KafkaApis.handleTopicMetadataRequest`). A topic the cluster lacks is
//! `UNKNOWN_TOPIC_OR_PARTITION`; a partition without a leader `LEADER_NOT_AVAILABLE`.

use super::{topic_name, Ctx, Reply, Start};
use crate::errors::code;
use broker_core::{BrokerId, CorrelationId, ErrorCode, Message, PartitionMetadata, Topic};
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{MetadataRequest, MetadataResponse};
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeMap;

/// The cluster id every response carries.
pub const CLUSTER_ID: &str = "kafka-lab";

/// Waiting for the broker's image.
pub struct Pending {
    reply: Reply,
    correlation_id: CorrelationId,
    /// The topics asked for; `None` for all.
    topics: Option<Vec<String>>,
    broker: BrokerId,
    advertised: super::Advertised,
}

pub(super) fn start(request: MetadataRequest, reply: Reply, ctx: &mut Ctx<'_>) -> Start {
    // v0 lists no topics to mean all of them; v1+ sends null for all.
    let topics = match request.topics {
        Some(t) if t.is_empty() && reply.version == 0 => None,
        Some(t) => Some(
            t.into_iter()
                .filter_map(|t| t.name.map(|n| n.0.as_str().to_owned()))
                .collect(),
        ),
        None => None,
    };
    let correlation_id = ctx.correlation();
    Start::Send(
        vec![Message::Metadata { correlation_id }],
        super::Pending::Metadata(Pending {
            reply,
            correlation_id,
            topics,
            broker: ctx.broker,
            advertised: ctx.advertised.clone(),
        }),
    )
}

impl Pending {
    pub(super) fn on_message(&mut self, message: Message) -> Option<crate::request::Frame> {
        let Message::MetadataResponse {
            correlation_id,
            brokers,
            partitions,
        } = message
        else {
            return None;
        };
        if correlation_id != self.correlation_id {
            return None;
        }
        Some(self.reply.encode(&self.response(&brokers, partitions)))
    }

    fn response(
        &self,
        brokers: &[BrokerId],
        partitions: Vec<PartitionMetadata>,
    ) -> MetadataResponse {
        let mut by_topic: BTreeMap<Topic, Vec<PartitionMetadata>> = BTreeMap::new();
        for p in partitions {
            by_topic.entry(p.tp.topic.clone()).or_default().push(p);
        }
        let wanted: Vec<Topic> = match &self.topics {
            Some(names) => names.iter().map(|n| Topic::new(n)).collect(),
            None => by_topic.keys().cloned().collect(),
        };
        let topics = wanted
            .iter()
            .map(|t| topic_entry(t, by_topic.get(t), self.reply.version))
            .collect();
        let brokers = brokers
            .iter()
            .map(|b| {
                MetadataResponseBroker::default()
                    .with_node_id(kafka_protocol::messages::BrokerId(b.0 as i32))
                    .with_host(StrBytes::from_string(self.advertised.host.clone()))
                    .with_port(self.advertised.port(*b))
            })
            .collect();
        let version = self.reply.version;
        let mut response = MetadataResponse::default()
            .with_brokers(brokers)
            .with_topics(topics);
        // Fields by the version that has them: clusterId v2+, controllerId v1+.
        if version >= 2 {
            response.cluster_id = Some(StrBytes::from_static_str(CLUSTER_ID));
        }
        if version >= 1 {
            // KRaft brokers name a live broker as the controller; admin clients send
            // CreateTopics there. The broker that answered is live.
            response.controller_id = kafka_protocol::messages::BrokerId(self.broker.0 as i32);
        }
        response
    }
}

fn topic_entry(
    topic: &Topic,
    partitions: Option<&Vec<PartitionMetadata>>,
    version: i16,
) -> MetadataResponseTopic {
    // isInternal is in the response from v1 on.
    let entry = MetadataResponseTopic::default()
        .with_name(Some(topic_name(topic)))
        .with_is_internal(version >= 1 && topic.0.starts_with("__"));
    let Some(partitions) = partitions else {
        return entry.with_error_code(code::unknown_topic());
    };
    let ids = |v: &[BrokerId]| {
        v.iter()
            .map(|b| kafka_protocol::messages::BrokerId(b.0 as i32))
            .collect::<Vec<_>>()
    };
    let partitions = partitions
        .iter()
        .map(|p| {
            let error = match p.leader {
                Some(_) => ErrorCode::NONE,
                None => ErrorCode::LEADER_NOT_AVAILABLE,
            };
            MetadataResponsePartition::default()
                .with_error_code(crate::errors::wire(error))
                .with_partition_index(p.tp.partition as i32)
                .with_leader_id(kafka_protocol::messages::BrokerId(
                    p.leader.map_or(-1, |b| b.0 as i32),
                ))
                // leaderEpoch is in the response from v7 on.
                .with_leader_epoch(if version >= 7 {
                    p.leader_epoch.0 as i32
                } else {
                    -1
                })
                .with_replica_nodes(ids(&p.replicas))
                .with_isr_nodes(ids(&p.isr))
        })
        .collect();
    entry.with_partitions(partitions)
}
