//! The coordinator's state machine driven directly: joins, syncs, heartbeats, commits, expiry
//! and reload from the log.

use super::*;
use crate::error::ErrorCode;
use crate::protocol::{
    CommittedOffset, HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse,
    LeaveGroupRequest, Message, OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest,
    OffsetFetchResponse, Subscription, SyncGroupRequest, SyncGroupResponse,
};
use crate::types::*;

const GROUP: &str = "g1";

fn tp(p: u32) -> TopicPartition {
    TopicPartition::new(&Topic::new("orders"), p)
}

fn client(n: u32) -> NodeId {
    NodeId::Client(ClientId(n))
}

fn committed(offset: u64, epoch: Option<u32>) -> CommittedOffset {
    CommittedOffset {
        offset: Offset(offset),
        leader_epoch: epoch.map(LeaderEpoch),
    }
}

/// Kafka's session timeout bounds (6000 / 1800000), 3 offsets partitions.
fn config(initial_rebalance_delay_ms: u64) -> CoordinatorConfig {
    CoordinatorConfig {
        partitions: 3,
        initial_rebalance_delay_ms,
        min_session_timeout_ms: 6_000,
        max_session_timeout_ms: 1_800_000,
        offsets_retention_ms: 60_000,
        offsets_retention_check_interval_ms: 10_000,
    }
}

/// A coordinator that leads g1's offsets partition, and completes its appends on demand.
struct Harness {
    c: GroupCoordinator,
    now: Time,
    sent: Vec<(NodeId, Message)>,
    appends: Vec<(Vec<OffsetsRecord>, GroupWrite)>,
    log: Vec<OffsetsRecord>,
    correlation: u64,
}

impl Harness {
    fn new() -> Harness {
        Harness::with_delay(0)
    }

    /// A harness whose coordinator has `group.initial.rebalance.delay.ms` = `delay_ms`.
    fn with_delay(delay_ms: u64) -> Harness {
        let mut c = GroupCoordinator::new(BrokerId(1), config(delay_ms));
        let partition = c.partition(GROUP);
        c.load(Time(0), partition, std::iter::empty());
        let mut h = Harness {
            c,
            now: Time(0),
            sent: Vec::new(),
            appends: Vec::new(),
            log: Vec::new(),
            correlation: 0,
        };
        h.collect();
        h
    }

    fn collect(&mut self) {
        for effect in self.c.take_effects() {
            match effect {
                Effect::Send { to, message } => self.sent.push((to, message)),
                Effect::Append { records, write, .. } => self.appends.push((records, write)),
                Effect::Event(_) => {}
            }
        }
    }

    fn request(&mut self, from: u32, message: impl FnOnce(CorrelationId) -> Message) {
        self.correlation += 1;
        let message = message(CorrelationId(self.correlation));
        assert!(self.c.handle(self.now, client(from), message).is_some());
        self.collect();
    }

    /// Every pending append reaches the high watermark.
    fn commit_appends(&mut self) {
        while !self.appends.is_empty() {
            for (records, write) in std::mem::take(&mut self.appends) {
                self.log.extend(records);
                self.c.write_completed(self.now, write, ErrorCode::NONE);
            }
            self.collect();
        }
    }

    fn advance(&mut self, ms: u64) {
        self.now = self.now.plus_ms(ms);
        self.c.handle_timeout(self.now);
        self.collect();
    }

    fn join(&mut self, from: u32, member_id: &str) {
        self.join_as(from, member_id, None, 10_000);
    }

    /// A `JoinGroup` with a `group.instance.id` and a session timeout.
    fn join_as(&mut self, from: u32, member_id: &str, instance: Option<&str>, session_ms: u64) {
        let member_id = member_id.to_owned();
        let group_instance_id = instance.map(str::to_owned);
        self.request(from, |correlation_id| {
            Message::JoinGroup(JoinGroupRequest {
                correlation_id,
                group: GROUP.into(),
                client: format!("consumer-{from}"),
                member_id,
                group_instance_id,
                session_timeout_ms: session_ms,
                rebalance_timeout_ms: 5_000,
                protocols: vec![("range".into(), Subscription::default())],
            })
        });
    }

