//! `leader-change-without-quorum`: no leader change without a majority of the controllers
//! (issue 16's `quorum-lost` promise), checked as the run goes.
//!
//! - **A partition leader.** A broker leads a partition in a leader epoch only because a
//!   metadata record (`PartitionRecord`/`PartitionChangeRecord`, here
//!   `MetadataRecord::Partition`) named it leader in that epoch, and a broker may act on a
//!   record only once it is committed: in KRaft on a majority of the voters (below the Raft
//!   high watermark, KIP-595), alone at the controller's own fsync. The checker keeps the
//!   committed log as the controllers commit it ([`CommitLedger`]: every controller's
//!   committed prefix is the same, Raft's log matching, so the longest seen is the
//!   cluster's) and each `BecameLeader` must find its (partition, epoch, broker) there.
//!   It asks *committed*, not "on a majority of the logs now": a record on a majority but
//!   never below any high watermark can still be replaced (Raft's figure 8), and the voters
//!   whose high watermark covers a record may have crashed since, which an "ask the live
//!   voters now" rule would misread. Kept from the commit as it happens, the rule cannot
//!   fire on a record that was committed, and fires on any one that was not.
//! - **The active controller.** A controller becomes Raft leader of an epoch only on the
//!   votes of a majority, each vote persisted by its voter in that epoch before it was sent
//!   (`QuorumState.transitionToVoted`). So when one becomes leader of epoch E, a majority
//!   of the voters (itself included) must have told the trace of an epoch ≥ E already
//!   (every epoch change is an `Event::RaftRoleChanged`, told before any answer leaves).
//!   Fewer, and it led without a majority. (Two leaders of one epoch is
//!   `two-active-controllers`.)

use broker_core::{BrokerId, ControllerId, LeaderEpoch, MetadataRecord, TopicPartition};
use std::collections::{BTreeMap, BTreeSet};

/// The committed metadata log as the checker saw it committed: where it ends, and every
/// partition leader a committed record named, per leader epoch.
#[derive(Clone, Debug, Default)]
pub(crate) struct CommitLedger {
    /// The end of the longest committed prefix seen (dense metadata offsets).
    end: u64,
    /// (partition, leader epoch) → the leaders committed records named in it (a set: a
    /// topic deleted and created again counts its epochs from scratch).
    leaders: BTreeMap<(TopicPartition, LeaderEpoch), BTreeSet<BrokerId>>,
    /// The newest epoch each voter has told (epochs never go back on a voter: persisted).
    epochs: BTreeMap<ControllerId, LeaderEpoch>,
}

impl CommitLedger {
    /// The next offset the ledger wants (its committed end).
    pub(crate) fn end(&self) -> u64 {
        self.end
    }

    /// The record at [`CommitLedger::end`] is committed.
    pub(crate) fn commit(&mut self, record: &MetadataRecord) {
        self.end += 1;
        if let MetadataRecord::Partition { tp, state } = record {
            if let Some(leader) = state.leader {
                self.leaders
                    .entry((tp.clone(), state.leader_epoch))
                    .or_default()
                    .insert(leader);
            }
        }
    }

    /// `broker` became leader of `tp` in `epoch`: why not, if no committed record says so.
    pub(crate) fn became_leader(
        &self,
        broker: BrokerId,
        tp: &TopicPartition,
        epoch: LeaderEpoch,
    ) -> Option<String> {
        let named = self.leaders.get(&(tp.clone(), epoch));
        if named.is_some_and(|n| n.contains(&broker)) {
            return None;
        }
        let committed = match named {
            Some(leaders) => format!(
                "the committed log names {} for that epoch",
                leaders
                    .iter()
                    .map(|b| format!("broker-{b}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => "no committed record has that epoch".to_owned(),
        };
        Some(format!(
            "broker-{broker} became leader of {tp} in epoch {epoch}, but {committed} (committed metadata ends at offset {}): a leader change no majority of the controllers committed",
            self.end
        ))
    }

    /// `controller` told epoch `epoch`; if it leads it, why it may not have, out of
    /// `voters`.
    pub(crate) fn told(
        &mut self,
        controller: ControllerId,
        leads: bool,
        epoch: LeaderEpoch,
        voters: u32,
    ) -> Option<String> {
        let newest = self.epochs.entry(controller).or_default();
        *newest = (*newest).max(epoch);
        if !leads {
            return None;
        }
        let reached = self.epochs.values().filter(|e| **e >= epoch).count();
        (2 * reached <= voters as usize).then(|| {
            format!(
                "controller-{controller} became the active controller in epoch {epoch}, but only {reached} of {voters} voters had reached that epoch: it led without a majority's votes"
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use broker_core::{PartitionState, Topic};

    fn tp() -> TopicPartition {
        TopicPartition::new(&Topic::new("orders"), 0)
    }

    fn partition(leader: u32, epoch: u32) -> MetadataRecord {
        MetadataRecord::Partition {
            tp: tp(),
            state: PartitionState {
                replicas: vec![BrokerId(1), BrokerId(2), BrokerId(3)],
                isr: vec![BrokerId(leader)],
                leader: Some(BrokerId(leader)),
                leader_epoch: LeaderEpoch(epoch),
                partition_epoch: Default::default(),
                elr: vec![],
                last_known_leader: None,
            },
        }
    }

    #[test]
    fn a_broker_leads_only_in_an_epoch_a_committed_record_gave_it() {
        let mut ledger = CommitLedger::default();
        ledger.commit(&partition(1, 0));
        assert_eq!(ledger.end(), 1);
        assert_eq!(
            ledger.became_leader(BrokerId(1), &tp(), LeaderEpoch(0)),
            None
        );
        // The controller wrote broker-2 for epoch 1, and the broker acted before it committed.
        let why = ledger
            .became_leader(BrokerId(2), &tp(), LeaderEpoch(1))
            .expect("not committed");
        assert!(why.contains("no committed record has that epoch"), "{why}");
        // A committed epoch names someone else: the broker acted on a record that lost.
        ledger.commit(&partition(3, 1));
        let why = ledger
            .became_leader(BrokerId(2), &tp(), LeaderEpoch(1))
            .expect("another leader");
        assert!(why.contains("names broker-3"), "{why}");
        assert_eq!(
            ledger.became_leader(BrokerId(3), &tp(), LeaderEpoch(1)),
            None
        );
    }

    #[test]
    fn a_controller_leads_an_epoch_only_once_a_majority_reached_it() {
        let c = ControllerId;
        let mut ledger = CommitLedger::default();
        for voter in 1..=3 {
            assert_eq!(ledger.told(c(voter), false, LeaderEpoch(1), 3), None);
        }
        assert_eq!(ledger.told(c(1), true, LeaderEpoch(1), 3), None);
        // controller-2 votes for itself in epoch 2 and, alone there, claims to lead.
        ledger.told(c(2), false, LeaderEpoch(2), 3);
        let why = ledger.told(c(2), true, LeaderEpoch(2), 3).expect("alone");
        assert!(why.contains("only 1 of 3 voters"), "{why}");
        // With controller-3's vote in epoch 2 it is a majority.
        ledger.told(c(3), false, LeaderEpoch(2), 3);
        assert_eq!(ledger.told(c(2), true, LeaderEpoch(2), 3), None);
    }
}
