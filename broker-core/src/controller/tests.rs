//! Unit tests of the KRaft controller: sessions and fencing, elections, AlterPartition, and
//! controlled shutdown (kafka-protocol.md §1, "Controller, KRaft mode" and "Elections").
//!
//! The harness plays the brokers and completes the controller's disk operations (each batch of
//! records is an Append then an Fsync) unless a test holds them back.

use super::*;
use crate::config::{ConfigMap, ProtocolSwitches};
use crate::metadata::BrokerRegistration;
use crate::protocol::{
    AlterPartitionRequest, AlterPartitionResponse, BrokerHeartbeatRequest, BrokerHeartbeatResponse,
    BrokerRegistrationRequest, BrokerRegistrationResponse,
};
use std::collections::VecDeque;

/// `broker.session.timeout.ms` default.
const SESSION_MS: u64 = 9_000;

fn tp() -> TopicPartition {
    TopicPartition::new(&Topic::new("t"), 0)
}

fn ids(brokers: &[u32]) -> Vec<BrokerId> {
    brokers.iter().map(|b| BrokerId(*b)).collect()
}

fn sorted(mut brokers: Vec<BrokerId>) -> Vec<BrokerId> {
    brokers.sort();
    brokers
}

/// `(error, is_fenced, should_shut_down)` of a heartbeat response.
type HeartbeatReply = (ErrorCode, bool, bool);

#[derive(Clone)]
struct Harness {
    controller: Controller,
    now: Time,
    /// Every output since the start; tests search it.
    out: Vec<Output>,
    /// Disk operations issued and not yet completed, oldest first.
    disk: VecDeque<DiskOpId>,
    /// Leave disk operations pending instead of completing them at once.
    hold_disk: bool,
    /// The broker epoch each broker was last given.
    epochs: BTreeMap<BrokerId, BrokerEpoch>,
}

impl Harness {
    /// Topic `t` with one partition on `replicas`; brokers 1..=3 registered (incarnation = id)
    /// and unfenced at time 0, so the partition exists with the first replica leading.
    fn new(replicas: &[u32], unclean: bool) -> Harness {
        Harness::with(replicas, unclean, true, 1)
    }

    /// As `new`, with eligible leader replicas on or off and the topic's min ISR.
    fn with(replicas: &[u32], unclean: bool, elr: bool, min_isr: u32) -> Harness {
        let protocol = ProtocolSwitches {
            eligible_leader_replicas: elr,
            ..ProtocolSwitches::default()
        };
        let config = ClusterConfig::parse(&ConfigMap::new(), protocol);
        let spec = TopicSpec {
            topic: tp().topic,
            assignment: vec![ids(replicas)],
            config: TopicConfig {
                min_insync_replicas: min_isr,
                unclean_leader_election_enable: unclean,
                log: Default::default(),
            },
        };
        let controller =
            Controller::new(ControllerId(1), config.expect("valid"), vec![spec], Time(0));
        let mut h = Harness {
            controller,
            now: Time(0),
            out: Vec::new(),
            disk: VecDeque::new(),
            hold_disk: false,
            epochs: BTreeMap::new(),
        };
        h.input(Input::Start {
            disk: DiskImage::default(),
            incarnation_id: 0,
        });
        for b in 1..=3 {
            assert_eq!(h.register(b, u64::from(b)).0, ErrorCode::NONE);
        }
        for b in 1..=3 {
            h.heartbeat(b, false);
        }
        assert_eq!(h.partition().leader, Some(BrokerId(replicas[0])));
        h
    }

    fn input(&mut self, input: Input) {
        self.controller.handle(self.now, input);
        self.drain();
    }

    /// Drain every output; complete disk operations in order unless `hold_disk`.
    fn drain(&mut self) {
        crate::io::drain_for_test(
            &mut self.controller,
            self.now,
            self.hold_disk,
            &mut self.disk,
            &mut self.out,
        );
    }

    fn release_disk(&mut self) {
        self.hold_disk = false;
        self.drain();
    }

    /// Deliver `message` from broker `b`; the messages sent to `b` meanwhile.
    fn deliver_from(&mut self, b: u32, message: Message) -> Vec<Message> {
        let mark = self.out.len();
        self.input(Input::Message {
            from: NodeId::Broker(BrokerId(b)),
            message,
        });
        sent_to(&self.out[mark..], b)
    }

