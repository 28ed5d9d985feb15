//! Topics created and deleted at runtime (`ReplicationControlManager.createTopics` and
//! `deleteTopics`, behind `ControllerApis`): the checks in Kafka's order, the placement of
//! replicas over the unfenced brokers, and the records. The answer waits until the records are
//! committed, as `QuorumController` completes a write only then.

use super::{Controller, TopicSpec};
use crate::config::{ConfigMap, ConfigValue, TopicConfig, TOPIC_PARTITIONS_MAX};
use crate::error::ErrorCode;
use crate::metadata::{MetadataImage, MetadataRecord};
use crate::protocol::{
    invalid_topic_name, CreateTopicsRequest, CreateTopicsResponse, CreatedTopic,
    DeleteTopicsRequest, DeleteTopicsResponse, Message, NewTopic,
};
use crate::types::*;

/// Partitions of every topic together that the lab holds (the scenarios' own limit): a runtime
/// request is bounded before anything is sized by it.
const PARTITIONS_TOTAL_MAX: u64 = 4000;

/// `Topic.unifyCollisionChars`: `.` and `_` collide in metric names, so Kafka refuses a topic
/// whose name differs from an existing one only by them.
fn collision_key(name: &str) -> String {
    name.replace('.', "_")
}

/// `StripedReplicaPlacer` on one rack: partition `p`'s replicas are the `replication_factor`
/// brokers from index `start + p` on, round-robin over `brokers` (the unfenced ones, by id), so
/// leaders and followers spread evenly. Kafka starts at a random index; the lab's `start` is
/// deterministic (the number of topics the cluster has), so successive topics start on
/// successive brokers.
pub fn place_replicas(
    partitions: u32,
    replication_factor: u32,
    brokers: &[BrokerId],
    start: usize,
) -> Vec<Vec<BrokerId>> {
    let n = brokers.len();
    (0..partitions as usize)
        .map(|p| {
            (0..replication_factor as usize)
                .map(|i| brokers[(start + p + i) % n])
                .collect()
        })
        .collect()
}

/// What a creatable topic resolves to, or its error and message.
type Resolved = Result<TopicSpec, (ErrorCode, String)>;

impl Controller {
    /// `CreateTopics`: each topic checked and, unless `validate_only`, created; the answer
    /// goes back to the broker that forwarded it once the records are committed.
    pub(super) fn create_topics(&mut self, from: NodeId, request: CreateTopicsRequest) {
        let mut results = Vec::with_capacity(request.topics.len());
        for (i, topic) in request.topics.iter().enumerate() {
            // `ControllerApis.createTopics`: a name twice in one request is refused for both.
            let duplicate = request
                .topics
                .iter()
                .enumerate()
                .any(|(j, t)| j != i && t.name == topic.name);
            let resolved = if duplicate {
                Err((ErrorCode::INVALID_REQUEST, "Duplicate topic name.".into()))
            } else {
                self.resolve_new_topic(topic)
            };
            results.push(match resolved {
                Ok(spec) => {
                    let created = CreatedTopic {
                        name: spec.topic.clone(),
                        error: ErrorCode::NONE,
                        message: None,
                        partitions: spec.assignment.len() as u32,
                        replication_factor: spec.replication_factor(),
                    };
                    if !request.validate_only {
                        self.create_topic(spec);
                    }
                    created
                }
                Err((error, message)) => CreatedTopic {
                    name: topic.name.clone(),
                    error,
                    message: Some(message),
                    partitions: 0,
                    replication_factor: 0,
                },
            });
        }
        let response = CreateTopicsResponse {
            correlation_id: request.correlation_id,
            topics: results,
            requester: request.requester,
        };
        self.respond_when_durable(from, Message::CreateTopicsResponse(response));
    }

    /// `ReplicationControlManager.createTopic`'s checks in its order: the name, an existing
    /// topic (or one differing only by `.`/`_`), partitions and replication factor (or the
    /// manual assignment), then the configs (`ConfigurationControlManager`).
    fn resolve_new_topic(&self, topic: &NewTopic) -> Resolved {
        let name = &topic.name.0;
        if let Some(why) = invalid_topic_name(name) {
            return Err((ErrorCode::INVALID_TOPIC_EXCEPTION, why));
        }
        let exists = |t: &Topic| t == &topic.name;
        if self.image.topics.keys().any(exists) || self.topics.iter().any(|s| exists(&s.topic)) {
            return Err((
                ErrorCode::TOPIC_ALREADY_EXISTS,
                format!("Topic '{name}' already exists."),
            ));
        }
        let key = collision_key(name);
        if let Some(other) = self
            .image
            .topics
            .keys()
            .find(|t| collision_key(&t.0) == key)
        {
            return Err((
                ErrorCode::INVALID_TOPIC_EXCEPTION,
                format!("Topic '{name}' collides with existing topic: {other}"),
            ));
        }
        let assignment = match topic.assignment.is_empty() {
            true => self.placement(topic.partitions, topic.replication_factor)?,
            false => self.manual_assignment(topic)?,
        };
        let config = self.topic_config(&topic.configs)?;
        Ok(TopicSpec {
            topic: topic.name.clone(),
            assignment,
            config,
        })
    }

