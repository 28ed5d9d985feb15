//! The frame decoder's fuzz target: valid request frames of every served API, mutated (bytes
//! flipped, cut, lengths overwritten with huge or negative values, garbage appended), and raw
//! garbage. Reading and decoding them must never panic, never abort and never allocate by a
//! claimed length; each is a request or an error. `serve_tests.rs` sends the same kind of
//! frames to a running server.

use crate::frame::read_frame;
use crate::request::{decode, SUPPORTED};
use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Encodable, StrBytes};

/// A valid request frame (with its size prefix) for each served API at `version_pick` within
/// its range, with a few fields filled so arrays and strings are present.
pub fn valid_frames(version_pick: usize) -> Vec<Vec<u8>> {
    SUPPORTED
        .iter()
        .map(|(api, ..)| {
            let (min, max) = crate::request::supported(*api).expect("listed");
            let version = min + (version_pick % (max - min + 1) as usize) as i16;
            frame_for(*api, version)
        })
        .collect()
}

pub(crate) fn frame_for(api: ApiKey, version: i16) -> Vec<u8> {
    let mut buf = BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(api as i16)
        .with_request_api_version(version)
        .with_correlation_id(1)
        .with_client_id(Some(StrBytes::from_static_str("fuzz")))
        .encode(&mut buf, api.request_header_version(version))
        .expect("a header encodes");
    let name = TopicName(StrBytes::from_static_str("test"));
    match api {
        ApiKey::Metadata => MetadataRequest::default()
            .with_topics(Some(vec![metadata_request::MetadataRequestTopic::default(
            )
            .with_name(Some(name))]))
            .encode(&mut buf, version),
        ApiKey::Produce => ProduceRequest::default()
            .with_acks(-1)
            .with_topic_data(vec![produce_request::TopicProduceData::default()
                .with_name(name)
                .with_partition_data(vec![
                    produce_request::PartitionProduceData::default()
                        .with_records(Some(Bytes::from_static(&[0; 70]))),
                ])])
            .encode(&mut buf, version),
        ApiKey::Fetch => FetchRequest::default()
            .with_topics(vec![fetch_request::FetchTopic::default()
                .with_topic(name)
                .with_partitions(vec![fetch_request::FetchPartition::default()])])
            .encode(&mut buf, version),
        ApiKey::ListOffsets => ListOffsetsRequest::default()
            .with_topics(vec![list_offsets_request::ListOffsetsTopic::default()
                .with_name(name)
                .with_partitions(vec![
                    list_offsets_request::ListOffsetsPartition::default(),
                ])])
            .encode(&mut buf, version),
        ApiKey::ApiVersions => ApiVersionsRequest::default().encode(&mut buf, version),
        ApiKey::InitProducerId => InitProducerIdRequest::default().encode(&mut buf, version),
        ApiKey::FindCoordinator if version >= 4 => FindCoordinatorRequest::default()
            .with_coordinator_keys(vec![StrBytes::from_static_str("g")])
            .encode(&mut buf, version),
        ApiKey::FindCoordinator => FindCoordinatorRequest::default()
            .with_key(StrBytes::from_static_str("g"))
            .encode(&mut buf, version),
        ApiKey::JoinGroup => JoinGroupRequest::default()
            .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default(
            )
            .with_name(StrBytes::from_static_str("range"))
            .with_metadata(Bytes::from_static(&[
                0, 0, 0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 0,
            ]))])
            .encode(&mut buf, version),
        ApiKey::SyncGroup => SyncGroupRequest::default()
            .with_assignments(vec![
                sync_group_request::SyncGroupRequestAssignment::default(),
            ])
            .encode(&mut buf, version),
        ApiKey::Heartbeat => HeartbeatRequest::default().encode(&mut buf, version),
        ApiKey::LeaveGroup => LeaveGroupRequest::default().encode(&mut buf, version),
        ApiKey::OffsetCommit => OffsetCommitRequest::default()
            .with_topics(vec![
                offset_commit_request::OffsetCommitRequestTopic::default()
                    .with_name(name)
                    .with_partitions(vec![
                        offset_commit_request::OffsetCommitRequestPartition::default(),
                    ]),
            ])
            .encode(&mut buf, version),
        ApiKey::OffsetFetch => OffsetFetchRequest::default()
            .with_topics(Some(vec![
                offset_fetch_request::OffsetFetchRequestTopic::default()
                    .with_name(name)
                    .with_partition_indexes(vec![0]),
            ]))
            .encode(&mut buf, version),
        ApiKey::OffsetForLeaderEpoch => OffsetForLeaderEpochRequest::default()
            .with_topics(vec![
                offset_for_leader_epoch_request::OffsetForLeaderTopic::default()
                    .with_topic(name)
                    .with_partitions(vec![
                        offset_for_leader_epoch_request::OffsetForLeaderPartition::default(),
                    ]),
            ])
            .encode(&mut buf, version),
        ApiKey::CreateTopics => CreateTopicsRequest::default()
            .with_topics(vec![create_topics_request::CreatableTopic::default()
                .with_name(name)
                .with_num_partitions(-1)
                .with_replication_factor(-1)])
            .encode(&mut buf, version),
        ApiKey::DeleteTopics if version >= 6 => DeleteTopicsRequest::default()
            .with_topics(vec![
                delete_topics_request::DeleteTopicState::default().with_name(Some(name))
            ])
            .encode(&mut buf, version),
        ApiKey::DeleteTopics => DeleteTopicsRequest::default()
            .with_topic_names(vec![name])
            .encode(&mut buf, version),
        ApiKey::DeleteRecords => DeleteRecordsRequest::default()
            .with_topics(vec![delete_records_request::DeleteRecordsTopic::default()
                .with_name(name)
                .with_partitions(vec![
                    delete_records_request::DeleteRecordsPartition::default().with_offset(-1),
                ])])
            .encode(&mut buf, version),
        ApiKey::DescribeConfigs => DescribeConfigsRequest::default()
            .with_resources(vec![
                describe_configs_request::DescribeConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(StrBytes::from_static_str("test")),
            ])
            .encode(&mut buf, version),
        ApiKey::DescribeGroups => DescribeGroupsRequest::default()
            .with_groups(vec![GroupId(StrBytes::from_static_str("g"))])
            .encode(&mut buf, version),
        ApiKey::ListGroups => ListGroupsRequest::default().encode(&mut buf, version),
        other => unreachable!("{other:?} is not served"),
    }
    .expect("a request encodes");
    crate::frame::frame(&buf)
}