    fn register(&mut self, b: u32, incarnation_id: u64) -> (ErrorCode, BrokerEpoch) {
        self.register_after(b, incarnation_id, None)
    }

    /// Register with the epoch a clean-shutdown file named (`None`: after a crash).
    fn register_after(
        &mut self,
        b: u32,
        incarnation_id: u64,
        previous_broker_epoch: Option<BrokerEpoch>,
    ) -> (ErrorCode, BrokerEpoch) {
        let message = Message::BrokerRegistration(BrokerRegistrationRequest {
            broker_id: BrokerId(b),
            incarnation_id,
            previous_broker_epoch,
        });
        let reply = self
            .deliver_from(b, message)
            .into_iter()
            .find_map(|m| match m {
                Message::BrokerRegistrationResponse(BrokerRegistrationResponse {
                    error,
                    broker_epoch,
                }) => Some((error, broker_epoch)),
                _ => None,
            });
        let (error, epoch) = reply.expect("registration answered");
        if error.is_ok() {
            self.epochs.insert(BrokerId(b), epoch);
        }
        (error, epoch)
    }

    /// A heartbeat from `b`, caught up with all metadata; its reply if one was sent.
    fn heartbeat(&mut self, b: u32, want_shut_down: bool) -> Option<HeartbeatReply> {
        let offset = self.controller.metadata().offset;
        self.heartbeat_at(b, want_shut_down, offset)
    }

    /// At time `at`: heartbeats from the `alive` brokers, then the session check.
    fn tick(&mut self, at: u64, alive: &[u32]) {
        self.now = Time(at);
        for b in alive {
            self.heartbeat(*b, false);
        }
        self.controller.handle_timeout(self.now);
        self.drain();
    }

    /// `AlterPartition` from `b`, its ISR members without broker epochs (Kafka's -1).
    fn alter(
        &mut self,
        b: u32,
        leader_epoch: u32,
        partition_epoch: u32,
        isr: &[u32],
    ) -> Option<(ErrorCode, Option<PartitionState>)> {
        let members: Vec<(u32, Option<BrokerEpoch>)> = isr.iter().map(|m| (*m, None)).collect();
        self.alter_members(b, leader_epoch, partition_epoch, &members)
    }

    /// `AlterPartition` from `b` whose ISR members carry the given broker epochs (KIP-903).
    fn alter_members(
        &mut self,
        b: u32,
        leader_epoch: u32,
        partition_epoch: u32,
        members: &[(u32, Option<BrokerEpoch>)],
    ) -> Option<(ErrorCode, Option<PartitionState>)> {
        let new_isr = members
            .iter()
            .map(|(m, broker_epoch)| IsrMember {
                broker_id: BrokerId(*m),
                broker_epoch: *broker_epoch,
            })
            .collect();
        let message = Message::AlterPartition(AlterPartitionRequest {
            broker_id: BrokerId(b),
            broker_epoch: self.epochs[&BrokerId(b)],
            tp: tp(),
            leader_epoch: LeaderEpoch(leader_epoch),
            partition_epoch: PartitionEpoch(partition_epoch),
            new_isr,
        });
        self.deliver_from(b, message);
        self.alter_reply()
    }

    /// A heartbeat from `b` reporting `metadata_offset`; its reply if one was sent.
    fn heartbeat_at(
        &mut self,
        b: u32,
        want_shut_down: bool,
        metadata_offset: u64,
    ) -> Option<HeartbeatReply> {
        let message = Message::BrokerHeartbeat(BrokerHeartbeatRequest {
            broker_id: BrokerId(b),
            broker_epoch: self.epochs[&BrokerId(b)],
            metadata_offset,
            want_shut_down,
        });
        self.deliver_from(b, message)
            .into_iter()
            .find_map(|m| match m {
                Message::BrokerHeartbeatResponse(BrokerHeartbeatResponse {
                    error,
                    is_fenced,
                    should_shut_down,
                    ..
                }) => Some((error, is_fenced, should_shut_down)),
                _ => None,
            })
    }

