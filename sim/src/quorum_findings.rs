//! The controller quorum's findings (KRaft, KIP-595), one place for each rule:
//!
//! - `two-active-controllers`: two controllers became Raft leader in the same epoch. Raft's
//!   election safety (one vote per voter per epoch, persisted before it is sent) forbids it
//!   whatever the faults, so it is always a violation.
//! - `metadata-divergence`: two voters' metadata logs hold different entries at an offset below
//!   both their high watermarks. Raft commits an entry only on a majority and never truncates
//!   below the high watermark, so it is always a violation.
//! - `leader-deposed-by-rejoining-voter`: informational (always allowed). A voter that was cut
//!   off campaigned unheard in ever higher epochs; when it came back, its `Vote` in a newer
//!   epoch made the healthy leader step down. That is what KIP-996's pre-vote ends: a
//!   prospective voter (`ProspectiveState`) asks first whether it could win, and the followers
//!   of a live leader say no, so nobody's epoch moves. It tells the `[protocol] pre_vote` pair
//!   of scenarios apart.
//!
//! The role rules read the controllers' role changes (`Event::RaftRoleChanged`) as they happen;
//! the divergence rule compares the voters' logs.

use crate::findings::Observer;
use crate::kind::FindingKind;
use crate::world::World;
use broker_core::raft::{RaftLog, Role};
use broker_core::{ControllerId, LeaderEpoch, NodeId, Offset, Time};
use std::collections::BTreeMap;

/// What the role changes so far tell about the quorum.
#[derive(Clone, Debug, Default)]
pub(crate) struct QuorumWatch {
    /// Each controller's last role and epoch.
    roles: BTreeMap<ControllerId, (Role, LeaderEpoch)>,
    /// The controller that became leader of each epoch.
    leaders: BTreeMap<LeaderEpoch, ControllerId>,
    /// Candidacies nobody has answered yet: no other controller has moved to their epoch.
    open: BTreeMap<ControllerId, LeaderEpoch>,
    /// Controllers whose candidacy went unheard (they gave up on an epoch nobody else reached,
    /// and campaign again), with the first such epoch; cleared when they take another role.
    unheard: BTreeMap<ControllerId, LeaderEpoch>,
}

impl QuorumWatch {
    /// `controller` is now `role` in `epoch`: the findings this role change reveals.
    pub(crate) fn on_role(
        &mut self,
        controller: ControllerId,
        role: Role,
        epoch: LeaderEpoch,
    ) -> Vec<(FindingKind, String)> {
        let mut found = Vec::new();
        // Another controller moved to an open candidacy's epoch: that candidacy was heard
        // (without pre-vote, a `Vote` in a newer epoch moves every voter it reaches to it).
        self.open
            .retain(|candidate, open| *candidate == controller || epoch < *open);
        if let Some(open) = self.open.remove(&controller) {
            if role == Role::Candidate && epoch > open {
                self.unheard.entry(controller).or_insert(open);
            }
        }
        if let Some(deposed) = self.deposed_by(controller, role, epoch) {
            found.push((FindingKind::LeaderDeposedByRejoiningVoter, deposed));
        }
        if role == Role::Leader {
            if let Some(other) = self.leaders.insert(epoch, controller) {
                if other != controller {
                    let explanation = format!(
                        "controller-{other} and controller-{controller} both became the active controller (Raft leader) in epoch {epoch}"
                    );
                    found.push((FindingKind::TwoActiveControllers, explanation));
                }
            }
        }
        match role {
            Role::Candidate => {
                self.open.insert(controller, epoch);
            }
            _ => {
                self.unheard.remove(&controller);
            }
        }
        self.roles.insert(controller, (role, epoch));
        found
    }

    /// `controller`'s process died (crash, power failure, shutdown): it holds no role any
    /// more. Its last role must not outlive it: a leader that crashed and comes back in a
    /// newer epoch was not deposed, and a candidacy that died with its process was not
    /// unheard. What it did in the past (`leaders`) stays.
    pub(crate) fn forget(&mut self, controller: ControllerId) {
        self.roles.remove(&controller);
        self.open.remove(&controller);
        self.unheard.remove(&controller);
    }

