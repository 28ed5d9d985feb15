//! CreateTopics (19) and DeleteTopics (20): the wire request becomes one internal
//! `CreateTopicsRequest`/`DeleteTopicsRequest`, which the broker forwards to the active
//! controller (`ControllerApis`); the answer comes back once the controller committed it.
//! The lab has no topic ids: v7's `topicId` is the nil UUID, and a v6 deletion by id alone is
//! `UNKNOWN_TOPIC_ID`. From v5 a created topic's result carries its configs, as
//! `ReplicationControlManager.createTopic` fills them: each with its value and source, as
//! DescribeConfigs describes them (`describe_configs::topic_entries`).

use super::describe_configs::topic_entries;
use super::{topic, topic_name, Ctx, Reply, Start};
use crate::errors;
use broker_core::{
    BrokerId, CorrelationId, CreateTopicsRequest, DeleteTopicsRequest, Message, NewTopic,
    Requester, Topic,
};
use broker_core::{ConfigMap, ConfigValue, TopicConfig};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{
    CreateTopicsRequest as WireCreate, CreateTopicsResponse, DeleteTopicsRequest as WireDelete,
    DeleteTopicsResponse,
};
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeMap;

/// Waiting for the controller's answer, relayed by the broker.
pub struct Pending {
    reply: Reply,
    correlation_id: CorrelationId,
    /// DeleteTopics v6 entries named by id only, answered `UNKNOWN_TOPIC_ID` (after the named
    /// ones).
    unnamed: Vec<DeletableTopicResult>,
    /// CreateTopics v5+: each requested topic's configs, answered if it is created.
    configs: BTreeMap<Topic, Vec<CreatableTopicConfigs>>,
}

pub(super) fn create_topics(request: WireCreate, reply: Reply, ctx: &mut Ctx<'_>) -> Start {
    let correlation_id = ctx.correlation();
    let topics: Vec<NewTopic> = request.topics.into_iter().map(new_topic).collect();
    let configs = match (reply.version >= 5, ctx.state) {
        (true, Some(broker)) => topics_configs(&topics, &broker.config().topic_defaults),
        _ => BTreeMap::new(),
    };
    let internal = CreateTopicsRequest {
        correlation_id,
        topics,
        validate_only: request.validate_only,
        requester: Requester::Client,
    };
    let mut start = pending(
        Message::CreateTopics(internal),
        reply,
        correlation_id,
        Vec::new(),
    );
    if let Start::Send(_, super::Pending::TopicsAdmin(p)) = &mut start {
        p.configs = configs;
    }
    start
}

/// Each topic's configs as it will be created: its own over the cluster's defaults (a topic
/// whose configs the controller refuses gets none: its result is an error).
fn topics_configs(
    topics: &[NewTopic],
    defaults: &TopicConfig,
) -> BTreeMap<Topic, Vec<CreatableTopicConfigs>> {
    let mut out = BTreeMap::new();
    for t in topics {
        let mut map = ConfigMap::new();
        for (key, value) in &t.configs {
            let Some(value) = value else { continue };
            map.insert(key.clone(), ConfigValue::Str(value.clone()));
        }
        let Ok(config) = TopicConfig::parse(&map, defaults) else {
            continue;
        };
        let entries = topic_entries(&config, defaults)
            .into_iter()
            .map(|(name, _, value, source, read_only)| {
                CreatableTopicConfigs::default()
                    .with_name(StrBytes::from_static_str(name))
                    .with_value(Some(StrBytes::from_string(value)))
                    .with_read_only(read_only)
                    .with_config_source(source as i8)
            })
            .collect();
        out.insert(t.name.clone(), entries);
    }
    out
}

fn new_topic(t: kafka_protocol::messages::create_topics_request::CreatableTopic) -> NewTopic {
    // -1 asks for the broker's defaults (KIP-464).
    let partitions = (t.num_partitions != -1).then_some(t.num_partitions);
    let replication_factor = (t.replication_factor != -1).then_some(t.replication_factor);
    let mut assignment: Vec<_> = t.assignments.into_iter().collect();
    assignment.sort_by_key(|a| a.partition_index);
    let assignment = assignment
        .into_iter()
        .map(|a| {
            a.broker_ids
                .into_iter()
                .map(|b| BrokerId(b.0.max(0) as u32))
                .collect()
        })
        .collect();
    let configs = t
        .configs
        .into_iter()
        .map(|c| (c.name.to_string(), c.value.map(|v| v.to_string())))
        .collect();
    NewTopic {
        name: topic(&t.name),
        partitions,
        replication_factor,
        assignment,
        configs,
    }
}

pub(super) fn delete_topics(request: WireDelete, reply: Reply, ctx: &mut Ctx<'_>) -> Start {
    let correlation_id = ctx.correlation();
    // v0-5 name topics in `topicNames`; v6 in `topics`, by name or by id.
    let mut names: Vec<Topic> = request.topic_names.iter().map(topic).collect();
    let mut unnamed = Vec::new();
    for state in request.topics {
        match state.name {
            Some(name) => names.push(topic(&name)),
            None => unnamed.push(
                DeletableTopicResult::default()
                    .with_topic_id(state.topic_id)
                    .with_error_code(ResponseError::UnknownTopicId.code()),
            ),
        }
    }
    let internal = DeleteTopicsRequest {
        correlation_id,
        topics: names,
        requester: Requester::Client,
    };
    pending(
        Message::DeleteTopics(internal),
        reply,
        correlation_id,
        unnamed,
    )
}

fn pending(
    message: Message,
    reply: Reply,
    correlation_id: CorrelationId,
    unnamed: Vec<DeletableTopicResult>,
) -> Start {
    Start::Send(
        vec![message],
        super::Pending::TopicsAdmin(Pending {
            reply,
            correlation_id,
            unnamed,
            configs: BTreeMap::new(),
        }),
    )
}

impl Pending {
    pub(super) fn on_message(&mut self, message: Message) -> Option<crate::request::Frame> {
        match message {
            Message::CreateTopicsResponse(r) if r.correlation_id == self.correlation_id => {
                let topics = r
                    .topics
                    .into_iter()
                    .map(|t| {
                        let configs = self.configs.remove(&t.name).filter(|_| t.error.is_ok());
                        let result = created(t);
                        match configs {
                            Some(configs) => result.with_configs(Some(configs)),
                            None => result,
                        }
                    })
                    .collect();
                let response = CreateTopicsResponse::default().with_topics(topics);
                Some(self.reply.encode(&response))
            }
            Message::DeleteTopicsResponse(r) if r.correlation_id == self.correlation_id => {
                let mut results: Vec<DeletableTopicResult> = r
                    .topics
                    .into_iter()
                    .map(|(t, error)| {
                        DeletableTopicResult::default()
                            .with_name(Some(topic_name(&t)))
                            .with_error_code(errors::wire(error))
                    })
                    .collect();
                results.append(&mut self.unnamed);
                let response = DeleteTopicsResponse::default().with_responses(results);
                Some(self.reply.encode(&response))
            }
            _ => None,
        }
    }
}

fn created(t: broker_core::CreatedTopic) -> CreatableTopicResult {
    let ok = t.error.is_ok();
    CreatableTopicResult::default()
        .with_name(topic_name(&t.name))
        .with_error_code(errors::wire(t.error))
        .with_error_message(t.message.map(StrBytes::from_string))
        // v5+: -1 on an error, as Kafka answers.
        .with_num_partitions(if ok { t.partitions as i32 } else { -1 })
        .with_replication_factor(if ok { t.replication_factor as i16 } else { -1 })
}
