//! The admin APIs end to end through the engine and a live world (no sockets): CreateTopics,
//! automatic creation on Metadata, DescribeConfigs, DeleteTopics, ListGroups and DescribeGroups
//! as a real client's frames, answered by the brokers and the controller.

use crate::engine::{Command, Engine, Out};
use crate::request::decode;
use broker_core::{BrokerId, Time};
use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use std::sync::mpsc::{channel, Receiver};

struct Client {
    engine: Engine,
    answers: Receiver<Out>,
    correlation: i32,
    now: u64,
}

impl Client {
    /// The default `serve` cluster, running, with one connection to broker 1.
    fn new() -> Client {
        let mut engine = crate::test_engine(&crate::default_scenario().unwrap());
        let (out, answers) = channel();
        engine.handle(Command::Connect {
            conn: 1,
            broker: BrokerId(1),
            name: "admin".into(),
            out,
        });
        Client {
            engine,
            answers,
            correlation: 0,
            now: 3_000,
        }
    }

    /// Send `body` as `api` v`version`, run the world until it is answered; the response.
    fn call<R: Decodable>(&mut self, api: ApiKey, version: i16, body: &impl Encodable) -> R {
        self.correlation += 1;
        let mut buf = BytesMut::new();
        RequestHeader::default()
            .with_request_api_key(api as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_static_str("admin")))
            .encode(&mut buf, api.request_header_version(version))
            .unwrap();
        body.encode(&mut buf, version).unwrap();
        let raw = buf.freeze();
        let request = Box::new(decode(raw.clone()).unwrap());
        self.engine.handle(Command::Request {
            conn: 1,
            request,
            raw,
        });
        for _ in 0..100 {
            if let Ok(Out::Frame(frame)) = self.answers.try_recv() {
                let mut bytes = Bytes::from(frame[4..].to_vec());
                ResponseHeader::decode(&mut bytes, api.response_header_version(version)).unwrap();
                return R::decode(&mut bytes, version).unwrap();
            }
            self.now += 10;
            self.engine.run_until(Time(self.now));
        }
        panic!("{api:?} v{version} was not answered within a second");
    }

    fn metadata(&mut self, topic: &str, auto: bool) -> metadata_response::MetadataResponseTopic {
        let request = MetadataRequest::default()
            .with_topics(Some(vec![metadata_request::MetadataRequestTopic::default(
            )
            .with_name(Some(name(topic)))]))
            .with_allow_auto_topic_creation(auto);
        let response: MetadataResponse = self.call(ApiKey::Metadata, 12, &request);
        response.topics.into_iter().next().unwrap()
    }

    fn wait(&mut self, ms: u64) {
        self.now += ms;
        self.engine.run_until(Time(self.now));
    }
}

fn name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_owned()))
}

fn creatable(topic: &str, partitions: i32, rf: i16) -> create_topics_request::CreatableTopic {
    create_topics_request::CreatableTopic::default()
        .with_name(name(topic))
        .with_num_partitions(partitions)
        .with_replication_factor(rf)
}

