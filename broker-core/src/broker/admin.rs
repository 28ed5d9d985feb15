//! The broker's side of the admin APIs: topic changes are the controller's, so `CreateTopics`
//! and `DeleteTopics` are forwarded to the active controller and its answer relayed
//! (KRaft's `ForwardingManager`); `Metadata` for unknown topics creates them when
//! `auto.create.topics.enable` (`AutoTopicCreationManager`); a deleted topic's replicas and
//! files go when the broker applies the `RemoveTopic` record (`ReplicaManager.stopPartitions`
//! with deletion, `LogManager.asyncDelete`).

use super::*;
use crate::io::{DiskOp, FileName};
use crate::protocol::{
    invalid_topic_name, AutoCreateTopicsRequest, AutoCreateTopicsResponse, CreateTopicsRequest,
    NewTopic, Requester,
};
use crate::ErrorCode;

impl Broker {
    /// Forward a client's `CreateTopics` or `DeleteTopics` to the active controller. If that
    /// controller is gone the request is lost and the client's own timeout retries it, as a
    /// forwarded request times out in Kafka.
    pub(super) fn forward_to_controller(&mut self, from: NodeId, message: Message) {
        let message = match message {
            Message::CreateTopics(mut r) => {
                r.requester = Requester::Forwarded(from);
                Message::CreateTopics(r)
            }
            Message::DeleteTopics(mut r) => {
                r.requester = Requester::Forwarded(from);
                Message::DeleteTopics(r)
            }
            other => unreachable!("only topic changes are forwarded: {}", other.api_name()),
        };
        self.out.send(self.controller.active(), message);
    }

    /// Relay the controller's answer to the client it was forwarded for; the answer to the
    /// broker's own automatic creation goes nowhere (the client learns from its next Metadata).
    pub(super) fn relay_from_controller(&mut self, message: Message) {
        let not_controller = match &message {
            Message::CreateTopicsResponse(r) => r
                .topics
                .iter()
                .any(|t| t.error == ErrorCode::NOT_CONTROLLER),
            Message::DeleteTopicsResponse(r) => r
                .topics
                .iter()
                .any(|(_, e)| *e == ErrorCode::NOT_CONTROLLER),
            _ => false,
        };
        if not_controller {
            // A standby answered: the next request goes to the next voter, as heartbeats do.
            self.controller.try_next();
        }
        let (to, message) = match message {
            Message::CreateTopicsResponse(mut r) => match r.requester {
                Requester::Forwarded(to) => {
                    r.requester = Requester::Client;
                    (to, Message::CreateTopicsResponse(r))
                }
                _ => return,
            },
            Message::DeleteTopicsResponse(mut r) => match r.requester {
                Requester::Forwarded(to) => {
                    r.requester = Requester::Client;
                    (to, Message::DeleteTopicsResponse(r))
                }
                _ => return,
            },
            other => unreachable!("only topic answers are relayed: {}", other.api_name()),
        };
        self.out.send(to, message);
    }

    /// `KafkaApis.getTopicMetadata` for topics the image lacks: with
    /// `auto.create.topics.enable` each valid name is sent to the controller for creation with
    /// the defaults (`num.partitions`, `default.replication.factor`) and answered
    /// `UNKNOWN_TOPIC_OR_PARTITION`, as a KRaft broker's `AutoTopicCreationManager` answers the
    /// topics it forwards (a ZooKeeper-mode broker, which created them itself, answered
    /// `LEADER_NOT_AVAILABLE`); an invalid name is `INVALID_TOPIC_EXCEPTION`; without the config,
    /// `UNKNOWN_TOPIC_OR_PARTITION`. A topic already being created is simply asked for again:
    /// the controller answers `TOPIC_ALREADY_EXISTS`, which the broker drops (Kafka keeps an
    /// in-flight set to save that round trip).
    pub(super) fn handle_auto_create(&mut self, from: NodeId, request: AutoCreateTopicsRequest) {
        let unknown: Vec<Topic> = request
            .topics
            .into_iter()
            .filter(|t| !self.image.topics.contains_key(t))
            .collect();
        let mut answers = Vec::with_capacity(unknown.len());
        let mut create = Vec::new();
        for topic in unknown {
            let error = if !self.config.auto_create_topics_enable {
                ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
            } else if invalid_topic_name(&topic.0).is_some() {
                ErrorCode::INVALID_TOPIC_EXCEPTION
            } else {
                create.push(NewTopic {
                    name: topic.clone(),
                    partitions: None,
                    replication_factor: None,
                    assignment: Vec::new(),
                    configs: Vec::new(),
                });
                ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
            };
            answers.push((topic, error));
        }
        if !create.is_empty() {
            let request = CreateTopicsRequest {
                correlation_id: request.correlation_id,
                topics: create,
                validate_only: false,
                requester: Requester::AutoCreate,
            };
            self.out
                .send(self.controller.active(), Message::CreateTopics(request));
        }
        let response = AutoCreateTopicsResponse {
            correlation_id: request.correlation_id,
            topics: answers,
        };
        self.out
            .send(from, Message::AutoCreateTopicsResponse(response));
    }

    /// A topic was deleted: its replicas here stop, their waiting produces fail
    /// (`NOT_LEADER_OR_FOLLOWER`, as for a partition that moved away), and their segment and
    /// leader-epoch files are deleted.
    pub(super) fn remove_topic(&mut self, topic: &Topic) {
        let gone: Vec<TopicPartition> = self
            .replicas
            .keys()
            .filter(|tp| tp.topic == *topic)
            .cloned()
            .collect();
        if gone.is_empty() {
            return;
        }
        self.fail_delayed_partitions(ErrorCode::NOT_LEADER_OR_FOLLOWER, |tp| tp.topic == *topic);
        for tp in gone {
            let replica = self.replicas.remove(&tp).expect("listed above");
            for segment in replica.log.segments() {
                let file = FileName::Segment(tp.clone(), segment.base_offset);
                self.issue_disk(DiskPurpose::Other, |id| DiskOp::Delete { id, file });
            }
            // Emptied rather than deleted (checkpoints are replaced, never removed): a topic
            // created again under the name must not inherit these epochs.
            self.write_epoch_checkpoint(&tp, Vec::new());
        }
        self.write_hw_checkpoint();
        self.write_cleaner_checkpoint();
    }
}
