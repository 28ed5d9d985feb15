//! The replicated metadata log: `MetadataLog` over KRaft's Raft (`crate::raft`), as Kafka's
//! `QuorumController` sits on `KafkaRaftClient` through `RaftClient.Listener.handleCommit`.
//!
//! The controller sees only metadata records, at dense offsets 0, 1, 2...: the Raft log's
//! `LeaderChange` control records are skipped (Kafka's controller skips control batches too,
//! but keeps the Raft offsets; the lab numbers the metadata records densely so the image's
//! offset and `MetadataLog::append`'s answer stay the same for both implementations). Every
//! voter derives the same numbering from the same committed Raft prefix.
//!
//! The driver work is done here: Raft messages travel as `Message::Quorum`, log entries go to
//! `FileName::MetadataLog` as `DiskEntry::Quorum` (each append followed by an fsync, whose
//! completion is the Raft write's), and the election state to the `quorum-state` checkpoint.
//! Kafka's `FileQuorumStateStore` writes `quorum-state` synchronously: here every Raft output
//! after a `PersistElection` is held until that checkpoint's write completed, so no vote or
//! fetch leaves before the vote that allows it is durable.

use super::metadata_log::MetadataLog;
use crate::io::{Checkpoint, DiskEntry, DiskImage, DiskOp, Event, FileName};
use crate::metadata::MetadataRecord;
use crate::outbox::Outbox;
use crate::protocol::Message;
use crate::raft::{
    QuorumConfig, RaftEntry, RaftMessage, RaftNode, RaftOutput, RaftRecord, Role, WriteId,
};
use crate::types::{DiskOpId, LeaderEpoch, NodeId, Offset, Time};
use std::collections::VecDeque;
use std::ops::Range;

type Output = RaftOutput<MetadataRecord>;

/// A controller's (or an observer's) replica of `__cluster_metadata` over Raft.
#[derive(Clone, Debug)]
pub(crate) struct RaftMetadataLog {
    node: RaftNode<MetadataRecord>,
    now: Time,
    /// The metadata records of the Raft log, in order: metadata offset `i` is `records[i]`.
    records: Vec<MetadataRecord>,
    /// The Raft offset of each metadata record.
    raft_offsets: Vec<Offset>,
    /// Metadata records below the Raft high watermark.
    committed_end: u64,
    /// Raft outputs not yet carried out (held behind a `quorum-state` write).
    held: VecDeque<Output>,
    /// The `quorum-state` write that must complete before anything else goes.
    persisting: Option<DiskOpId>,
    /// Log writes in flight: the fsync that completes each Raft write.
    writes: VecDeque<(DiskOpId, WriteId)>,
    /// Role changes not yet told: told at once (they are the node's state now, which the
    /// controller acts on), not held behind the `quorum-state` write.
    transitions: Vec<(Role, LeaderEpoch)>,
}

impl RaftMetadataLog {
    /// The log a node finds on its disk: the `quorum-state` checkpoint and the contiguous
    /// prefix of Raft entries from offset 0. Nothing recovered counts as committed until the
    /// node learns the high watermark (Kafka does not persist the metadata log's high watermark).
    pub(crate) fn recovered(
        id: NodeId,
        voters: Vec<NodeId>,
        config: QuorumConfig,
        now: Time,
        seed: u64,
        disk: &DiskImage,
    ) -> RaftMetadataLog {
        let election = match disk.checkpoints.get(&FileName::QuorumState) {
            Some(Checkpoint::QuorumState(state)) => Some(*state),
            _ => None,
        };
        let mut entries = Vec::new();
        for entry in disk.files.get(&FileName::MetadataLog).into_iter().flatten() {
            let DiskEntry::Quorum(offset, entry) = entry else {
                continue;
            };
            if *offset != entries.len() as u64 {
                break; // a torn tail ends the log
            }
            entries.push((**entry).clone());
        }
        let mut log = RaftMetadataLog {
            node: RaftNode::new(id, voters, config, now, seed, election, entries.clone()),
            now,
            records: Vec::new(),
            raft_offsets: Vec::new(),
            committed_end: 0,
            held: VecDeque::new(),
            persisting: None,
            writes: VecDeque::new(),
            transitions: Vec::new(),
        };
        log.mirror_append(Offset(0), &entries);
        log
    }

