//! Every served API at every advertised version: the request decodes, converts, and the
//! response built from the broker's answers encodes at that version. (A field set that a
//! version lacks fails to encode: this caught ListOffsets' leaderEpoch below v4.)

use super::*;
use crate::fuzz::frame_for;
use crate::request::{decode, supported, SUPPORTED};
use broker_core::*;
use bytes::Bytes;

/// The broker's answer to one internal request.
fn answer(message: &Message) -> Message {
    let tp = TopicPartition::new(&Topic::new("test"), 0);
    let batch = crate::batch::with_offsets(
        RecordBatch::new(None, vec![Record::new(None, Bytes::from_static(b"v"), 5)]),
        7,
        2,
    );
    match message.clone() {
        Message::Metadata(broker_core::MetadataRequest { correlation_id }) => {
            Message::MetadataResponse(broker_core::MetadataResponse {
                correlation_id,
                brokers: vec![BrokerId(1), BrokerId(2)],
                partitions: vec![
                    PartitionMetadata {
                        tp: tp.clone(),
                        leader: Some(BrokerId(1)),
                        leader_epoch: LeaderEpoch(3),
                        replicas: vec![BrokerId(1)],
                        isr: vec![BrokerId(1)],
                    },
                    PartitionMetadata {
                        tp: TopicPartition::new(&Topic::new("__consumer_offsets"), 0),
                        leader: None,
                        leader_epoch: LeaderEpoch(1),
                        replicas: vec![BrokerId(2)],
                        isr: vec![],
                    },
                ],
            })
        }
        Message::Produce(broker_core::ProduceRequest {
            correlation_id,
            partitions,
            ..
        }) => Message::ProduceResponse(broker_core::ProduceResponse {
            correlation_id,
            partitions: partitions
                .into_iter()
                .map(|p| broker_core::PartitionProduceResponse {
                    tp: p.tp,
                    error: ErrorCode::NONE,
                    base_offset: Some(Offset(9)),
                })
                .collect(),
        }),
        Message::Fetch(broker_core::FetchRequest {
            correlation_id,
            partitions,
            ..
        }) => Message::FetchResponse(broker_core::FetchResponse {
            correlation_id,
            partitions: partitions
                .into_iter()
                .map(|p| FetchPartitionResponse {
                    tp: p.tp,
                    error: ErrorCode::NONE,
                    high_watermark: Offset(8),
                    log_start_offset: Offset(0),
                    log_end_offset: Offset(8),
                    diverging_epoch: None,
                    batches: vec![batch.clone()],
                })
                .collect(),
        }),
        Message::ListOffsets(broker_core::ListOffsetsRequest {
            correlation_id, tp, ..
        }) => Message::ListOffsetsResponse(broker_core::ListOffsetsResponse {
            correlation_id,
            tp,
            error: ErrorCode::NONE,
            offset: Offset(8),
            leader_epoch: LeaderEpoch(2),
        }),
        Message::InitProducerId(broker_core::InitProducerIdRequest { correlation_id }) => {
            Message::InitProducerIdResponse(broker_core::InitProducerIdResponse {
                correlation_id,
                error: ErrorCode::NONE,
                producer_id: ProducerId(4),
                producer_epoch: 0,
            })
        }
        Message::FindCoordinator(broker_core::FindCoordinatorRequest {
            correlation_id, ..
        }) => Message::FindCoordinatorResponse(broker_core::FindCoordinatorResponse {
            correlation_id,
            error: ErrorCode::NONE,
            coordinator: Some(BrokerId(2)),
        }),
        Message::JoinGroup(broker_core::JoinGroupRequest { correlation_id, .. }) => {
            Message::JoinGroupResponse(broker_core::JoinGroupResponse {
                correlation_id,
                error: ErrorCode::NONE,
                generation: 1,
                protocol: Some("range".into()),
                leader: "m1".into(),
                member_id: "m1".into(),
                members: vec![JoinedMember {
                    member_id: "m1".into(),
                    subscription: Subscription {
                        topics: vec![Topic::new("test")],
                        owned: vec![tp.clone()],
                    },
                }],
            })
        }
        Message::SyncGroup(broker_core::SyncGroupRequest { correlation_id, .. }) => {
            Message::SyncGroupResponse(broker_core::SyncGroupResponse {
                correlation_id,
                error: ErrorCode::NONE,
                assignment: vec![tp.clone()],
            })
        }
        Message::Heartbeat(broker_core::HeartbeatRequest { correlation_id, .. }) => {
            Message::HeartbeatResponse(broker_core::HeartbeatResponse {
                correlation_id,
                error: ErrorCode::REBALANCE_IN_PROGRESS,
            })
        }
        Message::LeaveGroup(broker_core::LeaveGroupRequest { correlation_id, .. }) => {
            Message::LeaveGroupResponse(broker_core::LeaveGroupResponse {
                correlation_id,
                error: ErrorCode::NONE,
            })
        }
        Message::OffsetCommit(broker_core::OffsetCommitRequest {
            correlation_id,
            offsets,
            ..
        }) => Message::OffsetCommitResponse(broker_core::OffsetCommitResponse {
            correlation_id,
            error: ErrorCode::NONE,
            offsets,
        }),
        Message::OffsetFetch(broker_core::OffsetFetchRequest {
            correlation_id,
            partitions,
            ..
        }) => Message::OffsetFetchResponse(broker_core::OffsetFetchResponse {
            correlation_id,
            error: ErrorCode::NONE,
            offsets: partitions
                .into_iter()
                .map(|tp| {
                    (
                        tp,
                        Some(CommittedOffset {
                            offset: Offset(3),
                            leader_epoch: Some(LeaderEpoch(1)),
                        }),
                    )
                })
                .collect(),
        }),
        Message::AutoCreateTopics(r) => {
            Message::AutoCreateTopicsResponse(AutoCreateTopicsResponse {
                correlation_id: r.correlation_id,
                topics: Vec::new(),
            })
        }
        Message::CreateTopics(r) => Message::CreateTopicsResponse(CreateTopicsResponse {
            correlation_id: r.correlation_id,
            topics: r
                .topics
                .iter()
                .map(|t| CreatedTopic {
                    name: t.name.clone(),
                    error: ErrorCode::NONE,
                    message: None,
                    partitions: 1,
                    replication_factor: 1,
                })
                .collect(),
            requester: Requester::Client,
        }),
        Message::DeleteTopics(r) => Message::DeleteTopicsResponse(DeleteTopicsResponse {
            correlation_id: r.correlation_id,
            topics: r
                .topics
                .iter()
                .map(|t| (t.clone(), ErrorCode::UNKNOWN_TOPIC_OR_PARTITION))
                .collect(),
            requester: Requester::Client,
        }),
        Message::DeleteRecords(r) => {
            Message::DeleteRecordsResponse(broker_core::DeleteRecordsResponse {
                correlation_id: r.correlation_id,
                tp: r.tp.clone(),
                low_watermark: broker_core::Offset(0),
                error: ErrorCode::NOT_LEADER_OR_FOLLOWER,
            })
        }
        other => panic!("the server sent {}", other.api_name()),
    }
}

