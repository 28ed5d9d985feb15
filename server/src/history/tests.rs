//! The real client's history: what the wire shows enters the checker's history, a recorded
//! session's replay judges it, and its verdict names the client and its counts.

use super::Feeder;
use crate::record::{replay, to_hex, Event};
use broker_core::{
    Acks, BrokerId, CorrelationId, ErrorCode, Message, Offset, ProducerFields, ProducerId, Record,
    RecordBatch, Time, Topic, TopicPartition,
};
use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{
    fetch_request, produce_request, ApiKey, FetchRequest, ProduceRequest, RequestHeader, TopicName,
};
use kafka_protocol::protocol::{Encodable, StrBytes};
use sim::{FindingKind, World};

fn test_0() -> TopicPartition {
    TopicPartition::new(&Topic::new("test"), 0)
}

fn batch(values: &[&str], idempotent: bool) -> RecordBatch {
    let records = values
        .iter()
        .map(|v| Record {
            key: None,
            value: Some(Bytes::copy_from_slice(v.as_bytes())),
            timestamp_ms: 1,
            headers: vec![],
        })
        .collect();
    let fields = idempotent.then_some(ProducerFields {
        producer_id: ProducerId(7),
        producer_epoch: 0,
        base_sequence: 0,
    });
    RecordBatch::new(fields, records)
}

/// The internal Produce of `values` to test-0, as the server makes it from a request.
fn produce(id: u64, acks: Acks, values: &[&str], idempotent: bool) -> Message {
    Message::Produce(broker_core::ProduceRequest {
        correlation_id: CorrelationId(id),
        acks,
        timeout_ms: 30_000,
        partitions: vec![broker_core::PartitionProduceData {
            tp: test_0(),
            batch: batch(values, idempotent),
        }],
    })
}

/// A request frame (no size prefix, as a recording keeps it) from `client`.
fn frame(api: ApiKey, version: i16, client: &str, body: &impl Encodable) -> String {
    let mut buf = BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(api as i16)
        .with_request_api_version(version)
        .with_correlation_id(1)
        .with_client_id(Some(StrBytes::from_string(client.to_owned())))
        .encode(&mut buf, api.request_header_version(version))
        .unwrap();
    body.encode(&mut buf, version).unwrap();
    to_hex(&buf)
}

fn produce_frame(client: &str, values: &[&str]) -> String {
    let mut records = Vec::new();
    crate::batch::encode_batch(&batch(values, false), &mut records);
    let request = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(30_000)
        .with_topic_data(vec![produce_request::TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_static_str("test")))
            .with_partition_data(vec![
                produce_request::PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(Bytes::from(records))),
            ])]);
    frame(ApiKey::Produce, 7, client, &request)
}

fn fetch_frame(client: &str) -> String {
    let request = FetchRequest::default()
        .with_max_wait_ms(100)
        .with_max_bytes(1 << 20)
        .with_topics(vec![fetch_request::FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_static_str("test")))
            .with_partitions(vec![fetch_request::FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(0)
                .with_current_leader_epoch(-1)
                .with_partition_max_bytes(1 << 20)])]);
    frame(ApiKey::Fetch, 4, client, &request)
}

fn served_world() -> (scenarios::Scenario, World) {
    // The default cluster has no topics; test-0 is a startup topic here.
    let scenario = crate::scenario_with_topic(crate::DEFAULT_SCENARIO, "test");
    let spec = crate::serve::live_spec(scenario.world_spec().unwrap());
    (scenario, World::new(spec))
}

/// The leader of test-0 once the default cluster has settled (3 s).
fn leader_at_3s() -> BrokerId {
    let (_, mut world) = served_world();
    world.run_until(Time(3_000));
    world.controller().unwrap().metadata().partitions[&test_0()]
        .leader
        .expect("test-0 has a leader")
}

/// A session: a producer sends three records to test-0's leader, then a reader fetches them.
fn session() -> Vec<Event> {
    let broker = leader_at_3s().0;
    let connect = |conn, at| Event::Connect {
        at,
        conn,
        broker,
        name: format!("client-{conn} (127.0.0.1:5000{conn})"),
    };
    vec![
        connect(0, 3_000),
        Event::Frame {
            at: 3_000,
            conn: 0,
            hex: produce_frame("student-producer", &["a", "b", "c"]),
        },
        Event::Tick { at: 3_200 },
        connect(1, 3_300),
        Event::Frame {
            at: 3_300,
            conn: 1,
            hex: fetch_frame("student-reader"),
        },
        Event::Tick { at: 3_600 },
        Event::Disconnect { at: 3_700, conn: 0 },
        Event::Disconnect { at: 3_700, conn: 1 },
    ]
}

