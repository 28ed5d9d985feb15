//! Consumer rules driven by hand: `auto.offset.reset=none` (no silent reset, no silent seek
//! after a truncation), and the group member's side of KIP-394 and KIP-345 and its fatal
//! `JoinGroup` errors.

use crate::config::{ConfigMap, ConfigValue, ConsumerConfig};
use crate::error::ErrorCode;
use crate::io::{ClientCommand, ConsumerError, HistoryEntry, Input, Output};
use crate::protocol::{
    CommittedOffset, EpochEndOffset, FetchPartitionResponse, FetchRequest, FetchResponse,
    FindCoordinatorRequest, FindCoordinatorResponse, JoinGroupRequest, JoinGroupResponse, Message,
    MetadataRequest, MetadataResponse, OffsetCommitRequest, OffsetFetchRequest,
    OffsetFetchResponse, PartitionMetadata, SyncGroupRequest, SyncGroupResponse,
};
use crate::record::{Record, RecordBatch};
use crate::types::*;
use crate::Consumer;
use bytes::Bytes;

fn tp() -> TopicPartition {
    TopicPartition::new(&Topic::new("t"), 0)
}

/// A consumer of `t` (one partition, led by broker 1 in epoch 0), what it sent and its history.
struct Harness {
    c: Consumer,
    now: u64,
    sent: Vec<Message>,
    history: Vec<HistoryEntry>,
}

impl Harness {
    fn new(settings: &[(&str, &str)]) -> Harness {
        let map: ConfigMap = settings
            .iter()
            .map(|(k, v)| (k.to_string(), ConfigValue::Str(v.to_string())))
            .collect();
        let mut config = ConsumerConfig::parse(&map).expect("valid");
        config.client_id = "consumer-1".into();
        let c = Consumer::new(
            ClientId(1),
            config,
            vec![Topic::new("t")],
            vec![BrokerId(1)],
            Time(0),
        );
        let mut h = Harness {
            c,
            now: 0,
            sent: Vec::new(),
            history: Vec::new(),
        };
        h.advance(0);
        let Message::Metadata(MetadataRequest { correlation_id }) = h.take("Metadata") else {
            unreachable!()
        };
        h.answer(Message::MetadataResponse(MetadataResponse {
            correlation_id,
            brokers: vec![BrokerId(1)],
            partitions: vec![PartitionMetadata {
                tp: tp(),
                leader: Some(BrokerId(1)),
                leader_epoch: LeaderEpoch(0),
                replicas: vec![BrokerId(1)],
                isr: vec![BrokerId(1)],
            }],
        }));
        h
    }

    fn input(&mut self, input: Input) {
        self.c.handle(Time(self.now), input);
        self.drain();
    }

    fn answer(&mut self, message: Message) {
        let from = NodeId::Broker(BrokerId(1));
        self.input(Input::Message { from, message });
    }

    fn advance(&mut self, ms: u64) {
        self.now += ms;
        self.c.handle_timeout(Time(self.now));
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(output) = self.c.poll_output() {
            match output {
                Output::Send { message, .. } => self.sent.push(message),
                Output::History(entry) => self.history.push(entry),
                _ => {}
            }
        }
    }

    /// Remove and return the first sent message of this API.
    fn take(&mut self, api: &str) -> Message {
        let at = self.sent.iter().position(|m| m.api_name() == api);
        let at = at.unwrap_or_else(|| panic!("no {api} in {:?}", self.sent));
        self.sent.remove(at)
    }

    fn sent_any(&self, api: &str) -> bool {
        self.sent.iter().any(|m| m.api_name() == api)
    }

    fn errors(&self) -> Vec<&HistoryEntry> {
        let errors = self.history.iter();
        errors
            .filter(|e| matches!(e, HistoryEntry::ConsumerError { .. }))
            .collect()
    }