    /// The latest `AlterPartitionResponse` sent so far.
    fn alter_reply(&self) -> Option<(ErrorCode, Option<PartitionState>)> {
        self.out.iter().rev().find_map(|o| match o {
            Output::Send {
                message:
                    Message::AlterPartitionResponse(AlterPartitionResponse { error, state, .. }),
                ..
            } => Some((*error, state.clone())),
            _ => None,
        })
    }

    fn partition(&self) -> PartitionState {
        self.controller.metadata().partitions[&tp()].clone()
    }

    fn registration(&self, b: u32) -> &BrokerRegistration {
        &self.controller.metadata().brokers[&BrokerId(b)]
    }

    /// Every committed metadata record, in order: what every broker's metadata fetch gets.
    fn committed(&self) -> Vec<MetadataRecord> {
        (0..)
            .map_while(|offset| self.controller.committed_record(offset).cloned())
            .collect()
    }

    /// Whether broker `b` was elected in an election marked unclean, as the last known leader
    /// (`last_known`) or from outside the ISR.
    fn elected_uncleanly(&self, b: u32, last_known: bool) -> bool {
        self.events().any(|e| {
            matches!(e, Event::LeaderElected { leader: Some(l), unclean: true, last_known_leader, .. }
                if *l == BrokerId(b) && *last_known_leader == last_known)
        })
    }

    fn events(&self) -> impl Iterator<Item = &Event> {
        self.out.iter().filter_map(|o| match o {
            Output::Event(e) => Some(e),
            _ => None,
        })
    }
}

fn sent_to(outputs: &[Output], b: u32) -> Vec<Message> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Send { to, message } if *to == NodeId::Broker(BrokerId(b)) => {
                Some(message.clone())
            }
            _ => None,
        })
        .collect()
}

// ---- Sessions and fencing (BrokerHeartbeatManager, ReplicationControlManager) ----

#[test]
fn fencing_after_session_timeout_moves_leadership_in_replica_order() {
    let mut h = Harness::new(&[1, 3, 2], false);
    h.tick(5_000, &[2, 3]); // broker-1 last heard from at 0

    let mut before = h.clone();
    before.tick(SESSION_MS - 1, &[]);
    assert!(
        !before.registration(1).fenced,
        "not before the session ends"
    );
    assert_eq!(before.partition().leader, Some(BrokerId(1)));

    h.tick(SESSION_MS + 1, &[]);
    assert!(h.registration(1).fenced);
    let state = h.partition();
    // The first live ISR member in replica order [1, 3, 2] is 3, not the lowest id.
    assert_eq!(state.leader, Some(BrokerId(3)));
    assert_eq!(state.leader_epoch, LeaderEpoch(1));
    assert_eq!(state.partition_epoch, PartitionEpoch(1));
    assert_eq!(sorted(state.isr.clone()), ids(&[2, 3]));
    let published = h.committed();
    let fence = MetadataRecord::FenceBroker {
        broker_id: BrokerId(1),
        broker_epoch: BrokerEpoch(0),
    };
    assert!(published.contains(&fence));
    assert!(published.contains(&MetadataRecord::Partition { tp: tp(), state }));
}

#[test]
fn without_elr_the_last_isr_member_is_never_removed() {
    let mut h = Harness::with(&[1, 2, 3], false, false, 1);
    h.tick(SESSION_MS + 1_000, &[1]); // brokers 2 and 3 fenced
    assert_eq!(h.partition().isr, ids(&[1]));
    assert_eq!(h.partition().leader, Some(BrokerId(1)));

    h.tick(2 * SESSION_MS + 2_000, &[]); // broker-1 fenced too
    let state = h.partition();
    assert_eq!(state.leader, None, "offline: no live ISR member");
    assert_eq!(
        state.isr,
        ids(&[1]),
        "without ELR the last ISR member stays"
    );
    assert_eq!(state.leader_epoch, LeaderEpoch(1));
}

/// ISR shrunk to [1] while 2 and 3 are alive, then broker-1 is fenced.
fn leader_of_isr_of_one_fenced(unclean: bool) -> Harness {
    let mut h = Harness::with(&[1, 2, 3], unclean, false, 1);
    let (error, _) = h.alter(1, 0, 0, &[1]).expect("answered");
    assert_eq!(error, ErrorCode::NONE);
    h.tick(SESSION_MS, &[2, 3]);
    assert!(h.registration(1).fenced);
    h
}