/// A session built of raw frames replays with its real clients judged: the verdict names each
/// by its `client.id` with what it sent, had acknowledged and consumed; twice the same.
#[test]
fn a_replayed_session_judges_the_real_clients_by_client_id() {
    let (scenario, _) = served_world();
    let events = session();
    let first = replay(&scenario, &events).unwrap();
    let verdict = crate::verdict::verdict(&first.engine);
    let names: Vec<&str> = verdict
        .clients
        .iter()
        .map(|c| c.client_id.as_str())
        .collect();
    assert_eq!(names, ["student-producer", "student-reader"]);
    let producer = &verdict.clients[0].counts;
    assert_eq!((producer.sent, producer.acknowledged), (3, 3));
    assert_eq!(verdict.clients[1].counts.read, 3);
    assert!(verdict.passed, "{}", verdict.text());
    let text = verdict.text();
    assert!(
        text.contains("client student-producer (connections 0): sent 3, acknowledged 3"),
        "{text}"
    );
    // The node carries the client id, for the report's explanations and the UI.
    let node = *first.engine.clients().keys().next().unwrap();
    assert_eq!(first.engine.world().name(node), "student-producer#0");
    let second = replay(&scenario, &events).unwrap();
    assert_eq!(crate::verdict::verdict(&second.engine).text(), text);
    assert_eq!(
        first.engine.world().fingerprint(),
        second.engine.world().fingerprint()
    );
}

/// A real client's acknowledged record that the log does not hold is `lost-write`, as a lab
/// producer's would be: the answer below acknowledges offset 0 of test-0, where nothing was
/// ever written. Without the feeding the history is empty and nothing is found.
#[test]
fn an_acknowledged_record_missing_from_the_log_is_a_lost_write() {
    let (_, mut world) = served_world();
    world.run_until(Time(3_000));
    let node = world.connect_external(0, "student#0".into());
    let mut feeder = Feeder::default();
    feeder.sent(&mut world, node, &produce(1, Acks::All, &["ghost"], true));
    let answer = Message::ProduceResponse(broker_core::ProduceResponse {
        correlation_id: CorrelationId(1),
        partitions: vec![broker_core::PartitionProduceResponse {
            tp: test_0(),
            error: ErrorCode::NONE,
            base_offset: Some(Offset(0)),
        }],
    });
    feeder.answered(&mut world, node, &answer);
    let findings = sim::check(&world);
    let lost: Vec<_> = findings
        .iter()
        .filter(|f| f.kind == FindingKind::LostWrite)
        .collect();
    assert_eq!(lost.len(), 1, "{findings:#?}");
    assert!(
        lost[0].records.iter().any(|r| r.contains("ghost")),
        "{:?}",
        lost[0]
    );
}

/// A real producer's acks and idempotence are promises as a scenario's producer's are: on a
/// durable cluster (RF=3, min.insync.replicas=2) an idempotent acks=all client keeps the
/// durability promise; one that sends with acks=1 withdraws it, saying who (by `client.id`).
#[test]
fn a_real_producers_acks_decide_what_is_promised() {
    let text = crate::DEFAULT_SCENARIO.replace(
        "\"broker.heartbeat.interval.ms\" = 1000,",
        "\"broker.heartbeat.interval.ms\" = 1000, \"min.insync.replicas\" = 2,",
    );
    assert_ne!(text, crate::DEFAULT_SCENARIO, "the config line was found");
    let scenario = crate::scenario_with_topic(&text, "test");
    let spec = crate::serve::live_spec(scenario.world_spec().unwrap());
    let mut world = World::new(spec);
    assert!(world.observer_promises().durability, "the cluster promises");
    let node = world.connect_external(0, "careful#0".into());
    let mut feeder = Feeder {
        client_id: Some("careful".into()),
        ..Feeder::default()
    };
    feeder.sent(&mut world, node, &produce(1, Acks::All, &["x"], true));
    assert!(world.observer_promises().durability);
    assert!(world.observer_promises().idempotence);
    feeder.sent(&mut world, node, &produce(2, Acks::Leader, &["x"], true));
    let promises = world.observer_promises();
    assert!(!promises.durability);
    assert!(
        promises.reasons.iter().any(|r| r == "careful: acks=1"),
        "{:?}",
        promises.reasons
    );
}

/// A connection that closes with a send unanswered leaves its outcome unknown, and a fetch
/// that does not continue where the last one left off is a new position, not a going back.
#[test]
fn closing_leaves_sends_unknown_and_a_new_fetch_offset_is_a_position() {
    let (_, mut world) = served_world();
    let node = world.connect_external(0, "c#0".into());
    let mut feeder = Feeder::default();
    feeder.sent(&mut world, node, &produce(1, Acks::All, &["p"], false));
    feeder.closed(&mut world, node);
    let last = &world.history().last().unwrap().entry;
    assert_eq!(
        last,
        &broker_core::HistoryEntry::SendCompleted {
            value: Bytes::from_static(b"p"),
            tp: test_0(),
            outcome: broker_core::SendOutcome::Info(ErrorCode::NETWORK_EXCEPTION),
        }
    );
    let fetch = |id, offset| {
        Message::Fetch(broker_core::FetchRequest {
            correlation_id: CorrelationId(id),
            replica_id: None,
            broker_epoch: None,
            max_wait_ms: 0,
            partitions: vec![broker_core::FetchPartition {
                tp: test_0(),
                fetch_offset: Offset(offset),
                last_fetched_epoch: None,
                current_leader_epoch: None,
            }],
        })
    };
    let positioned = |w: &World| {
        w.history()
            .iter()
            .filter(|r| matches!(r.entry, broker_core::HistoryEntry::Positioned { .. }))
            .count()
    };
    feeder.sent(&mut world, node, &fetch(2, 5));
    feeder.sent(&mut world, node, &fetch(3, 5));
    assert_eq!(
        positioned(&world),
        1,
        "the same offset again is no new position"
    );
    feeder.sent(&mut world, node, &fetch(4, 2));
    assert_eq!(positioned(&world), 2, "a seek back is a new position");
}
