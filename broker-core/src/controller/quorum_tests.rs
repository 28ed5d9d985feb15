//! Three controllers in a quorum: only the Raft leader acts, standbys answer NOT_CONTROLLER,
//! and a failover keeps every committed record.

use super::super::raft_metadata_log::tests::apply;
use super::*;
use crate::config::{ClusterConfig, ConfigMap, ProtocolSwitches};
use crate::io::{DiskImage, Input, Output};
use crate::protocol::{BrokerRegistrationRequest, BrokerRegistrationResponse};
use crate::raft::{QuorumConfig, Role};
use crate::types::{BrokerId, ControllerId, LeaderEpoch, Time};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

struct Cluster {
    now: Time,
    running: BTreeMap<ControllerId, Controller>,
    disks: BTreeMap<ControllerId, DiskImage>,
    completions: VecDeque<(ControllerId, DiskOpId)>,
    wire: VecDeque<(NodeId, NodeId, Message)>,
    /// What the controllers sent to brokers.
    to_brokers: Vec<(NodeId, Message)>,
    /// Every (epoch, controller) that acted as active controller.
    actives: BTreeSet<(LeaderEpoch, ControllerId)>,
    /// Controllers that said `Output::Stopped`, with when.
    stopped: BTreeMap<ControllerId, Time>,
}

const VOTERS: [ControllerId; 3] = [ControllerId(1), ControllerId(2), ControllerId(3)];

impl Cluster {
    fn new() -> Cluster {
        let mut cluster = Cluster {
            now: Time(0),
            running: BTreeMap::new(),
            disks: BTreeMap::new(),
            completions: VecDeque::new(),
            wire: VecDeque::new(),
            to_brokers: Vec::new(),
            actives: BTreeSet::new(),
            stopped: BTreeMap::new(),
        };
        for id in VOTERS {
            cluster.start(id);
        }
        cluster
    }

    fn start(&mut self, id: ControllerId) {
        let config = ClusterConfig::parse(&ConfigMap::new(), ProtocolSwitches::default());
        let setup = (config.expect("valid"), Vec::new());
        let seed = 17 * u64::from(id.0);
        let mut controller =
            Controller::with_quorum(id, &VOTERS, QuorumConfig::default(), seed, setup, self.now);
        let disk = self.disks.entry(id).or_default().clone();
        controller.handle(
            self.now,
            Input::Start {
                disk,
                incarnation_id: 0,
            },
        );
        self.running.insert(id, controller);
    }

    fn active(&self) -> Option<ControllerId> {
        let mut actives = self.running.values().filter(|c| c.is_active());
        let active = actives.next().map(|c| c.id());
        assert!(actives.next().is_none(), "two active controllers at once");
        active
    }

    fn drain(&mut self) {
        for (id, controller) in &mut self.running {
            if let (true, Some((Role::Leader, epoch))) =
                (controller.is_active(), controller.quorum_role())
            {
                self.actives.insert((epoch, *id));
            }
            while let Some(output) = controller.poll_output() {
                match output {
                    Output::Disk(op) => {
                        apply(self.disks.get_mut(id).expect("disk"), &op);
                        self.completions.push_back((*id, op.id()));
                    }
                    Output::Send {
                        to: to @ NodeId::Controller(_),
                        message,
                    } => self.wire.push_back((NodeId::Controller(*id), to, message)),
                    Output::Send { to, message } => self.to_brokers.push((to, message)),
                    Output::Stopped => {
                        self.stopped.insert(*id, self.now);
                    }
                    _ => {}
                }
            }
        }
    }

    fn deliver(&mut self, to: ControllerId, input: Input) {
        if let Some(controller) = self.running.get_mut(&to) {
            controller.handle(self.now, input);
        }
    }

    fn step(&mut self) {
        self.drain();
        if let Some((node, id)) = self.completions.pop_front() {
            return self.deliver(node, Input::DiskCompleted { id, ok: true });
        }
        if let Some((from, to, message)) = self.wire.pop_front() {
            let NodeId::Controller(to) = to else {
                unreachable!("only controllers are on the wire")
            };
            return self.deliver(to, Input::Message { from, message });
        }
        let next = self.running.values().filter_map(|c| c.poll_timeout()).min();
        self.now = next.expect("a timer").max(self.now);
        for controller in self.running.values_mut() {
            if controller.poll_timeout().is_some_and(|t| t <= self.now) {
                controller.handle_timeout(self.now);
            }
        }
    }

    fn run_until(&mut self, mut done: impl FnMut(&Cluster) -> bool) {
        for _ in 0..100_000 {
            self.drain();
            if done(self) {
                return;
            }
            self.step();
        }
        panic!("not reached by {}", self.now);
    }

    fn register(&mut self, to: ControllerId, broker: u32) {
        let message = Message::BrokerRegistration(BrokerRegistrationRequest {
            broker_id: BrokerId(broker),
            incarnation_id: u64::from(broker),
            previous_broker_epoch: None,
        });
        let from = NodeId::Broker(BrokerId(broker));
        self.deliver(to, Input::Message { from, message });
    }