#[test]
fn clean_election_only_leaves_the_partition_offline() {
    let h = leader_of_isr_of_one_fenced(false);
    assert_eq!(h.partition().leader, None);
    assert_eq!(h.partition().isr, ids(&[1]));
}

#[test]
fn unclean_election_picks_a_live_out_of_isr_replica_when_enabled() {
    let h = leader_of_isr_of_one_fenced(true);
    let state = h.partition();
    assert_eq!(
        state.leader,
        Some(BrokerId(2)),
        "first live replica in order"
    );
    assert_eq!(state.isr, ids(&[2]));
    assert!(h.elected_uncleanly(2, false));
}

// ---- Eligible leader replicas (KIP-966 part 1, PartitionChangeBuilder) ----

/// min ISR 2: brokers 2 and 3 fenced (3 leaves an ISR already at min ISR: ELR [3]), then 1.
fn every_replica_fenced_with_elr() -> Harness {
    let mut h = Harness::with(&[1, 2, 3], false, true, 2);
    h.tick(SESSION_MS + 1_000, &[1]);
    let state = h.partition();
    assert_eq!(state.isr, ids(&[1]));
    assert_eq!(
        state.elr,
        ids(&[3]),
        "broker-2 left while the ISR was still at min ISR"
    );
    h.tick(2 * SESSION_MS + 2_000, &[]);
    h
}

#[test]
fn with_elr_the_last_isr_member_leaves_and_joins_the_elr() {
    let h = every_replica_fenced_with_elr();
    let state = h.partition();
    assert!(state.isr.is_empty(), "with ELR the ISR may be empty");
    assert_eq!(state.elr, ids(&[1, 3]));
    assert_eq!(state.leader, None);
    assert_eq!(state.last_known_leader, Some(BrokerId(1)));
}

#[test]
fn an_unclean_restart_leaves_the_elr_and_a_clean_one_leads_from_it() {
    let mut h = every_replica_fenced_with_elr();
    let clean_epoch_3 = h.epochs[&BrokerId(3)];
    h.now = Time(30_000);
    assert_eq!(h.register_after(1, 11, None).0, ErrorCode::NONE);
    let detected = h.events().any(|e| {
        *e == Event::UncleanShutdownDetected {
            broker: BrokerId(1),
        }
    });
    assert!(detected);
    assert_eq!(h.partition().elr, ids(&[3]));
    h.heartbeat(1, false); // broker-1 unfenced: still no leader, broker-3 holds the records
    assert!(!h.registration(1).fenced);
    assert_eq!(h.partition().leader, None);

    assert_eq!(
        h.register_after(3, 33, Some(clean_epoch_3)).0,
        ErrorCode::NONE
    );
    assert_eq!(
        h.partition().elr,
        ids(&[3]),
        "a clean restart keeps its place"
    );
    h.heartbeat(3, false);
    let state = h.partition();
    assert_eq!(state.leader, Some(BrokerId(3)));
    assert_eq!(state.isr, ids(&[3]));
    assert!(state.elr.is_empty());
    assert_eq!(state.last_known_leader, None);
}

#[test]
fn with_isr_and_elr_emptied_by_unclean_restarts_the_last_known_leader_returns() {
    let mut h = every_replica_fenced_with_elr();
    h.now = Time(30_000);
    h.register_after(3, 33, None);
    h.register_after(1, 11, None);
    assert!(h.partition().elr.is_empty());
    h.heartbeat(3, false);
    assert_eq!(
        h.partition().leader,
        None,
        "broker-3 is not the last known leader"
    );
    h.heartbeat(1, false);
    let state = h.partition();
    assert_eq!(state.leader, Some(BrokerId(1)));
    assert_eq!(state.isr, ids(&[1]));
    assert!(
        h.elected_uncleanly(1, true),
        "an election that may lose records says so, and how"
    );
}

#[test]
fn the_elr_clears_when_the_isr_grows_back_to_min_isr() {
    let mut h = Harness::with(&[1, 2, 3], false, true, 2);
    h.alter(1, 0, 0, &[1, 2]);
    h.alter(1, 0, 1, &[1]);
    assert_eq!(h.partition().elr, ids(&[2]));
    h.alter(1, 0, 2, &[1, 3]);
    assert!(h.partition().elr.is_empty());
}