    /// A new dynamic member: `MEMBER_ID_REQUIRED` with its id (KIP-394), then the join with
    /// it. Returns the member id.
    fn join_new(&mut self, from: u32) -> String {
        self.join(from, "");
        let (error, _, member_id, _) = self.joined(from);
        assert_eq!(error, ErrorCode::MEMBER_ID_REQUIRED);
        assert!(!member_id.is_empty());
        self.join(from, &member_id);
        member_id
    }

    /// The last `JoinGroupResponse` sent to `to`: (error, generation, member id, leader).
    fn joined(&self, to: u32) -> (ErrorCode, i32, String, String) {
        self.sent
            .iter()
            .rev()
            .find_map(|(t, m)| match m {
                Message::JoinGroupResponse(JoinGroupResponse {
                    error,
                    generation,
                    member_id,
                    leader,
                    ..
                }) if *t == client(to) => {
                    Some((*error, *generation, member_id.clone(), leader.clone()))
                }
                _ => None,
            })
            .expect("a join response")
    }

    fn sync(&mut self, from: u32, generation: i32, member_id: &str, assign: Vec<(&str, Vec<u32>)>) {
        let member_id = member_id.to_owned();
        let assignments = assign
            .into_iter()
            .map(|(m, ps)| (m.to_owned(), ps.into_iter().map(tp).collect()))
            .collect();
        self.request(from, |correlation_id| {
            Message::SyncGroup(SyncGroupRequest {
                correlation_id,
                group: GROUP.into(),
                generation,
                member_id,
                assignments,
            })
        });
    }

    fn last_error(&self, to: u32) -> ErrorCode {
        self.sent
            .iter()
            .rev()
            .find_map(|(t, m)| match m {
                Message::HeartbeatResponse(HeartbeatResponse { error, .. })
                | Message::OffsetCommitResponse(OffsetCommitResponse { error, .. })
                | Message::SyncGroupResponse(SyncGroupResponse { error, .. })
                    if *t == client(to) =>
                {
                    Some(*error)
                }
                _ => None,
            })
            .expect("a response")
    }

    fn heartbeat(&mut self, from: u32, generation: i32, member_id: &str) -> ErrorCode {
        let member_id = member_id.to_owned();
        self.request(from, |correlation_id| {
            Message::Heartbeat(HeartbeatRequest {
                correlation_id,
                group: GROUP.into(),
                generation,
                member_id,
            })
        });
        self.last_error(from)
    }

    fn commit(&mut self, from: u32, generation: i32, member_id: &str, offset: u64) {
        let member_id = member_id.to_owned();
        self.request(from, |correlation_id| {
            Message::OffsetCommit(OffsetCommitRequest {
                correlation_id,
                group: GROUP.into(),
                generation,
                member_id,
                offsets: vec![(tp(0), committed(offset, None))],
            })
        });
    }

    fn state(&self) -> GroupState {
        self.c.groups()[GROUP].state
    }

    /// Two members form generation 1 with consumer-1 leading: (member 1, member 2).
    fn two_members_stable() -> (Harness, String, String) {
        let mut h = Harness::new();
        let m1 = h.join_new(1);
        // Generation 1 forms with m1 alone; m2 joining starts generation 2.
        h.join_new(2);
        h.join(1, &m1);
        let (e1, gen, _, leader) = h.joined(1);
        let (e2, gen2, m2, _) = h.joined(2);
        assert_eq!(
            (e1, e2, gen, gen2),
            (ErrorCode::NONE, ErrorCode::NONE, 2, 2)
        );
        assert_eq!(leader, m1);
        h.sync(2, gen, &m2, vec![]);
        h.sync(1, gen, &m1, vec![(&m1, vec![0, 1]), (&m2, vec![2])]);
        assert_eq!(h.state(), GroupState::CompletingRebalance, "stored first");
        h.commit_appends();
        assert_eq!(h.state(), GroupState::Stable);
        (h, m1, m2)
    }
}

#[test]
fn a_group_goes_through_its_states_and_hands_out_assignments() {
    let (h, m1, m2) = Harness::two_members_stable();
    let assignment = |to: u32| {
        h.sent.iter().rev().find_map(|(t, m)| match m {
            Message::SyncGroupResponse(SyncGroupResponse {
                assignment,
                error: ErrorCode::NONE,
                ..
            }) if *t == client(to) => Some(assignment.clone()),
            _ => None,
        })
    };
    assert_eq!(assignment(1), Some(vec![tp(0), tp(1)]));
    assert_eq!(assignment(2), Some(vec![tp(2)]));
    let group = &h.c.groups()[GROUP];
    assert_eq!(group.generation, 2);
    assert_eq!(group.leader.as_deref(), Some(m1.as_str()));
    assert!(group.members.contains_key(&m2));
}

