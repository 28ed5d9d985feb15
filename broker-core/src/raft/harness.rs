//! A small deterministic multi-node harness for the quorum (after Kafka's
//! `RaftEventSimulationTest`): an event queue over virtual time, links with a seeded latency
//! that can be cut, disks that keep only completed writes, crashes and restarts. After every
//! event it checks two invariants: one leader per epoch (`SingleLeader`) and committed entries
//! that agree everywhere (`ConsistentCommittedData`).

use super::*;
use std::collections::{BTreeMap, BTreeSet};

/// What a node's disk holds.
#[derive(Clone, Debug, Default)]
pub(super) struct Disk {
    pub(super) election: Option<ElectionState>,
    pub(super) entries: Vec<RaftEntry<u64>>,
    /// When the last disk operation completes: operations complete in order.
    busy_until: Time,
}

#[derive(Clone, Debug)]
enum DiskWrite {
    Append(WriteId, Offset, Vec<RaftEntry<u64>>),
    Truncate(Offset),
}

#[derive(Clone, Debug)]
enum Ev {
    Deliver {
        from: NodeId,
        to: NodeId,
        incarnation: u64,
        message: RaftMessage<u64>,
    },
    Disk {
        node: NodeId,
        incarnation: u64,
        write: DiskWrite,
    },
}

pub(super) struct Slot {
    pub(super) node: Option<RaftNode<u64>>,
    pub(super) disk: Disk,
    incarnation: u64,
}

/// The simulated cluster.
pub(super) struct Cluster {
    pub(super) now: Time,
    pub(super) slots: BTreeMap<NodeId, Slot>,
    voters: Vec<NodeId>,
    config: QuorumConfig,
    queue: BTreeMap<(Time, u64), Ev>,
    seq: u64,
    random: u64,
    /// Directed links that drop everything.
    pub(super) cut: BTreeSet<(NodeId, NodeId)>,
    /// The leader of each epoch that had one.
    pub(super) leaders: BTreeMap<LeaderEpoch, NodeId>,
    /// Entries known committed, by offset.
    pub(super) committed: Vec<RaftEntry<u64>>,
    /// Every transition, for determinism checks.
    pub(super) transitions: Vec<(Time, NodeId, Role, LeaderEpoch)>,
    /// Each running incarnation's last high watermark (`MonotonicHighWatermark`).
    high_watermarks: BTreeMap<(NodeId, u64), Offset>,
}

pub(super) fn c(id: u32) -> NodeId {
    NodeId::Controller(crate::types::ControllerId(id))
}

impl Cluster {
    /// `voters` controllers plus `observers` brokers, all started at time 0.
    pub(super) fn new(voters: u32, observers: u32, config: QuorumConfig, seed: u64) -> Cluster {
        let voter_ids: Vec<NodeId> = (1..=voters).map(c).collect();
        let mut cluster = Cluster {
            now: Time(0),
            slots: BTreeMap::new(),
            voters: voter_ids.clone(),
            config,
            queue: BTreeMap::new(),
            seq: 0,
            random: seed,
            cut: BTreeSet::new(),
            leaders: BTreeMap::new(),
            committed: Vec::new(),
            transitions: Vec::new(),
            high_watermarks: BTreeMap::new(),
        };
        let observers = (1..=observers).map(|b| NodeId::Broker(crate::types::BrokerId(b)));
        for id in voter_ids.into_iter().chain(observers) {
            let slot = Slot {
                node: None,
                disk: Disk::default(),
                incarnation: 0,
            };
            cluster.slots.insert(id, slot);
            cluster.start(id);
        }
        cluster
    }

    fn next_random(&mut self) -> u64 {
        self.random = self
            .random
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.random >> 33
    }

    /// Start (or restart) a node on what its disk holds.
    pub(super) fn start(&mut self, id: NodeId) {
        let seed = self.next_random();
        let slot = self.slots.get_mut(&id).expect("known node");
        slot.incarnation += 1;
        let node = RaftNode::new(
            id,
            self.voters.clone(),
            self.config.clone(),
            self.now,
            seed,
            slot.disk.election,
            slot.disk.entries.clone(),
        );
        slot.node = Some(node);
        self.drain(id);
    }

    /// The process dies: writes in flight are lost.
    pub(super) fn crash(&mut self, id: NodeId) {
        let slot = self.slots.get_mut(&id).expect("known node");
        slot.node = None;
        slot.incarnation += 1;
        slot.disk.busy_until = self.now;
    }

    /// A pseudo-random number below `bound` from the cluster's seed (for fault schedules).
    pub(super) fn random_below(&mut self, bound: u64) -> u64 {
        self.next_random() % bound.max(1)
    }

    pub(super) fn node(&self, id: NodeId) -> Option<&RaftNode<u64>> {
        self.slots[&id].node.as_ref()
    }

    /// Running nodes that are leaders.
    pub(super) fn current_leaders(&self) -> Vec<NodeId> {
        self.slots
            .iter()
            .filter(|(_, s)| s.node.as_ref().is_some_and(|n| n.role() == Role::Leader))
            .map(|(id, _)| *id)
            .collect()
    }

    /// Cut both directions between `a` and every other node.
    pub(super) fn isolate(&mut self, a: NodeId) {
        for b in self.slots.keys().copied().collect::<Vec<_>>() {
            if a != b {
                self.cut.insert((a, b));
                self.cut.insert((b, a));
            }
        }
    }

    /// Propose `value` at the current leader, if any.
    pub(super) fn propose(&mut self, value: u64) -> Option<Offset> {
        let leader = *self.current_leaders().last()?;
        let now = self.now;
        let slot = self.slots.get_mut(&leader).expect("leader");
        let offset = slot.node.as_mut().expect("up").propose(now, value);
        self.drain(leader);
        offset
    }