// ---- AlterPartition (KIP-497 epochs) ----

#[test]
fn alter_partition_is_answered_only_once_durable() {
    let mut h = Harness::new(&[1, 2, 3], false);
    h.hold_disk = true;
    assert_eq!(h.alter(1, 0, 0, &[1, 2]), None, "not before the fsync");
    h.release_disk();
    let (error, state) = h.alter_reply().expect("answered after the fsync");
    assert_eq!(error, ErrorCode::NONE);
    let state = state.expect("new state");
    assert_eq!(state.isr, ids(&[1, 2]));
    assert_eq!(state.partition_epoch, PartitionEpoch(1));
    assert_eq!(state.leader_epoch, LeaderEpoch(0));
}

/// The committed image shows a decision only once the log committed it (a failover before
/// could lose it; `QuorumController` exposes only up to `lastCommittedOffset`).
#[test]
fn the_published_image_holds_only_committed_records() {
    let mut h = Harness::new(&[1, 2, 3], false);
    let offset = h.controller.metadata().offset;
    h.hold_disk = true;
    assert_eq!(h.alter(1, 0, 0, &[1, 2]), None);
    assert_eq!(h.partition().isr, ids(&[1, 2, 3]), "not committed yet");
    assert_eq!(h.controller.metadata().offset, offset);
    h.release_disk();
    assert_eq!(h.partition().isr, ids(&[1, 2]));
    assert_eq!(h.controller.metadata().offset, offset + 1);
}

#[test]
fn alter_partition_with_a_stale_partition_epoch_is_refused() {
    let mut h = Harness::new(&[1, 2, 3], false);
    assert_eq!(
        h.alter(1, 0, 0, &[1, 2]).map(|r| r.0),
        Some(ErrorCode::NONE)
    );
    let (error, state) = h.alter(1, 0, 0, &[1]).expect("answered");
    assert_eq!(error, ErrorCode::INVALID_UPDATE_VERSION);
    assert_eq!(state.map(|s| s.partition_epoch), Some(PartitionEpoch(1)));
    assert_eq!(h.partition().isr, ids(&[1, 2]));
}

#[test]
fn alter_partition_with_a_stale_leader_epoch_is_fenced() {
    let mut h = Harness::new(&[1, 2, 3], false);
    h.alter(1, 0, 0, &[1, 2]);
    h.tick(SESSION_MS, &[2, 3]); // broker-1 fenced: broker-2 leads in epoch 1
    h.tick(10_000, &[1, 2, 3]); // broker-1 back and unfenced
    let pe = h.partition().partition_epoch.0;
    assert_eq!(
        h.alter(2, 1, pe, &[1, 2]).map(|r| r.0),
        Some(ErrorCode::NONE)
    );
    h.tick(20_000, &[1, 3]); // broker-2 fenced: broker-1 leads again, in epoch 2
    let state = h.partition();
    assert_eq!(state.leader, Some(BrokerId(1)));
    assert_eq!(state.leader_epoch, LeaderEpoch(2));
    let (error, _) = h
        .alter(1, 0, state.partition_epoch.0, &[1])
        .expect("answered");
    assert_eq!(error, ErrorCode::FENCED_LEADER_EPOCH);
    assert_eq!(h.partition(), state, "unchanged");
}

// ---- AlterPartition validation (ReplicationControlManager.validateAlterPartitionData) ----

/// What an `AlterPartition` was answered, and whether it wrote a metadata record.
fn alter_outcome(h: &mut Harness, b: u32, le: u32, pe: u32, isr: &[u32]) -> (ErrorCode, bool) {
    let before = h.controller.metadata().offset;
    let (error, _) = h.alter(b, le, pe, isr).expect("answered");
    (error, h.controller.metadata().offset != before)
}