#[test]
fn a_new_member_triggers_a_rebalance_and_heartbeats_say_so() {
    let (mut h, m1, _) = Harness::two_members_stable();
    h.join_new(3);
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    assert_eq!(h.heartbeat(1, 2, &m1), ErrorCode::REBALANCE_IN_PROGRESS);
    assert_eq!(h.heartbeat(1, 1, &m1), ErrorCode::ILLEGAL_GENERATION);
    assert_eq!(h.heartbeat(1, 2, "nobody"), ErrorCode::UNKNOWN_MEMBER_ID);
}

#[test]
fn a_commit_from_a_stale_generation_is_rejected() {
    let (mut h, m1, _) = Harness::two_members_stable();
    h.commit(1, 1, &m1, 10);
    assert_eq!(h.last_error(1), ErrorCode::ILLEGAL_GENERATION);
    assert!(
        h.appends.is_empty(),
        "nothing is written for a stale commit"
    );
    h.commit(1, 2, &m1, 10);
    assert!(
        h.c.groups()[GROUP].committed.is_empty(),
        "not before the HW passes it"
    );
    h.commit_appends();
    assert_eq!(h.last_error(1), ErrorCode::NONE);
    assert_eq!(h.c.groups()[GROUP].committed[&tp(0)], Offset(10));
}

#[test]
fn commits_are_refused_while_the_group_completes_a_rebalance() {
    let mut h = Harness::new();
    let m1 = h.join_new(1);
    let (_, gen, _, _) = h.joined(1);
    assert_eq!(h.state(), GroupState::CompletingRebalance);
    h.commit(1, gen, &m1, 5);
    assert_eq!(h.last_error(1), ErrorCode::REBALANCE_IN_PROGRESS);
}

#[test]
fn a_silent_member_expires_and_the_group_rebalances_without_it() {
    let (mut h, m1, m2) = Harness::two_members_stable();
    for _ in 0..12 {
        h.advance(1000);
        if h.state() != GroupState::Stable {
            break;
        }
        let error = h.heartbeat(1, 2, &m1);
        assert_eq!(error, ErrorCode::NONE, "m1 keeps heartbeating");
    }
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    assert!(!h.c.groups()[GROUP].members.contains_key(&m2), "m2 expired");
    h.join(1, &m1);
    let (error, generation, _, leader) = h.joined(1);
    assert_eq!((error, generation), (ErrorCode::NONE, 3));
    assert_eq!(leader, m1);
}

#[test]
fn leaving_empties_the_group_and_keeps_its_offsets() {
    let (mut h, m1, m2) = Harness::two_members_stable();
    h.commit(1, 2, &m1, 7);
    h.commit_appends();
    for (n, m) in [(1, &m1), (2, &m2)] {
        let member_id = m.clone();
        h.request(n, |correlation_id| {
            Message::LeaveGroup(LeaveGroupRequest {
                correlation_id,
                group: GROUP.into(),
                member_id,
            })
        });
    }
    h.commit_appends();
    assert_eq!(h.state(), GroupState::Empty);
    assert_eq!(h.c.groups()[GROUP].committed[&tp(0)], Offset(7));
}

#[test]
fn a_new_coordinator_loads_the_group_and_its_offsets_from_the_log() {
    let (mut h, m1, m2) = Harness::two_members_stable();
    h.commit(1, 2, &m1, 42);
    h.commit_appends();
    let mut next = GroupCoordinator::new(BrokerId(2), config(0));
    let partition = next.partition(GROUP);
    next.load(Time(20_000), partition, h.log.clone().into_iter());
    let group = &next.groups()[GROUP];
    assert_eq!(group.state, GroupState::Stable);
    assert_eq!(group.generation, 2);
    assert_eq!(group.committed[&tp(0)], Offset(42));
    assert_eq!(group.members[&m2].stored.assignment, vec![tp(2)]);
    // The members carry on in their generation at the new coordinator.
    next.take_effects();
    next.handle(
        Time(20_001),
        client(1),
        Message::Heartbeat(HeartbeatRequest {
            correlation_id: CorrelationId(1),
            group: GROUP.into(),
            generation: 2,
            member_id: m1,
        }),
    );
    let effects = next.take_effects();
    assert!(matches!(
        &effects[..],
        [Effect::Send {
            message: Message::HeartbeatResponse(HeartbeatResponse {
                error: ErrorCode::NONE,
                ..
            }),
            ..
        }]
    ));
}