    /// Whether this node is the Raft leader: the active controller, the only one that appends.
    pub(crate) fn is_leader(&self) -> bool {
        self.node.role() == Role::Leader
    }

    /// The leader this node knows, if any.
    pub(crate) fn leader(&self) -> Option<NodeId> {
        self.node.leader()
    }

    /// The Raft node under it (read-only: its status and log, for the UI and the checker).
    pub(crate) fn node(&self) -> &RaftNode<MetadataRecord> {
        &self.node
    }

    /// Its Raft role and epoch.
    pub(crate) fn role(&self) -> (Role, LeaderEpoch) {
        (self.node.role(), self.node.epoch())
    }

    /// The election state it last decided (durable once its write completed).
    #[cfg(test)]
    pub(crate) fn election_state(&self) -> crate::raft::ElectionState {
        self.node.election_state()
    }

    /// Move the clock: every later call acts at `now`.
    pub(crate) fn advance(&mut self, now: Time) {
        self.now = self.now.max(now);
    }

    /// A quorum message arrived; returns the metadata offsets it committed.
    pub(crate) fn handle_message(
        &mut self,
        now: Time,
        from: NodeId,
        message: RaftMessage<MetadataRecord>,
        out: &mut Outbox,
    ) -> Option<Range<u64>> {
        self.advance(now);
        self.node.handle_message(self.now, from, message);
        self.drive(out)
    }

    /// Raft's timers; returns the metadata offsets committed meanwhile.
    pub(crate) fn handle_timeout(&mut self, now: Time, out: &mut Outbox) -> Option<Range<u64>> {
        self.advance(now);
        self.node.handle_timeout(self.now);
        self.drive(out)
    }

    /// Resign gracefully if leading (a clean shutdown); returns the metadata offsets committed.
    pub(crate) fn resign(&mut self, now: Time, out: &mut Outbox) -> Option<Range<u64>> {
        self.advance(now);
        self.node.resign(self.now);
        self.drive(out)
    }

    /// When Raft next has timer work.
    pub(crate) fn poll_timeout(&self) -> Option<Time> {
        self.node.poll_timeout()
    }

    /// Take the node's outputs, carry out what is not held, and report what committed.
    fn drive(&mut self, out: &mut Outbox) -> Option<Range<u64>> {
        self.take_outputs();
        self.release(out);
        self.refresh_committed()
    }

    /// Queue the node's outputs; the log's own view follows its appends and truncations at
    /// once (they are the node's in-memory log), the disk when they are carried out.
    fn take_outputs(&mut self) {
        while let Some(output) = self.node.poll_output() {
            match &output {
                RaftOutput::Append { from, entries, .. } => self.mirror_append(*from, entries),
                RaftOutput::Truncate { to } => self.mirror_truncate(*to),
                RaftOutput::Transition { role, epoch } => {
                    self.transitions.push((*role, *epoch));
                    continue;
                }
                _ => {}
            }
            self.held.push_back(output);
        }
    }

    /// Carry out held outputs in order, stopping behind a `quorum-state` write in flight.
    fn release(&mut self, out: &mut Outbox) {
        if let NodeId::Controller(controller) = self.node.id() {
            for (role, epoch) in self.transitions.drain(..) {
                out.event(Event::RaftRoleChanged {
                    controller,
                    role,
                    epoch,
                });
            }
        }
        while self.persisting.is_none() {
            let Some(output) = self.held.pop_front() else {
                return;
            };
            self.carry_out(output, out);
        }
    }

    fn carry_out(&mut self, output: Output, out: &mut Outbox) {
        match output {
            RaftOutput::PersistElection(state) => {
                let id = out.disk(|id| DiskOp::WriteCheckpoint {
                    id,
                    file: FileName::QuorumState,
                    checkpoint: Checkpoint::QuorumState(state),
                });
                self.persisting = Some(id);
            }
            RaftOutput::Append { id, from, entries } => {
                let entries = entries
                    .into_iter()
                    .zip(from.0..)
                    .map(|(entry, offset)| DiskEntry::Quorum(offset, Box::new(entry)))
                    .collect();
                out.disk(|op| DiskOp::Append {
                    id: op,
                    file: FileName::MetadataLog,
                    entries,
                });
                let fsync = out.disk(|op| DiskOp::Fsync { id: op });
                self.writes.push_back((fsync, id));
            }
            RaftOutput::Truncate { to } => {
                out.disk(|id| DiskOp::Truncate {
                    id,
                    file: FileName::MetadataLog,
                    offset: to,
                });
            }
            RaftOutput::Send { to, message } => out.send(to, Message::Quorum(Box::new(message))),
            RaftOutput::Transition { .. } => unreachable!("told by `release`, never held"),
        }
    }