/// An epoch newer than the controller's: this controller is behind (a new one was elected),
/// so the leader must look for the active controller.
#[test]
fn alter_partition_with_a_newer_epoch_is_not_for_this_controller() {
    let mut h = Harness::new(&[1, 2, 3], false);
    let newer_leader_epoch = alter_outcome(&mut h, 1, 1, 0, &[1, 2]);
    assert_eq!(newer_leader_epoch, (ErrorCode::NOT_CONTROLLER, false));
    let newer_partition_epoch = alter_outcome(&mut h, 1, 0, 1, &[1, 2]);
    assert_eq!(newer_partition_epoch, (ErrorCode::NOT_CONTROLLER, false));
    assert_eq!(h.partition().isr, ids(&[1, 2, 3]));
}

/// Only the leader may change the ISR: a follower with the current epochs is refused
/// `INVALID_REQUEST` (not the `NOT_LEADER_OR_FOLLOWER` a data request gets).
#[test]
fn alter_partition_from_a_non_leader_is_an_invalid_request() {
    let mut h = Harness::new(&[1, 2, 3], false);
    assert_eq!(
        alter_outcome(&mut h, 2, 0, 0, &[2, 3]),
        (ErrorCode::INVALID_REQUEST, false)
    );
}

/// `Replicas.validateIsr` and "the ISR must always include the current leader".
#[test]
fn alter_partition_needs_distinct_replicas_including_the_leader() {
    let mut h = Harness::new(&[1, 2, 3], false);
    for isr in [&[2, 3][..], &[1, 1, 2], &[1, 4]] {
        let outcome = alter_outcome(&mut h, 1, 0, 0, isr);
        assert_eq!(outcome, (ErrorCode::INVALID_REQUEST, false), "ISR {isr:?}");
    }
}

/// `ineligibleReplicasForIsr`: every member, new or old, must be unfenced and not shutting
/// down.
#[test]
fn alter_partition_with_a_fenced_or_shutting_down_member_is_refused() {
    let mut h = Harness::new(&[1, 2, 3], false);
    h.heartbeat(1, true); // the leader enters controlled shutdown: broker-2 leads in epoch 1
    assert!(h.registration(1).shutting_down && !h.registration(1).fenced);
    let pe = h.partition().partition_epoch.0;
    let shutting_down = alter_outcome(&mut h, 2, 1, pe, &[1, 2, 3]);
    assert_eq!(shutting_down, (ErrorCode::INELIGIBLE_REPLICA, false));
    assert_eq!(
        alter_outcome(&mut h, 2, 1, pe, &[2]),
        (ErrorCode::NONE, true)
    );

    let mut h = Harness::new(&[1, 2, 3], false);
    h.tick(SESSION_MS, &[1, 3]); // broker-2 fenced (and out of the ISR)
    assert!(h.registration(2).fenced);
    let pe = h.partition().partition_epoch.0;
    let fenced = alter_outcome(&mut h, 1, 0, pe, &[1, 2, 3]);
    assert_eq!(fenced, (ErrorCode::INELIGIBLE_REPLICA, false));
    assert_eq!(
        alter_outcome(&mut h, 1, 0, pe, &[1]),
        (ErrorCode::NONE, true)
    );
}

/// KIP-903: a member's broker epoch must be its current registration's (a replica that
/// restarted with an empty disk and re-registered must not join on its old fetches); an
/// unknown epoch (-1) skips the check.
#[test]
fn alter_partition_checks_each_members_broker_epoch() {
    let mut h = Harness::new(&[1, 2, 3], false);
    let epoch = |h: &Harness, b: u32| h.registration(b).broker_epoch;
    let stale = BrokerEpoch(epoch(&h, 2).0 + 100);
    let (error, _) = h
        .alter_members(1, 0, 0, &[(1, Some(epoch(&h, 1))), (2, Some(stale))])
        .expect("answered");
    assert_eq!(error, ErrorCode::INELIGIBLE_REPLICA);
    assert_eq!(
        h.partition().partition_epoch,
        PartitionEpoch(0),
        "no record"
    );
    let current = [(1, Some(epoch(&h, 1))), (2, Some(epoch(&h, 2))), (3, None)];
    let (error, state) = h.alter_members(1, 0, 0, &current).expect("answered");
    assert_eq!(error, ErrorCode::NONE);
    assert_eq!(state.map(|s| s.isr), Some(ids(&[1, 2, 3])));
}

