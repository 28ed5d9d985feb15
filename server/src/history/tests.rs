//! The real client's history: what the wire shows enters the checker's history, a recorded
//! session's replay judges it, and its verdict names the client and its counts.

use super::{Feeder, RealGroups};
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
    feeder.sent(
        &mut world,
        &mut RealGroups::default(),
        node,
        &produce(1, Acks::All, &["ghost"], true),
    );
    let answer = Message::ProduceResponse(broker_core::ProduceResponse {
        correlation_id: CorrelationId(1),
        partitions: vec![broker_core::PartitionProduceResponse {
            tp: test_0(),
            error: ErrorCode::NONE,
            base_offset: Some(Offset(0)),
        }],
    });
    feeder.answered(&mut world, &mut RealGroups::default(), node, &answer);
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
    feeder.sent(
        &mut world,
        &mut RealGroups::default(),
        node,
        &produce(1, Acks::All, &["x"], true),
    );
    assert!(world.observer_promises().durability);
    assert!(world.observer_promises().idempotence);
    feeder.sent(
        &mut world,
        &mut RealGroups::default(),
        node,
        &produce(2, Acks::Leader, &["x"], true),
    );
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
    feeder.sent(
        &mut world,
        &mut RealGroups::default(),
        node,
        &produce(1, Acks::All, &["p"], false),
    );
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
    feeder.sent(&mut world, &mut RealGroups::default(), node, &fetch(2, 5));
    feeder.sent(&mut world, &mut RealGroups::default(), node, &fetch(3, 5));
    assert_eq!(
        positioned(&world),
        1,
        "the same offset again is no new position"
    );
    feeder.sent(&mut world, &mut RealGroups::default(), node, &fetch(4, 2));
    assert_eq!(positioned(&world), 2, "a seek back is a new position");
}

fn list_offsets_frame(client: &str) -> String {
    use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
    let request = kafka_protocol::messages::ListOffsetsRequest::default()
        .with_replica_id(kafka_protocol::messages::BrokerId(-1))
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(TopicName(StrBytes::from_static_str("test")))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_timestamp(-1)])]);
    frame(ApiKey::ListOffsets, 1, client, &request)
}

/// A recording's writer the test reads back.
#[derive(Clone, Default)]
struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A long session opens and closes connections without end: a closed connection's node goes
/// from the world and from the engine's table unless the history holds what it did. 300
/// probes (a ListOffsets each, half closed before their answer came) leave the world with the
/// nodes it started with and the engine with one client, the producer, still named. The
/// recording of it replays to the live fingerprint.
#[test]
fn closed_connections_are_freed_and_the_session_still_replays() {
    use crate::engine::Command;
    let (scenario, world) = served_world();
    let nodes_before = world.nodes().count();
    let mut live = crate::test_engine(&scenario);
    let recording = Shared::default();
    live.set_recorder(crate::record::Recorder::new(Box::new(recording.clone())));
    let leader = leader_at_3s();
    let connect = |engine: &mut crate::engine::Engine, conn: u32, broker: BrokerId| {
        let (out, _) = std::sync::mpsc::channel();
        let name = format!("client-{conn}");
        engine.handle(Command::Connect {
            conn,
            broker,
            name,
            out,
        });
    };
    let send = |engine: &mut crate::engine::Engine, conn: u32, hex: &str| {
        let bytes = crate::record::from_hex(hex).unwrap();
        let command = crate::serve::frame_command(conn, bytes.into()).unwrap();
        engine.handle(command);
    };
    connect(&mut live, 0, leader);
    send(
        &mut live,
        0,
        &produce_frame("student-producer", &["a", "b"]),
    );
    let mut at = 3_000;
    for conn in 1..=300 {
        connect(&mut live, conn, BrokerId(1 + conn % 3));
        send(&mut live, conn, &list_offsets_frame("probe"));
        // Odd ones close before the answer arrives (it is dropped), even ones after it.
        at += if conn % 2 == 0 { 20 } else { 0 };
        live.run_until(Time(at));
        live.handle(Command::Disconnect { conn });
    }
    live.run_until(Time(at + 500));
    live.handle(Command::Disconnect { conn: 0 });
    live.run_until(Time(at + 1_000));
    live.mark();
    assert_eq!(live.connections(), 0);
    assert_eq!(
        live.world().nodes().count(),
        nodes_before,
        "no slot is left"
    );
    let kept: Vec<_> = live.clients().keys().copied().collect();
    assert_eq!(kept.len(), 1, "only the producer is judged");
    assert_eq!(live.world().name(kept[0]), "student-producer#0");
    let verdict = crate::verdict::verdict(&live);
    assert!(verdict.passed, "{}", verdict.text());
    assert_eq!(verdict.clients[0].counts.acknowledged, 2);
    let text = String::from_utf8(recording.0.lock().unwrap().clone()).unwrap();
    let text = format!("{}\n{text}", crate::record::SESSION_HEADER);
    let events = crate::record::parse(&text, "session").unwrap().unwrap();
    let replayed = replay(&scenario, &events).expect("replays to the live marks");
    assert_eq!(replayed.marks, 1);
    assert_eq!(replayed.connections, 301);
}

