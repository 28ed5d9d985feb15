//! The coordinator's state machine driven directly: joins, syncs, heartbeats, commits, expiry
//! and reload from the log.

use super::*;
use crate::error::ErrorCode;
use crate::protocol::{Message, Subscription};
use crate::types::*;

const GROUP: &str = "g1";

fn tp(p: u32) -> TopicPartition {
    TopicPartition::new(&Topic::new("orders"), p)
}

fn client(n: u32) -> NodeId {
    NodeId::Client(ClientId(n))
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
        let config = CoordinatorConfig {
            partitions: 3,
            initial_rebalance_delay_ms: 0,
        };
        let mut c = GroupCoordinator::new(BrokerId(1), config);
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
        let member_id = member_id.to_owned();
        self.request(from, |correlation_id| Message::JoinGroup {
            correlation_id,
            group: GROUP.into(),
            client: format!("consumer-{from}"),
            member_id,
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 5_000,
            protocols: vec![("range".into(), Subscription::default())],
        });
    }

    /// The last `JoinGroupResponse` sent to `to`: (error, generation, member id, leader).
    fn joined(&self, to: u32) -> (ErrorCode, i32, String, String) {
        self.sent
            .iter()
            .rev()
            .find_map(|(t, m)| match m {
                Message::JoinGroupResponse {
                    error,
                    generation,
                    member_id,
                    leader,
                    ..
                } if *t == client(to) => {
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
        self.request(from, |correlation_id| Message::SyncGroup {
            correlation_id,
            group: GROUP.into(),
            generation,
            member_id,
            assignments,
        });
    }

    fn last_error(&self, to: u32) -> ErrorCode {
        self.sent
            .iter()
            .rev()
            .find_map(|(t, m)| match m {
                Message::HeartbeatResponse { error, .. }
                | Message::OffsetCommitResponse { error, .. }
                | Message::SyncGroupResponse { error, .. }
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
        self.request(from, |correlation_id| Message::Heartbeat {
            correlation_id,
            group: GROUP.into(),
            generation,
            member_id,
        });
        self.last_error(from)
    }

    fn commit(&mut self, from: u32, generation: i32, member_id: &str, offset: u64) {
        let member_id = member_id.to_owned();
        self.request(from, |correlation_id| Message::OffsetCommit {
            correlation_id,
            group: GROUP.into(),
            generation,
            member_id,
            offsets: vec![(tp(0), Offset(offset))],
        });
    }

    fn state(&self) -> GroupState {
        self.c.groups()[GROUP].state
    }

    /// Two members form generation 1 with consumer-1 leading: (member 1, member 2).
    fn two_members_stable() -> (Harness, String, String) {
        let mut h = Harness::new();
        h.join(1, "");
        let (_, _, m1, _) = h.joined(1);
        // Generation 1 forms with m1 alone; m2 joining starts generation 2.
        h.join(2, "");
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
            Message::SyncGroupResponse {
                assignment,
                error: ErrorCode::NONE,
                ..
            } if *t == client(to) => Some(assignment.clone()),
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
    h.join(3, "");
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
    h.join(1, "");
    let (_, gen, m1, _) = h.joined(1);
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
        h.request(n, |correlation_id| Message::LeaveGroup {
            correlation_id,
            group: GROUP.into(),
            member_id,
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
    let config = CoordinatorConfig {
        partitions: 3,
        initial_rebalance_delay_ms: 0,
    };
    let mut next = GroupCoordinator::new(BrokerId(2), config);
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
        Message::Heartbeat {
            correlation_id: CorrelationId(1),
            group: GROUP.into(),
            generation: 2,
            member_id: m1,
        },
    );
    let effects = next.take_effects();
    assert!(matches!(
        &effects[..],
        [Effect::Send {
            message: Message::HeartbeatResponse {
                error: ErrorCode::NONE,
                ..
            },
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