#[test]
fn topics_are_created_described_and_deleted_by_a_clients_requests() {
    let mut c = Client::new();
    let mut configured = creatable("made", 2, 3);
    configured.configs = vec![create_topics_request::CreatableTopicConfig::default()
        .with_name(StrBytes::from_static_str("retention.ms"))
        .with_value(Some(StrBytes::from_static_str("60000")))];
    let request = CreateTopicsRequest::default().with_topics(vec![
        configured,
        creatable("bad name", 1, 1),
        creatable("too-wide", 1, 4),
    ]);
    let created: CreateTopicsResponse = c.call(ApiKey::CreateTopics, 7, &request);
    let got: Vec<(i16, i32, i16)> = created
        .topics
        .iter()
        .map(|t| (t.error_code, t.num_partitions, t.replication_factor))
        .collect();
    assert_eq!(got, vec![(0, 2, 3), (17, -1, -1), (38, -1, -1)]);
    c.wait(500);
    let made = c.metadata("made", false);
    assert_eq!(made.error_code, 0);
    assert_eq!(made.partitions.len(), 2);
    assert!(made.partitions.iter().all(|p| p.replica_nodes.len() == 3));

    let describe = DescribeConfigsRequest::default().with_resources(vec![
        describe_configs_request::DescribeConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(StrBytes::from_static_str("made"))
            .with_configuration_keys(None),
        describe_configs_request::DescribeConfigsResource::default()
            .with_resource_type(4)
            .with_resource_name(StrBytes::from_static_str("1"))
            .with_configuration_keys(Some(vec![StrBytes::from_static_str("num.partitions")])),
    ]);
    let described: DescribeConfigsResponse = c.call(ApiKey::DescribeConfigs, 4, &describe);
    let config = |r: usize, key: &str| {
        let entry = described.results[r]
            .configs
            .iter()
            .find(|e| e.name.as_str() == key)
            .unwrap_or_else(|| panic!("{key} described"));
        (
            entry.value.as_ref().unwrap().to_string(),
            entry.config_source,
        )
    };
    assert_eq!(
        config(0, "retention.ms"),
        ("60000".into(), 1),
        "the topic's own"
    );
    assert_eq!(
        config(0, "cleanup.policy"),
        ("delete".into(), 5),
        "Kafka's default"
    );
    assert_eq!(
        config(1, "num.partitions"),
        ("3".into(), 4),
        "serve.toml sets it"
    );
    assert_eq!(
        described.results[1].configs.len(),
        1,
        "only the key asked for"
    );
    assert!(described.results[1].configs[0].read_only);

    let delete = DeleteTopicsRequest::default().with_topic_names(vec![name("made"), name("nope")]);
    let deleted: DeleteTopicsResponse = c.call(ApiKey::DeleteTopics, 5, &delete);
    let codes: Vec<i16> = deleted.responses.iter().map(|r| r.error_code).collect();
    assert_eq!(codes, vec![0, 3]);
    c.wait(500);
    assert_eq!(c.metadata("made", false).error_code, 3, "gone");
}

#[test]
fn metadata_for_an_unknown_topic_creates_it_with_the_brokers_defaults() {
    let mut c = Client::new();
    assert_eq!(
        c.metadata("quiet", false).error_code,
        3,
        "not allowed: unknown"
    );
    let first = c.metadata("fresh", true);
    assert_eq!(
        first.error_code, 3,
        "UNKNOWN_TOPIC_OR_PARTITION while it is created"
    );
    c.wait(500);
    let later = c.metadata("fresh", true);
    assert_eq!(later.error_code, 0);
    assert_eq!(later.partitions.len(), 3, "num.partitions of serve.toml");
    assert!(later.partitions.iter().all(|p| p.leader_id.0 > 0));
    assert_eq!(c.metadata("quiet", false).error_code, 3, "still unknown");
    assert_eq!(c.metadata("bad name", true).error_code, 17);
}

#[test]
fn groups_are_listed_and_described_by_their_coordinator() {
    let mut c = Client::new();
    let listed: ListGroupsResponse = c.call(ApiKey::ListGroups, 5, &ListGroupsRequest::default());
    assert_eq!(listed.error_code, 0);
    assert!(listed.groups.is_empty(), "no group has joined");
    let request =
        DescribeGroupsRequest::default().with_groups(vec![GroupId(StrBytes::from_static_str("g"))]);
    let described: DescribeGroupsResponse = c.call(ApiKey::DescribeGroups, 5, &request);
    let g = &described.groups[0];
    // Broker 1 either coordinates `g` (then it is Dead: unknown) or says NOT_COORDINATOR (16).
    assert!(
        (g.error_code == 0 && g.group_state.as_str() == "Dead") || g.error_code == 16,
        "{g:?}"
    );
}