    /// The leader `controller` steps down into `epoch` without resigning (a resigning leader
    /// goes `Resigned` first: check-quorum or a shutdown), and a controller that campaigned
    /// unheard is now a candidate in exactly that epoch: its `Vote` (or its answer to the
    /// leader's `BeginQuorumEpoch`, which carries its epoch) deposed the leader. The voter may
    /// be a former leader cut off from the quorum: it resigned, the others elected a new
    /// leader, and it came back with a higher epoch.
    fn deposed_by(
        &self,
        controller: ControllerId,
        role: Role,
        epoch: LeaderEpoch,
    ) -> Option<String> {
        let (Role::Leader, led) = *self.roles.get(&controller)? else {
            return None;
        };
        if matches!(role, Role::Leader | Role::Resigned) || epoch <= led {
            return None;
        }
        // Unheard campaigns end when the voter takes another role: one that still has them
        // has campaigned, unheard, ever since.
        let (rejoining, first) = self.unheard.iter().find(|(voter, _)| {
            **voter != controller && self.roles.get(voter) == Some(&(Role::Candidate, epoch))
        })?;
        Some(format!(
            "controller-{rejoining}, cut off from the quorum, campaigned unheard from epoch {first} on; back with epoch {epoch}, it made controller-{controller}, the healthy leader of epoch {led}, step down: an election nobody needed. Pre-vote (KIP-996) prevents it"
        ))
    }
}

/// `metadata-divergence`: the first pair of voters whose logs differ at an offset below both
/// their high watermarks, and that offset. `voters` gives each voter's log and high watermark.
pub(crate) fn metadata_divergence<T: Clone + PartialEq>(
    voters: &[(NodeId, &RaftLog<T>, Offset)],
) -> Option<(NodeId, NodeId, Offset)> {
    for (i, (a, log_a, hw_a)) in voters.iter().enumerate() {
        for (b, log_b, hw_b) in &voters[i + 1..] {
            let below = (*hw_a).min(*hw_b).min(log_a.end()).min(log_b.end());
            let differs = (0..below.0)
                .map(Offset)
                .find(|o| log_a.entry(*o) != log_b.entry(*o));
            if let Some(offset) = differs {
                return Some((*a, *b, offset));
            }
        }
    }
    None
}