/// A request that changes nothing writes no record (`PartitionChangeBuilder.build` is empty)
/// and is answered with the partition as it is.
#[test]
fn alter_partition_that_changes_nothing_writes_no_record() {
    let mut h = Harness::new(&[1, 2, 3], false);
    let before = h.partition();
    let offset = h.controller.metadata().offset;
    let (error, state) = h.alter(1, 0, 0, &[1, 2, 3]).expect("answered");
    assert_eq!(error, ErrorCode::NONE);
    assert_eq!(state, Some(before.clone()));
    assert_eq!(h.controller.metadata().offset, offset, "no record");
    assert_eq!(h.partition(), before);
}

// ---- Registration (ClusterControlManager.registerBroker) ----

#[test]
fn another_incarnation_registers_only_after_the_old_session_ends() {
    let mut h = Harness::new(&[1, 2, 3], false);
    h.now = Time(1_000);
    assert_eq!(
        h.register(1, 99).0,
        ErrorCode::DUPLICATE_BROKER_REGISTRATION
    );
    assert_eq!(h.registration(1).incarnation_id, 1);
    // The same incarnation retrying gets its registration back.
    assert_eq!(h.register(1, 1), (ErrorCode::NONE, BrokerEpoch(0)));

    h.tick(SESSION_MS + 1_000, &[2, 3]);
    assert!(h.registration(1).fenced);
    let (error, epoch) = h.register(1, 99);
    assert_eq!(error, ErrorCode::NONE);
    assert!(epoch > BrokerEpoch(0), "a new broker epoch: {epoch}");
    assert_eq!(h.registration(1).incarnation_id, 99);
    assert_eq!(h.registration(1).broker_epoch, epoch);
}

// ---- Controlled shutdown ----

#[test]
fn controlled_shutdown_moves_leadership_then_lets_the_broker_go() {
    let mut h = Harness::new(&[1, 2, 3], false);
    let entering = h.heartbeat(1, true).expect("answered");
    assert!(
        !entering.2,
        "entering CONTROLLED_SHUTDOWN is not yet a grant"
    );
    let state = h.partition();
    assert_eq!(state.leader, Some(BrokerId(2)));
    assert_eq!(state.leader_epoch, LeaderEpoch(1));
    assert!(!state.isr.contains(&BrokerId(1)));
    assert!(h.registration(1).shutting_down);
    h.heartbeat(2, false);
    h.heartbeat(3, false);
    let reply = h.heartbeat(1, true).expect("answered");
    assert_eq!(reply, (ErrorCode::NONE, true, true), "leads nothing: go");
}

/// `BrokerHeartbeatManager`: a broker leaving its leaderships may stop only once every active
/// broker has applied the records that moved them (`controlledShutdownOffset <=
/// lowestActiveOffset`): otherwise a broker that has not heard of the new leader still sends
/// its fetches and clients to the one that went.
#[test]
fn controlled_shutdown_waits_until_active_brokers_reach_the_shutdown_offset() {
    let mut h = Harness::new(&[1, 2, 3], false);
    let before = h.controller.metadata().offset;
    h.heartbeat(1, true); // moves broker-1's leadership to broker-2
    let shutdown_offset = h.controller.metadata().offset;
    assert!(shutdown_offset > before);
    h.heartbeat(2, false); // caught up
    h.heartbeat_at(3, false, before); // still before the leadership move
    let reply = h.heartbeat(1, true).expect("answered");
    assert!(!reply.2, "broker-3 has not applied the move yet");
    h.heartbeat_at(3, false, shutdown_offset - 1);
    assert!(
        !h.heartbeat(1, true).expect("answered").2,
        "one record short"
    );
    h.heartbeat_at(3, false, shutdown_offset);
    assert!(
        h.heartbeat(1, true).expect("answered").2,
        "every active broker caught up"
    );
}

/// `calculateNextBrokerState` from `UNFENCED`: a broker that leads nothing has nothing to move
/// and may go at once (`SHUTDOWN_NOW`), whatever the other brokers have applied.
#[test]
fn a_broker_that_leads_nothing_shuts_down_at_once() {
    let mut h = Harness::new(&[1, 2, 3], false);
    h.heartbeat_at(1, false, 0);
    h.heartbeat_at(2, false, 0);
    let reply = h.heartbeat(3, true).expect("answered");
    assert_eq!(reply, (ErrorCode::NONE, true, true));
}

