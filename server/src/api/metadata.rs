//! Metadata: the broker's image as the client sees it, with each broker advertised at
//! `base_port + N - 1` (`KafkaApis.handleTopicMetadataRequest`). A topic the cluster lacks is
//! `UNKNOWN_TOPIC_OR_PARTITION`; a partition without a leader `LEADER_NOT_AVAILABLE`. A request
//! that names topics and allows their creation (`allowAutoTopicCreation`, implicitly true
//! before v4) also sends the broker an `AutoCreateTopics`; its answer gives each unknown topic
//! its error (`UNKNOWN_TOPIC_OR_PARTITION` while it is being created, as a KRaft broker
//! answers; `INVALID_TOPIC_EXCEPTION` for a bad name).

use super::{topic_name, Ctx, Reply, Start};
use crate::errors::code;
use broker_core::{
    AutoCreateTopicsRequest, BrokerId, CorrelationId, ErrorCode, Message, PartitionMetadata, Topic,
};
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{MetadataRequest, MetadataResponse};
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeMap;

/// The cluster id every response carries.
pub const CLUSTER_ID: &str = "kafka-lab";

/// Each unknown topic's error, as the broker's automatic creation answered.
type TopicErrors = Vec<(Topic, ErrorCode)>;

/// Waiting for the broker's image.
pub struct Pending {
    reply: Reply,
    correlation_id: CorrelationId,
    /// The topics asked for; `None` for all.
    topics: Option<Vec<String>>,
    broker: BrokerId,
    advertised: super::Advertised,
    /// The broker's image, once it is in.
    image: Option<(Vec<BrokerId>, Vec<PartitionMetadata>)>,
    /// The automatic creation asked for: its correlation id and, once in, each unknown
    /// topic's error.
    auto_create: Option<(CorrelationId, Option<TopicErrors>)>,
}

pub(super) fn start(request: MetadataRequest, reply: Reply, ctx: &mut Ctx<'_>) -> Start {
    // v0 lists no topics to mean all of them; v1+ sends null for all.
    let topics: Option<Vec<String>> = match request.topics {
        Some(t) if t.is_empty() && reply.version == 0 => None,
        Some(t) => Some(
            t.into_iter()
                .filter_map(|t| t.name.map(|n| n.0.as_str().to_owned()))
                .collect(),
        ),
        None => None,
    };
    let mut messages = Vec::with_capacity(2);
    let mut auto_create = None;
    // `allowAutoTopicCreation` is in the request from v4 on; older requests allow it.
    let allowed = reply.version < 4 || request.allow_auto_topic_creation;
    if let Some(names) = topics.as_ref().filter(|t| allowed && !t.is_empty()) {
        let correlation_id = ctx.correlation();
        let topics = names.iter().map(|n| Topic::new(n)).collect();
        let request = AutoCreateTopicsRequest {
            correlation_id,
            topics,
        };
        messages.push(Message::AutoCreateTopics(request));
        auto_create = Some((correlation_id, None));
    }
    let correlation_id = ctx.correlation();
    messages.push(Message::Metadata(broker_core::MetadataRequest {
        correlation_id,
    }));
    Start::Send(
        messages,
        super::Pending::Metadata(Pending {
            reply,
            correlation_id,
            topics,
            broker: ctx.broker,
            advertised: ctx.advertised.clone(),
            image: None,
            auto_create,
        }),
    )
}

impl Pending {
    pub(super) fn on_message(&mut self, message: Message) -> Option<crate::request::Frame> {
        match message {
            Message::MetadataResponse(broker_core::MetadataResponse {
                correlation_id,
                brokers,
                partitions,
            }) if correlation_id == self.correlation_id => {
                self.image = Some((brokers, partitions));
            }
            Message::AutoCreateTopicsResponse(r) => match self.auto_create.as_mut() {
                Some((id, answer)) if *id == r.correlation_id => *answer = Some(r.topics),
                _ => return None,
            },
            _ => return None,
        }
        let auto_create_in = self.auto_create.as_ref().is_none_or(|(_, a)| a.is_some());
        if !auto_create_in {
            return None;
        }
        let (brokers, partitions) = self.image.take()?;
        Some(self.reply.encode(&self.response(&brokers, partitions)))
    }

    /// What the response says of a topic the image lacks: the automatic creation's answer,
    /// else `UNKNOWN_TOPIC_OR_PARTITION`.
    fn unknown_topic_error(&self, topic: &Topic) -> i16 {
        let created = self.auto_create.as_ref().and_then(|(_, a)| a.as_ref());
        match created.and_then(|a| a.iter().find(|(t, _)| t == topic)) {
            Some((_, error)) => crate::errors::wire(*error),
            None => code::unknown_topic(),
        }
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
            .map(|t| match by_topic.get(t) {
                Some(partitions) => topic_entry(t, partitions, self.reply.version),
                None => unknown_topic_entry(t, self.reply.version, self.unknown_topic_error(t)),
            })
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

fn unknown_topic_entry(topic: &Topic, version: i16, error: i16) -> MetadataResponseTopic {
    topic_header(topic, version).with_error_code(error)
}

fn topic_header(topic: &Topic, version: i16) -> MetadataResponseTopic {
    // isInternal is in the response from v1 on.
    MetadataResponseTopic::default()
        .with_name(Some(topic_name(topic)))
        .with_is_internal(version >= 1 && topic.0.starts_with("__"))
}

fn topic_entry(
    topic: &Topic,
    partitions: &[PartitionMetadata],
    version: i16,
) -> MetadataResponseTopic {
    let entry = topic_header(topic, version);
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