    /// The coordinator is broker 1; returns the first `JoinGroup`'s correlation id.
    fn find_coordinator(&mut self) -> CorrelationId {
        let Message::FindCoordinator(FindCoordinatorRequest { correlation_id, .. }) =
            self.take("FindCoordinator")
        else {
            unreachable!()
        };
        self.answer(Message::FindCoordinatorResponse(FindCoordinatorResponse {
            correlation_id,
            error: ErrorCode::NONE,
            coordinator: Some(BrokerId(1)),
        }));
        self.advance(0);
        self.join_request().0
    }

    /// The last `JoinGroup` sent: (correlation id, member id, instance id).
    fn join_request(&mut self) -> (CorrelationId, String, Option<String>) {
        let Message::JoinGroup(JoinGroupRequest {
            correlation_id,
            member_id,
            group_instance_id,
            ..
        }) = self.take("JoinGroup")
        else {
            unreachable!()
        };
        (correlation_id, member_id, group_instance_id)
    }

    fn join_error(&mut self, correlation_id: CorrelationId, error: ErrorCode, member_id: &str) {
        self.answer(Message::JoinGroupResponse(JoinGroupResponse {
            correlation_id,
            error,
            generation: -1,
            protocol: None,
            leader: String::new(),
            member_id: member_id.into(),
            members: Vec::new(),
        }));
    }
}

/// `AbstractCoordinator.JoinGroupResponseHandler` (KIP-394): on `MEMBER_ID_REQUIRED` the
/// member takes the id from the response and sends `JoinGroup` again at once with it.
#[test]
fn a_member_told_member_id_required_rejoins_with_that_id() {
    let mut h = Harness::new(&[("group.id", "g1")]);
    let first = h.find_coordinator();
    h.join_error(first, ErrorCode::MEMBER_ID_REQUIRED, "consumer-1-7.1");
    let (_, member_id, instance) = h.join_request();
    assert_eq!((member_id.as_str(), instance), ("consumer-1-7.1", None));
    assert!(h.errors().is_empty());
}

/// `JoinGroupResponseHandler`: `INVALID_SESSION_TIMEOUT` (and the other fatal join errors)
/// is thrown to the application, which stops: no rejoin, no fetch, even much later.
#[test]
fn invalid_session_timeout_is_fatal_to_the_consumer() {
    let mut h = Harness::new(&[("group.id", "g1")]);
    let first = h.find_coordinator();
    h.join_error(first, ErrorCode::INVALID_SESSION_TIMEOUT, "");
    let error = ConsumerError::Group {
        error: ErrorCode::INVALID_SESSION_TIMEOUT,
    };
    assert_eq!(
        h.errors(),
        vec![&HistoryEntry::ConsumerError { tp: None, error }]
    );
    h.sent.clear();
    h.advance(60_000);
    assert!(!h.sent_any("JoinGroup") && !h.sent_any("FindCoordinator") && !h.sent_any("Fetch"));
}

/// KIP-345: a static member joins with its `group.instance.id` and, on close, sends no
/// `LeaveGroup` (`AbstractCoordinator.maybeLeaveGroup` checks `isDynamicMember`); a dynamic
/// member does send one.
#[test]
fn a_static_member_sends_its_instance_id_and_no_leave_group_on_close() {
    for (instance, leaves) in [(Some("reader-1"), false), (None, true)] {
        let mut settings = vec![("group.id", "g1")];
        settings.extend(instance.map(|i| ("group.instance.id", i)));
        let mut h = Harness::new(&settings);
        let first = h.find_coordinator();
        h.join_error(first, ErrorCode::MEMBER_ID_REQUIRED, "consumer-1-7.1");
        let (correlation_id, member_id, sent_instance) = h.join_request();
        assert_eq!(sent_instance.as_deref(), instance);
        h.answer(Message::JoinGroupResponse(JoinGroupResponse {
            correlation_id,
            error: ErrorCode::NONE,
            generation: 1,
            protocol: Some("range".into()),
            leader: "someone-else".into(),
            member_id,
            members: Vec::new(),
        }));
        h.input(Input::Command(ClientCommand::Close));
        assert_eq!(h.sent_any("LeaveGroup"), leaves, "{instance:?}");
    }
}