    fn push(&mut self, at: Time, ev: Ev) {
        self.seq += 1;
        self.queue.insert((at, self.seq), ev);
    }

    /// Carry out a node's outputs.
    fn drain(&mut self, id: NodeId) {
        loop {
            let slot = self.slots.get_mut(&id).expect("known");
            let Some(node) = slot.node.as_mut() else {
                return;
            };
            let Some(output) = node.poll_output() else {
                break;
            };
            let incarnation = slot.incarnation;
            match output {
                RaftOutput::PersistElection(state) => slot.disk.election = Some(state),
                RaftOutput::Append {
                    id: w,
                    from,
                    entries,
                } => self.disk(id, incarnation, DiskWrite::Append(w, from, entries)),
                RaftOutput::Truncate { to } => self.disk(id, incarnation, DiskWrite::Truncate(to)),
                RaftOutput::Send { to, message } => self.send(id, to, message),
                RaftOutput::Transition { role, epoch } => {
                    self.transitions.push((self.now, id, role, epoch));
                    if role == Role::Leader {
                        let previous = self.leaders.insert(epoch, id);
                        assert!(
                            previous.is_none_or(|p| p == id),
                            "two leaders in epoch {epoch}: {previous:?} and {id}"
                        );
                    }
                }
            }
        }
        self.check_committed(id);
    }

    fn disk(&mut self, node: NodeId, incarnation: u64, write: DiskWrite) {
        let latency = 1 + self.next_random() % 3;
        let disk = &mut self.slots.get_mut(&node).expect("known").disk;
        let at = self.now.plus_ms(latency).max(disk.busy_until);
        disk.busy_until = at;
        self.push(
            at,
            Ev::Disk {
                node,
                incarnation,
                write,
            },
        );
    }

    fn send(&mut self, from: NodeId, to: NodeId, message: RaftMessage<u64>) {
        if self.cut.contains(&(from, to)) {
            return;
        }
        let Some(slot) = self.slots.get(&to) else {
            return;
        };
        let incarnation = slot.incarnation;
        let latency = 1 + self.next_random() % 5;
        let at = self.now.plus_ms(latency);
        self.push(
            at,
            Ev::Deliver {
                from,
                to,
                incarnation,
                message,
            },
        );
    }

    /// `ConsistentCommittedData`: below its high watermark, a node's log holds what every
    /// other node had committed at those offsets.
    fn check_committed(&mut self, id: NodeId) {
        let Some(node) = self.slots[&id].node.as_ref() else {
            return;
        };
        let incarnation = self.slots[&id].incarnation;
        let last = self
            .high_watermarks
            .insert((id, incarnation), node.high_watermark());
        assert!(
            last.is_none_or(|l| l <= node.high_watermark()),
            "{id}'s high watermark went back"
        );
        let hw = node.high_watermark().0 as usize;
        for offset in 0..hw.min(node.log().end().0 as usize) {
            let entry = node
                .log()
                .entry(Offset(offset as u64))
                .expect("below end")
                .clone();
            match self.committed.get(offset) {
                Some(known) => assert_eq!(known, &entry, "{id} disagrees at committed {offset}"),
                None => {
                    assert_eq!(offset, self.committed.len(), "committed is a prefix");
                    self.committed.push(entry);
                }
            }
        }
    }

    /// The next timer of a running node.
    fn next_timer(&self) -> Option<(Time, NodeId)> {
        self.slots
            .iter()
            .filter_map(|(id, s)| Some((s.node.as_ref()?.poll_timeout()?, *id)))
            .min()
    }

    /// Run every event up to `until`.
    pub(super) fn run_until(&mut self, until: Time) {
        let mut still = 0u32;
        loop {
            let event = self.queue.keys().next().copied();
            let timer = self.next_timer();
            let next_event = event.map(|(t, _)| t);
            let next = [next_event, timer.map(|(t, _)| t)]
                .into_iter()
                .flatten()
                .min();
            let Some(at) = next.filter(|t| *t <= until) else {
                break;
            };
            let at = at.max(self.now);
            still = if at == self.now { still + 1 } else { 0 };
            assert!(still < 100_000, "livelock: time stands still at {at}");
            self.now = at;
            if next_event == Some(at) {
                let key = event.expect("event");
                let ev = self.queue.remove(&key).expect("queued");
                self.fire(ev);
            } else if let Some((_, id)) = timer {
                let now = self.now;
                if let Some(node) = self.slots.get_mut(&id).and_then(|s| s.node.as_mut()) {
                    node.handle_timeout(now);
                }
                self.drain(id);
            }
        }
        self.now = until;
    }

    fn fire(&mut self, ev: Ev) {
        let now = self.now;
        match ev {
            Ev::Deliver {
                from,
                to,
                incarnation,
                message,
            } => {
                let slot = self.slots.get_mut(&to).expect("known");
                if slot.incarnation != incarnation || self.cut.contains(&(from, to)) {
                    return;
                }
                if let Some(node) = slot.node.as_mut() {
                    node.handle_message(now, from, message);
                }
                self.drain(to);
            }
            Ev::Disk {
                node,
                incarnation,
                write,
            } => {
                let slot = self.slots.get_mut(&node).expect("known");
                if slot.incarnation != incarnation {
                    return; // lost in a crash
                }
                match write {
                    DiskWrite::Truncate(to) => slot.disk.entries.truncate(to.0 as usize),
                    DiskWrite::Append(id, from, entries) => {
                        slot.disk.entries.truncate(from.0 as usize);
                        slot.disk.entries.extend(entries);
                        if let Some(n) = slot.node.as_mut() {
                            n.on_write_completed(now, id);
                        }
                        self.drain(node);
                    }
                }
            }
        }
    }
}
