//! The quorum states (`QuorumState` and its `EpochState`s) and the transitions between them.
//! A transition persists the election state first when it changed (`QuorumState` writes
//! `quorum-state` before it acts in the new state).

use super::{ElectionState, RaftNode, RaftOutput, RaftRecord, CHECK_QUORUM_TIMEOUT_FACTOR_X2};
use crate::types::{LeaderEpoch, NodeId, Offset, Time};
use std::collections::{BTreeMap, BTreeSet};

/// A node's role in the quorum, as the UI and the trace name it.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// A voter that knows no leader and has not voted in its epoch.
    Unattached,
    /// A voter that voted in its epoch and knows no leader yet.
    Voted,
    /// KIP-996: a voter asking whether it could win, without bumping the epoch.
    Prospective,
    /// A voter campaigning in a new epoch (it voted for itself).
    Candidate,
    /// The leader: the active controller.
    Leader,
    /// A voter replicating from the leader.
    Follower,
    /// A former leader of its epoch, waiting for the next election.
    Resigned,
    /// Not a voter: it replicates the log and never votes (a broker).
    Observer,
}

/// Votes gathered by a prospective or a candidate.
#[derive(Clone, Debug, Default)]
pub(super) struct Ballot {
    pub(super) granted: BTreeSet<NodeId>,
    pub(super) rejected: BTreeSet<NodeId>,
    /// Failed elections in a row (for the backoff).
    pub(super) retries: u32,
}

/// `LeaderState`: what the leader knows of the voters.
#[derive(Clone, Debug)]
pub(super) struct LeaderState {
    /// The offset of its epoch's first entry: the high watermark must pass it.
    pub(super) epoch_start: Offset,
    /// Each other voter's fetch offset (its log end), once it fetched in this epoch.
    pub(super) ends: BTreeMap<NodeId, Offset>,
    /// Voters that have not acknowledged `BeginQuorumEpoch` and when to resend.
    pub(super) unacknowledged: BTreeSet<NodeId>,
    pub(super) begin_resend_at: Time,
    /// Check-quorum: the voters heard from since the timer was last reset, and when it expires.
    pub(super) heard: BTreeSet<NodeId>,
    pub(super) check_quorum_deadline: Time,
    /// Fetches held until there is something to return (long poll).
    pub(super) parked: Vec<ParkedFetch>,
}

/// A fetch the leader holds.
#[derive(Clone, Copy, Debug)]
pub(super) struct ParkedFetch {
    pub(super) from: NodeId,
    pub(super) fetch_offset: Offset,
    pub(super) deadline: Time,
}

/// The state of one epoch (`EpochState`).
#[derive(Clone, Debug)]
pub(super) enum QuorumState {
    Unattached {
        epoch: LeaderEpoch,
        deadline: Time,
    },
    Voted {
        epoch: LeaderEpoch,
        voted_for: NodeId,
        deadline: Time,
    },
    Prospective {
        epoch: LeaderEpoch,
        voted_for: Option<NodeId>,
        leader: Option<NodeId>,
        ballot: Ballot,
        deadline: Time,
    },
    Candidate {
        epoch: LeaderEpoch,
        ballot: Ballot,
        deadline: Time,
    },
    Leader {
        epoch: LeaderEpoch,
        state: Box<LeaderState>,
    },
    Follower {
        epoch: LeaderEpoch,
        leader: NodeId,
        voted_for: Option<NodeId>,
        /// `FollowerState`'s fetch timeout: no successful fetch until then starts an election.
        deadline: Time,
    },
    Resigned {
        epoch: LeaderEpoch,
        deadline: Time,
    },
}

impl QuorumState {
    pub(super) fn unattached(epoch: LeaderEpoch, deadline: Time) -> QuorumState {
        QuorumState::Unattached { epoch, deadline }
    }

    pub(super) fn epoch(&self) -> LeaderEpoch {
        match self {
            QuorumState::Unattached { epoch, .. }
            | QuorumState::Voted { epoch, .. }
            | QuorumState::Prospective { epoch, .. }
            | QuorumState::Candidate { epoch, .. }
            | QuorumState::Leader { epoch, .. }
            | QuorumState::Follower { epoch, .. }
            | QuorumState::Resigned { epoch, .. } => *epoch,
        }
    }

