//! Elections: `Vote` (and KIP-996's pre-vote), `BeginQuorumEpoch`, `EndQuorumEpoch`, and the
//! timeouts that start them (`KafkaRaftClient.handleVoteRequest`, `handleVoteResponse`,
//! `handleBeginQuorumEpochRequest`, `handleEndQuorumEpochRequest`, `pollUnattached`,
//! `pollFollower`, `pollCandidate`, `pollProspective`).

use super::state::{Ballot, QuorumState};
use super::{RaftMessage, RaftNode, RETRY_BACKOFF_BASE_MS};
use crate::types::{LeaderEpoch, NodeId, Offset};

impl<T: Clone> RaftNode<T> {
    /// A message told of `epoch`, newer than ours: move to it, following `leader` if known
    /// (`KafkaRaftClient.maybeTransition`). A leader or candidate steps down here.
    pub(super) fn observe_epoch(&mut self, epoch: LeaderEpoch, leader: Option<NodeId>) {
        let leads_it = matches!(
            self.state,
            QuorumState::Leader { .. } | QuorumState::Resigned { .. }
        );
        if epoch < self.epoch() || (epoch == self.epoch() && (leader.is_none() || leads_it)) {
            return; // nothing new (one leader per epoch: ours, if we led it)
        }
        let news = |leader: NodeId| leader != self.id && self.state.leader() != Some(leader);
        match leader {
            Some(leader) if news(leader) || epoch > self.epoch() && leader != self.id => {
                self.become_follower(epoch, leader);
            }
            _ if epoch > self.epoch() => self.become_unattached(epoch),
            _ => {}
        }
    }

    pub(super) fn on_vote(
        &mut self,
        from: NodeId,
        epoch: LeaderEpoch,
        last_epoch: LeaderEpoch,
        end_offset: Offset,
        pre_vote: bool,
    ) {
        // A standard vote in a newer epoch moves us to it (a leader steps down: without
        // pre-vote, this is how a returning voter deposes a healthy leader). A pre-vote never
        // changes our epoch (KIP-996).
        if !pre_vote && epoch > self.epoch() && self.is_voter() {
            self.become_unattached(epoch);
        }
        let granted = self.can_grant_vote(from, epoch, last_epoch, end_offset, pre_vote);
        if granted && !pre_vote {
            self.become_voted(epoch, from);
        }
        let response = RaftMessage::VoteResponse {
            epoch: self.epoch(),
            leader: self.leader(),
            granted,
            pre_vote,
        };
        self.send(from, response);
    }

    /// `EpochState.canGrantVote`: an observer never votes; the candidate's log must be at least
    /// as up to date as ours; a pre-vote is refused while we still hear from a leader (a
    /// follower within its fetch timeout, or the leader itself); a vote is one per epoch.
    fn can_grant_vote(
        &self,
        from: NodeId,
        epoch: LeaderEpoch,
        last_epoch: LeaderEpoch,
        end_offset: Offset,
        pre_vote: bool,
    ) -> bool {
        if !self.is_voter() || epoch < self.epoch() {
            return false;
        }
        if !self.log.is_behind_or_equal(last_epoch, end_offset) {
            return false;
        }
        if pre_vote {
            return !matches!(
                self.state,
                QuorumState::Follower { .. } | QuorumState::Leader { .. }
            );
        }
        match &self.state {
            QuorumState::Unattached { .. } => true,
            QuorumState::Voted { voted_for, .. } => *voted_for == from,
            QuorumState::Prospective { voted_for, .. } => voted_for.is_none_or(|v| v == from),
            QuorumState::Candidate { .. }
            | QuorumState::Leader { .. }
            | QuorumState::Follower { .. }
            | QuorumState::Resigned { .. } => false,
        }
    }

    pub(super) fn on_vote_response(
        &mut self,
        from: NodeId,
        epoch: LeaderEpoch,
        leader: Option<NodeId>,
        granted: bool,
        pre_vote: bool,
    ) {
        if epoch > self.epoch() {
            self.observe_epoch(epoch, leader);
            return;
        }
        let majority = self.majority();
        let expected = if pre_vote {
            matches!(self.state, QuorumState::Prospective { .. })
        } else {
            matches!(self.state, QuorumState::Candidate { .. })
        };
        if epoch < self.epoch() || !expected {
            return; // a late answer to an election we left
        }
        if pre_vote && !granted {
            let known = self.state.leader();
            if let Some(leader) = leader.filter(|l| *l != self.id && Some(*l) != known) {
                // KIP-996: a leader we did not know is alive; follow it. (The one we stopped
                // hearing from counts as a rejection, or two followers of a dead leader
                // would send each other back to it forever.)
                self.become_follower(epoch, leader);
                return;
            }
        }
        let ballot = match &mut self.state {
            QuorumState::Prospective { ballot, .. } | QuorumState::Candidate { ballot, .. } => {
                ballot
            }
            _ => return,
        };
        if granted {
            ballot.granted.insert(from);
        } else {
            ballot.rejected.insert(from);
        }
        let (won, lost, retries) = (
            ballot.granted.len() >= majority,
            ballot.rejected.len() >= majority,
            ballot.retries,
        );
        match (won, pre_vote) {
            (true, true) => self.become_candidate(retries),
            (true, false) => self.become_leader(),
            (false, _) if lost => self.back_off(retries),
            _ => {}
        }
    }

