//! The controller's topic rules (`ReplicationControlManagerTest`'s createTopics and
//! deleteTopics cases): placement, the error codes, validate-only, and the records.

use super::*;
use crate::config::{ClusterConfig, ConfigMap, ProtocolSwitches};
use crate::io::{DiskImage, Input, Output};
use crate::protocol::{
    BrokerHeartbeatRequest, BrokerRegistrationRequest, BrokerRegistrationResponse, CreatedTopic,
    Requester,
};
use std::collections::VecDeque;

struct Harness {
    controller: Controller,
    disk: VecDeque<DiskOpId>,
    out: Vec<Output>,
}

impl Harness {
    /// A controller with `brokers` registered and unfenced, no topics, and `cluster` configs.
    fn new(brokers: u32, cluster: &[(&str, i64)]) -> Harness {
        let map: ConfigMap = cluster
            .iter()
            .map(|(k, v)| (k.to_string(), crate::config::ConfigValue::Int(*v)))
            .collect();
        let config = ClusterConfig::parse(&map, ProtocolSwitches::default()).expect("valid");
        let mut h = Harness {
            controller: Controller::new(ControllerId(1), config, Vec::new(), Time(0)),
            disk: VecDeque::new(),
            out: Vec::new(),
        };
        h.input(Input::Start {
            disk: DiskImage::default(),
            incarnation_id: 0,
        });
        for b in 1..=brokers {
            let epoch = h.register(b);
            let offset = h.controller.metadata().offset;
            h.send(
                b,
                Message::BrokerHeartbeat(BrokerHeartbeatRequest {
                    broker_id: BrokerId(b),
                    broker_epoch: epoch,
                    metadata_offset: offset,
                    want_shut_down: false,
                }),
            );
        }
        h
    }

    fn input(&mut self, input: Input) {
        self.controller.handle(Time(0), input);
        crate::io::drain_for_test(
            &mut self.controller,
            Time(0),
            false,
            &mut self.disk,
            &mut self.out,
        );
    }

    /// Deliver `message` from broker `b`; what the controller sent `b` meanwhile.
    fn send(&mut self, b: u32, message: Message) -> Vec<Message> {
        let mark = self.out.len();
        let from = NodeId::Broker(BrokerId(b));
        self.input(Input::Message { from, message });
        self.out[mark..]
            .iter()
            .filter_map(|o| match o {
                Output::Send { to, message } if *to == from => Some(message.clone()),
                _ => None,
            })
            .collect()
    }

    fn register(&mut self, b: u32) -> BrokerEpoch {
        let sent = self.send(
            b,
            Message::BrokerRegistration(BrokerRegistrationRequest {
                broker_id: BrokerId(b),
                incarnation_id: u64::from(b),
                previous_broker_epoch: None,
            }),
        );
        sent.into_iter()
            .find_map(|m| match m {
                Message::BrokerRegistrationResponse(BrokerRegistrationResponse {
                    broker_epoch,
                    ..
                }) => Some(broker_epoch),
                _ => None,
            })
            .expect("registered")
    }

    fn create(&mut self, topics: Vec<NewTopic>, validate_only: bool) -> Vec<CreatedTopic> {
        let request = CreateTopicsRequest {
            correlation_id: CorrelationId(7),
            topics,
            validate_only,
            requester: Requester::Forwarded(NodeId::Broker(BrokerId(9))),
        };
        let sent = self.send(1, Message::CreateTopics(request));
        match sent.into_iter().last() {
            Some(Message::CreateTopicsResponse(r)) => {
                assert_eq!(r.correlation_id, CorrelationId(7));
                assert_eq!(
                    r.requester,
                    Requester::Forwarded(NodeId::Broker(BrokerId(9)))
                );
                r.topics
            }
            other => panic!("expected a CreateTopicsResponse, got {other:?}"),
        }
    }

    fn delete(&mut self, topics: &[&str]) -> Vec<(Topic, ErrorCode)> {
        let request = DeleteTopicsRequest {
            correlation_id: CorrelationId(8),
            topics: topics.iter().map(|t| Topic::new(t)).collect(),
            requester: Requester::Forwarded(NodeId::Broker(BrokerId(9))),
        };
        match self
            .send(2, Message::DeleteTopics(request))
            .into_iter()
            .last()
        {
            Some(Message::DeleteTopicsResponse(r)) => r.topics,
            other => panic!("expected a DeleteTopicsResponse, got {other:?}"),
        }
    }
}