/// One mutation of a frame, chosen and placed by the numbers given.
#[derive(Clone, Debug)]
pub enum Mutation {
    /// XOR a byte.
    Flip(usize, u8),
    /// Keep only the first bytes (the size prefix is left claiming more).
    Cut(usize),
    /// Write a 4-byte big-endian value at a position (a length, a count, an api key...).
    Overwrite(usize, i32),
    /// Append garbage.
    Append(Vec<u8>),
}

/// Apply mutations to a frame.
pub fn mutate(mut frame: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = frame.len().max(1);
        match m {
            Mutation::Flip(at, x) => {
                if let Some(b) = frame.get_mut(at % len) {
                    *b ^= x | 1;
                }
            }
            Mutation::Cut(at) => frame.truncate(at % len),
            Mutation::Overwrite(at, v) => {
                let at = at % len;
                for (i, b) in v.to_be_bytes().into_iter().enumerate() {
                    if let Some(slot) = frame.get_mut(at + i) {
                        *slot = b;
                    }
                }
            }
            Mutation::Append(bytes) => frame.extend_from_slice(bytes),
        }
    }
    frame
}

/// Read and decode every frame in `bytes` as the server would; never panics.
pub fn read_and_decode(mut bytes: &[u8]) -> usize {
    let mut decoded = 0;
    while let Ok(Some(frame)) = read_frame(&mut bytes, crate::frame::SOCKET_REQUEST_MAX_BYTES) {
        if decode(frame).is_ok() {
            decoded += 1;
        } else {
            break;
        }
    }
    decoded
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::RngSeed;

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            (any::<usize>(), any::<u8>()).prop_map(|(a, x)| Mutation::Flip(a, x)),
            any::<usize>().prop_map(Mutation::Cut),
            (
                any::<usize>(),
                prop_oneof![
                    Just(i32::MAX),
                    Just(-1),
                    Just(-2),
                    Just(0x7fff),
                    any::<i32>()
                ]
            )
                .prop_map(|(a, v)| Mutation::Overwrite(a, v)),
            prop::collection::vec(any::<u8>(), 0..64).prop_map(Mutation::Append),
        ]
    }

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: 2000,
            rng_seed: RngSeed::Fixed(18),
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    #[test]
    fn every_valid_frame_decodes() {
        for pick in 0..13 {
            for frame in valid_frames(pick) {
                assert_eq!(read_and_decode(&frame), 1, "{frame:?}");
            }
        }
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn mutated_frames_decode_or_fail_without_panic(
            api in 0..SUPPORTED.len(),
            pick in any::<usize>(),
            mutations in prop::collection::vec(mutation(), 1..4),
        ) {
            let frame = mutate(valid_frames(pick)[api].clone(), &mutations);
            read_and_decode(&frame);
        }

        #[test]
        fn garbage_fails_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            read_and_decode(&bytes);
        }
    }
}