    /// Rejected by a majority: wait a backoff before the next election
    /// (`binaryExponentialElectionBackoffMs`).
    fn back_off(&mut self, retries: u32) {
        let backoff = self.election_backoff(retries + 1);
        let at = self.now.plus_ms(backoff);
        match &mut self.state {
            QuorumState::Prospective { deadline, .. } | QuorumState::Candidate { deadline, .. } => {
                *deadline = at;
            }
            _ => {}
        }
    }

    /// An election or fetch timeout: campaign (a voter) or ask another voter (an observer).
    pub(super) fn on_election_timeout(&mut self) {
        if !self.is_voter() {
            self.fetch.bootstrap_index += 1;
            self.fetch.in_flight = None;
            let epoch = self.epoch();
            self.become_unattached(epoch);
            self.maybe_send_fetch();
            return;
        }
        let retries = match &self.state {
            QuorumState::Prospective { ballot, .. } | QuorumState::Candidate { ballot, .. } => {
                ballot.retries + 1
            }
            _ => 0,
        };
        if self.config.pre_vote {
            self.become_prospective(retries);
        } else {
            self.become_candidate(retries);
        }
    }

    /// KIP-996: ask for pre-votes in the epoch we would run in, keeping our epoch, vote and
    /// leader; we count our own.
    fn become_prospective(&mut self, retries: u32) {
        let epoch = self.epoch();
        let ballot = Ballot {
            granted: [self.id].into_iter().collect(),
            retries,
            ..Ballot::default()
        };
        let deadline = self.election_deadline();
        let (voted_for, leader) = (self.state.voted_for(), self.state.leader());
        self.transition(QuorumState::Prospective {
            epoch,
            voted_for,
            leader,
            ballot,
            deadline,
        });
        self.request_votes(epoch.next(), true);
        if self.majority() == 1 {
            self.become_candidate(retries);
        }
    }

    /// `CandidateState`: a new epoch, our own vote, and `Vote` to every other voter.
    pub(super) fn become_candidate(&mut self, retries: u32) {
        let epoch = self.epoch().next();
        let ballot = Ballot {
            granted: [self.id].into_iter().collect(),
            retries,
            ..Ballot::default()
        };
        let deadline = self.election_deadline();
        self.transition(QuorumState::Candidate {
            epoch,
            ballot,
            deadline,
        });
        self.request_votes(epoch, false);
        if self.majority() == 1 {
            self.become_leader();
        }
    }

    fn request_votes(&mut self, epoch: LeaderEpoch, pre_vote: bool) {
        for voter in self.others() {
            let message = RaftMessage::Vote {
                epoch,
                last_epoch: self.log.last_epoch(),
                end_offset: self.log.end(),
                pre_vote,
            };
            self.send(voter, message);
        }
    }

    pub(super) fn on_begin_quorum_epoch(&mut self, from: NodeId, epoch: LeaderEpoch) {
        let leaderless = self.state.leader().is_none()
            && !matches!(
                self.state,
                QuorumState::Leader { .. } | QuorumState::Resigned { .. }
            );
        if epoch > self.epoch() || (epoch == self.epoch() && leaderless) {
            self.become_follower(epoch, from);
        }
        let response = RaftMessage::BeginQuorumEpochResponse {
            epoch: self.epoch(),
        };
        self.send(from, response);
    }

    pub(super) fn on_begin_quorum_epoch_response(&mut self, from: NodeId, epoch: LeaderEpoch) {
        if epoch > self.epoch() {
            self.observe_epoch(epoch, None);
            return;
        }
        if let QuorumState::Leader { state, epoch: ours } = &mut self.state {
            if *ours == epoch {
                state.unacknowledged.remove(&from);
            }
        }
    }

    /// `handleEndQuorumEpochRequest`: a follower of the resigning leader runs soon, the
    /// earlier in the preferred successors the sooner (`strictExponentialElectionBackoffMs`).
    pub(super) fn on_end_quorum_epoch(
        &mut self,
        from: NodeId,
        epoch: LeaderEpoch,
        preferred_successors: &[NodeId],
    ) {
        if epoch > self.epoch() {
            self.observe_epoch(epoch, None);
        }
        let position = preferred_successors.iter().position(|v| *v == self.id);
        let backoff = match position {
            Some(p) => {
                (RETRY_BACKOFF_BASE_MS << p.min(16)).min(self.config.election_backoff_max_ms)
            }
            None => self.config.election_timeout_ms,
        };
        let at = self.now.plus_ms(backoff);
        let current = self.epoch();
        match &mut self.state {
            QuorumState::Follower {
                leader, deadline, ..
            } if *leader == from && epoch == current => {
                *deadline = (*deadline).min(at);
            }
            QuorumState::Unattached { deadline, .. } | QuorumState::Voted { deadline, .. } => {
                *deadline = (*deadline).min(at);
            }
            _ => {}
        }
    }
}