#[test]
fn every_served_version_converts_and_encodes() {
    let advertised = Advertised {
        host: "127.0.0.1".into(),
        base_port: 19092,
    };
    for (api, ..) in SUPPORTED {
        let (min, max) = supported(*api).unwrap();
        for version in min..=max {
            let frame = frame_for(*api, version);
            let request = decode(Bytes::from(frame[4..].to_vec())).unwrap();
            let mut next = 0;
            let mut ctx = Ctx {
                broker: BrokerId(1),
                advertised: &advertised,
                next_correlation: &mut next,
                state: None,
                client_hosts: &Default::default(),
            };
            let response = match start(request, &mut ctx) {
                Start::Answer(frame) => frame,
                Start::SendNoAnswer(_) => continue,
                Start::Send(messages, mut pending) => {
                    let mut done = None;
                    for m in &messages {
                        done = pending.on_message(answer(m));
                    }
                    done.unwrap_or_else(|| {
                        panic!("{api:?} v{version}: no response after every answer")
                    })
                }
            };
            let bytes = response.unwrap_or_else(|e| panic!("{api:?} v{version}: {e}"));
            assert_eq!(
                &bytes[4..8],
                &1i32.to_be_bytes(),
                "{api:?} v{version}: correlation id"
            );
        }
    }
}

#[test]
fn a_produce_of_several_partitions_is_one_internal_produce_answered_in_order() {
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::messages::{ProduceRequest, ProduceResponse, TopicName};
    use kafka_protocol::protocol::{Decodable, StrBytes};
    let mut wire = Vec::new();
    crate::batch::encode_batch(
        &RecordBatch::new(None, vec![Record::new(None, Bytes::from_static(b"a"), 1)]),
        &mut wire,
    );
    let partition = |i: i32, records: Option<Bytes>| {
        PartitionProduceData::default()
            .with_index(i)
            .with_records(records)
    };
    let request = ProduceRequest::default()
        .with_acks(-1)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_static_str("test")))
            .with_partition_data(vec![
                partition(0, Some(Bytes::from(wire.clone()))),
                partition(1, Some(Bytes::from_static(b"junk"))),
                partition(2, Some(Bytes::from(wire))),
            ])]);
    let reply = Reply {
        api: kafka_protocol::messages::ApiKey::Produce,
        version: 9,
        correlation_id: 1,
    };
    let advertised = Advertised {
        host: "h".into(),
        base_port: 1,
    };
    let mut next = 0;
    let mut ctx = Ctx {
        broker: BrokerId(1),
        advertised: &advertised,
        next_correlation: &mut next,
        state: None,
        client_hosts: &Default::default(),
    };
    let Start::Send(messages, mut pending) = produce::start(request, reply, &mut ctx) else {
        panic!("sent")
    };
    let [Message::Produce(internal)] = &messages[..] else {
        panic!("one internal Produce: {messages:?}")
    };
    let tps: Vec<u32> = internal.partitions.iter().map(|p| p.tp.partition).collect();
    assert_eq!(
        tps,
        vec![0, 2],
        "the corrupt partition is answered without the broker"
    );
    let frame = pending.on_message(answer(&messages[0])).unwrap().unwrap();
    let mut body = Bytes::from(frame[9..].to_vec()); // size, correlation id, empty tagged fields
    let response = ProduceResponse::decode(&mut body, 9).unwrap();
    let partitions = &response.responses[0].partition_responses;
    let got: Vec<(i32, i16, i64)> = partitions
        .iter()
        .map(|p| (p.index, p.error_code, p.base_offset))
        .collect();
    assert_eq!(got, vec![(0, 0, 9), (1, 2, -1), (2, 0, 9)]);
}