#[test]
fn a_broker_that_does_not_lead_the_partition_is_not_the_coordinator() {
    let mut h = Harness::new();
    let partition = h.c.partition(GROUP);
    h.c.unload(Time(0), partition);
    h.join(1, "");
    assert_eq!(h.joined(1).0, ErrorCode::NOT_COORDINATOR);
}

/// KIP-394 (`GroupMetadataManager.classicGroupJoinNewDynamicMember`): a JoinGroup without a
/// member id is not admitted; it gets `MEMBER_ID_REQUIRED` with a member id, and only the join
/// carrying that id enters the group. An id nobody handed out is unknown, and a pending id
/// that never comes back is forgotten after the session timeout.
#[test]
fn a_join_without_member_id_is_told_to_rejoin_with_one() {
    let mut h = Harness::new();
    h.join(1, "");
    let (error, generation, m1, _) = h.joined(1);
    assert_eq!((error, generation), (ErrorCode::MEMBER_ID_REQUIRED, -1));
    assert!(m1.starts_with("consumer-1-"), "{m1}");
    assert!(h.c.groups()[GROUP].members.is_empty(), "not admitted yet");
    h.join(2, "made-up");
    assert_eq!(h.joined(2).0, ErrorCode::UNKNOWN_MEMBER_ID);
    h.join(1, &m1);
    let (error, generation, member_id, leader) = h.joined(1);
    assert_eq!((error, generation), (ErrorCode::NONE, 1));
    assert_eq!((member_id, leader), (m1.clone(), m1));
    // A pending id unused for the session timeout (10 s here) is gone.
    h.join(2, "");
    let (_, _, m2, _) = h.joined(2);
    h.advance(10_000);
    h.join(2, &m2);
    assert_eq!(h.joined(2).0, ErrorCode::UNKNOWN_MEMBER_ID);
}

/// `GroupCoordinatorService.joinGroup`: a session timeout outside
/// `group.min.session.timeout.ms`..=`group.max.session.timeout.ms` (6000..=1800000 by
/// default) gets `INVALID_SESSION_TIMEOUT`, whatever else the request says.
#[test]
fn a_session_timeout_outside_the_group_bounds_is_invalid() {
    let mut h = Harness::new();
    for session_ms in [0, 5_999, 1_800_001] {
        h.join_as(1, "", None, session_ms);
        assert_eq!(
            h.joined(1).0,
            ErrorCode::INVALID_SESSION_TIMEOUT,
            "{session_ms}"
        );
    }
    for session_ms in [6_000, 1_800_000] {
        h.join_as(1, "", None, session_ms);
        assert_eq!(h.joined(1).0, ErrorCode::MEMBER_ID_REQUIRED, "{session_ms}");
    }
    assert!(h.c.groups()[GROUP].members.is_empty());
}

/// `GroupMetadataManager.tryCompleteInitialRebalanceElseSchedule`: the first rebalance of an
/// empty group waits `group.initial.rebalance.delay.ms` (3 s); a member joined meanwhile, so
/// when it ends the group waits `min(3 s, rebalance timeout 5 s - 3 s)` = 2 s more, counted
/// from the end of the first delay, not from the join. Then no time remains: a member joining
/// in the extension does not extend it again.
#[test]
fn the_initial_rebalance_delay_is_extended_when_a_member_joined_during_it() {
    let mut h = Harness::with_delay(3_000);
    let m1 = h.join_new(1);
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    h.advance(100);
    let m2 = h.join_new(2);
    h.advance(2_899); // 2999 ms
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    h.advance(1); // 3000 ms: extended to 5000 ms, not 3100 ms (join + delay)
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    h.advance(1_000); // 4000 ms
    let m3 = h.join_new(3);
    h.advance(999); // 4999 ms
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    h.advance(1); // 5000 ms
    assert_eq!(h.state(), GroupState::CompletingRebalance);
    let group = &h.c.groups()[GROUP];
    assert_eq!(group.generation, 1);
    for m in [&m1, &m2, &m3] {
        assert!(group.members.contains_key(m), "{m} is in generation 1");
    }
}

