//! The broker's replica of `__cluster_metadata`: a Raft observer (KIP-595). Kafka's broker runs
//! a `KafkaRaftClient` that is never a voter: it sends `Fetch` with its own replica id to the
//! leader it knows (or, knowing none, to a voter in turn), never votes and never counts toward
//! the high watermark (`LeaderState` tracks only voters for it), and its `MetadataLoader` is
//! handed only committed batches (`RaftClient.Listener.handleCommit`, up to the high
//! watermark). The leader answers an observer as it answers a follower: `tryCompleteFetchRequest`
//! reads with `Isolation.UNCOMMITTED`, so an observer may hold an uncommitted tail, which a
//! diverging epoch in a later answer truncates, exactly as a follower's; the image never sees it.
//!
//! The lab keeps this log in memory: a write is done at once, and a restarted broker fetches
//! the log again from offset 0 (Kafka keeps it on the broker's disk and recovers from there).
//! Records are numbered densely, skipping Raft's `LeaderChange` entries, as the controllers
//! number them (`controller/raft_metadata_log.rs`), so a broker epoch (the offset of its
//! registration record) means the same to both.

use crate::metadata::MetadataRecord;
use crate::outbox::Outbox;
use crate::protocol::Message;
use crate::raft::{QuorumConfig, RaftMessage, RaftNode, RaftOutput, RaftRecord, RaftStatus};
use crate::types::{NodeId, Offset, Time};

/// Committed metadata records, each with its (dense) metadata offset, in order.
pub(super) type Committed = Vec<(u64, MetadataRecord)>;

/// A broker's Raft observer of the metadata log.
#[derive(Clone, Debug)]
pub struct MetadataObserver {
    node: RaftNode<MetadataRecord>,
    /// The Raft offset up to which committed entries were handed on.
    handed_raft: Offset,
    /// The metadata offset of the next record handed on.
    handed: u64,
}

impl MetadataObserver {
    /// An observer of the quorum `voters`, with an empty log; it sends its first fetch at once.
    pub(super) fn new(
        id: NodeId,
        voters: Vec<NodeId>,
        config: QuorumConfig,
        now: Time,
        out: &mut Outbox,
    ) -> (MetadataObserver, Committed) {
        // An observer never campaigns; the seed only draws its first fetch timeout.
        let seed = match id {
            NodeId::Broker(b) => u64::from(b.0),
            _ => 0,
        };
        let node = RaftNode::new(id, voters, config, now, seed, None, Vec::new());
        let mut observer = MetadataObserver {
            node,
            handed_raft: Offset(0),
            handed: 0,
        };
        let committed = observer.drive(now, out);
        (observer, committed)
    }

    /// A `Fetch` answer (or any quorum message) from a controller.
    pub(super) fn handle_message(
        &mut self,
        now: Time,
        from: NodeId,
        message: RaftMessage<MetadataRecord>,
        out: &mut Outbox,
    ) -> Committed {
        self.node.handle_message(now, from, message);
        self.drive(now, out)
    }

    /// Fetch timeouts, resends and backoffs.
    pub(super) fn handle_timeout(&mut self, now: Time, out: &mut Outbox) -> Committed {
        if self.node.poll_timeout().is_some_and(|t| t <= now) {
            self.node.handle_timeout(now);
        }
        self.drive(now, out)
    }

    /// The connection to `peer` was lost.
    pub(super) fn on_disconnected(&mut self, now: Time, peer: NodeId, out: &mut Outbox) {
        self.node.on_disconnected(now, peer);
        let committed = self.drive(now, out);
        debug_assert!(committed.is_empty(), "a lost connection commits nothing");
    }

    /// When its fetch next times out or its backoff ends.
    pub(super) fn poll_timeout(&self) -> Option<Time> {
        self.node.poll_timeout()
    }

    /// The active controller it knows: the leader of the newest epoch it has seen.
    pub fn leader(&self) -> Option<NodeId> {
        self.node.leader()
    }

    /// Its quorum status (role `Observer`, epoch, leader, log end, the high watermark it knows).
    pub fn status(&self) -> RaftStatus {
        self.node.status()
    }

    /// Carry out the node's outputs (writes complete at once: the log is in memory) and hand
    /// on what is newly committed.
    fn drive(&mut self, now: Time, out: &mut Outbox) -> Committed {
        while let Some(output) = self.node.poll_output() {
            match output {
                RaftOutput::Append { id, .. } => self.node.on_write_completed(now, id),
                RaftOutput::Send { to, message } => {
                    out.send(to, Message::Quorum(Box::new(message)))
                }
                // An observer persists no election state; its truncations are its log's.
                RaftOutput::PersistElection(_)
                | RaftOutput::Truncate { .. }
                | RaftOutput::Transition { .. } => {}
            }
        }
        self.newly_committed()
    }

    fn newly_committed(&mut self) -> Committed {
        let hw = self.node.high_watermark().min(self.node.log().end());
        let mut committed = Vec::new();
        while self.handed_raft < hw {
            let entry = self
                .node
                .log()
                .entry(self.handed_raft)
                .expect("below the log end");
            if let RaftRecord::Data(record) = &entry.record {
                committed.push((self.handed, record.clone()));
                self.handed += 1;
            }
            self.handed_raft = Offset(self.handed_raft.0 + 1);
        }
        committed
    }
}

impl super::Broker {
    /// Start observing the metadata quorum (at start, before registering, as Kafka's broker
    /// starts its Raft client first).
    pub(super) fn start_observing(&mut self) {
        let config = QuorumConfig::for_cluster(&self.config);
        let voters = self.controller.voters().to_vec();
        let id = NodeId::Broker(self.id);
        let (observer, committed) =
            MetadataObserver::new(id, voters, config, self.now, &mut self.out);
        self.observer = Some(observer);
        self.after_observer_step(committed);
    }

    /// A quorum message from a controller: the answer to this broker's metadata fetch.
    pub(super) fn on_metadata_fetch_answer(
        &mut self,
        from: NodeId,
        message: RaftMessage<MetadataRecord>,
    ) {
        let Some(observer) = self.observer.as_mut() else {
            return;
        };
        let committed = observer.handle_message(self.now, from, message, &mut self.out);
        self.after_observer_step(committed);
    }

    /// The observer's timers.
    pub(super) fn observer_timeouts(&mut self) {
        let Some(observer) = self.observer.as_mut() else {
            return;
        };
        let committed = observer.handle_timeout(self.now, &mut self.out);
        self.after_observer_step(committed);
    }

    /// A lost connection: the observer may move on to another voter.
    pub(super) fn observer_disconnected(&mut self, peer: NodeId) {
        if let Some(observer) = self.observer.as_mut() {
            observer.on_disconnected(self.now, peer, &mut self.out);
        }
        self.follow_observed_leader();
    }

    /// Apply what was committed, and send registration, heartbeats and `AlterPartition` to the
    /// leader the observer knows: Kafka's `RaftControllerNodeProvider` names the controller
    /// from `raftManager.leaderAndEpoch`, the observer's view of the quorum.
    fn after_observer_step(&mut self, committed: Committed) {
        self.follow_observed_leader();
        self.apply_metadata(committed);
    }

    fn follow_observed_leader(&mut self) {
        let leader = self.observer.as_ref().and_then(MetadataObserver::leader);
        if let Some(leader) = leader {
            if self.controller.set_active(leader) {
                self.controller_silent_since = None;
            }
        }
    }
}