/// The final check: the live voters' metadata logs agree below their high watermarks.
pub(crate) fn check_metadata_divergence(observer: &mut Observer, now: Time, world: &World) {
    let voters: Vec<_> = world
        .nodes()
        .filter_map(|(_, _, node)| node?.as_controller())
        .filter_map(|c| {
            let hw = c.quorum_status()?.high_watermark;
            Some((NodeId::Controller(c.id()), c.quorum_log()?, hw))
        })
        .collect();
    if let Some((a, b, offset)) = metadata_divergence(&voters) {
        let explanation = format!(
            "{a} and {b} hold different records at offset {offset} of __cluster_metadata, below both their high watermarks: a committed metadata record is not the same on every voter"
        );
        let records = vec![format!("offset {offset}")];
        observer.push(
            now,
            FindingKind::MetadataDivergence,
            explanation,
            None,
            records,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use broker_core::raft::{RaftEntry, RaftRecord};

    fn c(id: u32) -> ControllerId {
        ControllerId(id)
    }

    fn kinds(found: &[(FindingKind, String)]) -> Vec<FindingKind> {
        found.iter().map(|(k, _)| *k).collect()
    }

    /// Three controllers; controller-1 leads epoch 1 with the others following.
    fn led_by_one() -> QuorumWatch {
        let mut w = QuorumWatch::default();
        assert!(w
            .on_role(c(1), Role::Prospective, LeaderEpoch(0))
            .is_empty());
        assert!(w.on_role(c(1), Role::Candidate, LeaderEpoch(1)).is_empty());
        assert!(w.on_role(c(2), Role::Voted, LeaderEpoch(1)).is_empty());
        assert!(w.on_role(c(1), Role::Leader, LeaderEpoch(1)).is_empty());
        assert!(w.on_role(c(2), Role::Follower, LeaderEpoch(1)).is_empty());
        assert!(w.on_role(c(3), Role::Follower, LeaderEpoch(1)).is_empty());
        w
    }

    #[test]
    fn two_leaders_in_one_epoch_are_two_active_controllers() {
        let mut w = led_by_one();
        let found = w.on_role(c(2), Role::Leader, LeaderEpoch(1));
        assert_eq!(kinds(&found), [FindingKind::TwoActiveControllers]);
        assert!(
            found[0].1.contains("controller-1 and controller-2"),
            "{found:?}"
        );
        // A leader in a newer epoch is a failover, not a second active controller.
        let mut w = led_by_one();
        w.on_role(c(1), Role::Resigned, LeaderEpoch(1));
        assert!(w.on_role(c(2), Role::Leader, LeaderEpoch(2)).is_empty());
        // The same controller told twice (a restart resumes its state) is one leader.
        let mut w = led_by_one();
        assert!(w.on_role(c(1), Role::Leader, LeaderEpoch(1)).is_empty());
    }

    /// Without pre-vote: controller-3 is cut off, campaigns unheard in epochs 2 and 3, and its
    /// candidacy in epoch 4 reaches the leader, which steps down.
    #[test]
    fn a_voter_back_from_unheard_campaigns_that_makes_the_leader_step_down_deposed_it() {
        let mut w = led_by_one();
        for epoch in 2..=4 {
            assert!(w
                .on_role(c(3), Role::Candidate, LeaderEpoch(epoch))
                .is_empty());
        }
        let found = w.on_role(c(1), Role::Unattached, LeaderEpoch(4));
        assert_eq!(kinds(&found), [FindingKind::LeaderDeposedByRejoiningVoter]);
        assert!(found[0].1.contains("controller-3"), "{found:?}");
        assert!(found[0].1.contains("leader of epoch 1"), "{found:?}");
    }

    /// The active controller is cut off: it resigns (check-quorum), the others elect
    /// controller-2 in epoch 2, and the old leader, campaigning unheard from epoch 2 on, comes
    /// back in epoch 5 and deposes controller-2.
    #[test]
    fn a_former_leader_back_from_unheard_campaigns_deposes_its_successor() {
        let mut w = led_by_one();
        w.on_role(c(1), Role::Resigned, LeaderEpoch(1));
        w.on_role(c(2), Role::Candidate, LeaderEpoch(2));
        w.on_role(c(3), Role::Voted, LeaderEpoch(2));
        w.on_role(c(2), Role::Leader, LeaderEpoch(2));
        for epoch in 2..=5 {
            w.on_role(c(1), Role::Candidate, LeaderEpoch(epoch));
        }
        w.on_role(c(3), Role::Unattached, LeaderEpoch(5));
        let found = w.on_role(c(2), Role::Unattached, LeaderEpoch(5));
        assert_eq!(kinds(&found), [FindingKind::LeaderDeposedByRejoiningVoter]);
        assert!(found[0].1.contains("controller-1, cut off"), "{found:?}");
    }

    /// A paused leader: a follower's first candidacy is heard at once (the other follower
    /// moves to its epoch), it wins, and the leader, awake, follows: superseded, not deposed.
    #[test]
    fn a_leader_replaced_while_away_or_resigning_was_not_deposed() {
        let mut w = led_by_one();
        w.on_role(c(2), Role::Candidate, LeaderEpoch(2));
        w.on_role(c(3), Role::Voted, LeaderEpoch(2));
        w.on_role(c(2), Role::Leader, LeaderEpoch(2));
        assert!(w.on_role(c(1), Role::Follower, LeaderEpoch(2)).is_empty());
        // Check-quorum: the leader resigns before anyone's epoch moves.
        let mut w = led_by_one();
        for epoch in 2..=3 {
            w.on_role(c(3), Role::Candidate, LeaderEpoch(epoch));
        }
        w.on_role(c(1), Role::Resigned, LeaderEpoch(1));
        assert!(w.on_role(c(1), Role::Unattached, LeaderEpoch(3)).is_empty());
        // With pre-vote the cut-off voter stays prospective in the leader's epoch.
        let mut w = led_by_one();
        for _ in 0..3 {
            w.on_role(c(3), Role::Prospective, LeaderEpoch(1));
        }
        assert!(w.on_role(c(3), Role::Follower, LeaderEpoch(1)).is_empty());
    }

    /// The leader crashes; while it is down controller-3 campaigns unheard; the leader comes
    /// back unattached in controller-3's epoch. It was not deposed: it died leading.
    #[test]
    fn a_crashed_leader_back_in_a_newer_epoch_was_not_deposed() {
        let mut w = led_by_one();
        w.forget(c(1));
        for epoch in 2..=4 {
            w.on_role(c(3), Role::Candidate, LeaderEpoch(epoch));
        }
        let found = w.on_role(c(1), Role::Unattached, LeaderEpoch(4));
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(
            w.roles.get(&c(1)),
            Some(&(Role::Unattached, LeaderEpoch(4)))
        );
    }

    fn log(values: &[u64]) -> RaftLog<u64> {
        RaftLog::recovered(
            values
                .iter()
                .map(|v| RaftEntry {
                    epoch: LeaderEpoch(1),
                    record: RaftRecord::Data(*v),
                })
                .collect(),
        )
    }

    #[test]
    fn voters_that_differ_below_both_high_watermarks_diverge() {
        let (a, b, d) = (log(&[1, 2, 3]), log(&[1, 2, 9]), log(&[1, 5]));
        let n = |id| NodeId::Controller(c(id));
        let found = metadata_divergence(&[(n(1), &a, Offset(3)), (n(2), &b, Offset(3))]);
        assert_eq!(found, Some((n(1), n(2), Offset(2))));
        // Above one of the high watermarks the follower may still truncate: no finding.
        assert_eq!(
            metadata_divergence(&[(n(1), &a, Offset(3)), (n(2), &b, Offset(2))]),
            None
        );
        // The third voter differs at offset 1, below the high watermarks it shares with 1.
        let voters = [
            (n(1), &a, Offset(2)),
            (n(2), &b, Offset(2)),
            (n(3), &d, Offset(2)),
        ];
        assert_eq!(metadata_divergence(&voters), Some((n(1), n(3), Offset(1))));
    }
}