/// Without a join during the delay, the initial rebalance completes when the delay ends.
#[test]
fn the_initial_rebalance_delay_alone_is_not_extended() {
    let mut h = Harness::with_delay(3_000);
    h.join_new(1);
    h.advance(2_999);
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    h.advance(1);
    assert_eq!(h.state(), GroupState::CompletingRebalance);
}

/// Two static members (KIP-345, `group.instance.id` "a" and "b") in a stable generation 2.
fn two_static_members_stable() -> (Harness, String, String) {
    let mut h = Harness::new();
    // A static member gets no MEMBER_ID_REQUIRED: its instance id identifies it.
    h.join_as(1, "", Some("a"), 10_000);
    let (error, _, m1, _) = h.joined(1);
    assert_eq!(error, ErrorCode::NONE);
    h.join_as(2, "", Some("b"), 10_000);
    h.join_as(1, &m1, Some("a"), 10_000);
    let (_, generation, m2, _) = h.joined(2);
    assert_eq!(generation, 2);
    h.sync(2, 2, &m2, vec![]);
    h.sync(1, 2, &m1, vec![(&m1, vec![0, 1]), (&m2, vec![2])]);
    h.commit_appends();
    assert_eq!(h.state(), GroupState::Stable);
    (h, m1, m2)
}

/// `GroupMetadataManager.updateStaticMemberThenRebalanceOrCompleteJoin` and
/// `ClassicGroup.replaceStaticMember`: a static member that restarts (no member id, same
/// instance id) within its session replaces its old member id in place. The group stays
/// `Stable` in generation 2, the new id keeps the old one's partitions, the old id is gone,
/// and a member claiming the instance under another known member id is fenced.
#[test]
fn a_static_member_restarting_within_its_session_keeps_its_assignment_without_a_rebalance() {
    let (mut h, m1, m2) = two_static_members_stable();
    h.advance(3_000); // consumer-2 restarts 3 s later, well within its 10 s session
    h.join_as(2, "", Some("b"), 10_000);
    assert_eq!(h.state(), GroupState::Stable, "no rebalance");
    h.commit_appends(); // the group record naming the new member id is stored first
    let (error, generation, m2_new, leader) = h.joined(2);
    assert_eq!((error, generation), (ErrorCode::NONE, 2));
    assert_ne!(m2_new, m2);
    assert_eq!(leader, m1);
    let group = &h.c.groups()[GROUP];
    assert_eq!((group.state, group.generation), (GroupState::Stable, 2));
    assert!(!group.members.contains_key(&m2));
    assert_eq!(group.members[&m2_new].stored.assignment, vec![tp(2)]);
    h.sync(2, 2, &m2_new, vec![]);
    let assignment = h.sent.iter().rev().find_map(|(t, m)| match m {
        Message::SyncGroupResponse(SyncGroupResponse { assignment, .. }) if *t == client(2) => {
            Some(assignment)
        }
        _ => None,
    });
    assert_eq!(assignment, Some(&vec![tp(2)]));
    assert_eq!(h.heartbeat(2, 2, &m2), ErrorCode::UNKNOWN_MEMBER_ID);
    assert_eq!(h.heartbeat(1, 2, &m1), ErrorCode::NONE, "m1 is undisturbed");
    h.join_as(3, &m1, Some("b"), 10_000);
    assert_eq!(h.joined(3).0, ErrorCode::FENCED_INSTANCE_ID);
}

/// A static member that stays away longer than its session is removed like any member
/// (`expireClassicGroupMemberHeartbeat`): coming back, it joins a new generation.
#[test]
fn a_static_member_back_after_its_session_rejoins_through_a_rebalance() {
    let (mut h, m1, m2) = two_static_members_stable();
    for _ in 0..11 {
        h.advance(1_000);
        h.heartbeat(1, 2, &m1);
    }
    assert!(!h.c.groups()[GROUP].members.contains_key(&m2), "expired");
    assert_eq!(h.state(), GroupState::PreparingRebalance);
    h.join_as(2, "", Some("b"), 10_000);
    h.join_as(1, &m1, Some("a"), 10_000);
    assert_eq!(h.joined(2).1, 3, "a new generation");
}