/// `SubscriptionState.resetInitializingPositions` with `auto.offset.reset=none`: no position
/// and no reset policy throws `NoOffsetForPartitionException`; nothing is listed or fetched.
#[test]
fn without_a_reset_policy_a_consumer_without_position_throws_and_reads_nothing() {
    let mut h = Harness::new(&[("auto.offset.reset", "none")]);
    h.advance(1_000);
    assert!(
        !h.sent_any("ListOffsets") && !h.sent_any("Fetch"),
        "{:?}",
        h.sent
    );
    let error = ConsumerError::NoOffsetForPartition;
    let expected = HistoryEntry::ConsumerError {
        tp: Some(tp()),
        error,
    };
    assert_eq!(h.errors(), vec![&expected], "thrown once");
    assert_eq!(h.c.positions()[&tp()], None);
}

fn batch(offset: u64, value: &'static str) -> RecordBatch {
    let record = Record::new(None, Bytes::from_static(value.as_bytes()), 0);
    let mut batch = RecordBatch::new(None, vec![record]);
    batch.base_offset = Offset(offset);
    batch
}

/// KIP-320 with `auto.offset.reset=none` (`SubscriptionState.maybeCompleteValidation`): the
/// leader says epoch 0 ends at 1 but the consumer read up to 2. With a reset policy it would
/// seek to 1; without one it throws `LogTruncationException`, keeps its position, and fetches
/// that partition no more.
#[test]
fn without_a_reset_policy_a_truncation_throws_instead_of_seeking() {
    let mut h = Harness::new(&[("auto.offset.reset", "none"), ("group.id", "g1")]);
    let first = h.find_coordinator();
    h.join_error(first, ErrorCode::MEMBER_ID_REQUIRED, "m");
    let (correlation_id, member_id, _) = h.join_request();
    h.answer(Message::JoinGroupResponse(JoinGroupResponse {
        correlation_id,
        error: ErrorCode::NONE,
        generation: 1,
        protocol: Some("range".into()),
        leader: "someone-else".into(),
        member_id,
        members: Vec::new(),
    }));
    let Message::SyncGroup(SyncGroupRequest { correlation_id, .. }) = h.take("SyncGroup") else {
        unreachable!()
    };
    let assignment = vec![tp()];
    h.answer(Message::SyncGroupResponse(SyncGroupResponse {
        correlation_id,
        error: ErrorCode::NONE,
        assignment,
    }));
    let Message::OffsetFetch(OffsetFetchRequest { correlation_id, .. }) = h.take("OffsetFetch")
    else {
        unreachable!()
    };
    let committed = CommittedOffset {
        offset: Offset(0),
        leader_epoch: None,
    };
    let offsets = vec![(tp(), Some(committed))];
    h.answer(Message::OffsetFetchResponse(OffsetFetchResponse {
        correlation_id,
        error: ErrorCode::NONE,
        offsets,
    }));
    let fetch_response = |h: &mut Harness, batches, diverging_epoch| {
        let Message::Fetch(FetchRequest { correlation_id, .. }) = h.take("Fetch") else {
            unreachable!()
        };
        let response = FetchPartitionResponse {
            tp: tp(),
            error: ErrorCode::NONE,
            high_watermark: Offset(2),
            log_start_offset: Offset(0),
            log_end_offset: Offset(2),
            diverging_epoch,
            batches,
        };
        let partitions = vec![response];
        h.answer(Message::FetchResponse(FetchResponse {
            correlation_id,
            partitions,
        }));
    };
    fetch_response(&mut h, vec![batch(0, "a"), batch(1, "b")], None);
    assert_eq!(h.c.positions()[&tp()], Some(Offset(2)));
    let diverging = Some(EpochEndOffset {
        epoch: LeaderEpoch(0),
        end_offset: Offset(1),
    });
    fetch_response(&mut h, vec![], diverging);
    let error = ConsumerError::LogTruncation {
        offset: Offset(2),
        epoch: LeaderEpoch(0),
        end_offset: Offset(1),
    };
    let expected = HistoryEntry::ConsumerError {
        tp: Some(tp()),
        error,
    };
    assert_eq!(h.errors(), vec![&expected]);
    assert_eq!(h.c.positions()[&tp()], Some(Offset(2)), "no silent seek");
    assert!(
        !h.history
            .iter()
            .any(|e| matches!(e, HistoryEntry::PositionReset { .. })),
        "no reset either"
    );
    h.sent.clear();
    h.advance(5_000);
    assert!(!h.sent_any("Fetch"), "{:?}", h.sent);
}