    fn mirror_append(&mut self, from: Offset, entries: &[RaftEntry<MetadataRecord>]) {
        self.mirror_truncate(from);
        for (entry, offset) in entries.iter().zip(from.0..) {
            if let RaftRecord::Data(record) = &entry.record {
                self.records.push(record.clone());
                self.raft_offsets.push(Offset(offset));
            }
        }
    }

    fn mirror_truncate(&mut self, to: Offset) {
        let keep = self.raft_offsets.partition_point(|o| *o < to);
        assert!(
            keep as u64 >= self.committed_end,
            "Raft never truncates a committed entry"
        );
        self.records.truncate(keep);
        self.raft_offsets.truncate(keep);
    }

    /// Metadata records below the high watermark are committed; returns the new ones.
    fn refresh_committed(&mut self) -> Option<Range<u64>> {
        let hw = self.node.high_watermark();
        let end = self.raft_offsets.partition_point(|o| *o < hw) as u64;
        let from = self.committed_end;
        if end <= from {
            return None;
        }
        self.committed_end = end;
        Some(from..end)
    }
}

impl MetadataLog for RaftMetadataLog {
    /// Propose a record as the leader. The controller appends only while `is_leader`
    /// (`QuorumController` appends only as the active controller; others answer NOT_CONTROLLER).
    fn append(&mut self, record: MetadataRecord) -> u64 {
        self.node
            .propose(self.now, record)
            .expect("only the Raft leader appends metadata records");
        // Mirrored now, written at the next flush.
        self.take_outputs();
        self.records.len() as u64 - 1
    }

    fn end_offset(&self) -> u64 {
        self.records.len() as u64
    }

    fn committed_end(&self) -> u64 {
        self.committed_end
    }

    fn record(&self, offset: u64) -> &MetadataRecord {
        &self.records[offset as usize]
    }

    fn flush(&mut self, out: &mut Outbox) {
        self.take_outputs();
        self.release(out);
    }