    pub(super) fn role(&self, is_voter: bool) -> Role {
        match self {
            _ if !is_voter => Role::Observer,
            QuorumState::Unattached { .. } => Role::Unattached,
            QuorumState::Voted { .. } => Role::Voted,
            QuorumState::Prospective { .. } => Role::Prospective,
            QuorumState::Candidate { .. } => Role::Candidate,
            QuorumState::Leader { .. } => Role::Leader,
            QuorumState::Follower { .. } => Role::Follower,
            QuorumState::Resigned { .. } => Role::Resigned,
        }
    }

    /// The leader known in this epoch (not the node itself when it leads).
    pub(super) fn leader(&self) -> Option<NodeId> {
        match self {
            QuorumState::Follower { leader, .. } => Some(*leader),
            QuorumState::Prospective { leader, .. } => *leader,
            _ => None,
        }
    }

    pub(super) fn voted_for(&self) -> Option<NodeId> {
        match self {
            QuorumState::Voted { voted_for, .. } => Some(*voted_for),
            QuorumState::Prospective { voted_for, .. }
            | QuorumState::Follower { voted_for, .. } => *voted_for,
            // The node itself, which only `RaftNode::voted_for` knows.
            QuorumState::Unattached { .. }
            | QuorumState::Resigned { .. }
            | QuorumState::Candidate { .. }
            | QuorumState::Leader { .. } => None,
        }
    }

    /// When this state times out into an election (or, for an observer, a new fetch target).
    pub(super) fn election_deadline(&self) -> Option<Time> {
        match self {
            QuorumState::Unattached { deadline, .. }
            | QuorumState::Voted { deadline, .. }
            | QuorumState::Prospective { deadline, .. }
            | QuorumState::Candidate { deadline, .. }
            | QuorumState::Follower { deadline, .. }
            | QuorumState::Resigned { deadline, .. } => Some(*deadline),
            QuorumState::Leader { .. } => None,
        }
    }

    pub(super) fn next_deadline(&self) -> Option<Time> {
        match self {
            QuorumState::Leader { state, .. } => {
                let resend = (!state.unacknowledged.is_empty()).then_some(state.begin_resend_at);
                let parked = state.parked.iter().map(|p| p.deadline).min();
                [Some(state.check_quorum_deadline), resend, parked]
                    .into_iter()
                    .flatten()
                    .min()
            }
            other => other.election_deadline(),
        }
    }
}

/// A follower's or observer's fetch: the one in flight, the backoff after an error, and the
/// voter an observer that knows no leader asks next.
#[derive(Clone, Debug, Default)]
pub(super) struct FetchProgress {
    pub(super) in_flight: Option<Time>,
    pub(super) backoff_until: Option<Time>,
    pub(super) bootstrap_index: usize,
}

impl FetchProgress {
    pub(super) fn deadline(&self, request_timeout_ms: u64) -> Option<Time> {
        match self.in_flight {
            Some(sent) => Some(sent.plus_ms(request_timeout_ms)),
            None => self.backoff_until,
        }
    }

    pub(super) fn is_due(&self, now: Time, request_timeout_ms: u64) -> bool {
        self.deadline(request_timeout_ms).is_some_and(|d| d <= now)
    }
}

impl<T: Clone> RaftNode<T> {
    /// `QuorumState.initialize`: resume from the stored election state. A node that led its
    /// stored epoch cannot lead it again: it starts resigned. A lone voter elects itself.
    pub(super) fn initialize(&mut self, stored: ElectionState) {
        let deadline = self.election_deadline();
        self.state = match (stored.leader, stored.voted_for) {
            (Some(leader), _) if leader == self.id => QuorumState::Resigned {
                epoch: stored.epoch,
                deadline,
            },
            (Some(leader), voted_for) => QuorumState::Follower {
                epoch: stored.epoch,
                leader,
                voted_for,
                deadline: self.now.plus_ms(self.config.fetch_timeout_ms),
            },
            (None, Some(voted_for)) => QuorumState::Voted {
                epoch: stored.epoch,
                voted_for,
                deadline,
            },
            (None, None) => QuorumState::unattached(stored.epoch, deadline),
        };
        if self.voters == [self.id] {
            self.become_candidate(0);
        } else {
            self.maybe_send_fetch();
        }
    }

    /// Enter `state`: persist the election state if it changed, say so if the role or epoch
    /// changed, and forget a fetch addressed to a former leader.
    pub(super) fn transition(&mut self, state: QuorumState) {
        let before = (self.election_state(), self.role());
        self.state = state;
        let after = self.election_state();
        if after != before.0 && self.is_voter() {
            self.out.push_back(RaftOutput::PersistElection(after));
        }
        if (after.epoch, self.role()) != (before.0.epoch, before.1) {
            self.out.push_back(RaftOutput::Transition {
                role: self.role(),
                epoch: after.epoch,
            });
        }
        let moved = after.leader != before.0.leader || after.epoch != before.0.epoch;
        if moved || self.role() != before.1 {
            self.fetch.in_flight = None;
            self.fetch.backoff_until = None;
        }
    }