/// KIP-320 (`ConsumerCoordinator.refreshCommittedOffsetsIfNeeded` then position validation):
/// a committed offset comes back with its leader epoch, and the first fetch from it carries
/// that epoch so the leader can say the log diverged; the consumer's own commits carry the
/// epoch of the last record it read.
#[test]
fn a_committed_leader_epoch_is_validated_by_the_first_fetch_and_committed_back() {
    let mut h = Harness::new(&[("group.id", "g1"), ("auto.commit.interval.ms", "1000")]);
    let first = h.find_coordinator();
    h.join_error(first, ErrorCode::MEMBER_ID_REQUIRED, "m");
    let (correlation_id, member_id, _) = h.join_request();
    h.answer(Message::JoinGroupResponse(JoinGroupResponse {
        correlation_id,
        error: ErrorCode::NONE,
        generation: 1,
        protocol: Some("range".into()),
        leader: "someone-else".into(),
        member_id,
        members: Vec::new(),
    }));
    let Message::SyncGroup(SyncGroupRequest { correlation_id, .. }) = h.take("SyncGroup") else {
        unreachable!()
    };
    h.answer(Message::SyncGroupResponse(SyncGroupResponse {
        correlation_id,
        error: ErrorCode::NONE,
        assignment: vec![tp()],
    }));
    let Message::OffsetFetch(OffsetFetchRequest { correlation_id, .. }) = h.take("OffsetFetch")
    else {
        unreachable!()
    };
    let committed = CommittedOffset {
        offset: Offset(1),
        leader_epoch: Some(LeaderEpoch(0)),
    };
    h.answer(Message::OffsetFetchResponse(OffsetFetchResponse {
        correlation_id,
        error: ErrorCode::NONE,
        offsets: vec![(tp(), Some(committed))],
    }));
    let Message::Fetch(FetchRequest {
        correlation_id,
        partitions,
        ..
    }) = h.take("Fetch")
    else {
        unreachable!()
    };
    assert_eq!(partitions[0].fetch_offset, Offset(1));
    assert_eq!(partitions[0].last_fetched_epoch, Some(LeaderEpoch(0)));
    let mut read = batch(1, "b");
    read.leader_epoch = LeaderEpoch(3);
    h.answer(Message::FetchResponse(FetchResponse {
        correlation_id,
        partitions: vec![FetchPartitionResponse {
            tp: tp(),
            error: ErrorCode::NONE,
            high_watermark: Offset(2),
            log_start_offset: Offset(0),
            log_end_offset: Offset(2),
            diverging_epoch: None,
            batches: vec![read],
        }],
    }));
    h.advance(1_000);
    let Message::OffsetCommit(OffsetCommitRequest { offsets, .. }) = h.take("OffsetCommit") else {
        unreachable!()
    };
    let expected = CommittedOffset {
        offset: Offset(2),
        leader_epoch: Some(LeaderEpoch(3)),
    };
    assert_eq!(offsets, vec![(tp(), expected)]);
}