    /// Partitions and replication factor (-1 for the defaults), placed on the unfenced brokers.
    fn placement(
        &self,
        partitions: Option<i32>,
        replication_factor: Option<i16>,
    ) -> Result<Vec<Vec<BrokerId>>, (ErrorCode, String)> {
        let partitions = match partitions {
            None => self.config.num_partitions,
            Some(p) if p <= 0 => {
                return Err((
                    ErrorCode::INVALID_PARTITIONS,
                    "Number of partitions was set to an invalid non-positive value.".into(),
                ))
            }
            Some(p) => p as u32,
        };
        self.check_partition_count(partitions)?;
        let replication_factor = match replication_factor {
            None => self.config.default_replication_factor,
            Some(r) if r <= 0 => {
                return Err((
                    ErrorCode::INVALID_REPLICATION_FACTOR,
                    "Replication factor must be larger than 0, or -1 to use the default value."
                        .into(),
                ))
            }
            Some(r) => r as u32,
        };
        let usable = usable_brokers(&self.image);
        if replication_factor as usize > usable.len() {
            return Err((
                ErrorCode::INVALID_REPLICATION_FACTOR,
                format!(
                    "Unable to replicate the partition {replication_factor} time(s): The target \
                     replication factor of {replication_factor} cannot be reached because only \
                     {} broker(s) are registered.",
                    usable.len()
                ),
            ));
        }
        let start = self.image.topics.len();
        Ok(place_replicas(
            partitions,
            replication_factor,
            &usable,
            start,
        ))
    }

    /// The lab's bound on partitions, per topic and in all (Kafka's only bound is memory).
    fn check_partition_count(&self, partitions: u32) -> Result<(), (ErrorCode, String)> {
        let total: u64 = self.image.topics.values().map(|(p, _)| u64::from(*p)).sum();
        if partitions > TOPIC_PARTITIONS_MAX || total + u64::from(partitions) > PARTITIONS_TOTAL_MAX
        {
            return Err((
                ErrorCode::INVALID_PARTITIONS,
                format!(
                    "The lab holds at most {TOPIC_PARTITIONS_MAX} partitions per topic and \
                     {PARTITIONS_TOTAL_MAX} in all ({total} exist)."
                ),
            ));
        }
        Ok(())
    }

    /// `ReplicationControlManager.createTopic` with `assignments`: no count may be given with
    /// them, every partition has the same number of distinct, registered replicas.
    fn manual_assignment(
        &self,
        topic: &NewTopic,
    ) -> Result<Vec<Vec<BrokerId>>, (ErrorCode, String)> {
        let invalid = |m: &str| Err((ErrorCode::INVALID_REPLICA_ASSIGNMENT, m.to_owned()));
        if topic.partitions.is_some() || topic.replication_factor.is_some() {
            return Err((
                ErrorCode::INVALID_REQUEST,
                "A manual partition assignment was specified, but numPartitions or \
                 replicationFactor was not set to -1."
                    .into(),
            ));
        }
        self.check_partition_count(topic.assignment.len() as u32)?;
        let rf = topic.assignment[0].len();
        for replicas in &topic.assignment {
            if replicas.is_empty() || replicas.len() != rf {
                return invalid("All partitions must have the same, non-zero number of replicas.");
            }
            if replicas
                .iter()
                .enumerate()
                .any(|(i, b)| replicas[..i].contains(b))
            {
                return invalid("A partition's replicas must be distinct brokers.");
            }
            if !replicas.iter().all(|b| self.image.brokers.contains_key(b)) {
                return invalid("A partition's replicas must be registered brokers.");
            }
        }
        Ok(topic.assignment.clone())
    }

    /// The topic's configs over the cluster's defaults; a name the lab does not know or a value
    /// it refuses is `INVALID_CONFIG`.
    fn topic_config(
        &self,
        configs: &[(String, Option<String>)],
    ) -> Result<TopicConfig, (ErrorCode, String)> {
        let mut map = ConfigMap::new();
        for (key, value) in configs {
            let Some(value) = value else {
                return Err((
                    ErrorCode::INVALID_CONFIG,
                    format!("Null value not supported for topic configs: {key}"),
                ));
            };
            map.insert(key.clone(), ConfigValue::Str(value.clone()));
        }
        TopicConfig::parse(&map, &self.config.topic_defaults)
            .map_err(|e| (ErrorCode::INVALID_CONFIG, e.to_string()))
    }

    /// `DeleteTopics`: each known topic goes with its partitions (`RemoveTopicRecord`); brokers
    /// drop their replicas and files when they apply it.
    pub(super) fn delete_topics(&mut self, from: NodeId, request: DeleteTopicsRequest) {
        let mut results = Vec::with_capacity(request.topics.len());
        for (i, topic) in request.topics.iter().enumerate() {
            let duplicate =
                request.topics[..i].contains(topic) || request.topics[i + 1..].contains(topic);
            let error = if duplicate {
                ErrorCode::INVALID_REQUEST
            } else if topic.0.as_ref() == crate::group::OFFSETS_TOPIC {
                // The lab's own rule: its group coordinators live on this topic.
                ErrorCode::INVALID_REQUEST
            } else if !self.image.topics.contains_key(topic) {
                ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
            } else {
                self.append(MetadataRecord::RemoveTopic {
                    topic: topic.clone(),
                });
                self.decide(crate::io::Event::TopicDeleted {
                    topic: topic.clone(),
                });
                ErrorCode::NONE
            };
            results.push((topic.clone(), error));
        }
        let response = DeleteTopicsResponse {
            correlation_id: request.correlation_id,
            topics: results,
            requester: request.requester,
        };
        self.respond_when_durable(from, Message::DeleteTopicsResponse(response));
    }
}

/// The brokers a new topic's replicas may go to: registered, unfenced, not shutting down
/// (`ClusterControlManager.usableBrokers`), by id.
fn usable_brokers(image: &MetadataImage) -> Vec<BrokerId> {
    image
        .brokers
        .keys()
        .copied()
        .filter(|b| image.is_eligible(*b))
        .collect()
}

#[cfg(test)]
#[path = "topics_tests.rs"]
mod tests;