fn new_topic(name: &str, partitions: Option<i32>, rf: Option<i16>) -> NewTopic {
    NewTopic {
        name: Topic::new(name),
        partitions,
        replication_factor: rf,
        assignment: Vec::new(),
        configs: Vec::new(),
    }
}

fn b(ids: &[u32]) -> Vec<BrokerId> {
    ids.iter().map(|i| BrokerId(*i)).collect()
}

#[test]
fn striped_placement_rotates_leaders_and_followers() {
    let brokers = b(&[1, 2, 3]);
    assert_eq!(
        place_replicas(4, 2, &brokers, 0),
        vec![b(&[1, 2]), b(&[2, 3]), b(&[3, 1]), b(&[1, 2])]
    );
    // A later start shifts every partition: topic k starts on broker k mod n.
    assert_eq!(
        place_replicas(2, 3, &brokers, 4),
        vec![b(&[2, 3, 1]), b(&[3, 1, 2])]
    );
}

#[test]
fn a_created_topic_is_committed_with_its_partitions_placed_on_unfenced_brokers() {
    let mut h = Harness::new(3, &[]);
    let created = h.create(vec![new_topic("orders", Some(3), Some(2))], false);
    assert_eq!(created[0].error, ErrorCode::NONE);
    assert_eq!(
        (created[0].partitions, created[0].replication_factor),
        (3, 2)
    );
    let image = h.controller.metadata();
    assert!(image.topics.contains_key(&Topic::new("orders")));
    let p1 = &image.partitions[&TopicPartition::new(&Topic::new("orders"), 1)];
    assert_eq!(p1.replicas, b(&[2, 3]));
    assert_eq!(p1.leader, Some(BrokerId(2)));
    assert_eq!(p1.isr, b(&[2, 3]));
}

#[test]
fn defaults_come_from_num_partitions_and_default_replication_factor() {
    let mut h = Harness::new(
        3,
        &[("num.partitions", 4), ("default.replication.factor", 3)],
    );
    let created = h.create(vec![new_topic("t", None, None)], false);
    assert_eq!(
        (created[0].partitions, created[0].replication_factor),
        (4, 3)
    );
    // Kafka's own defaults: one partition, one replica.
    let mut h = Harness::new(3, &[]);
    let created = h.create(vec![new_topic("t", None, None)], false);
    assert_eq!(
        (created[0].partitions, created[0].replication_factor),
        (1, 1)
    );
}

#[test]
fn each_bad_topic_gets_kafkas_error_code_and_the_good_ones_are_created() {
    let mut h = Harness::new(3, &[]);
    h.create(vec![new_topic("exists", Some(1), Some(1))], false);
    let mut bad_config = new_topic("bad-config", Some(1), Some(1));
    bad_config.configs = vec![("no.such.config".into(), Some("1".into()))];
    let mut bad_value = new_topic("bad-value", Some(1), Some(1));
    bad_value.configs = vec![("min.insync.replicas".into(), Some("zero".into()))];
    let created = h.create(
        vec![
            new_topic("exists", Some(1), Some(1)),
            new_topic("zero-partitions", Some(0), Some(1)),
            new_topic("zero-rf", Some(1), Some(0)),
            new_topic("too-many-replicas", Some(1), Some(4)),
            new_topic("bad/name", Some(1), Some(1)),
            new_topic("..", Some(1), Some(1)),
            bad_config,
            bad_value,
            new_topic("too-many-partitions", Some(1001), Some(1)),
            new_topic("fine", Some(2), Some(3)),
        ],
        false,
    );
    let errors: Vec<ErrorCode> = created.iter().map(|c| c.error).collect();
    assert_eq!(
        errors,
        vec![
            ErrorCode::TOPIC_ALREADY_EXISTS,
            ErrorCode::INVALID_PARTITIONS,
            ErrorCode::INVALID_REPLICATION_FACTOR,
            ErrorCode::INVALID_REPLICATION_FACTOR,
            ErrorCode::INVALID_TOPIC_EXCEPTION,
            ErrorCode::INVALID_TOPIC_EXCEPTION,
            ErrorCode::INVALID_CONFIG,
            ErrorCode::INVALID_CONFIG,
            ErrorCode::INVALID_PARTITIONS,
            ErrorCode::NONE,
        ]
    );
    assert!(created[3]
        .message
        .as_deref()
        .unwrap()
        .contains("only 3 broker(s)"));
    let image = h.controller.metadata();
    assert_eq!(image.topics.len(), 2, "only `exists` and `fine`");
}