    fn on_disk_completed(&mut self, id: DiskOpId, ok: bool) -> Option<Range<u64>> {
        assert!(ok, "the metadata log's write failed");
        if self.persisting == Some(id) {
            self.persisting = None;
        } else if self.writes.front().is_some_and(|(fsync, _)| *fsync == id) {
            let (_, write) = self.writes.pop_front().expect("checked");
            self.node.on_write_completed(self.now, write);
        }
        // What the completion makes the node send goes at the next flush.
        self.take_outputs();
        self.refresh_committed()
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::io::Output;
    use crate::types::{BrokerEpoch, BrokerId, ControllerId};
    use std::collections::BTreeMap;

    fn c(id: u32) -> NodeId {
        NodeId::Controller(ControllerId(id))
    }

    fn record(b: u32) -> MetadataRecord {
        MetadataRecord::UnfenceBroker {
            broker_id: BrokerId(b),
            broker_epoch: BrokerEpoch(0),
        }
    }

    /// Apply a disk operation at once (the tests here need no torn writes).
    pub(in crate::controller) fn apply(disk: &mut DiskImage, op: &DiskOp) {
        match op {
            DiskOp::Append { file, entries, .. } => {
                disk.files
                    .entry(file.clone())
                    .or_default()
                    .extend(entries.clone());
            }
            DiskOp::Truncate { file, offset, .. } => {
                let entries = disk.files.entry(file.clone()).or_default();
                entries.retain(|e| e.last_offset() < *offset);
            }
            DiskOp::WriteCheckpoint {
                file, checkpoint, ..
            } => {
                disk.checkpoints.insert(file.clone(), checkpoint.clone());
            }
            DiskOp::ReplaceSegment { file, entries, .. } => {
                disk.files.insert(file.clone(), entries.clone());
            }
            DiskOp::Delete { .. } | DiskOp::Fsync { .. } => {}
        }
    }

    struct Voter {
        log: RaftMetadataLog,
        out: Outbox,
        completions: VecDeque<DiskOpId>,
    }

    /// Voters over a lossless network and instant disks, one event at a time.
    struct Quorum {
        now: Time,
        config: QuorumConfig,
        ids: Vec<NodeId>,
        running: BTreeMap<NodeId, Voter>,
        disks: BTreeMap<NodeId, DiskImage>,
        wire: VecDeque<(NodeId, NodeId, RaftMessage<MetadataRecord>)>,
        seed: u64,
    }

    impl Quorum {
        fn new(voters: u32, config: QuorumConfig, seed: u64) -> Quorum {
            let ids: Vec<NodeId> = (1..=voters).map(c).collect();
            let mut quorum = Quorum {
                now: Time(0),
                config,
                ids: ids.clone(),
                running: BTreeMap::new(),
                disks: BTreeMap::new(),
                wire: VecDeque::new(),
                seed,
            };
            for id in ids {
                quorum.start(id);
            }
            quorum
        }

        fn start(&mut self, id: NodeId) {
            self.seed = self.seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            let disk = self.disks.entry(id).or_default();
            let log = RaftMetadataLog::recovered(
                id,
                self.ids.clone(),
                self.config.clone(),
                self.now,
                self.seed >> 11,
                disk,
            );
            let voter = Voter {
                log,
                out: Outbox::default(),
                completions: VecDeque::new(),
            };
            self.running.insert(id, voter);
        }

        fn crash(&mut self, id: NodeId) {
            self.running.remove(&id);
        }

        fn voter(&mut self, id: NodeId) -> &mut RaftMetadataLog {
            &mut self.running.get_mut(&id).expect("running").log
        }

        fn leader(&self) -> Option<NodeId> {
            self.running
                .iter()
                .find(|(_, v)| v.log.is_leader())
                .map(|(id, _)| *id)
        }

        /// Carry out every queued output: disk writes at once, messages onto the wire.
        fn drain(&mut self) {
            for (id, voter) in &mut self.running {
                while let Some(output) = voter.out.pop() {
                    match output {
                        Output::Disk(op) => {
                            apply(self.disks.get_mut(id).expect("disk"), &op);
                            voter.completions.push_back(op.id());
                        }
                        Output::Send {
                            to,
                            message: Message::Quorum(m),
                        } => self.wire.push_back((*id, to, *m)),
                        // Role changes are told, for the trace.
                        Output::Event(Event::RaftRoleChanged { .. }) => {}
                        other => panic!("unexpected output {other:?}"),
                    }
                }
            }
        }

        /// One event: a disk completion, else a message, else the next timer.
        fn step(&mut self) {
            self.drain();
            let pending = self
                .running
                .iter_mut()
                .find(|(_, v)| !v.completions.is_empty());
            if let Some((_, voter)) = pending {
                let id = voter.completions.pop_front().expect("found");
                voter.log.on_disk_completed(id, true);
                voter.log.flush(&mut voter.out);
                return;
            }
            if let Some((from, to, message)) = self.wire.pop_front() {
                if let Some(voter) = self.running.get_mut(&to) {
                    voter
                        .log
                        .handle_message(self.now, from, message, &mut voter.out);
                }
                return;
            }
            let next = self
                .running
                .values()
                .filter_map(|v| v.log.poll_timeout())
                .min();
            self.now = next.expect("a timer").max(self.now);
            for voter in self.running.values_mut() {
                if voter.log.poll_timeout().is_some_and(|t| t <= self.now) {
                    voter.log.handle_timeout(self.now, &mut voter.out);
                }
            }
        }

        fn run_until(&mut self, mut done: impl FnMut(&Quorum) -> bool) {
            for _ in 0..100_000 {
                if done(self) {
                    return;
                }
                self.step();
            }
            panic!("not reached within the step budget (at {})", self.now);
        }

        fn propose(&mut self, leader: NodeId, records: &[MetadataRecord]) {
            let voter = self.running.get_mut(&leader).expect("running");
            for r in records {
                voter.log.append(r.clone());
            }
            voter.log.flush(&mut voter.out);
        }

        fn committed(&self, id: NodeId) -> Vec<MetadataRecord> {
            let log = &self.running[&id].log;
            (0..log.committed_end())
                .map(|o| log.record(o).clone())
                .collect()
        }
    }

    #[test]
    fn three_voters_commit_metadata_at_dense_offsets_on_every_voter() {
        let mut q = Quorum::new(3, QuorumConfig::default(), 7);
        q.run_until(|q| q.leader().is_some());
        let leader = q.leader().expect("elected");
        let records = [record(1), record(2), record(3)];
        q.propose(leader, &records);
        assert_eq!(
            q.running[&leader].log.committed_end(),
            0,
            "not yet replicated"
        );
        q.run_until(|q| {
            q.ids
                .iter()
                .all(|id| q.running[id].log.committed_end() == 3)
        });
        for id in q.ids.clone() {
            assert_eq!(q.committed(id), records, "{id:?}");
            // The Raft log also holds the leader's LeaderChange record, which the metadata
            // offsets skip.
            assert!(q.running[&id].log.node.log().end() > Offset(3));
        }
    }

    #[test]
    fn a_vote_request_leaves_only_once_quorum_state_is_durable() {
        let config = QuorumConfig {
            pre_vote: false,
            ..QuorumConfig::default()
        };
        let mut log = RaftMetadataLog::recovered(
            c(1),
            vec![c(1), c(2), c(3)],
            config,
            Time(0),
            3,
            &DiskImage::default(),
        );
        let mut out = Outbox::default();
        let due = log.poll_timeout().expect("an election timer");
        log.handle_timeout(due, &mut out);
        assert_eq!(log.role().0, Role::Candidate);
        let mut persist = None;
        while let Some(output) = out.pop() {
            match output {
                Output::Disk(op @ DiskOp::WriteCheckpoint { .. }) => persist = Some(op.id()),
                Output::Send { .. } => panic!("a vote request before quorum-state is written"),
                _ => {}
            }
        }
        let persist = persist.expect("quorum-state written");
        log.on_disk_completed(persist, true);
        log.flush(&mut out);
        let mut asked = Vec::new();
        while let Some(output) = out.pop() {
            if let Output::Send { to, message } = output {
                assert_eq!(message.api_name(), "Vote");
                asked.push(to);
            }
        }
        assert_eq!(asked, vec![c(2), c(3)]);
    }

    #[test]
    fn a_crashed_leader_loses_no_committed_record_and_catches_up_on_restart() {
        let config = QuorumConfig::default();
        let mut q = Quorum::new(3, config.clone(), 11);
        q.run_until(|q| q.leader().is_some());
        let old = q.leader().expect("elected");
        let old_epoch = q.voter(old).role().1;
        q.propose(old, &[record(1), record(2)]);
        q.run_until(|q| q.running[&old].log.committed_end() == 2);
        q.crash(old);
        let crashed_at = q.now;
        q.run_until(|q| q.leader().is_some());
        let new = q.leader().expect("a new leader");
        assert_ne!(new, old);
        // A follower notices after the fetch timeout, then campaigns within 2 election timeouts
        // (pre-vote adds one round trip).
        let bound = config.fetch_timeout_ms + 2 * config.election_timeout_ms + 100;
        assert!(q.now.ms_since(crashed_at) <= bound, "elected at {}", q.now);
        q.propose(new, &[record(3)]);
        q.run_until(|q| q.running[&new].log.committed_end() == 3);
        assert_eq!(q.committed(new), vec![record(1), record(2), record(3)]);
        q.start(old);
        let restarted = q.voter(old);
        assert_eq!(
            restarted.election_state().epoch,
            old_epoch,
            "quorum-state kept"
        );
        assert_eq!(
            restarted.committed_end(),
            0,
            "committed once the leader says so"
        );
        q.run_until(|q| q.running[&old].log.committed_end() == 3);
        assert_eq!(q.committed(old), vec![record(1), record(2), record(3)]);
    }

    #[test]
    fn a_lone_voter_commits_a_record_when_its_own_fsync_completes() {
        let mut q = Quorum::new(1, QuorumConfig::default(), 5);
        q.run_until(|q| q.leader().is_some());
        q.propose(c(1), &[record(9)]);
        assert_eq!(q.running[&c(1)].log.committed_end(), 0);
        q.run_until(|q| q.running[&c(1)].log.committed_end() == 1);
        assert_eq!(q.committed(c(1)), vec![record(9)]);
    }
}