/// KIP-320 (`OffsetMetadataManager`, `OffsetCommitValue.leaderEpoch`): a commit carries the
/// leader epoch of the last record read; `OffsetFetch` returns it with the offset, also from a
/// coordinator that loaded the group from the log.
#[test]
fn committed_offsets_keep_their_leader_epoch_through_fetch_and_reload() {
    let (mut h, m1, _) = Harness::two_members_stable();
    h.request(1, |correlation_id| {
        Message::OffsetCommit(OffsetCommitRequest {
            correlation_id,
            group: GROUP.into(),
            generation: 2,
            member_id: m1.clone(),
            offsets: vec![(tp(0), committed(10, Some(4))), (tp(1), committed(3, None))],
        })
    });
    h.commit_appends();
    let fetch = |c: &mut GroupCoordinator| {
        c.handle(
            Time(1),
            client(1),
            Message::OffsetFetch(OffsetFetchRequest {
                correlation_id: CorrelationId(99),
                group: GROUP.into(),
                partitions: vec![tp(0), tp(1), tp(2)],
            }),
        );
        c.take_effects().into_iter().find_map(|e| match e {
            Effect::Send {
                message: Message::OffsetFetchResponse(OffsetFetchResponse { offsets, .. }),
                ..
            } => Some(offsets),
            _ => None,
        })
    };
    let expected = vec![
        (tp(0), Some(committed(10, Some(4)))),
        (tp(1), Some(committed(3, None))),
        (tp(2), None),
    ];
    assert_eq!(fetch(&mut h.c), Some(expected.clone()));
    let mut next = GroupCoordinator::new(BrokerId(2), config(0));
    let partition = next.partition(GROUP);
    next.load(Time(1), partition, h.log.clone().into_iter());
    assert_eq!(fetch(&mut next), Some(expected), "the epoch is in the log");
}

/// `__consumer_offsets` is compacted: the cleaner keeps only the latest record per key (a
/// (group, partition) commit, a group's metadata), and a coordinator that loads the cleaned log
/// finds every group's latest committed offsets (`GroupMetadataManager.loadGroupsAndOffsets`).
#[test]
fn committed_offsets_survive_compaction_of_the_offsets_log() {
    use crate::log::{CleanupPolicy, DirtyRatio, LogConfig, PartitionLog};
    use crate::record::RecordBatch;
    let commit = |p: u32, offset: u64| OffsetsRecord::Offset {
        group: GROUP.into(),
        tp: tp(p),
        offset: committed(offset, Some(1)),
    };
    let records = [
        commit(0, 10),
        commit(1, 5),
        commit(0, 20),
        commit(0, 30),
        commit(1, 7),
        commit(2, 1),
    ];
    let mut log = PartitionLog::new();
    log.configure(&LogConfig {
        cleanup_policy: CleanupPolicy::Compact,
        min_cleanable_dirty_ratio: DirtyRatio(0),
        segment_bytes: 14,
        ..LogConfig::default()
    });
    for (i, record) in records.iter().enumerate() {
        let mut batch = RecordBatch::new(None, vec![record.encode(0)]);
        batch.base_offset = Offset(i as u64);
        let seq = log.append(batch);
        log.complete_write(seq);
    }
    log.set_high_watermark(log.log_end_offset());
    let result = log.clean(Time(0)).expect("dirty");
    assert_eq!(
        result.records_removed, 3,
        "tp0@10, tp1@5 and tp0@20 are superseded"
    );
    let survivors: Vec<OffsetsRecord> = log
        .batches()
        .flat_map(|b| {
            b.records
                .iter()
                .filter_map(OffsetsRecord::decode)
                .collect::<Vec<_>>()
        })
        .collect();
    let mut c = GroupCoordinator::new(BrokerId(2), config(0));
    let partition = c.partition(GROUP);
    c.load(Time(1), partition, survivors.into_iter());
    c.take_effects();
    c.handle(
        Time(1),
        client(1),
        Message::OffsetFetch(OffsetFetchRequest {
            correlation_id: CorrelationId(1),
            group: GROUP.into(),
            partitions: vec![tp(0), tp(1), tp(2)],
        }),
    );
    let offsets = c.take_effects().into_iter().find_map(|e| match e {
        Effect::Send {
            message: Message::OffsetFetchResponse(OffsetFetchResponse { offsets, .. }),
            ..
        } => Some(offsets),
        _ => None,
    });
    let expected = vec![
        (tp(0), Some(committed(30, Some(1)))),
        (tp(1), Some(committed(7, Some(1)))),
        (tp(2), Some(committed(1, Some(1)))),
    ];
    assert_eq!(offsets, Some(expected));
}