#[test]
fn a_name_twice_in_one_request_is_refused_for_both_and_colliding_names_too() {
    let mut h = Harness::new(3, &[]);
    h.create(vec![new_topic("a.b", Some(1), Some(1))], false);
    let created = h.create(
        vec![
            new_topic("x", Some(1), Some(1)),
            new_topic("x", Some(1), Some(1)),
            new_topic("a_b", Some(1), Some(1)),
        ],
        false,
    );
    let errors: Vec<ErrorCode> = created.iter().map(|c| c.error).collect();
    assert_eq!(
        errors,
        vec![
            ErrorCode::INVALID_REQUEST,
            ErrorCode::INVALID_REQUEST,
            ErrorCode::INVALID_TOPIC_EXCEPTION
        ]
    );
}

#[test]
fn validate_only_answers_without_creating() {
    let mut h = Harness::new(3, &[]);
    let created = h.create(vec![new_topic("t", Some(2), Some(3))], true);
    assert_eq!(created[0].error, ErrorCode::NONE);
    assert_eq!(created[0].partitions, 2);
    assert!(h.controller.metadata().topics.is_empty());
}

#[test]
fn fenced_brokers_do_not_count_for_the_replication_factor() {
    let mut h = Harness::new(2, &[]);
    // Broker 3 registers but never heartbeats: fenced.
    h.register(3);
    let created = h.create(vec![new_topic("t", Some(1), Some(3))], false);
    assert_eq!(created[0].error, ErrorCode::INVALID_REPLICATION_FACTOR);
}

#[test]
fn a_manual_assignment_is_taken_as_given_or_refused() {
    let mut h = Harness::new(3, &[]);
    let mut manual = new_topic("m", None, None);
    manual.assignment = vec![b(&[3, 1]), b(&[1, 2])];
    let mut uneven = new_topic("u", None, None);
    uneven.assignment = vec![b(&[3, 1]), b(&[1])];
    let mut unknown = new_topic("k", None, None);
    unknown.assignment = vec![b(&[7])];
    let created = h.create(vec![manual, uneven, unknown], false);
    let errors: Vec<ErrorCode> = created.iter().map(|c| c.error).collect();
    assert_eq!(
        errors,
        vec![
            ErrorCode::NONE,
            ErrorCode::INVALID_REPLICA_ASSIGNMENT,
            ErrorCode::INVALID_REPLICA_ASSIGNMENT
        ]
    );
    let p0 = &h.controller.metadata().partitions[&TopicPartition::new(&Topic::new("m"), 0)];
    assert_eq!(p0.replicas, b(&[3, 1]));
}

#[test]
fn deleting_removes_the_topic_and_its_partitions_and_unknown_ones_are_errors() {
    let mut h = Harness::new(3, &[]);
    h.create(vec![new_topic("gone", Some(2), Some(2))], false);
    let deleted = h.delete(&["gone", "never"]);
    assert_eq!(
        deleted,
        vec![
            (Topic::new("gone"), ErrorCode::NONE),
            (Topic::new("never"), ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)
        ]
    );
    let image = h.controller.metadata();
    assert!(image.topics.is_empty());
    assert!(image.partitions.is_empty());
    // The name is free again.
    let created = h.create(vec![new_topic("gone", Some(1), Some(1))], false);
    assert_eq!(created[0].error, ErrorCode::NONE);
}

#[test]
fn topic_names_follow_kafkas_topic_validate() {
    assert!(invalid_topic_name("orders-1.v2_x").is_none());
    assert!(invalid_topic_name("").is_some());
    assert!(invalid_topic_name(".").is_some());
    assert!(invalid_topic_name("a b").is_some());
    assert!(invalid_topic_name(&"x".repeat(249)).is_none());
    assert!(invalid_topic_name(&"x".repeat(250)).is_some());
}