    /// `QuorumState.transitionToUnattached`: a voter that was not attached to a leader (a
    /// candidate, an unattached or voted voter, a prospective not yet rejected, a resigned
    /// leader) keeps its election timer; only a leader or a follower draws a new one. So a
    /// candidate that keeps bumping the epoch cannot keep the other voters from ever timing
    /// out and running themselves.
    pub(super) fn become_unattached(&mut self, epoch: LeaderEpoch) {
        let majority = self.majority();
        let deadline = match &self.state {
            _ if !self.is_voter() => self.now.plus_ms(self.config.fetch_timeout_ms),
            QuorumState::Candidate { deadline, .. }
            | QuorumState::Unattached { deadline, .. }
            | QuorumState::Voted { deadline, .. }
            | QuorumState::Resigned { deadline, .. } => *deadline,
            QuorumState::Prospective {
                deadline, ballot, ..
            } if ballot.rejected.len() < majority => *deadline,
            _ => self.election_deadline(),
        };
        self.transition(QuorumState::unattached(epoch, deadline));
    }

    pub(super) fn become_voted(&mut self, epoch: LeaderEpoch, candidate: NodeId) {
        let deadline = self.election_deadline();
        self.transition(QuorumState::Voted {
            epoch,
            voted_for: candidate,
            deadline,
        });
    }

    pub(super) fn become_follower(&mut self, epoch: LeaderEpoch, leader: NodeId) {
        let voted_for = (epoch == self.epoch()).then(|| self.voted_for()).flatten();
        self.transition(QuorumState::Follower {
            epoch,
            leader,
            voted_for,
            deadline: self.now.plus_ms(self.config.fetch_timeout_ms),
        });
        self.maybe_send_fetch();
    }

    /// `KafkaRaftClient.onBecomeLeader`: the epoch starts at the log end with a
    /// `LeaderChange` entry, so the high watermark can pass it; the voters hear
    /// `BeginQuorumEpoch`.
    pub(super) fn become_leader(&mut self) {
        let epoch = self.epoch();
        let others = self.others();
        let state = LeaderState {
            epoch_start: self.log.end(),
            ends: BTreeMap::new(),
            unacknowledged: others.iter().copied().collect(),
            begin_resend_at: self.now.plus_ms(self.config.request_timeout_ms),
            heard: BTreeSet::new(),
            check_quorum_deadline: self.check_quorum_deadline(),
            parked: Vec::new(),
        };
        self.transition(QuorumState::Leader {
            epoch,
            state: Box::new(state),
        });
        for voter in others {
            self.send(voter, super::RaftMessage::BeginQuorumEpoch { epoch });
        }
        let leader = self.id;
        self.append_as_leader(RaftRecord::LeaderChange { leader });
    }

    /// `LeaderState`'s check-quorum timer: 1.5 × `controller.quorum.fetch.timeout.ms`; a lone
    /// voter is its own majority and never resigns.
    pub(super) fn check_quorum_deadline(&self) -> Time {
        if self.voters.len() == 1 {
            return Time(u64::MAX);
        }
        let timeout = self.config.fetch_timeout_ms * CHECK_QUORUM_TIMEOUT_FACTOR_X2 / 2;
        self.now.plus_ms(timeout)
    }

    /// Step down as leader (check-quorum, or a graceful shutdown): tell the voters, the most
    /// caught up first, so that one of them runs soon (`LeaderState.nonLeaderVotersByDescending
    /// FetchOffset`).
    pub(super) fn become_resigned(&mut self) {
        let QuorumState::Leader { epoch, state } = &self.state else {
            return;
        };
        let epoch = *epoch;
        let mut successors: Vec<(Offset, NodeId)> = self
            .others()
            .into_iter()
            .map(|v| (state.ends.get(&v).copied().unwrap_or(Offset(0)), v))
            .collect();
        successors.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let preferred_successors: Vec<NodeId> = successors.into_iter().map(|(_, v)| v).collect();
        let deadline = self.election_deadline();
        self.transition(QuorumState::Resigned { epoch, deadline });
        for voter in self.others() {
            let message = super::RaftMessage::EndQuorumEpoch {
                epoch,
                preferred_successors: preferred_successors.clone(),
            };
            self.send(voter, message);
        }
    }
}
