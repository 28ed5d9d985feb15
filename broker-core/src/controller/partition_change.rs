//! The next state of one partition after a broker leaves, joins, or shut down uncleanly: ISR,
//! eligible leader replicas and leader, as Kafka's `PartitionChangeBuilder` computes them.
//!
//! Pure: the controller supplies who is acceptable as leader and gets back a state to append.

use crate::metadata::PartitionState;
use crate::types::BrokerId;

/// How a new leader was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Election {
    /// A live ISR member (or the leader stayed).
    Clean,
    /// An eligible leader replica while the ISR was empty (KIP-966): it has every committed
    /// record, so this election is clean too.
    FromElr,
    /// The last known leader, with ISR and ELR empty: what Kafka did before 4.0 when every
    /// replica was offline; it may have lost records.
    LastKnownLeader,
    /// `unclean.leader.election.enable`: any live replica.
    Unclean,
}

impl Election {
    /// Whether committed records may be lost by this election.
    pub(crate) fn is_unclean(self) -> bool {
        matches!(self, Election::LastKnownLeader | Election::Unclean)
    }
}

/// What the controller asks for.
pub(crate) struct PartitionChange<'a> {
    /// `eligible.leader.replicas.version=1`.
    pub elr_enabled: bool,
    /// The topic's `min.insync.replicas`.
    pub min_isr: usize,
    /// The topic's `unclean.leader.election.enable`.
    pub unclean_election: bool,
    /// A broker that registered after an unclean shutdown: out of the ISR and the ELR.
    pub unclean_shutdown: Option<BrokerId>,
    /// Live, unfenced, not shutting down, and not the broker being removed.
    pub acceptable: &'a dyn Fn(BrokerId) -> bool,
}