/// A consumer group's session on test-0, fed through the Feeder as the wire shows it: the
/// records a..f acknowledged at offsets 0..5; member m1 (coordinator connection 1, fetch
/// connection 2) reads a, b, c; with `commit`, it commits offset 3; a rebalance gives test-0 to
/// m2 (connections 3 and 4), which fetches from offset 5 and reads f. Returns the history's
/// findings (`sim::checker`, the history alone).
fn group_session(commit: bool) -> Vec<sim::checker::HistoryFinding> {
    use broker_core::{CommittedOffset, FetchPartition, FetchPartitionResponse, LeaderEpoch};
    let (_, mut world) = served_world();
    let mut groups = RealGroups::default();
    let mut conns: Vec<(broker_core::NodeId, Feeder)> = (0..5)
        .map(|n| {
            let node = world.connect_external(n, format!("c#{n}"));
            let feeder = Feeder {
                client_id: Some("c".into()),
                ..Feeder::default()
            };
            (node, feeder)
        })
        .collect();
    let mut exchange = |conn: usize, request: Message, answer: Message| {
        let (node, feeder) = &mut conns[conn];
        feeder.sent(&mut world, &mut groups, *node, &request);
        feeder.answered(&mut world, &mut groups, *node, &answer);
    };
    let values = ["a", "b", "c", "d", "e", "f"];
    let base_offset = Some(Offset(0));
    let acked = Message::ProduceResponse(broker_core::ProduceResponse {
        correlation_id: CorrelationId(1),
        partitions: vec![broker_core::PartitionProduceResponse {
            tp: test_0(),
            error: ErrorCode::NONE,
            base_offset,
        }],
    });
    exchange(0, produce(1, Acks::All, &values, true), acked);
    let sync = |id, generation, member: &str, assignment: Vec<TopicPartition>| {
        let request = Message::SyncGroup(broker_core::SyncGroupRequest {
            correlation_id: CorrelationId(id),
            group: "g".into(),
            generation,
            member_id: member.into(),
            assignments: vec![],
        });
        let answer = Message::SyncGroupResponse(broker_core::SyncGroupResponse {
            correlation_id: CorrelationId(id),
            error: ErrorCode::NONE,
            assignment,
        });
        (request, answer)
    };
    let fetch = |id, from: u64, read: &[&str]| {
        let request = Message::Fetch(broker_core::FetchRequest {
            correlation_id: CorrelationId(id),
            replica_id: None,
            broker_epoch: None,
            max_wait_ms: 0,
            partitions: vec![FetchPartition {
                tp: test_0(),
                fetch_offset: Offset(from),
                last_fetched_epoch: None,
                current_leader_epoch: None,
            }],
        });
        let mut batch = batch(read, false);
        batch.base_offset = Offset(from);
        let answer = Message::FetchResponse(broker_core::FetchResponse {
            correlation_id: CorrelationId(id),
            partitions: vec![FetchPartitionResponse {
                tp: test_0(),
                error: ErrorCode::NONE,
                high_watermark: Offset(6),
                log_start_offset: Offset(0),
                log_end_offset: Offset(6),
                diverging_epoch: None,
                batches: vec![batch],
            }],
        });
        (request, answer)
    };
    let (request, answer) = sync(2, 1, "m1", vec![test_0()]);
    exchange(1, request, answer);
    let (request, answer) = fetch(3, 0, &["a", "b", "c"]);
    exchange(2, request, answer);
    if commit {
        let committed = CommittedOffset {
            offset: Offset(3),
            leader_epoch: Some(LeaderEpoch(0)),
        };
        let request = Message::OffsetCommit(broker_core::OffsetCommitRequest {
            correlation_id: CorrelationId(4),
            group: "g".into(),
            generation: 1,
            member_id: "m1".into(),
            offsets: vec![(test_0(), committed)],
        });
        let answer = Message::OffsetCommitResponse(broker_core::OffsetCommitResponse {
            correlation_id: CorrelationId(4),
            error: ErrorCode::NONE,
            offsets: vec![(test_0(), committed)],
        });
        exchange(1, request, answer);
    }
    let (request, answer) = sync(5, 2, "m1", vec![]);
    exchange(1, request, answer);
    let (request, answer) = sync(6, 2, "m2", vec![test_0()]);
    exchange(3, request, answer);
    let (request, answer) = fetch(7, 5, &["f"]);
    exchange(4, request, answer);
    sim::checker::check_history(world.history())
}

/// A real group is judged as a group: once m1 committed offset 3, m2 takes test-0 over from
/// there (Kafka's consumer starts at the group's committed offset), so d and e, acknowledged
/// and skipped by m2's fetch from 5, are records the group never read: `lost-write` as seen by
/// reads. Judged per connection (before), m2's fetch from 5 promised it nothing before 5 and
/// nothing was found. Without a commit, `auto.offset.reset` (a config the wire does not show)
/// chose m2's start: nothing before it is promised, and nothing is found.
#[test]
fn a_real_group_member_that_skips_past_the_groups_commit_is_found() {
    let findings = group_session(true);
    let lost: Vec<_> = findings
        .iter()
        .filter(|f| f.kind == FindingKind::LostWrite)
        .collect();
    assert_eq!(lost.len(), 1, "{findings:#?}");
    let records = lost[0].records.join("\n");
    assert!(
        records.contains("value d ") && records.contains("value e "),
        "{records}"
    );
    assert!(!records.contains("value c "), "{records}");
    let without_commit = group_session(false);
    assert!(
        without_commit
            .iter()
            .all(|f| f.kind != FindingKind::LostWrite),
        "{without_commit:#?}"
    );
}