    fn registration_error(&self, broker: u32) -> Option<ErrorCode> {
        self.to_brokers.iter().rev().find_map(|(to, m)| match m {
            Message::BrokerRegistrationResponse(BrokerRegistrationResponse { error, .. })
                if *to == NodeId::Broker(BrokerId(broker)) =>
            {
                Some(*error)
            }
            _ => None,
        })
    }
}

fn knows(cluster: &Cluster, id: ControllerId, broker: u32) -> bool {
    cluster.running[&id]
        .metadata()
        .brokers
        .contains_key(&BrokerId(broker))
}

#[test]
fn a_standby_answers_not_controller_and_the_active_one_commits_on_every_voter() {
    let mut c = Cluster::new();
    c.run_until(|c| c.active().is_some());
    let active = c.active().expect("elected");
    let standby = *VOTERS.iter().find(|v| **v != active).expect("a standby");
    c.register(standby, 1);
    c.drain();
    assert_eq!(c.registration_error(1), Some(ErrorCode::NOT_CONTROLLER));
    c.register(active, 1);
    c.run_until(|c| c.registration_error(1) == Some(ErrorCode::NONE));
    c.run_until(|c| VOTERS.iter().all(|v| knows(c, *v, 1)));
}

#[test]
fn a_new_active_controller_keeps_every_committed_registration() {
    let mut c = Cluster::new();
    c.run_until(|c| c.active().is_some());
    let old = c.active().expect("elected");
    c.register(old, 1);
    c.run_until(|c| c.registration_error(1) == Some(ErrorCode::NONE));
    c.running.remove(&old);
    c.run_until(|c| c.active().is_some());
    let new = c.active().expect("a new active controller");
    assert_ne!(new, old);
    assert!(knows(&c, new, 1), "the answered registration was committed");
    c.register(new, 2);
    c.run_until(|c| c.registration_error(2) == Some(ErrorCode::NONE));
    c.start(old);
    c.run_until(|c| knows(c, old, 1) && knows(c, old, 2));
    assert!(!c.running[&old].is_active());
    let epochs: Vec<LeaderEpoch> = c.actives.iter().map(|(e, _)| *e).collect();
    let distinct: BTreeSet<LeaderEpoch> = epochs.iter().copied().collect();
    assert_eq!(
        epochs.len(),
        distinct.len(),
        "one active controller per epoch"
    );
}

// ---- A clean shutdown (`KafkaRaftClient.shutdown`, `GracefulShutdown`) ----

fn sent_end_quorum_epoch(c: &Cluster, from: ControllerId) -> usize {
    c.wire
        .iter()
        .filter(|(f, _, m)| {
            *f == NodeId::Controller(from)
                && matches!(m, Message::Quorum(q)
                    if matches!(**q, crate::raft::RaftMessage::EndQuorumEpoch { .. }))
        })
        .count()
}

/// The leader resigns with `EndQuorumEpoch` to both voters and stops only once another voter
/// leads, which comes sooner than a crash's failover (a follower's fetch timeout, 2 s, before
/// it even campaigns).
#[test]
fn a_leader_shutting_down_resigns_and_stops_once_another_voter_leads() {
    let mut c = Cluster::new();
    c.run_until(|c| c.active().is_some());
    let old = c.active().expect("elected");
    let asked = c.now;
    c.deliver(old, Input::Shutdown);
    // Sent once the resigned election state is on its disk.
    c.run_until(|c| sent_end_quorum_epoch(c, old) == 2);
    assert!(!c.stopped.contains_key(&old), "it waits for a successor");
    assert!(!c.running[&old].is_active(), "resigned: no longer acting");
    c.run_until(|c| c.stopped.contains_key(&old));
    let new = c
        .active()
        .expect("a successor leads when the old one stops");
    assert_ne!(new, old);
    let took = c.stopped[&old].ms_since(asked);
    let fetch_timeout = QuorumConfig::default().fetch_timeout_ms;
    assert!(took < fetch_timeout, "handed over in {took} ms");
}

#[test]
fn a_standby_shutting_down_stops_at_once() {
    let mut c = Cluster::new();
    c.run_until(|c| c.active().is_some());
    let active = c.active().expect("elected");
    let standby = *VOTERS.iter().find(|v| **v != active).expect("a standby");
    c.deliver(standby, Input::Shutdown);
    c.drain();
    assert_eq!(c.stopped.get(&standby), Some(&c.now));
    assert_eq!(sent_end_quorum_epoch(&c, standby), 0);
}

/// With nobody to take over, the shutdown gives up after `client.shutdown(5000)`'s timeout.
#[test]
fn a_leader_nobody_can_succeed_stops_at_the_shutdown_timeout() {
    let mut c = Cluster::new();
    c.run_until(|c| c.active().is_some());
    let old = c.active().expect("elected");
    c.running.retain(|id, _| *id == old);
    c.wire.clear();
    let asked = c.now;
    c.deliver(old, Input::Shutdown);
    c.run_until(|c| c.stopped.contains_key(&old));
    assert_eq!(c.stopped[&old].ms_since(asked), 5_000);
}