// ---- Offset expiration (KIP-211, `GroupCoordinatorShard.cleanupGroupMetadata`) ----

impl Harness {
    /// Both members leave; the group is `Empty` from now.
    fn both_leave(&mut self, m1: &str, m2: &str) {
        for (n, m) in [(1, m1), (2, m2)] {
            let member_id = m.to_owned();
            self.request(n, |correlation_id| {
                Message::LeaveGroup(LeaveGroupRequest {
                    correlation_id,
                    group: GROUP.into(),
                    member_id,
                })
            });
        }
        self.commit_appends();
        assert_eq!(self.state(), GroupState::Empty);
    }

    fn tombstones(&self) -> Vec<OffsetsRecord> {
        self.log
            .iter()
            .filter(|r| {
                matches!(
                    r,
                    OffsetsRecord::OffsetTombstone { .. } | OffsetsRecord::GroupTombstone { .. }
                )
            })
            .cloned()
            .collect()
    }
}

/// The test config: `offsets.retention.minutes` = 1, checked every 10 s.
#[test]
fn an_empty_groups_offsets_expire_a_retention_after_it_emptied_then_the_group_goes() {
    let (mut h, m1, m2) = Harness::two_members_stable();
    h.commit(1, 2, &m1, 7);
    h.commit_appends();
    h.both_leave(&m1, &m2);
    // Emptied at 0 s: the checks at 10..50 s find its offsets younger than a minute.
    for _ in 0..5 {
        h.advance(10_000);
        h.commit_appends();
    }
    assert!(h.tombstones().is_empty(), "{:?}", h.tombstones());
    assert_eq!(h.c.groups()[GROUP].committed[&tp(0)], Offset(7));
    h.advance(10_000);
    h.commit_appends();
    assert_eq!(
        h.tombstones(),
        vec![
            OffsetsRecord::OffsetTombstone {
                group: GROUP.into(),
                tp: tp(0)
            },
            OffsetsRecord::GroupTombstone {
                group: GROUP.into()
            },
        ],
        "the check at 60 s: one minute since the group emptied"
    );
    assert!(!h.c.groups().contains_key(GROUP), "Dead, out of the cache");
    // A coordinator that loads the log finds neither the group nor its offset.
    let mut next = GroupCoordinator::new(BrokerId(2), config(0));
    let partition = next.partition(GROUP);
    next.load(Time(100_000), partition, h.log.clone().into_iter());
    assert!(next.groups().is_empty());
}

#[test]
fn a_group_with_members_keeps_its_offsets_however_old() {
    let (mut h, m1, m2) = Harness::two_members_stable();
    h.commit(1, 2, &m1, 7);
    h.commit_appends();
    for _ in 0..30 {
        h.advance(5_000);
        assert_eq!(h.heartbeat(1, 2, &m1), ErrorCode::NONE);
        assert_eq!(h.heartbeat(2, 2, &m2), ErrorCode::NONE);
        h.commit_appends();
    }
    assert!(h.tombstones().is_empty());
    assert_eq!(h.c.groups()[GROUP].committed[&tp(0)], Offset(7));
}

#[test]
fn a_simple_consumers_offset_expires_a_retention_after_its_commit() {
    let mut h = Harness::new();
    h.commit(1, -1, "", 3);
    h.commit_appends();
    h.advance(30_000);
    h.commit(1, -1, "", 4);
    h.commit_appends();
    h.advance(50_000);
    h.commit_appends();
    assert!(h.tombstones().is_empty(), "committed again at 30 s");
    h.advance(10_000);
    h.commit_appends();
    assert_eq!(h.tombstones().len(), 2, "the offset, then the group");
}
