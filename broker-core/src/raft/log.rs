//! The quorum's replicated log (`__cluster_metadata`'s `ReplicatedLog`): entries in epochs, an
//! epoch cache, and the end the disk has written. The epoch-cache rules (`endOffsetFor`) are the
//! data plane's, from `crate::log`.

use crate::log::end_offset_for;
use crate::protocol::EpochEndOffset;
use crate::types::{LeaderEpoch, NodeId, Offset};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// What an entry holds: a leader's control record or the state machine's payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RaftRecord<T> {
    /// `LeaderChangeMessage`: the first entry of every epoch, written by its new leader so that
    /// the high watermark can pass the epoch's start (`KafkaRaftClient.onBecomeLeader`).
    LeaderChange {
        /// The new leader.
        leader: NodeId,
    },
    /// A record of the state machine (for the controller, a `MetadataRecord`).
    Data(T),
}

/// One log entry: the epoch of the leader that appended it, and its record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaftEntry<T> {
    /// The leader epoch it was appended in.
    pub epoch: LeaderEpoch,
    /// Its record.
    pub record: RaftRecord<T>,
}

/// A disk write of the log, named so its completion can be matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct WriteId(pub u64);

/// The log: entry `i` is at offset `i` (no snapshots yet, KIP-630 is not modelled).
#[derive(Clone, Debug)]
pub struct RaftLog<T> {
    entries: Vec<RaftEntry<T>>,
    epochs: Vec<(LeaderEpoch, Offset)>,
    written_end: Offset,
    /// Writes in flight and the end each makes durable (clamped by truncations).
    pending: VecDeque<(WriteId, Offset)>,
    next_write: u64,
}

impl<T: Clone> RaftLog<T> {
    /// A log recovered from disk: every entry is written.
    pub fn recovered(entries: Vec<RaftEntry<T>>) -> RaftLog<T> {
        let mut log = RaftLog {
            entries: Vec::new(),
            epochs: Vec::new(),
            written_end: Offset(0),
            pending: VecDeque::new(),
            next_write: 0,
        };
        for entry in entries {
            log.push(entry);
        }
        log.written_end = log.end();
        log
    }

    /// The offset after the last entry (the log end offset).
    pub fn end(&self) -> Offset {
        Offset(self.entries.len() as u64)
    }

    /// The offset after the last entry whose disk write completed.
    pub fn written_end(&self) -> Offset {
        self.written_end
    }

    /// The epoch of the last entry (0 for an empty log, as Kafka's `lastFetchedEpoch`).
    pub fn last_epoch(&self) -> LeaderEpoch {
        self.epochs.last().map_or(LeaderEpoch(0), |(e, _)| *e)
    }

    /// The entry at `offset`.
    pub fn entry(&self, offset: Offset) -> Option<&RaftEntry<T>> {
        self.entries.get(offset.0 as usize)
    }

    /// The epoch cache: `(epoch, start offset)`, increasing.
    pub fn epochs(&self) -> &[(LeaderEpoch, Offset)] {
        &self.epochs
    }

    /// `endOffsetFor` over this log's epoch cache (the data plane's rule).
    pub fn end_offset_for(&self, epoch: LeaderEpoch) -> Option<EpochEndOffset> {
        end_offset_for(&self.epochs, self.end(), epoch)
    }

    /// Whether a candidate whose log ends at `(last_epoch, end)` is at least as up to date as
    /// this one: compare the last epochs, then the ends (`QuorumState.canGrantVote` via
    /// `OffsetAndEpoch.compareTo`, Raft §5.4.1).
    pub fn is_behind_or_equal(&self, last_epoch: LeaderEpoch, end: Offset) -> bool {
        (last_epoch, end) >= (self.last_epoch(), self.end())
    }

    fn push(&mut self, entry: RaftEntry<T>) {
        let offset = self.end();
        if self.epochs.last().is_none_or(|(e, _)| *e < entry.epoch) {
            self.epochs.push((entry.epoch, offset));
        }
        assert!(
            entry.epoch >= self.last_epoch(),
            "epochs never decrease in a log"
        );
        self.entries.push(entry);
    }

    /// Append entries at the end; the returned write completes with `complete_write`.
    pub fn append(&mut self, entries: Vec<RaftEntry<T>>) -> WriteId {
        for entry in entries {
            self.push(entry);
        }
        let id = WriteId(self.next_write);
        self.next_write += 1;
        self.pending.push_back((id, self.end()));
        id
    }

    /// The disk finished write `id` (writes complete in the order issued).
    pub fn complete_write(&mut self, id: WriteId) {
        let Some((front, end)) = self.pending.pop_front() else {
            panic!("a write completed that was never issued");
        };
        assert_eq!(front, id, "log writes complete in order");
        self.written_end = self.written_end.max(end).min(self.end());
    }

    /// Remove every entry at `offset` or later, and their epochs.
    pub fn truncate_to(&mut self, offset: Offset) {
        self.entries.truncate(offset.0 as usize);
        self.epochs.retain(|(_, start)| *start < offset);
        self.written_end = self.written_end.min(offset);
        for (_, end) in &mut self.pending {
            *end = (*end).min(offset);
        }
    }

    /// Written entries from `from` on, at most `max`.
    pub fn read(&self, from: Offset, max: usize) -> Vec<RaftEntry<T>> {
        let end = self.written_end.0 as usize;
        let start = (from.0 as usize).min(end);
        self.entries[start..end].iter().take(max).cloned().collect()
    }
}