impl PartitionChange<'_> {
    /// The new state with `target_isr` as the wanted ISR, or `None` if nothing changes.
    pub(crate) fn build(
        &self,
        old: &PartitionState,
        mut target_isr: Vec<BrokerId>,
    ) -> Option<(PartitionState, Election)> {
        if !self.elr_enabled && target_isr.is_empty() {
            target_isr = old.isr.clone(); // Without ELR the last ISR member is never removed.
        }
        let mut elr = self.target_elr(old, &target_isr);
        let (leader, election) = self.elect(old, &target_isr, &elr);
        if leader != old.leader {
            match election {
                Election::FromElr => {
                    let l = leader.expect("an ELR election has a leader");
                    target_isr = vec![l];
                    elr.retain(|b| *b != l);
                }
                Election::LastKnownLeader | Election::Unclean => {
                    target_isr = leader.into_iter().collect();
                    elr.clear();
                }
                Election::Clean => {}
            }
        }
        let last_known_leader = self.last_known_leader(old, leader, &target_isr);
        if leader == old.leader
            && target_isr == old.isr
            && elr == old.elr
            && last_known_leader == old.last_known_leader
        {
            return None;
        }
        let state = PartitionState {
            replicas: old.replicas.clone(),
            isr: target_isr,
            leader,
            leader_epoch: if leader != old.leader {
                old.leader_epoch.next()
            } else {
                old.leader_epoch
            },
            partition_epoch: old.partition_epoch.next(),
            elr,
            last_known_leader,
        };
        Some((state, election))
    }

    /// `maybePopulateTargetElr`: with the ISR at or above min ISR the ELR is empty; below it,
    /// members leaving the ISR join the ELR, except a broker that shut down uncleanly. Kept in
    /// replica order so runs do not depend on set iteration.
    fn target_elr(&self, old: &PartitionState, target_isr: &[BrokerId]) -> Vec<BrokerId> {
        if !self.elr_enabled || target_isr.len() >= self.min_isr {
            return Vec::new();
        }
        old.replicas
            .iter()
            .copied()
            .filter(|b| old.elr.contains(b) || old.isr.contains(b))
            .filter(|b| !target_isr.contains(b) && Some(*b) != self.unclean_shutdown)
            .collect()
    }

    /// `electAnyLeader`: keep a valid leader, else the first valid replica in replica order,
    /// else the last known leader, else (if enabled) any acceptable replica.
    fn elect(
        &self,
        old: &PartitionState,
        isr: &[BrokerId],
        elr: &[BrokerId],
    ) -> (Option<BrokerId>, Election) {
        let valid = |b: BrokerId| {
            (isr.contains(&b) || (isr.is_empty() && elr.contains(&b))) && (self.acceptable)(b)
        };
        if let Some(l) = old.leader.filter(|l| valid(*l)) {
            return (Some(l), Election::Clean);
        }
        if let Some(b) = old.replicas.iter().copied().find(|b| valid(*b)) {
            let how = if isr.contains(&b) {
                Election::Clean
            } else {
                Election::FromElr
            };
            return (Some(b), how);
        }
        let last_known = old.last_known_leader.filter(|l| (self.acceptable)(*l));
        if self.elr_enabled && isr.is_empty() && elr.is_empty() && last_known.is_some() {
            return (last_known, Election::LastKnownLeader);
        }
        if self.unclean_election {
            if let Some(b) = old.replicas.iter().copied().find(|b| (self.acceptable)(*b)) {
                return (Some(b), Election::Unclean);
            }
        }
        (None, Election::Clean)
    }

    /// `maybeUpdateLastKnownLeader`: remembered when the ISR first becomes empty, forgotten once
    /// the partition has a leader again.
    fn last_known_leader(
        &self,
        old: &PartitionState,
        leader: Option<BrokerId>,
        isr: &[BrokerId],
    ) -> Option<BrokerId> {
        if !self.elr_enabled || leader.is_some() {
            return None;
        }
        if isr.is_empty() && old.last_known_leader.is_none() {
            return old.leader;
        }
        old.last_known_leader
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{LeaderEpoch, PartitionEpoch};

    fn b(ids: &[u32]) -> Vec<BrokerId> {
        ids.iter().map(|i| BrokerId(*i)).collect()
    }

    fn state(leader: Option<u32>, isr: &[u32], elr: &[u32]) -> PartitionState {
        PartitionState {
            replicas: b(&[1, 2, 3]),
            isr: b(isr),
            leader: leader.map(BrokerId),
            leader_epoch: LeaderEpoch(4),
            partition_epoch: PartitionEpoch(9),
            elr: b(elr),
            last_known_leader: None,
        }
    }

    fn change<'a>(elr: bool, acceptable: &'a dyn Fn(BrokerId) -> bool) -> PartitionChange<'a> {
        PartitionChange {
            elr_enabled: elr,
            min_isr: 2,
            unclean_election: false,
            unclean_shutdown: None,
            acceptable,
        }
    }

    #[test]
    fn a_member_leaving_an_isr_below_min_isr_becomes_eligible() {
        let all = |_: BrokerId| true;
        let (next, _) = change(true, &all)
            .build(&state(Some(1), &[1, 3], &[]), b(&[1]))
            .unwrap();
        assert_eq!(next.isr, b(&[1]));
        assert_eq!(next.elr, b(&[3]));
        assert_eq!(next.leader, Some(BrokerId(1)));
        assert_eq!(next.leader_epoch, LeaderEpoch(4));
        assert_eq!(next.partition_epoch, PartitionEpoch(10));
    }

    #[test]
    fn the_elr_clears_when_the_isr_reaches_min_isr_again() {
        let all = |_: BrokerId| true;
        let (next, _) = change(true, &all)
            .build(&state(Some(3), &[3], &[1]), b(&[3, 2]))
            .unwrap();
        assert!(next.elr.is_empty());
    }

    #[test]
    fn with_elr_the_last_isr_member_leaves_and_the_partition_goes_offline() {
        let none = |_: BrokerId| false; // broker-1 is being fenced, broker-3 is fenced
        let (next, _) = change(true, &none)
            .build(&state(Some(1), &[1], &[3]), vec![])
            .unwrap();
        assert!(next.isr.is_empty());
        assert_eq!(next.elr, b(&[1, 3]));
        assert_eq!(next.leader, None, "broker-3 is in the ELR but still fenced");
        assert_eq!(next.last_known_leader, Some(BrokerId(1)));
    }

    #[test]
    fn without_elr_the_last_isr_member_stays() {
        let not_1 = |x: BrokerId| x != BrokerId(1);
        let (next, _) = change(false, &not_1)
            .build(&state(Some(1), &[1], &[]), vec![])
            .unwrap();
        assert_eq!(next.isr, b(&[1]));
        assert!(next.elr.is_empty());
        assert_eq!(next.leader, None);
    }

    #[test]
    fn an_unfenced_elr_member_leads_an_empty_isr() {
        let only_3 = |x: BrokerId| x == BrokerId(3);
        let (next, how) = change(true, &only_3)
            .build(&state(None, &[], &[1, 3]), vec![])
            .unwrap();
        assert_eq!(how, Election::FromElr);
        assert_eq!(next.leader, Some(BrokerId(3)));
        assert_eq!(next.isr, b(&[3]));
        assert_eq!(next.elr, b(&[1]));
        assert_eq!(next.leader_epoch, LeaderEpoch(5));
        assert_eq!(next.last_known_leader, None);
    }

    #[test]
    fn an_unclean_shutdown_leaves_the_elr_and_cannot_lead() {
        let none = |_: BrokerId| false; // broker-1 just registered, broker-3 is still fenced
        let mut c = change(true, &none);
        c.unclean_shutdown = Some(BrokerId(1));
        let mut old = state(None, &[], &[1, 3]);
        old.last_known_leader = Some(BrokerId(1));
        let (next, _) = c.build(&old, vec![]).unwrap();
        assert_eq!(next.elr, b(&[3]));
        assert_eq!(
            next.leader, None,
            "the last known leader waits while the ELR is not empty"
        );
    }

    #[test]
    fn with_isr_and_elr_empty_the_last_known_leader_returns_uncleanly() {
        let only_1 = |x: BrokerId| x == BrokerId(1);
        let mut old = state(None, &[], &[]);
        old.last_known_leader = Some(BrokerId(1));
        let (next, how) = change(true, &only_1).build(&old, vec![]).unwrap();
        assert_eq!(how, Election::LastKnownLeader);
        assert!(how.is_unclean());
        assert_eq!(next.leader, Some(BrokerId(1)));
        assert_eq!(next.isr, b(&[1]));
    }

    #[test]
    fn nothing_to_change_is_none() {
        let all = |_: BrokerId| true;
        let old = state(Some(1), &[1, 2, 3], &[]);
        assert!(change(true, &all).build(&old, b(&[1, 2, 3])).is_none());
    }
}