/// "Controlled shutdown moves leadership away first": the broker may stop only once the records
/// that move its leaderships are durable (the controller answers only after its fsync), or a
/// controller crash would leave the partition with a leader that has gone.
#[test]
fn should_shut_down_waits_until_the_leadership_move_is_durable() {
    let mut h = Harness::new(&[1, 2, 3], false);
    h.hold_disk = true;
    let early = h.heartbeat(1, true);
    assert_ne!(
        early.map(|r| r.2),
        Some(true),
        "should_shut_down before the leadership move is durable"
    );
    h.release_disk();
    h.heartbeat(2, false);
    h.heartbeat(3, false);
    let reply = h.heartbeat(1, true).expect("answered");
    assert!(reply.2, "should_shut_down once durable and leading nothing");
}

// ---- Brokers fetch the metadata log (`local_fetch.rs`) ----

fn metadata_fetch(epoch: u32, offset: u64) -> Message {
    Message::Quorum(Box::new(crate::raft::RaftMessage::Fetch {
        epoch: LeaderEpoch(epoch),
        fetch_offset: Offset(offset),
        last_fetched_epoch: LeaderEpoch(epoch),
    }))
}

/// `(error, epoch, leader, high watermark, entries)` of metadata fetch answers.
fn fetch_answers(
    messages: &[Message],
) -> Vec<(ErrorCode, LeaderEpoch, Option<NodeId>, Offset, usize)> {
    messages
        .iter()
        .filter_map(|m| match m {
            Message::Quorum(q) => match &**q {
                crate::raft::RaftMessage::FetchResponse {
                    error,
                    epoch,
                    leader,
                    high_watermark,
                    entries,
                    ..
                } => Some((*error, *epoch, *leader, *high_watermark, entries.len())),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The lone controller answers a broker's metadata fetch as a one-voter quorum's leader: a
/// fetch from an older epoch learns its epoch and leader; one at the committed end is held
/// until a record commits, then gets it with the high watermark past it.
#[test]
fn the_lone_controller_holds_a_metadata_fetch_until_a_record_commits() {
    let mut h = Harness::new(&[1, 2, 3], false);
    let me = Some(NodeId::Controller(ControllerId(1)));
    let answers = fetch_answers(&h.deliver_from(1, metadata_fetch(0, 0)));
    assert_eq!(
        answers,
        vec![(
            ErrorCode::FENCED_LEADER_EPOCH,
            LeaderEpoch(1),
            me,
            Offset(h.controller.metadata().offset),
            0
        )]
    );
    let answers = fetch_answers(&h.deliver_from(1, metadata_fetch(1, 0)));
    let end = h.controller.metadata().offset;
    assert_eq!(
        answers,
        vec![(
            ErrorCode::NONE,
            LeaderEpoch(1),
            me,
            Offset(end),
            end as usize
        )]
    );
    assert!(
        fetch_answers(&h.deliver_from(1, metadata_fetch(1, end))).is_empty(),
        "held"
    );
    let mark = h.out.len();
    h.register(4, 4); // a record commits
    let answers = fetch_answers(&sent_to(&h.out[mark..], 1));
    assert_eq!(answers.len(), 1, "the held fetch is answered");
    assert!(
        answers[0].3 > Offset(end) && answers[0].4 > 0,
        "{answers:?}"
    );
}

/// `BrokerHeartbeatManager` unfences a broker once `currentMetadataOffset >=
/// registerBrokerRecordOffset`: Kafka's offset is the last record applied, the lab's heartbeat
/// carries the one after it, so the broker must report more than its epoch: its registration
/// record itself applied.
#[test]
fn a_broker_is_unfenced_only_once_it_applied_its_own_registration_record() {
    let mut h = Harness::new(&[1, 2, 3], false);
    h.tick(SESSION_MS + 1, &[2, 3]);
    assert!(h.registration(1).fenced);
    let (error, epoch) = h.register(1, 11);
    assert_eq!(error, ErrorCode::NONE);
    h.heartbeat_at(1, false, epoch.0);
    assert!(
        h.registration(1).fenced,
        "its registration record not yet applied"
    );
    h.heartbeat_at(1, false, epoch.0 + 1);
    assert!(!h.registration(1).fenced);
}
